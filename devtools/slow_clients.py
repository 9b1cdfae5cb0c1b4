"""Attack and measure the service the way slow clients do, for tests and benchmarks.

`served` runs the service exactly as an operator starts it (`onetimeshare serve`); `Trickler`
holds connections open from chosen loopback source addresses, trickling a header block or a
request body a byte at a time, and notes when the server closes each one; `round_trip` is an
honest sender and recipient, speaking the HTTP API directly with random bytes standing in for
ciphertext. Nothing here talks to any address outside 127.0.0.0/8.
"""

import base64
import hashlib
import os
import selectors
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

from devtools.processes import ROOT, free_port, stop

HEADER_START = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
#: A chunk PUT that promises a whole 4 MiB chunk; the id and token are well-formed but random,
#: since the server reads a chunk's body before it asks Redis whether the share exists.
BODY_LENGTH = 4 * 1024 * 1024


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def attack_plan(addresses, count=1000):
    """Half header tricklers, half body tricklers, dealt round-robin over `addresses`."""
    return [(addresses[i % len(addresses)], "headers" if i % 2 else "body")
            for i in range(count)]


def body_headers():
    share_id, token = b64u(os.urandom(16)), b64u(os.urandom(32))
    return (f"PUT /api/v1/shares/{share_id}/chunks/0 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {BODY_LENGTH}\r\n\r\n").encode()


@dataclass
class Served:
    url: str
    port: int
    process: subprocess.Popen
    log_path: str

    def log(self):
        with open(self.log_path, errors="replace") as log:
            return log.read()


@contextmanager
def served(redis_url, log_path, *, workers=2, env=None):
    """Run `onetimeshare serve` on a free loopback port until the block ends."""
    port = free_port()
    environment = {**os.environ, "LOG_LEVEL": "info", **(env or {})}
    command = [sys.executable, "-m", "onetimeshare.cli", "serve", "--bind", f"127.0.0.1:{port}",
               "--redis-url", redis_url]
    if workers:  # else as shipped: the CPU count, at least 2
        command += ["--workers", str(workers)]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=environment, stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=log)
    server = Served(f"http://127.0.0.1:{port}", port, process, str(log_path))
    try:
        deadline = time.monotonic() + 60  # a loaded machine can take that long
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"onetimeshare serve exited: {server.log()[-2000:]}")
            try:
                if httpx.get(f"{server.url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("onetimeshare serve did not become ready")
            time.sleep(0.1)
        yield server
    finally:
        stop(process)


@dataclass
class SlowConnection:
    """One held connection: what it trickles, from where, and when the server let it go."""

    kind: str  # "headers" or "body"
    source: str
    sock: socket.socket
    pending: bytes
    opened_at: float
    closed_at: float | None = None
    received: bytes = b""
    sent: int = 0

    @property
    def held(self):
        return (self.closed_at or time.monotonic()) - self.opened_at

    @property
    def status(self):
        """The status code of whatever answer the server sent before closing, if any."""
        parts = self.received.split(b" ", 2)
        return int(parts[1]) if len(parts) > 2 and parts[0].startswith(b"HTTP/") else None


@dataclass
class Trickler:
    """Hold connections open, each sending one more byte every `interval` seconds.

    "headers" connections send a request line and then a header that never ends; "body"
    connections send the whole header block of a chunk PUT and then its body, one byte at a
    time. A thread watches every socket (epoll) and notes when the server closes it; with
    `replace`, it then opens a new one in its place, as a determined attacker would.
    """

    port: int
    plan: list  # (source address, kind) per connection
    interval: float = 1.0
    replace: bool = False
    connections: list = field(default_factory=list)

    def __enter__(self):
        self._stop = threading.Event()
        self._selector = selectors.DefaultSelector()
        for source, kind in self.plan:
            self._open(source, kind)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join(timeout=10)
        for connection in self.connections:
            connection.sock.close()  # closing twice is harmless
        self._selector.close()

    def _open(self, source, kind):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((source, 0))
        sock.settimeout(10)
        sock.connect(("127.0.0.1", self.port))
        sock.setblocking(False)
        sock.send(HEADER_START if kind == "headers" else body_headers())
        connection = SlowConnection(kind, source, sock, b"", time.monotonic())
        self.connections.append(connection)
        self._selector.register(sock, selectors.EVENT_READ, connection)

    def open_count(self):
        return sum(connection.closed_at is None for connection in self.connections)

    def wait_all_closed(self, timeout):
        """Wait until the server has closed every connection; return whether it has."""
        deadline = time.monotonic() + timeout
        while self.open_count() and time.monotonic() < deadline:
            time.sleep(0.1)
        return not self.open_count()

    def _run(self):
        next_tick = time.monotonic() + self.interval
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=max(0, next_tick - time.monotonic())):
                self._read(key.data)
            if time.monotonic() >= next_tick:
                next_tick += self.interval
                for connection in self.connections:
                    if connection.closed_at is None:
                        self._trickle(connection)

    def _read(self, connection):
        try:
            data = connection.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            connection.received += data
            return
        self._closed(connection)

    def _trickle(self, connection):
        try:
            connection.sock.send(b"a")
            connection.sent += 1
        except BlockingIOError:
            pass
        except OSError:
            self._closed(connection)

    def _closed(self, connection):
        connection.closed_at = time.monotonic()
        self._selector.unregister(connection.sock)
        connection.sock.close()
        if self.replace and not self._stop.is_set():
            self._open(connection.source, connection.kind)


