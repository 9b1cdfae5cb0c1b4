"""Check the stored-bytes quota per sender: one address cannot fill the store for everyone,
room comes back when a share stops holding ciphertext, and Redis never sees the address.
"""

import hmac
import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from devtools.processes import free_port
from server import create_app
from tests.sharing import Share, Sharing, b64u

CHUNK = 64 * 1024
SHARE = 8 * CHUNK  # 512 KiB
QUOTA = 4 * SHARE  # 2 MiB per sender
ALICE, BOB = "192.0.2.10", "198.51.100.20"


@pytest.fixture
def build(app_config):
    """Return a maker of Sharing clients, one per address, on one app with `settings`."""

    def make(**settings):
        app = create_app({**app_config, "STORED_BYTES_PER_SENDER": QUOTA,
                          "STORED_SHARES_PER_SENDER": 0, **settings})

        def sender(address=ALICE):
            client = app.test_client()
            client.environ_base["REMOTE_ADDR"] = address
            return Sharing(client)

        return sender

    return make


def assert_quota_exceeded(body, stored):
    assert body["code"] == "quota_exceeded"
    assert body["error"] == "Too Many Requests"
    assert body["quota_bytes"] == QUOTA and body["stored_bytes"] == stored
    assert f"at most {QUOTA} bytes" in body["message"]


