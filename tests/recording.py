"""Record what a server sees: every byte clients send it, every command it sends Redis.

`RecordingProxy` is a loopback TCP relay placed in front of gunicorn; `RedisMonitor` keeps the
output of Redis's MONITOR command. Zero-knowledge tests search both for things that must never
reach the server.
"""

import socket
import threading

MAX_RECORDED = 256 * 1024 * 1024


class RecordingProxy:
    """Relay 127.0.0.1:<port> to `target_port`, keeping a copy of what clients send."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.received = bytearray()
        self.lock = threading.Lock()
        self.finished = {}  # connection -> directions that have ended
        self.threads = []
        self.accepting = threading.Thread(target=self._accept, daemon=True)
        self.accepting.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            for source, sink, record in ((client, upstream, True), (upstream, client, False)):
                thread = threading.Thread(target=self._pump, args=(source, sink, record),
                                          daemon=True)
                thread.start()
                self.threads.append(thread)

    def _pump(self, source, sink, record):
        try:
            while data := source.recv(1 << 16):
                if record:
                    with self.lock:
                        if len(self.received) + len(data) <= MAX_RECORDED:
                            self.received += data
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._close_when_both_ended(source, sink)

    def _close_when_both_ended(self, source, sink):
        """Close a connection's two sockets once both directions have ended, rather than leave
        them to the garbage collector (whose ResourceWarning the suite treats as an error)."""
        key = frozenset((id(source), id(sink)))
        with self.lock:
            ended = self.finished.pop(key, 0) + 1
            if ended == 1:
                self.finished[key] = ended
        if ended == 2:
            source.close()
            sink.close()

    def close(self):
        self.listener.close()
        for thread in self.threads:
            thread.join(timeout=5)


class RedisMonitor:
    """Keep everything Redis's MONITOR prints while it runs."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.sendall(b"MONITOR\r\n")
        self.output = bytearray()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            while data := self.sock.recv(1 << 16):
                if len(self.output) < MAX_RECORDED:
                    self.output += data
        except OSError:
            pass

    def close(self):
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join(timeout=5)
