"""Serve HTTP so that slow or idle clients cannot starve the service: the gunicorn worker class.

Gunicorn's gevent worker gives every connection a greenlet instead of a thread, so a client that
trickles its headers or its body holds a few KiB of memory, not one of a fixed number of threads;
redis-py, flask-limiter and prometheus_client run unchanged on the monkey-patched sockets and
locks. Gunicorn's own parser reads every request; this module only adds the three limits a
public endpoint needs on top (docs/deployment.md, "Serving model"):

- **The header block** (request line and headers) must arrive whole within
  CLIENT_HEADER_TIMEOUT of the connection opening or of the previous answer. The gevent worker
  already bounds `next(parser)` with a `gevent.Timeout`; its length is gunicorn's `keepalive`,
  which server/gunicorn_conf.py sets to this setting.
- **Bodies and answers** move through `PacedSocket`: every read or write that makes no progress
  for CLIENT_IDLE_TIMEOUT ends the connection, and so does a request whose client, counted over
  the time the worker waited on it, averages less than CLIENT_MIN_RATE bytes a second (after
  the same idle allowance). A client that keeps reading or sending at a modest rate is never
  cut, however long its transfer takes.
- **Connections per client address** are capped per worker (MAX_CONNECTIONS_PER_ADDRESS), so
  one address cannot fill a worker's `worker_connections`. Behind trusted proxies every
  connection comes from a proxy, so the cap is off there; the proxy must apply its own.

One more rule keeps a burst orderly rather than slow: at most CONCURRENT_REQUESTS_PER_WORKER
API requests of a worker run at once (`RunSlots`). A greenlet gives its slot up while it waits
on its client, so slow clients hold none. Without it, 200 claims arriving together all start, share
the CPU in turns and all finish late (p50 close to the slowest); with it they are served about
in order of arrival, as by a pool of threads (bench/bench_claims.py).
"""

import errno
import queue
import signal
import socket
import time
import warnings
from collections import Counter

from gevent.lock import BoundedSemaphore
from gevent.monkey import MonkeyPatchWarning
from gunicorn.workers.ggevent import GeventWorker

from .addresses import address_group
from .config import load_config

#: Written, unread request or not, to a connection beyond its address's cap; then it is closed.
TOO_MANY_CONNECTIONS = (
    b'{"error": "Too Many Requests", "code": "rate_limited", '
    b'"message": "Too many open connections from your address. Close some and try again."}'
)
REFUSAL = (
    b"HTTP/1.1 429 Too Many Requests\r\n"
    b"Content-Type: application/json\r\n"
    b"Content-Length: " + str(len(TOO_MANY_CONNECTIONS)).encode() + b"\r\n"
    b"Retry-After: 1\r\n"
    b"Cache-Control: no-store\r\n"
    b"X-Content-Type-Options: nosniff\r\n"
    b"Connection: close\r\n\r\n" + TOO_MANY_CONNECTIONS
)
#: How long a refused connection may take to accept its 429, and then to hang up by itself.
REFUSAL_SECONDS = 1


class ClientTooSlow(ConnectionResetError):
    """The client let a read or write stall, or moved its bytes too slowly: drop it.

    A ConnectionResetError with errno ECONNRESET, because gunicorn treats that as a client
    gone away (a debug line) rather than a server fault (a traceback in the error log), and
    Werkzeug turns it into `ClientDisconnected` if it surfaces while the app reads a body.
    """

    def __init__(self, what):
        super().__init__(errno.ECONNRESET, f"client too slow: {what}")


class PacedSocket:
    """Wrap a client socket so that each request's reads and writes must keep moving.

    Only the time spent waiting on the client counts, not the time the app spends on Redis.
    Per request the client may keep the worker waiting `idle + moved / min_rate` seconds in
    all (`moved`: bytes read and written so far), and any single wait at most `idle`.
    `sendall` is a loop of `send` calls, each bounded on its own: a socket timeout would bound
    the whole call, and cut a slow but honest reader in the middle of a 4 MiB chunk.
    """

    def __init__(self, sock, idle, min_rate, slots=None):
        self._sock = sock
        self._idle = idle
        self._min_rate = min_rate
        self._spent = False
        self._slots = slots
        self._holding = False
        self.new_request()

    def take_slot(self):
        """Wait for one of the worker's run slots (see `RunSlots`); no-op without a cap."""
        if self._slots is not None and not self._holding:
            self._slots.acquire()
            self._holding = True

    def give_slot_up(self):
        if self._holding:
            self._holding = False
            self._slots.release()

    def new_request(self):
        """Start counting afresh: a new request (or the wait for one) begins."""
        self._moved = 0
        self._waited = 0.0

    def _wait_allowed(self, what):
        if self._spent:
            raise ClientTooSlow(what)
        allowed = self._idle
        if self._min_rate:
            allowed = min(allowed, self._idle + self._moved / self._min_rate - self._waited)
        if allowed <= 0:
            self._spent = True
            raise ClientTooSlow(what)
        return allowed

    def _io(self, what, operation, *args):
        self._sock.settimeout(self._wait_allowed(what))
        holding = self._holding
        self.give_slot_up()  # a request waiting on its client lets another one run
        started = time.monotonic()
        try:
            return operation(*args)
        except TimeoutError:
            self._spent = True
            raise ClientTooSlow(what) from None
        finally:
            self._waited += time.monotonic() - started
            if holding:
                self.take_slot()

    def recv(self, size, *flags):
        data = self._io("reading", self._sock.recv, size, *flags)
        self._moved += len(data)
        return data

    def recv_into(self, buffer, *args):
        count = self._io("reading", self._sock.recv_into, buffer, *args)
        self._moved += count
        return count

    def send(self, data, *flags):
        count = self._io("writing", self._sock.send, data, *flags)
        self._moved += count
        return count

    def sendall(self, data, *flags):
        view = memoryview(data).cast("B")
        while view:
            view = view[self.send(view, *flags):]

    def sendfile(self, file, offset=0, count=None):
        # Never used (server/gunicorn_conf.py turns sendfile off); refused rather than sent
        # around the pacing.
        raise OSError(errno.ENOTSUP, "sendfile is off: responses go through sendall")

    def setblocking(self, flag):
        # Gunicorn makes new connections blocking; each read and write sets its own bound.
        pass

    def __getattr__(self, name):
        return getattr(self._sock, name)