def fill_quota(alice, expires_in=3600):
    """Store shares until the quota refuses one; return the shares and the refusal."""
    shares = [alice.ready(size=SHARE, expires_in=expires_in) for _ in range(QUOTA // SHARE)]
    refused = alice.create(size=SHARE, expires_in=expires_in, expect=429)
    return shares, refused


# --- The attack: one address fills a small Redis ------------------------------------------------


def squeeze_redis(redis_client, headroom):
    """Give Redis a maxmemory just `headroom` bytes above what it holds now."""
    redis_client.config_set("maxmemory", redis_client.info("memory")["used_memory"] + headroom)


@pytest.fixture
def small_redis(redis_client):
    yield redis_client
    redis_client.config_set("maxmemory", 0)


def test_one_address_hits_its_quota_while_another_still_creates_and_uploads(build, small_redis):
    sender = build(STORAGE_RESERVE_BYTES=512 * 1024)
    squeeze_redis(small_redis, 8 * 1024 * 1024)  # room for ~10 such shares, for everyone
    alice, bob = sender(ALICE), sender(BOB)
    refusals = [try_store(alice, SHARE) for _ in range(20)]  # more than the store can hold
    assert refusals[:QUOTA // SHARE] == [None] * (QUOTA // SHARE)
    refused = refusals[QUOTA // SHARE]
    assert refused.status_code == 429
    assert_quota_exceeded(refused.get_json(), QUOTA)
    assert {r.status_code for r in refusals[QUOTA // SHARE:]} == {429}
    # The second address still creates, uploads and downloads, even a large share.
    share = bob.ready(size=2 * SHARE)
    assert bob.download(share) == share.ciphertext
    note = bob.ready(size=40)
    assert bob.download(note) == note.ciphertext


def test_without_a_quota_one_address_fills_the_store_and_the_next_gets_507(build, small_redis):
    """The same attack with the quota off: what the quota prevents."""
    sender = build(STORED_BYTES_PER_SENDER=0, STORAGE_RESERVE_BYTES=512 * 1024)
    squeeze_redis(small_redis, 8 * 1024 * 1024)
    alice, bob = sender(ALICE), sender(BOB)
    stored = 0
    while (refused := try_store(alice, SHARE)) is None and stored < 40:
        stored += 1
    assert refused.status_code == 507
    assert stored > QUOTA // SHARE, "the store took more than one quota's worth"
    refused = try_store(bob, SHARE)
    assert refused.status_code == 507
    assert refused.get_json()["error"] == "Insufficient Storage"


def share_body(size, expires_in=3600):
    """A create body as tests.sharing.Sharing sends it."""
    return {"version": 2, "size": size, "expires_in": expires_in, "downloads": 1,
            "verifier": b64u(os.urandom(32)), "metadata": b64u(os.urandom(156))}


def try_store(sharing, size):
    """Create and upload a share of `size` bytes; return the first refusal, or None."""
    body = share_body(size)
    response = sharing.client.post("/api/v1/shares", json=body)
    if response.status_code != 201:
        return response
    data = response.get_json()
    share = Share(data["id"], data["owner_token"], "", os.urandom(size), data["chunk_size"],
                  body["metadata"])
    for index in range(len(share.chunks)):
        response = sharing.put_chunk(share, index)
        if response.status_code != 200:
            return response
    return None


# --- What the refusal says ---------------------------------------------------------------------


def test_refusal_names_the_limit_and_when_room_frees_up(build):
    alice = build()()
    before = time.time()
    shares, refused = fill_quota(alice, expires_in=600)
    assert_quota_exceeded(refused, QUOTA)
    assert refused["stored_shares"] == len(shares) and refused["frees_at"].endswith("Z")
    response = alice.client.post("/api/v1/shares", json=share_body(SHARE))
    assert response.status_code == 429
    assert 590 <= int(response.headers["Retry-After"]) <= 601 + (time.time() - before)
    assert "at the latest at" in response.get_json()["message"]


def test_a_share_larger_than_the_quota_is_refused_without_a_retry(build):
    refused = build(MAX_SHARE_BYTES=2 * QUOTA)().create(size=QUOTA + 1, expect=429)
    assert refused["code"] == "quota_exceeded" and refused["frees_at"] is None
    assert "larger than the quota" in refused["message"]


def test_share_count_cap(build):
    alice, bob = build(STORED_BYTES_PER_SENDER=0, STORED_SHARES_PER_SENDER=3)(), None
    for _ in range(3):
        alice.create(size=40)
    refused = alice.create(size=40, expect=429)
    assert refused["code"] == "quota_exceeded" and refused["quota_shares"] == 3
    assert "at most 3 shares" in refused["message"]
    bob = build(STORED_BYTES_PER_SENDER=0, STORED_SHARES_PER_SENDER=3)(BOB)
    assert bob.create(size=40).id


def test_quota_zero_turns_it_off(build, redis_client):
    alice = build(STORED_BYTES_PER_SENDER=0, STORED_SHARES_PER_SENDER=0)()
    for _ in range(QUOTA // SHARE + 2):
        alice.create(size=SHARE)
    assert redis_client.keys("ots-quota:*") == []


# --- Room comes back ---------------------------------------------------------------------------


def test_room_comes_back_when_a_share_is_downloaded(build):
    alice = build()()
    shares, _ = fill_quota(alice)
    assert alice.download(shares[0]) == shares[0].ciphertext
    assert alice.ready(size=SHARE).id
    alice.create(size=SHARE, expect=429)


def test_a_share_with_downloads_left_still_counts(build):
    alice = build()()
    shares = [alice.ready(size=SHARE, downloads=2) for _ in range(QUOTA // SHARE)]
    alice.download(shares[0])
    assert alice.create(size=SHARE, expect=429)["stored_bytes"] == QUOTA


def test_a_claim_in_progress_counts_until_its_fetch_ends(build):
    alice = build()()
    shares, _ = fill_quota(alice)
    ticket = alice.claim(shares[0]).get_json()["ticket"]
    alice.create(size=SHARE, expect=429)  # consumed, but its ciphertext is still being fetched
    assert alice.fetch(shares[0].id, ticket).status_code == 200
    assert alice.create(size=SHARE).id


def test_room_comes_back_when_a_share_is_deleted(build):
    alice = build()()
    shares, _ = fill_quota(alice)
    assert alice.delete(shares[1]).status_code == 204
    assert alice.create(size=SHARE).id


def test_room_comes_back_when_shares_expire_or_are_abandoned(build):
    alice = build(MIN_EXPIRY_SECONDS=1, UPLOAD_IDLE_SECONDS=1, CLAIM_IDLE_SECONDS=1)()
    alice.ready(size=SHARE, expires_in=1)
    abandoned = alice.create(size=SHARE)
    alice.put_chunk(abandoned, 0)
    claimed = alice.ready(size=SHARE)
    alice.claim(claimed)  # claimed, never fetched: abandoned after CLAIM_IDLE_SECONDS
    alice.ready(size=SHARE)
    alice.create(size=SHARE, expect=429)
    time.sleep(2.2)
    for _ in range(3):
        assert alice.create(size=SHARE).id
    assert alice.create(size=SHARE, expect=429)["stored_shares"] == 4


def test_racing_creates_cannot_pass_the_quota_together(build, redis_client):
    sender = build()
    bodies = [share_body(SHARE) for _ in range(24)]

    def create(body):
        return sender().client.post("/api/v1/shares", json=body).status_code

    with ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(create, bodies))
    assert sorted(statuses) == [201] * (QUOTA // SHARE) + [429] * (24 - QUOTA // SHARE)
    # The losers of the race left no share behind.
    assert len(redis_client.keys("ots:*:share")) == QUOTA // SHARE


# --- Privacy and expiry ------------------------------------------------------------------------


def test_redis_never_holds_the_address(build, redis_client):
    alice = build()()
    share = alice.ready(size=SHARE)
    alice.download(share)
    fill_quota(alice)
    # Every key and every value (DUMP holds a value's bytes); the rate limits keep their own.
    dump = b"".join(key + (redis_client.dump(key) or b"") for key in redis_client.keys("*")
                    if not key.startswith(b"ots-limits:"))
    assert ALICE.encode() not in dump and b"address" not in dump
    for key in redis_client.keys("ots-quota:*"):
        assert redis_client.pttl(key) > 0 or key == b"ots-quota:hash-key"


@pytest.mark.parametrize("size, asked, got", [
    (SHARE, 7200, 7200),  # at the threshold: the expiry asked for
    (SHARE + 1, 7200, 3600),  # above it: capped
    (SHARE + 1, 1800, 1800),  # a shorter expiry stays
])
def test_large_shares_get_a_shorter_maximum_expiry(build, size, asked, got):
    sender = build(LARGE_SHARE_BYTES=SHARE, LARGE_SHARE_MAX_EXPIRY_SECONDS=3600)
    alice = sender()
    share = alice.create(size=size, expires_in=asked)
    status = alice.owner(share).get_json()
    created = time.mktime(time.strptime(status["created_at"][:19], "%Y-%m-%dT%H:%M:%S"))
    expires = time.mktime(time.strptime(status["expires_at"][:19], "%Y-%m-%dT%H:%M:%S"))
    assert abs(expires - created - got) <= 1
    config = alice.client.get("/api/v1/config").get_json()
    assert config["large_share_bytes"] == SHARE
    assert config["large_share_max_expiry_seconds"] == 3600
    assert config["stored_bytes_per_sender"] == QUOTA


# --- Redis Cluster -----------------------------------------------------------------------------


def test_quota_on_a_cluster_counts_shares_on_every_node(cluster, app_config):
    cluster.wait_until_ok()
    cluster.flushall()
    app = create_app({**app_config, "REDIS_URL": "", "REDIS_CLUSTER_NODES": cluster.seeds,
                      "STORED_BYTES_PER_SENDER": 0, "STORED_SHARES_PER_SENDER": 6})
    alice = Sharing(app.test_client())
    shares = [alice.ready(size=40) for _ in range(6)]
    nodes = {cluster.node_for_key(f"ots:{{{share.id}}}:share") for share in shares}
    assert len(nodes) > 1, "the shares landed on more than one primary"
    assert alice.create(size=40, expect=429)["stored_shares"] == 6
    alice.download(shares[0])
    alice.delete(shares[1])
    assert [alice.create(size=40).id for _ in range(2)]
    assert alice.create(size=40, expect=429)["code"] == "quota_exceeded"
    down = create_app({**app_config, "REDIS_URL": "",
                       "REDIS_CLUSTER_NODES": f"127.0.0.1:{free_port()}"})
    assert down.test_client().post("/api/v1/shares", json=share_body(40)).status_code == 503


def test_a_cluster_node_down_keeps_its_shares_counted_and_the_sender_creating(cluster,
                                                                             app_config):
    cluster.wait_until_ok()
    cluster.flushall()
    app = create_app({**app_config, "REDIS_URL": "", "REDIS_CLUSTER_NODES": cluster.seeds,
                      "STORED_BYTES_PER_SENDER": 0, "STORED_SHARES_PER_SENDER": 6})
    alice = Sharing(app.test_client())  # the test client's address: 127.0.0.1
    shares = [alice.ready(size=40)]
    client = cluster.client()
    try:
        key = client.get("ots-quota:hash-key")
    finally:
        client.close()
    bucket = hmac.new(key, b"address:127.0.0.1", "sha256").hexdigest()[:32]
    busy = {cluster.node_for_key("ots-quota:hash-key").port,
            cluster.node_for_key(f"ots-quota:{{{bucket}}}:bytes").port}
    target = next(node for node in cluster.nodes if node.port not in busy)
    for _ in range(60):  # 5 shares, at least one of them on the node about to go down
        on_target = [s for s in shares if node_of(cluster, s).port == target.port]
        if len(shares) == 5 and on_target:
            break
        if len(shares) == 5:
            alice.delete(shares.pop(0))
        shares.append(alice.ready(size=40))
    lost = next(s for s in shares if node_of(cluster, s).port == target.port)
    target.stop()
    try:
        assert alice.create(size=40).id, "a create still lands on a node that answers"
        # The share on the stopped node cannot say it was released: it still counts.
        assert alice.create(size=40, expect=429)["stored_shares"] == 6
        up = next(s for s in shares if node_of(cluster, s).port != target.port)
        alice.download(up)
        assert alice.create(size=40).id
        assert alice.create(size=40, expect=429)["code"] == "quota_exceeded"
    finally:
        target.start()
    cluster.wait_until_ok()
    assert alice.download(lost) == lost.ciphertext


def node_of(cluster, share):
    return cluster.node_for_key(f"ots:{{{share.id}}}:share")
