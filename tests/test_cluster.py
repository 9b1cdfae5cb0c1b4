"""Run the service on a real Redis Cluster: three primaries, every share on exactly one of them.

The whole API life cycle goes through the Flask test client on an app configured with
REDIS_CLUSTER_NODES; the exactly-once storm goes through two gunicorn instances with several
workers each, all on the same cluster. With CI=true a cluster that cannot start fails the run.
"""

import dataclasses
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from devtools.processes import GunicornProcess
from server import create_app, store
from server.config import ConfigError, load_config
from tests.cluster import LocalCluster, free_port_pair
from tests.sharing import Sharing, b64u
from tests.support import TEST_CONFIG, missing_part
from tests.test_concurrency import deleted_soon, make_share, request, status_counts
from tests.test_faults import wait_for

PRIMARIES = 3
CLAIMANTS = 200
MIN_ROUNDS = 10
MAX_ROUNDS = 40


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A real three-primary Redis Cluster for this module."""
    try:
        local = LocalCluster(tmp_path_factory.mktemp("cluster"), PRIMARIES).start()
    except (RuntimeError, OSError) as error:
        missing_part(f"cannot start a Redis Cluster: {error}")
    yield local
    local.stop()


@pytest.fixture
def admin(cluster):
    """A cluster client on a whole, empty cluster (a test that stopped a node restarted it)."""
    cluster.wait_until_ok()
    cluster.flushall()
    client = cluster.client()
    yield client
    client.close()


@pytest.fixture
def app_config(cluster, admin):
    """Overrides conftest's: the app under test uses the cluster, not the single redis-server.

    Rate limits are off: these tests create shares faster than one address may, and the limits
    have tests of their own.
    """
    return {"REDIS_CLUSTER_NODES": cluster.seeds, "TESTING": True, **TEST_CONFIG,
            "RATE_LIMITS_ENABLED": 0}


def node_of(cluster, share_id):
    return cluster.node_for_key(store.share_keys(share_id)[0])


def keys_on(node, share_id):
    """Return the share's keys that `node` itself holds (KEYS is never redirected)."""
    with node.client() as client:
        return {key.decode() for key in client.keys(f"ots:{{{share_id}}}:*")}


# --- configuration -------------------------------------------------------------------------

@pytest.mark.parametrize("value, seeds", [
    ("", ()),
    ("10.0.0.1:7000", ("redis://10.0.0.1:7000",)),
    (" a:7000 , b:7001,", ("redis://a:7000", "redis://b:7001")),
    ("rediss://user:secret@a:7000", ("rediss://user:secret@a:7000",)),
])
def test_cluster_nodes_setting_is_parsed(value, seeds):
    assert load_config({"REDIS_CLUSTER_NODES": value})["REDIS_CLUSTER_NODES"] == seeds


@pytest.mark.parametrize("value", ["a", "a:port", "http://a:7000", "unix:///tmp/r.sock",
                                   "redis://a:7000/3", ":7000"])
def test_bad_cluster_nodes_fail_at_start_up(value):
    with pytest.raises(ConfigError, match="REDIS_CLUSTER_NODES"):
        load_config({"REDIS_CLUSTER_NODES": value})


# --- the life cycle --------------------------------------------------------------------------

def test_round_trip_owner_view_and_tombstone(sharing, cluster):
    share = sharing.create(size=200_000, downloads=1, expires_in=600)
    assert sharing.put_chunk(share, 0).status_code == 200
    assert sharing.put_chunk(share, 0).status_code == 200, "a repeated chunk is harmless"
    owner = sharing.owner(share).get_json()
    assert owner["state"] == "uploading" and owner["received_chunks"] == [0]
    incomplete = sharing.finalize(share)
    assert incomplete.status_code == 409 and incomplete.get_json()["missing"] == [1, 2, 3]
    sharing.upload(share)
    status = sharing.status(share.id).get_json()
    assert status["state"] == "ready" and status["downloads_left"] == 1
    assert sharing.download(share) == share.ciphertext
    assert sharing.claim(share).status_code == 410
    assert sharing.status(share.id).status_code == 410
    owner = sharing.owner(share).get_json()
    assert owner["state"] == "consumed" and owner["completed_downloads"] == 1
    assert keys_on(node_of(cluster, share.id), share.id) == {store.share_keys(share.id)[0]}


