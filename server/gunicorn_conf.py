"""Configure gunicorn for OneTimeShare.

Run as `gunicorn -c python:server.gunicorn_conf 'server:create_app()'`.

Greenlets, not threads, carry concurrent connections (server/serving.py): a connection spends
most of its life waiting on a socket, and a slow or idle client must cost a few KiB, not one of
a handful of threads. When REDIS_URL is unset, the master starts the embedded redis-server
before forking, so every worker joins the same one, and stops it on exit. The Dockerfile and
`onetimeshare serve` both use this file.
"""

import ctypes
import errno
import multiprocessing
import os
import resource
import shutil
import socket
import tempfile

# Before anything imports prometheus_client: every worker then writes its counters to files
# here, and /metrics adds them up. A directory of our own, emptied at start and at exit.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="onetimeshare-metrics-")
    _own_metrics_dir = True
else:
    _own_metrics_dir = False

from server import embedded_redis  # noqa: E402
from server.config import load_config  # noqa: E402

_settings = load_config()  # a bad setting stops the start here, before any worker forks

# Every value below comes from server/config.py, validated there like the app's own settings.
bind = _settings["BIND"]
workers = _settings["WEB_CONCURRENCY"] or max(2, multiprocessing.cpu_count())
# Gunicorn's gevent worker with paced sockets and a per-address cap; the why is in its module.
worker_class = "server.serving.Worker"
worker_connections = _settings["GUNICORN_WORKER_CONNECTIONS"]
timeout = _settings["GUNICORN_TIMEOUT"]
graceful_timeout = 30
# The gevent worker bounds waiting for, and reading, each request's header block by this.
keepalive = _settings["CLIENT_HEADER_TIMEOUT"]
# Every byte of an answer goes through the paced socket's sendall; sendfile would bypass it.
sendfile = False
# Gunicorn >= 25 opens a control socket under $HOME; several instances on one machine (or a
# container user without a home) would collide on it, and nothing here uses it.
control_socket_disable = True
# Access logs would record share ids in request paths; errors go to stderr without them.
accesslog = None
errorlog = "-"
loglevel = _settings["LOG_LEVEL"]

_embedded = {}
#: Descriptors beyond the client connections: Redis connections, logs, metrics files.
SPARE_FILES_PER_WORKER = 256


def on_starting(server):
    """Balance connections, raise the open-file limit, then start the embedded Redis, before
    any worker exists."""
    _balance_connections(server)
    _raise_open_file_limit(server)
    if _settings["REDIS_URL"] or _settings["REDIS_CLUSTER_NODES"]:
        return
    url, process = embedded_redis.start(_settings["DATA_DIR"],
                                        _settings["EMBEDDED_REDIS_MAXMEMORY"])
    os.environ["REDIS_URL"] = url
    _embedded["process"] = process
    server.log.info("embedded redis-server listening on %s", url)


def _balance_connections(server):
    """Give each worker a listening socket of its own (SO_REUSEPORT), on TCP addresses.

    With one socket shared by every worker, whichever worker wakes first takes a whole burst
    of new connections, and keep-alive keeps them there: with 64 users connecting at once, one
    step in six had them all in one of two workers, at full CPU while the other idled (179
    small shares a second, p99 3.1 s; bench/bench_small.py, docs/deployment.md). With a socket
    per worker the kernel spreads new connections over the workers (50/50 in every step, p99
    0.67-0.97 s). Gunicorn (>= 24) then binds in each worker, not in the master.

    Unix sockets cannot be shared that way (each worker would replace the last one's), so
    they keep the one socket. SO_REUSEPORT would also let a second server started by mistake
    on the same port quietly take half the connections: refused here, before anything starts.
    """
    addresses = server.cfg.address
    if not hasattr(socket, "SO_REUSEPORT") or not all(
            isinstance(address, tuple) for address in addresses):
        server.cfg.set("reuse_port", False)
        return
    server.cfg.set("reuse_port", True)
    # Gunicorn's own "Listening at" line is empty then: the master holds no socket.
    server.log.info("each worker listens on %s with a socket of its own",
                    ", ".join(f"{host}:{port}" for host, port in addresses))
    if os.environ.get("GUNICORN_PID") or os.environ.get("LISTEN_FDS"):
        return  # a re-executed master (USR2) or socket activation: the port is ours already
    for host, port in addresses:
        _refuse_if_in_use(host, port)


def _refuse_if_in_use(host, port):
    """Raise RuntimeError (gunicorn prints it and exits 1) if anything listens on host:port.

    Bound the way gunicorn binds it (IPv6 for an IPv6 literal, else IPv4, SO_REUSEADDR) but
    without SO_REUSEPORT, so a listening socket of any process makes the bind fail.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise RuntimeError(f"cannot listen on {host}:{port}: the address is already "
                                   "in use (another server runs there)") from None
            raise


def _raise_open_file_limit(server):
    """Lift the soft limit on open files to the hard one, for the workers and embedded Redis.

    Each held connection is a descriptor, and many shells and service managers start programs
    with a soft limit of 1024, below what `worker_connections` promises. Raising the soft
    limit up to the hard one needs no privilege.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    wanted = workers * (worker_connections + SPARE_FILES_PER_WORKER)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        server.log.warning(
            "open-file limit %d is below the %d that %d workers x %d connections need; "
            "raise it (ulimit -n) or lower GUNICORN_WORKER_CONNECTIONS",
            soft, wanted, workers, worker_connections)


M_ARENA_MAX = -8  # glibc's mallopt() parameter number
MALLOC_ARENAS = 2


def post_fork(server, worker):
    """Hand the worker the signals it caught before its own handlers (server/serving.py), and
    cap glibc's malloc arenas in it, before any thread starts.

    Each thread (a gthread worker's, or gevent's resolver pool) otherwise gets an arena of its
    own, and a 4 MiB chunk freed in one stays with it: a worker streaming several uploads at
    once then keeps tens of MiB more than it uses (measured in docs/performance.md with
    gthread). An explicit MALLOC_ARENA_MAX wins.
    """
    worker.signals_before_init = server.SIG_QUEUE
    if os.environ.get("MALLOC_ARENA_MAX"):
        return
    try:
        ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, MALLOC_ARENAS)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to cap


def post_worker_init(worker):
    """Start the worker's append-only-file purge thread (server/aof_purge.py)."""
    from server import aof_purge, store

    app = worker.wsgi
    aof_purge.start(app.extensions[store.EXTENSION_KEY], app.config["AOF_PURGE_SECONDS"])


def child_exit(server, worker):
    """Drop a dead worker's live gauges from the shared metrics files."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """Stop the embedded Redis the master started (it flushes its AOF first)."""
    embedded_redis.stop(_embedded.pop("process", None))
    if _own_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
