"""Fail cleanly: Redis down is 503 and recovers by itself; Redis full is 507 and evicts nothing."""

import pytest
import redis

from devtools.processes import RedisProcess
from server import create_app, store
from tests.sharing import Sharing


@pytest.fixture
def lone_redis(tmp_path):
    """A private redis-server this test may stop, start and fill."""
    server = RedisProcess(tmp_path / "redis")
    yield server
    server.stop()


def test_redis_down_is_503_and_recovers_without_restart(lone_redis, app_config):
    app_config["REDIS_URL"] = lone_redis.url  # nothing listens there yet
    app = create_app(app_config)
    client = app.test_client()
    sharing = Sharing(client)
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["status"] == "unavailable"
    created = client.post("/api/v1/shares", json={
        "version": 2, "size": 100, "verifier": "A" * 43, "metadata": "A" * 64})
    assert created.status_code == 503 and created.get_json()["error"] == "Service Unavailable"
    assert created.get_json()["code"] == "unavailable"
    assert ready.headers["Retry-After"] == created.headers["Retry-After"] == "5"
    assert client.get("/healthz").status_code == 200

    lone_redis.start()
    share = sharing.ready(size=100_000)
    assert client.get("/readyz").status_code == 200
    lone_redis.stop()
    status = sharing.status(share.id)
    assert status.status_code == 503 and status.get_json()["error"] == "Service Unavailable"
    assert "Traceback" not in status.get_data(as_text=True)


def test_redis_full_is_507_and_other_shares_survive(lone_redis, app_config):
    lone_redis.start()
    app_config.update(REDIS_URL=lone_redis.url, STORAGE_RESERVE_BYTES=256 * 1024)
    sharing = Sharing(create_app(app_config).test_client())
    first = sharing.ready(size=1_000_000, downloads=2)
    admin = redis.Redis.from_url(lone_redis.url)
    admin.config_set("maxmemory", admin.info("memory")["used_memory"] + 4_500_000)
    admin.close()
    too_big = sharing.create(size=8 * 1024 * 1024, expect=507)
    assert too_big["message"] == "The server is out of storage space. Try again later."
    assert too_big["code"] == "storage_full"
    # Both fit when created; uploading both does not.
    second = sharing.create(size=3 * 1024 * 1024)
    third = sharing.create(size=3 * 1024 * 1024)
    sharing.upload(second)
    codes = [sharing.put_chunk(third, index).status_code for index in range(len(third.chunks))]
    assert 507 in codes and set(codes) == {200, 507}
    assert sharing.put_chunk(third, codes.index(507)).status_code == 507
    assert sharing.download(second) == second.ciphertext
    assert sharing.download(first) == first.ciphertext
    assert sharing.download(first) == first.ciphertext


def test_redis_refusing_a_write_itself_is_507_not_500(lone_redis, app_config):
    # The chunk script keeps the reserve free; a Redis pushed over maxmemory by other writes
    # refuses the chunk's transaction itself, and that is a 507 too, which leaves nothing behind.
    lone_redis.start()
    app_config.update(REDIS_URL=lone_redis.url, STORAGE_RESERVE_BYTES=0)
    sharing = Sharing(create_app(app_config).test_client())
    share = sharing.create(size=3 * 1024 * 1024)
    assert sharing.put_chunk(share, 0).status_code == 200
    admin = redis.Redis.from_url(lone_redis.url)
    data_key = store.share_keys(share.id).data
    fields = admin.hlen(data_key)
    admin.config_set("maxmemory", admin.info("memory")["used_memory"] - 100_000)
    refused = sharing.put_chunk(share, 1)
    assert refused.status_code == 507 and refused.get_json()["code"] == "storage_full"
    assert admin.hlen(data_key) == fields, "no staged bytes left behind"
    admin.config_set("maxmemory", 0)
    admin.close()
    sharing.upload(share)
    assert sharing.download(share) == share.ciphertext