def test_ranges_resume_within_a_claim(sharing, cluster):
    share = sharing.ready(size=150_000, downloads=2)
    ticket = sharing.claim(share).get_json()["ticket"]
    for byte_range, expected in (("bytes=0-0", slice(0, 1)),
                                 ("bytes=65535-65536", slice(65535, 65537))):
        part = sharing.fetch(share.id, ticket, byte_range)
        assert part.status_code == 206 and part.get_data() == share.ciphertext[expected]
    first = sharing.fetch(share.id, ticket, "bytes=0-99999")
    rest = sharing.fetch(share.id, ticket, "bytes=100000-")
    assert first.get_data() + rest.get_data() == share.ciphertext
    last = sharing.claim(share).get_json()["ticket"]
    tail = sharing.fetch(share.id, last, "bytes=-10")
    assert tail.status_code == 206 and tail.get_data() == share.ciphertext[-10:]
    data_key = store.share_keys(share.id)[1]
    assert wait_for(lambda: data_key not in keys_on(node_of(cluster, share.id), share.id), 5)


def test_three_downloads_then_410(sharing):
    share = sharing.ready(size=100_000, downloads=3)
    for _ in range(3):
        assert sharing.download(share) == share.ciphertext
    response = sharing.claim(share)
    assert response.status_code == 410 and "already opened" in response.get_json()["message"]


def test_wrong_passwords_lock_the_share_and_consume_nothing(sharing):
    share = sharing.ready(size=1000, password=True)
    wrong = b64u(b"w" * 32)
    assert [sharing.claim(share, password=wrong).status_code for _ in range(5)] == [403] * 5
    assert sharing.claim(share).get_json()["code"] == "locked"
    assert sharing.unlock(share).get_json()["code"] == "locked"
    assert sharing.status(share.id).get_json()["downloads_left"] == 1


def test_owner_delete_leaves_a_tombstone(sharing, cluster):
    share = sharing.ready(size=100_000, downloads=2)
    ticket = sharing.claim(share).get_json()["ticket"]
    assert sharing.delete(share, token=share.access_token).status_code == 403
    assert sharing.delete(share).status_code == 204
    assert sharing.status(share.id).status_code == 410
    assert "deleted" in sharing.claim(share).get_json()["message"]
    assert sharing.fetch(share.id, ticket).status_code == 410
    assert store.share_keys(share.id)[1] not in keys_on(node_of(cluster, share.id), share.id)


def test_expiry_removes_every_key_and_tombstones_last_until_expiry(app_config, cluster):
    app_config.update(MIN_EXPIRY_SECONDS=1, CLAIM_IDLE_SECONDS=1, UPLOAD_IDLE_SECONDS=1)
    sharing = Sharing(create_app(app_config).test_client())
    expiring = sharing.ready(size=100_000, expires_in=1)
    consumed = sharing.ready(size=1000, expires_in=2)
    sharing.download(consumed)
    abandoned = sharing.create(size=150_000, expires_in=600)
    sharing.put_chunk(abandoned, 0)
    assert sharing.status(consumed.id).status_code == 410
    for share in (expiring, consumed, abandoned):
        node = node_of(cluster, share.id)
        assert wait_for(lambda node=node, share=share: not keys_on(node, share.id), 10)
        assert sharing.status(share.id).status_code == 404


def test_every_key_of_a_share_lives_on_the_node_that_owns_its_slot(sharing, cluster):
    share = sharing.ready(size=100_000, downloads=2, password=True)
    sharing.claim(share, password=b64u(b"w" * 32))  # a wrong password creates the counter key
    sharing.claim(share)  # a claim creates the claims set
    keys = store.share_keys(share.id)
    slots = {cluster.ask("CLUSTER", "KEYSLOT", key) for key in keys}
    assert len(slots) == 1
    home = cluster.node_for_slot(int(slots.pop()))
    for node in cluster.nodes:
        assert keys_on(node, share.id) == (set(keys) if node is home else set())


def test_shares_land_on_every_primary(sharing, cluster):
    shares = [sharing.ready(size=1000) for _ in range(40)]
    homes = {}
    for share in shares:
        home = node_of(cluster, share.id)
        assert keys_on(home, share.id) == {store.share_keys(share.id)[0],
                                           store.share_keys(share.id)[1]}
        homes[home.port] = homes.get(home.port, 0) + 1
    assert sorted(homes) == sorted(node.port for node in cluster.nodes), homes
    for node in cluster.nodes:
        with node.client() as client:
            assert len(client.keys("ots:*")) == 2 * homes[node.port]


def test_scripts_are_loaded_again_after_a_script_flush(app, sharing, cluster):
    share = sharing.ready(size=1000, downloads=2)
    for node in cluster.nodes:
        with node.client() as client:
            client.script_flush()
    assert sharing.download(share) == share.ciphertext
    claim_sha = app.extensions[store.EXTENSION_KEY].scripts["claim"].sha
    for node in cluster.nodes:  # loaded again where the share lives, and only there
        with node.client() as client:
            assert client.script_exists(claim_sha) == [node is node_of(cluster, share.id)]