#: Only API requests take run slots; pages, static files and the health probes take none. So
#: /healthz, which touches no Redis, answers even when every slot is held (say, by claims
#: waiting on a slow Redis): an orchestrator must not restart a worker because storage is slow.
SLOTTED_PREFIX = "/api/"


class RunSlots(BoundedSemaphore):
    """The run slots of one worker: CONCURRENT_REQUESTS_PER_WORKER requests run at once.

    A request takes a slot when gunicorn has parsed its headers and gives it back when its
    answer is written; while it waits on its client (body bytes, a full send buffer) it holds
    none. Waiting greenlets are woken in the order they came, so a burst is served first come,
    first served, and the Redis connections a worker opens stay near the cap.
    """


def address_key(addr):
    """Return what connections are counted by (server/addresses.py); None for a unix socket."""
    host = addr[0] if isinstance(addr, tuple) and addr else ""
    return address_group(host)


class Worker(GeventWorker):
    """Gunicorn's gevent worker with paced sockets and a cap on connections per address."""

    def init_process(self):
        settings = load_config()
        self.idle_timeout = settings["CLIENT_IDLE_TIMEOUT"]
        self.min_rate = settings["CLIENT_MIN_RATE"]
        # Behind trusted proxies every peer is a proxy: capping it would cap everyone.
        self.per_address = 0 if settings["TRUSTED_PROXY_COUNT"] else (
            settings["MAX_CONNECTIONS_PER_ADDRESS"])
        self.open_connections = Counter()
        running = settings["CONCURRENT_REQUESTS_PER_WORKER"]
        self.run_slots = RunSlots(running) if running else None
        super().init_process()

    #: Set by gunicorn_conf.post_fork: the master's signal queue, as this process inherited it.
    signals_before_init = None

    def init_signals(self):
        """Install the worker's handlers, then act on a stop that came before them.

        From its fork until here the worker still runs the master's handler, which only queues
        a signal for the master's loop: a SIGTERM sent while the worker booted (monkey patching,
        binding its own socket) was lost, and the worker served on until the master killed it
        at the graceful timeout, 30 s later. Those signals are in the inherited queue.
        """
        super().init_signals()
        if self.signals_before_init is None:
            return
        while True:
            try:
                sig = self.signals_before_init.get_nowait()
            except queue.Empty:
                return
            if sig in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
                self.alive = False  # nothing runs yet: stopping now is the graceful way

    def patch(self):
        with warnings.catch_warnings():
            # Gunicorn's master imports ssl before any worker can patch it, so gevent always
            # warns here. Nothing made an ssl object before the patch; TLS to Redis
            # (rediss://) builds its context later, from the patched module.
            warnings.filterwarnings("ignore", category=MonkeyPatchWarning,
                                    message="Monkey-patching ssl after ssl")
            super().patch()

    def handle(self, listener, client, addr):
        key = address_key(addr) if self.per_address else None
        if key is not None and self.open_connections[key] >= self.per_address:
            self._refuse(client)
            return
        if key is not None:
            self.open_connections[key] += 1
        try:
            paced = PacedSocket(client, self.idle_timeout, self.min_rate, self.run_slots)
            super().handle(listener, paced, addr)
        finally:
            if key is not None:
                self.open_connections[key] -= 1
                if not self.open_connections[key]:
                    del self.open_connections[key]

    def handle_request(self, listener_name, req, sock, addr):
        # Each request gets its own allowance, and so does the wait for the next one.
        sock.new_request()
        if req.path.startswith(SLOTTED_PREFIX):
            sock.take_slot()
        try:
            return super().handle_request(listener_name, req, sock, addr)
        finally:
            sock.give_slot_up()
            sock.new_request()

    def _refuse(self, client):
        """Answer 429 without reading the request, then close without losing the answer.

        Closing a socket with unread bytes sends a reset, and a reset makes the client's
        kernel drop the answer it has not read yet. So: the answer, our end shut for writing,
        then a short wait for the client's own close while what it sends is discarded.
        """
        deadline = time.monotonic() + REFUSAL_SECONDS
        try:
            client.settimeout(REFUSAL_SECONDS)
            client.sendall(REFUSAL)
            client.shutdown(socket.SHUT_WR)
            while time.monotonic() < deadline and client.recv(65536):
                client.settimeout(max(deadline - time.monotonic(), 0.01))
        except OSError:
            pass
        finally:
            client.close()
