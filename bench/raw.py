"""The fastest ways to move a chunk that the benchmarks compare the service against.

`RespClient` speaks just enough RESP over the Redis server's unix socket (or a TCP address,
as compose's app reaches its Redis: bench/bench_compose.py) to SET and GET one
value: the header and the chunk leave in one `sendmsg` (no copy of the chunk in user space), and
a reply lands with `recv_into` straight in a preallocated buffer. No client library does less
work per byte, so it is the floor a service in front of the same server can be held to.
`loopback_copy` and `memcpy` bound what any HTTP hop and any in-memory copy can do.
"""

import socket
import threading


class RespClient:
    """A minimal RESP client: SET, GET, DEL and simple commands only.

    `address`: a unix socket's path, or a (host, port) pair for TCP (with TCP_NODELAY, as
    redis-py sets it, so a small command is never held back waiting for an ACK).
    """

    def __init__(self, address):
        if isinstance(address, tuple):
            self.sock = socket.create_connection(address)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
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
        view = memoryview(self._small)
        filled = 0
        while True:
            filled += self.sock.recv_into(view[filled:])
            end = self._small.find(b"\r\n", 0, filled)
            if end >= 0:
                return bytes(self._small[:end]), bytes(self._small[end + 2:filled])

    def command(self, *parts):
        """Send a small command; return its one-line reply (errors raise)."""
        self.sock.sendall(self._header(*[p if isinstance(p, bytes) else str(p).encode()
                                         for p in parts]))
        line, _ = self._read_line()
        if line.startswith(b"-"):
            raise RuntimeError(line.decode())
        return line

    def set(self, key, data):
        header = self._header(b"SET", key, payload_len=len(data))
        total = len(header) + len(data) + 2
        sent = self.sock.sendmsg([header, data, b"\r\n"])
        if sent < total:  # the rest, without copying the chunk
            view = memoryview(data)
            pieces = [(header, len(header)), (view, len(data)), (b"\r\n", 2)]
            skip = sent
            for piece, length in pieces:
                if skip >= length:
                    skip -= length
                    continue
                self.sock.sendall(piece[skip:])
                skip = 0
        line, _ = self._read_line()
        if line != b"+OK":
            raise RuntimeError(line.decode())

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
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._head = bytearray(64 * 1024)

    def close(self):
        self.sock.close()

    def request(self, method, path, headers=(), body=b""):
        """Send one request; return (status, headers, the body left in the head buffer)."""
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1",
                 f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in headers)]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode()
        sent = self.sock.sendmsg([head, body])
        if sent < len(head):
            self.sock.sendall(head[sent:])
            sent = len(head)
        if sent < len(head) + len(body):  # the rest, without copying the body
            self.sock.sendall(memoryview(body)[sent - len(head):])
        return self._read_head()

    def _read_head(self):
        view = memoryview(self._head)
        filled = 0
        while True:
            count = self.sock.recv_into(view[filled:])
            if not count:
                raise ConnectionError("closed before the answer's head")
            filled += count
            end = self._head.find(b"\r\n\r\n", 0, filled)
            if end >= 0:
                break
        lines = bytes(self._head[:end]).decode("latin-1").split("\r\n")
        fields = dict(line.split(": ", 1) for line in lines[1:])
        fields = {k.lower(): v for k, v in fields.items()}
        return int(lines[0].split(" ")[1]), fields, bytes(self._head[end + 4:filled])

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