def test_health_and_metrics_see_the_cluster(client):
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["redis"] == "up"
    metrics = client.get("/metrics").get_data(as_text=True)
    assert "onetimeshare_redis_up 1.0" in metrics


# --- memory: each share's node ---------------------------------------------------------------

def test_room_is_checked_on_the_node_that_will_hold_the_share(app, cluster):
    full = cluster.nodes[1]
    fields = store.NewShare(version=2, size=1_000_000, chunk_size=65536, chunks=16, downloads=1,
                            verifier="AAAA", metadata="")
    with full.client() as client:
        client.config_set("maxmemory", int(client.info("memory")["used_memory"]) + 500_000)
    try:
        with app.app_context():
            created = [store.create_share(fields, 60, 60, reserve=0) for _ in range(30)]
            ids = [share_id for share_id, _, _ in created]
            assert full not in {node_of(cluster, share_id) for share_id in ids}
            assert len({node_of(cluster, share_id).port for share_id in ids}) == PRIMARIES - 1
            # A chunk is checked on its share's node: one node filling up refuses its shares'
            # chunks and nothing else.
            chunk = os.urandom(65536)
            first_id, first_owner, _ = created[0]
            filling = node_of(cluster, first_id)
            other_id, other_owner, _ = next(share for share in created
                                            if node_of(cluster, share[0]) is not filling)
            with filling.client() as client:
                client.config_set("maxmemory",
                                  int(client.info("memory")["used_memory"]) + 1_000_000)
            with pytest.raises(store.StoreError, match="storage_full"):
                store.put_chunk(first_id, first_owner, 0, chunk, 60, 2_000_000)
            assert store.put_chunk(other_id, other_owner, 0, chunk, 60, 2_000_000) == 1
            with filling.client() as client:
                client.config_set("maxmemory", 0)
            assert store.put_chunk(first_id, first_owner, 0, chunk, 60, 0) == 1
            totals = store.memory_info()
            assert set(totals["nodes"]) == {f"127.0.0.1:{node.port}" for node in cluster.nodes}
            assert totals["used_memory"] == sum(int(memory["used_memory"])
                                                for memory in totals["nodes"].values())
            assert totals["maxmemory"] == 0, "two primaries have no limit"
    finally:
        for node in cluster.nodes:
            with node.client() as client:
                client.config_set("maxmemory", 0)


def test_a_share_no_primary_has_room_for_is_refused(app, cluster):
    fields = store.NewShare(version=2, size=1_000_000, chunk_size=65536, chunks=16, downloads=1,
                            verifier="AAAA", metadata="")
    try:
        for node in cluster.nodes:
            with node.client() as client:
                client.config_set("maxmemory", int(client.info("memory")["used_memory"]) + 500_000)
        with app.app_context(), pytest.raises(store.StoreError, match="storage_full"):
            store.create_share(fields, 60, 60, reserve=0)
        with app.app_context():
            assert store.create_share(dataclasses.replace(fields, size=1000), 60, 60,
                                      reserve=0)
    finally:
        for node in cluster.nodes:
            with node.client() as client:
                client.config_set("maxmemory", 0)


# --- faults ---------------------------------------------------------------------------------

def test_a_node_down_takes_only_its_own_shares_down_until_it_returns(sharing, client, cluster):
    shares = {}
    while len(shares) < PRIMARIES:  # one share on each primary
        share = sharing.ready(size=100_000, downloads=2)
        shares.setdefault(node_of(cluster, share.id).port, share)
    down = cluster.nodes[0]
    lost = shares[down.port]
    down.stop()
    try:
        refused = sharing.status(lost.id)
        assert refused.status_code == 503
        assert refused.get_json()["error"] == "Service Unavailable"
        assert refused.headers["Retry-After"] == "5"
        assert sharing.claim(lost).status_code == 503
        for port, share in shares.items():
            if port != down.port:
                assert sharing.download(share) == share.ciphertext
        # New shares go to the primaries that answer.
        created = [sharing.ready(size=100_000) for _ in range(10)]
        assert {node_of(cluster, share.id).port for share in created}.isdisjoint({down.port})
        assert client.get("/readyz").status_code == 200, "the other shares are served"
    finally:
        down.start()
    assert wait_for(lambda: sharing.status(lost.id).status_code == 200, 60)
    assert sharing.download(lost) == lost.ciphertext


def test_an_unreachable_cluster_is_503_and_the_app_still_starts(app_config):
    port = free_port_pair()  # nothing listens there
    app_config["REDIS_CLUSTER_NODES"] = f"127.0.0.1:{port}"
    client = create_app(app_config).test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["status"] == "unavailable"
    created = client.post("/api/v1/shares", json={
        "version": 2, "size": 100, "verifier": "A" * 43, "metadata": "A" * 64})
    assert created.status_code == 503 and created.get_json()["error"] == "Service Unavailable"
    assert client.get("/healthz").status_code == 200


