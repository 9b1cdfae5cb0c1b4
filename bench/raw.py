"""The fastest ways to move a chunk that the benchmarks compare the service against.

`RespClient` speaks just enough RESP over the Redis server's unix socket (or a TCP address,
as compose's app reaches its Redis: bench/bench_compose.py) to SET and GET one
value: the header and the chunk leave in one `sendmsg` (no copy of the chunk in user space), and
a reply lands with `recv_into` straight in a preallocated buffer. No client library does less
work per byte, so it is the floor a service in front of the same server can be held to.
`loopback_copy` and `memcpy` bound what any HTTP hop and any in-memory copy can do;
`disk_write` what saving the bytes to a file costs.
"""

import os
import socket
import tempfile
import threading


def tcp_connection(address):
    """Connect to `address` over TCP with TCP_NODELAY (as redis-py and httpx set it), so a
    small request is never held back waiting for an ACK."""
    sock = socket.create_connection(address)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def send_pieces(sock, pieces):
    """Send `pieces` in one `sendmsg`; what the socket did not take, without copying a piece."""
    sent = sock.sendmsg(pieces)
    for piece in pieces:
        if sent >= len(piece):
            sent -= len(piece)
            continue
        sock.sendall(memoryview(piece)[sent:])
        sent = 0


def read_through(sock, buffer, delimiter):
    """`recv_into` `buffer` until `delimiter` arrives; return (what came before it, what came
    after it)."""
    view = memoryview(buffer)
    filled = 0
    while True:
        count = sock.recv_into(view[filled:])
        if not count:
            raise ConnectionError(f"closed before {delimiter!r}")
        filled += count
        end = buffer.find(delimiter, 0, filled)
        if end >= 0:
            return bytes(buffer[:end]), bytes(buffer[end + len(delimiter):filled])


class RespClient:
    """A minimal RESP client: SET, GET, DEL and simple commands only.

    `address`: a unix socket's path, or a (host, port) pair for TCP (with TCP_NODELAY, as
    redis-py sets it, so a small command is never held back waiting for an ACK).
    """

    def __init__(self, address):
        if isinstance(address, tuple):
            self.sock = tcp_connection(address)
        else:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(address)
        self._small = bytearray(64 * 1024)

    def close(self):
        self.sock.close()

    @staticmethod
    def _header(*parts, payload_len=None):
        count = len(parts) + (payload_len is not None)
        out = [b"*%d\r\n" % count]
        for part in parts:
            out.append(b"$%d\r\n%s\r\n" % (len(part), part))
        if payload_len is not None:
            out.append(b"$%d\r\n" % payload_len)
        return b"".join(out)

    def _read_line(self):
        """Read one reply line (a status, an integer or a bulk header) and what follows it."""
        return read_through(self.sock, self._small, b"\r\n")

    def command(self, *parts):
        """Send a small command; return its one-line reply (errors raise)."""
        self.sock.sendall(self._header(*[p if isinstance(p, bytes) else str(p).encode()
                                         for p in parts]))
        line, _ = self._read_line()
        if line.startswith(b"-"):
            raise RuntimeError(line.decode())
        return line

    def set(self, key, data):
        send_pieces(self.sock, [self._header(b"SET", key, payload_len=len(data)), data, b"\r\n"])
        line, _ = self._read_line()
        if line != b"+OK":
            raise RuntimeError(line.decode())

    def bulk(self, *parts):
        """Send a small command whose reply is one bulk string (INFO, ...); return its bytes."""
        self.sock.sendall(self._header(*parts))
        line, extra = self._read_line()
        if not line.startswith(b"$"):
            raise RuntimeError(line.decode())
        length = int(line[1:])
        data = bytearray(extra)
        while len(data) < length + 2:
            data += self.sock.recv(65536)
        return bytes(data[:length])

    def get_into(self, key, buffer):
        """GET `key` into `buffer` (a writable memoryview, large enough); return its length."""
        self.sock.sendall(self._header(b"GET", key))
        line, extra = self._read_line()
        if not line.startswith(b"$"):
            raise RuntimeError(line.decode())
        length = int(line[1:])
        buffer[:len(extra)] = extra
        filled = len(extra)
        while filled < length + 2:
            filled += self.sock.recv_into(buffer[filled:length + 2])
        return length