def listen_queues(port):
    """Return the accept queue of each socket listening on 127.0.0.1:`port`, one per worker
    (server/gunicorn_conf.py); for a listening socket, /proc/net/tcp's rx_queue is that queue."""
    local = f"0100007F:{port:04X}"
    with open("/proc/net/tcp") as table:
        return [int(fields[4].split(":")[1], 16)
                for fields in (line.split() for line in table.readlines()[1:])
                if fields[1] == local and fields[3] == "0A"]  # 0A: LISTEN


def accept_backlog(port):
    """Return how many connections to 127.0.0.1:`port` wait for the server to accept them,
    in every worker's queue."""
    queues = listen_queues(port)
    if not queues:
        raise LookupError(f"nothing listens on 127.0.0.1:{port}")
    return sum(queues)


def wait_accepted(port, timeout=60):
    """Wait until the server has accepted every connection made so far; return when it had."""
    deadline = time.monotonic() + timeout
    while accept_backlog(port):
        assert time.monotonic() < deadline, "the server stopped accepting connections"
        time.sleep(0.05)
    return time.monotonic()


def honest_client(base_url, source="127.0.0.200", timeout=10):
    """An httpx client whose connections leave from `source`, not from the attackers' address."""
    transport = httpx.HTTPTransport(local_address=source)
    return httpx.Client(base_url=base_url, transport=transport, timeout=timeout)


def timed_healthz(http):
    """Return how long /healthz took to answer 200, in seconds."""
    started = time.monotonic()
    response = http.get("/healthz")
    assert response.status_code == 200, response.text
    return time.monotonic() - started


@dataclass
class Share:
    """A share as its sender knows it: random bytes for ciphertext, a random proof."""

    id: str
    owner_token: str
    proof: bytes
    ciphertext: bytes
    chunk_size: int

    @property
    def owner(self):
        return {"Authorization": f"Bearer {self.owner_token}"}


def create_share(http, size):
    """Create a share of `size` random bytes, with the newest protocol the server announces.

    The create body is the one every protocol version so far shares.
    """
    versions = http.get("/api/v1/config").json()["protocol_versions"]
    proof, ciphertext = os.urandom(32), os.urandom(size)
    created = http.post("/api/v1/shares", json={
        "version": max(versions), "size": size, "expires_in": 600, "downloads": 1,
        "verifier": b64u(hashlib.sha256(proof).digest()),
        "metadata": b64u(os.urandom(12 + 16 + 128)), "password": None,
    })
    assert created.status_code == 201, created.text
    body = created.json()
    return Share(body["id"], body["owner_token"], proof, ciphertext, body["chunk_size"])


def upload(http, share):
    """PUT every chunk and finalize."""
    step = share.chunk_size
    for index, offset in enumerate(range(0, len(share.ciphertext), step)):
        put = http.put(f"/api/v1/shares/{share.id}/chunks/{index}",
                       content=share.ciphertext[offset:offset + step],
                       headers={**share.owner, "Content-Type": "application/octet-stream"})
        assert put.status_code == 200, put.text
    finalized = http.post(f"/api/v1/shares/{share.id}/finalize", headers=share.owner)
    assert finalized.status_code == 200, finalized.text


def claim(http, share):
    """Claim the share with its proof; return the ticket for its content."""
    claimed = http.post(f"/api/v1/shares/{share.id}/claim",
                        headers={"Authorization": f"Bearer {b64u(share.proof)}"})
    assert claimed.status_code == 200, claimed.text
    return claimed.json()["ticket"]


def fetch(http, share, ticket, first_byte=0):
    """GET the content (from `first_byte` on) with the claim's ticket."""
    headers = {"Authorization": f"Bearer {ticket}"}
    if first_byte:
        headers["Range"] = f"bytes={first_byte}-"
    return http.get(f"/api/v1/shares/{share.id}/content", headers=headers)


def round_trip(http, size=300_000):
    """Create, upload, finalize, claim and download one share; return the seconds it took."""
    started = time.monotonic()
    share = create_share(http, size)
    upload(http, share)
    content = fetch(http, share, claim(http, share))
    assert content.status_code == 200
    assert content.content == share.ciphertext
    return time.monotonic() - started