# --- the exactly-once storm across two app instances ----------------------------------------

@pytest.fixture(scope="module")
def services(cluster, tmp_path_factory):
    """Two gunicorn instances, three workers each, on the same cluster."""
    logs = tmp_path_factory.mktemp("gunicorn")
    env = {
        "REDIS_CLUSTER_NODES": cluster.seeds,
        "CHUNK_SIZE": str(64 * 1024),
        "MAX_DOWNLOADS": "10",
        # All 200 claimants share one address; rate limits have tests of their own, and so
        # has the per-address connection cap (tests/test_slow_clients.py).
        "RATE_LIMITS_ENABLED": "0",
        "MAX_CONNECTIONS_PER_ADDRESS": "0",
    }
    # gunicorn_conf starts an embedded Redis whenever REDIS_URL is empty; a non-empty one,
    # which REDIS_CLUSTER_NODES overrides, keeps it from doing so.
    node_url = f"redis://127.0.0.1:{cluster.nodes[0].port}/0"
    started = []
    try:
        for index in range(2):
            started.append(GunicornProcess(node_url, workers=3, threads=8, env=env,
                                           log_path=logs / f"gunicorn{index}.log").start())
    except BaseException:
        for service in started:
            service.stop()
        raise
    yield started
    for service in started:
        service.stop()
    for index in range(2):
        assert b"Traceback" not in (logs / f"gunicorn{index}.log").read_bytes()


@pytest.fixture(scope="module")
def pool():
    with ThreadPoolExecutor(max_workers=CLAIMANTS) as executor:
        yield executor


def storm_across(pool, urls, share_id, tokens):
    """Fire one claim per token, alternating between instances, all released at once."""
    barrier = threading.Barrier(len(tokens))

    def claim(numbered):
        index, token = numbered
        barrier.wait(timeout=60)
        return request(urls[index % len(urls)], "POST", f"/api/v1/shares/{share_id}/claim",
                       token=token)

    return list(pool.map(claim, enumerate(tokens)))


@pytest.mark.parametrize("downloads", [1, 3])
def test_claim_storm_across_two_instances_releases_exactly_n(services, pool, admin, cluster,
                                                             downloads):
    urls = [service.url for service in services]
    ciphertext = os.urandom(150_000)
    stormed = set()  # ports of the primaries that held a stormed share
    rounds = 0
    # At least MIN_ROUNDS, and until every primary has held a stormed share.
    while rounds < MIN_ROUNDS or len(stormed) < PRIMARIES:
        assert rounds < MAX_ROUNDS, f"shares never reached every primary: {stormed}"
        share_id, (auth, _) = make_share(urls[rounds % 2], ciphertext, downloads)
        stormed.add(node_of(cluster, share_id).port)
        answers = storm_across(pool, urls, share_id, [auth] * CLAIMANTS)
        counts = status_counts(answers)
        assert counts == {200: downloads, 410: CLAIMANTS - downloads}, (rounds, counts)
        tickets = [json.loads(body)["ticket"] for status, body in answers if status == 200]
        assert len(set(tickets)) == downloads
        for number, ticket in enumerate(tickets):
            status, body = request(urls[number % 2], "GET",
                                   f"/api/v1/shares/{share_id}/content", token=ticket)
            assert status == 200 and body == ciphertext
        assert deleted_soon(admin, store.share_keys(share_id)[1])
        status, _ = request(urls[rounds % 2], "GET", f"/api/v1/shares/{share_id}")
        assert status == 410
        rounds += 1
    assert len(stormed) == PRIMARIES


def test_both_instances_run_several_workers(services):
    for service in services:
        assert wait_for(lambda service=service: len(service.worker_pids()) == 3, 10)


@pytest.mark.parametrize("error", [
    redis.exceptions.ClusterDownError("The cluster is down"),
    redis.exceptions.MasterDownError("The master is down"),
    redis.exceptions.TryAgainError("TRYAGAIN"),
    redis.exceptions.ClusterError("TTL exhausted."),
    redis.exceptions.SlotNotCoveredError('Slot "1" is not covered by the cluster.'),
    redis.exceptions.RedisClusterException("Redis Cluster cannot be connected."),
])
def test_what_a_failing_cluster_raises_is_503(sharing, monkeypatch, error):
    share = sharing.ready(size=1000)

    def failing(*args, **kwargs):
        raise error

    monkeypatch.setattr(redis.cluster.RedisCluster, "execute_command", failing)
    for response in (sharing.status(share.id), sharing.claim(share)):
        assert response.status_code == 503, response.get_json()
        assert response.get_json()["error"] == "Service Unavailable"
        assert response.headers["Retry-After"] == "5"
