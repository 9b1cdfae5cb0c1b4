"""Opened, deleted and expired ciphertext leaves Redis's append-only file within AOF_PURGE_SECONDS.

A real redis-server (TEST_REDIS_SERVER's) keeping an append-only file, real gunicorn with the
purge thread; the test reads the files in the AOF directory, as someone with the disk would.
"""

import os
import time

import pytest
import redis

from devtools.processes import GunicornProcess, RedisProcess
from server import aof_purge
from tests.sharing import HttpClient, Sharing

PERIOD = 3
#: The promised bound: the period, one poll, and the rewrite itself (a few MB here: fast).
BOUND = PERIOD + aof_purge.poll_seconds(PERIOD) + 2


def aof_bytes(directory):
    """Everything the append-only files hold, concatenated."""
    folder = directory / "appendonlydir"
    return b"".join(path.read_bytes() for path in sorted(folder.iterdir()))


@pytest.fixture
def service(tmp_path):
    store = RedisProcess(tmp_path / "redis", "--appendonly", "yes").start()
    server = GunicornProcess(store.url, workers=1, threads=4, env={
        "AOF_PURGE_SECONDS": str(PERIOD), "MIN_EXPIRY_SECONDS": "1",
        "RATE_LIMITS_ENABLED": "0", "CHUNK_SIZE": str(64 * 1024)},
        log_path=tmp_path / "gunicorn.log").start()
    yield store, server
    server.stop()
    store.stop()


@pytest.mark.slow
def test_ciphertext_of_opened_deleted_and_expired_shares_leaves_the_disk(service):
    store, server = service
    client = redis.Redis.from_url(store.url)
    seconds, micros = client.time()
    # A rewrite "just happened": the next is due PERIOD from now, so the files can be seen to
    # hold the ciphertext first (which shows the search would find it).
    client.set(aof_purge.KEY_PREFIX % "0", seconds * 1000 + micros // 1000)
    with HttpClient(server.url) as adapter:
        sharing = Sharing(adapter)
        opened, deleted, kept = (sharing.ready(os.urandom(100_000)) for _ in range(3))
        expiring = sharing.ready(os.urandom(100_000), expires_in=1)
        assert sharing.download(opened) == opened.ciphertext
        assert sharing.delete(deleted).status_code == 204
        gone_at = time.monotonic()
        marks = {name: share.ciphertext[:4096] for name, share in
                 (("opened", opened), ("deleted", deleted), ("expired", expiring),
                  ("kept", kept))}
        on_disk = aof_bytes(store.directory)
        assert all(mark in on_disk for mark in marks.values()), "the search finds ciphertext"

        while time.monotonic() - gone_at < BOUND + 5:
            on_disk = aof_bytes(store.directory)
            left = [name for name, mark in marks.items() if mark in on_disk]
            if left == ["kept"]:
                break
            time.sleep(0.2)
        elapsed = time.monotonic() - gone_at
        assert left == ["kept"], f"still on disk after {elapsed:.1f} s: {left}"
        assert elapsed <= BOUND, f"gone only after {elapsed:.1f} s (bound {BOUND} s)"
        assert sharing.download(kept) == kept.ciphertext, "the rewrite kept the live share"
    client.close()


def test_an_idle_redis_is_not_rewritten(tmp_path):
    store = RedisProcess(tmp_path / "redis", "--appendonly", "yes").start()
    try:
        client = redis.Redis.from_url(store.url)
        client.bgrewriteaof()
        while int(client.info("persistence")["aof_rewrite_in_progress"]):
            time.sleep(0.05)
        time.sleep(0.2)
        assert not aof_purge.purge_once(client, aof_purge.KEY_PREFIX % "0", 0.001)
        client.set("something", "changed")
        assert aof_purge.purge_once(client, aof_purge.KEY_PREFIX % "0", 0.001)
        while int(client.info("persistence")["aof_rewrite_in_progress"]):
            time.sleep(0.05)
        assert not aof_purge.purge_once(client, aof_purge.KEY_PREFIX % "0", 3600), "too soon"
        client.close()
    finally:
        store.stop()
