"""Check that nothing outlives its share: expiry, abandoned claims, abandoned uploads."""

import time

import pytest

from server import create_app
from tests.sharing import Sharing


@pytest.fixture
def fast_sharing(app_config):
    """Sharing on an app whose every window is about a second long."""
    app_config.update(MIN_EXPIRY_SECONDS=1, CLAIM_IDLE_SECONDS=1, UPLOAD_IDLE_SECONDS=1)
    return Sharing(create_app(app_config).test_client())


def share_ttls(redis_client):
    return {key.decode(): redis_client.pttl(key) for key in redis_client.keys("ots:*")}


def wait_until_gone(redis_client, pattern, seconds=5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not redis_client.keys(pattern):  # KEYS also expires what is due
            return True
        time.sleep(0.05)
    return False


def test_every_key_carries_a_ttl_no_later_than_expiry(sharing, redis_client):
    share = sharing.ready(size=150_000, downloads=3, expires_in=600, password=True)
    sharing.claim(share, password=share.owner_token)  # a wrong password creates the counter key
    ticket = sharing.claim(share).get_json()["ticket"]
    sharing.fetch(share.id, ticket, "bytes=0-10")
    ttls = share_ttls(redis_client)
    assert len(ttls) == 4, ttls
    assert all(0 < ttl <= 600_000 for ttl in ttls.values()), ttls


def test_expired_share_is_404_and_its_keys_are_gone(fast_sharing, redis_client):
    share = fast_sharing.ready(size=100_000, expires_in=1)
    assert fast_sharing.status(share.id).status_code == 200
    assert wait_until_gone(redis_client, "ots:*")
    assert fast_sharing.status(share.id).status_code == 404
    assert fast_sharing.claim(share).status_code == 404


def test_tombstone_lasts_until_the_original_expiry(fast_sharing, redis_client):
    share = fast_sharing.ready(size=1000, expires_in=2)
    fast_sharing.download(share)
    assert fast_sharing.status(share.id).status_code == 410
    assert wait_until_gone(redis_client, "ots:*")
    assert fast_sharing.status(share.id).status_code == 404


def test_abandoned_claim_is_purged_after_the_idle_window(fast_sharing, redis_client):
    share = fast_sharing.ready(size=100_000, expires_in=600)
    ticket = fast_sharing.claim(share).get_json()["ticket"]
    fast_sharing.fetch(share.id, ticket, "bytes=0-999")  # starts, then walks away
    assert redis_client.exists(f"ots:{{{share.id}}}:data")
    assert wait_until_gone(redis_client, "*:data")
    assert fast_sharing.fetch(share.id, ticket).status_code in (403, 410)
    assert fast_sharing.status(share.id).status_code == 410


def test_active_claim_keeps_the_content_alive(fast_sharing, redis_client):
    share = fast_sharing.ready(size=150_000, expires_in=600)
    ticket = fast_sharing.claim(share).get_json()["ticket"]
    for offset in range(0, 150_000, 30_000):  # slower than the idle window overall
        time.sleep(0.4)
        part = fast_sharing.fetch(share.id, ticket, f"bytes={offset}-{offset + 29_999}")
        assert part.status_code == 206
    assert redis_client.keys("*:data") == []


def test_abandoned_upload_is_dropped_after_the_idle_window(fast_sharing, redis_client):
    share = fast_sharing.create(size=150_000, expires_in=600)
    fast_sharing.put_chunk(share, 0)
    assert wait_until_gone(redis_client, "ots:*")
    assert fast_sharing.owner(share).status_code == 404


def test_unclaimed_share_with_downloads_left_keeps_its_content(fast_sharing, redis_client):
    share = fast_sharing.ready(size=1000, downloads=2, expires_in=600)
    fast_sharing.download(share)
    time.sleep(1.5)
    assert fast_sharing.download(share) == share.ciphertext