def loopback_copy(chunks):
    """Send `chunks` over a loopback TCP connection, receiving into one buffer; return nbytes."""
    server = socket.create_server(("127.0.0.1", 0))
    sender = socket.create_connection(server.getsockname())
    receiver, _ = server.accept()
    server.close()
    total = sum(len(c) for c in chunks)

    def send():
        for chunk in chunks:
            sender.sendall(chunk)
        sender.close()

    thread = threading.Thread(target=send)
    thread.start()
    buffer = memoryview(bytearray(max(len(c) for c in chunks)))
    received = 0
    while received < total:
        count = receiver.recv_into(buffer)
        if not count:
            break
        received += count
    thread.join()
    receiver.close()
    return received


def disk_write(chunks, directory, lag=16 * 1024 * 1024):
    """Write `chunks` to a new file in `directory` and fsync it, the fastest way found for a
    saved download: space reserved up front, written bytes handed to writeback `lag` behind
    (as `onetimeshare get` saves); the file is removed after. Return nbytes."""
    total = sum(len(c) for c in chunks)
    descriptor, path = tempfile.mkstemp(dir=directory, prefix="bench-disk-")
    try:
        os.posix_fallocate(descriptor, 0, total)
        written = handed = 0
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                count = os.write(descriptor, view)
                written += count
                view = view[count:]
            if written - lag - handed >= lag:
                os.posix_fadvise(descriptor, handed, written - lag - handed,
                                 os.POSIX_FADV_DONTNEED)
                handed = written - lag
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
        os.unlink(path)
    return written


def memcpy(chunks):
    """Copy every chunk into one buffer: the cost of touching each byte once in memory."""
    buffer = bytearray(max(len(c) for c in chunks))
    for chunk in chunks:
        buffer[:len(chunk)] = chunk
    return len(buffer)


class HttpClient:
    """A minimal HTTP/1.1 keep-alive client on loopback TCP: the fastest client of the service.

    The same rules as `RespClient`: a request's head and body leave in one `sendmsg`, a body
    lands with `recv_into` in a preallocated buffer. Held against the raw RESP client, it shows
    what the service itself costs per byte, apart from any HTTP library's (httpx's figures are
    the `ShareApi` rows beside it).
    """

    def __init__(self, port):
        self.sock = tcp_connection(("127.0.0.1", port))
        self._head = bytearray(64 * 1024)

    def close(self):
        self.sock.close()

    def request(self, method, path, headers=(), body=b""):
        """Send one request; return (status, headers, the body left in the head buffer)."""
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1",
                 f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in headers)]
        send_pieces(self.sock, [("\r\n".join(lines) + "\r\n\r\n").encode(), body])
        head, extra = read_through(self.sock, self._head, b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        fields = {name.lower(): value for name, value in
                  (line.split(": ", 1) for line in lines[1:])}
        return int(lines[0].split(" ")[1]), fields, extra

    def call(self, method, path, headers=(), body=b""):
        """Send a request with a small answer; return (status, answer body)."""
        status, fields, extra = self.request(method, path, headers, body)
        length = int(fields.get("content-length", 0))
        data = bytearray(extra)
        while len(data) < length:
            data += self.sock.recv(length - len(data))
        return status, bytes(data)

    def get_into(self, path, headers, buffer):
        """GET `path`, its body received into `buffer` over and over (like a GET per chunk
        into one preallocated buffer); return the body's length."""
        status, fields, extra = self.request("GET", path, headers)
        if status != 200:
            raise RuntimeError(f"GET {path}: {status}")
        length = int(fields["content-length"])
        received = len(extra)
        while received < length:
            count = self.sock.recv_into(buffer, min(len(buffer), length - received))
            if not count:
                raise ConnectionError(f"cut after {received} of {length} bytes")
            received += count
        return length
