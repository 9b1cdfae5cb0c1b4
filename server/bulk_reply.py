"""Read one large bulk reply (a chunk of ciphertext) from Redis straight into the bytes served.

redis-py hands every reply to hiredis, which copies it into a buffer of its own that grows with
the reply, then once more into the `bytes` it returns: for a 4 MiB chunk those copies took a
third of a download worker's time (py-spy, docs/performance.md). Here the reply's body is
received with `socket.recv` straight into the `bytes` objects the WSGI server then sends, in
pieces of at most PIECE bytes: the kernel's copy is the only one. Only the reply's framing is
read (one bulk string, a nil or null, or an error line: the same in RESP2 and RESP3); the
command itself goes out through redis-py.

A connection that fails or answers anything unexpected is closed, never returned to the pool
half-read. A stale pooled connection (Redis restarted since) is replaced once, as redis-py's own
retry does for every other command (server/redis_client.py, SINGLE_RETRY).
"""

import redis

#: The most one `recv` asks for: the size of the largest piece handed to the WSGI server.
PIECE = 1024 * 1024
#: What the first `recv` asks for: the reply's first line ("$4194304\r\n", "$-1\r\n", "-ERR ...")
#: and perhaps the first bytes of the body.
HEADER_READ = 64
#: A bulk reply's first line is '$' and at most 20 digits; an error line may be longer.
MAX_LINE = 4096
#: "No such field": RESP2's nil bulk string and RESP3's null (the test suite's plain redis-py 8
#: client got the latter from the test Redis).
NIL = (b"$-1", b"_")


def fetch(client, *command):
    """Send `command` (one answered with a bulk string, like HGET) with `client`'s pool; return
    the reply as a list of non-empty `bytes` pieces, or None for a nil reply."""
    try:
        return _fetch_once(client, command)
    except (redis.exceptions.ConnectionError, OSError):
        pass  # a stale pooled connection (Redis restarted since): once more, connected afresh
    try:
        return _fetch_once(client, command)
    except OSError as error:  # the socket's own errors, as redis-py reports them
        raise redis.exceptions.ConnectionError(f"reading a reply: {error}") from error


def _fetch_once(client, command):
    pool = client.connection_pool
    connection = pool.get_connection()
    try:
        connection.send_command(*command)
        return _read_bulk(connection._sock)
    except BaseException:
        connection.disconnect()  # never back in the pool half-read
        raise
    finally:
        pool.release(connection)


def _read_bulk(sock):
    head = _recv(sock, HEADER_READ)
    while b"\r\n" not in head:
        if len(head) > MAX_LINE:
            raise redis.exceptions.InvalidResponse("reply line too long")
        head += _recv(sock, HEADER_READ)
    line, _, rest = head.partition(b"\r\n")
    if line[:1] == b"-":
        if rest:
            raise redis.exceptions.InvalidResponse("data after an error reply")
        raise redis.exceptions.ResponseError(line[1:].decode("utf-8", "replace"))
    if line in NIL:
        if rest:
            raise redis.exceptions.InvalidResponse("data after a nil reply")
        return None
    if line[:1] != b"$" or not line[1:].isdigit():
        raise redis.exceptions.InvalidResponse(f"not a bulk reply: {line[:32]!r}")
    length = int(line[1:])
    pieces = [rest[:length]] if rest[:length] else []
    received, tail = len(rest[:length]), rest[length:]
    while received < length:
        piece = _recv(sock, min(PIECE, length - received))
        pieces.append(piece)
        received += len(piece)
    while len(tail) < 2:
        tail += _recv(sock, 2 - len(tail))
    if tail != b"\r\n":
        raise redis.exceptions.InvalidResponse("a bulk reply longer than it said")
    return pieces


def _recv(sock, size):
    data = sock.recv(size)
    if not data:
        raise redis.exceptions.ConnectionError("Redis closed the connection mid-reply")
    return data
