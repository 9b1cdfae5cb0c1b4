"""Read a chunk's request body with one copy, straight from the client's socket.

A chunk is up to 4 MiB, and reading it is most of what the web worker does for an upload.
Gunicorn's `wsgi.input` hands it over correctly but copies every byte five or six times on the
way (its socket reader's buffer, the length reader's, the body's, each with `getvalue()` and a
slice); under gunicorn this module instead lets the socket write the bytes once, with
`recv_into`, into the buffer that then goes to Redis as it is. The socket is the worker's
paced socket (server/serving.py), so slow-client deadlines apply unchanged.

The buffer grows with what has arrived (doubling, from 64 KiB), never to what the client
declared: a client that promises 4 MiB and trickles ten bytes still holds 64 KiB of the
worker's memory (docs/deployment.md, "Serving model").

Anything that is not gunicorn's plain length-delimited body (Flask's test client, httpx's
WSGITransport, another WSGI server, a chunked body) is read through `wsgi.input` as before.
"""

from gunicorn.http.body import Body, LengthReader
from gunicorn.http.unreader import SocketUnreader

#: The buffer's first size; it doubles as bytes arrive, up to the declared length.
FIRST_BUFFER = 64 * 1024
#: What the buffer grows by at most in one step. Growth appends slices of one read-only block of
#: zeros made once: a fresh `bytes(n)` for every step cost 1.5 ms per MiB received, as much as
#: the rest of the upload's work in the worker, against 0.1 for this (docs/performance.md).
GROWTH_STEP = 4 * 1024 * 1024
_ZEROS = memoryview(bytes(GROWTH_STEP))


def read_body(environ, length):
    """Return the request body (bytes-like, at most `length` long; shorter if the client
    stopped early)."""
    stream = environ["wsgi.input"]
    if not _is_gunicorn_length_body(stream):
        return stream.read(length)
    reader = stream.reader
    try:
        data = _receive(reader.unreader, min(length, reader.length))
    except Exception:
        stream.failed = True  # where the next request starts is unknown: gunicorn closes
        raise
    reader.length -= len(data)
    return data


def _is_gunicorn_length_body(stream):
    # `take_buffered` came with gunicorn 27 (pyproject allows older): without it, wsgi.input.
    return (type(stream) is Body and type(stream.reader) is LengthReader
            and type(stream.reader.unreader) is SocketUnreader and stream.buf.tell() == 0
            and callable(getattr(stream.reader.unreader, "take_buffered", None)))


def _receive(unreader, length):
    """Return `length` bytes: what gunicorn already read past the headers, then the socket's."""
    held = unreader.take_buffered()
    if len(held) > length:
        unreader.unread(held[length:])  # a pipelined next request stays for gunicorn
        held = held[:length]
    buffer = bytearray(max(min(length, FIRST_BUFFER), len(held)))
    buffer[:len(held)] = held
    filled = len(held)
    sock = unreader.sock
    while filled < length:
        if filled == len(buffer):
            buffer += _ZEROS[:min(len(buffer), length - len(buffer), GROWTH_STEP)]
        with memoryview(buffer) as whole, whole[filled:] as free:
            received = sock.recv_into(free)
        if not received:
            break
        filled += received
    del buffer[filled:]
    return memoryview(buffer)
