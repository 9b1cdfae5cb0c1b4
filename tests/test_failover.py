"""Kill the primary right after a claim, promote its replica, and claim again: once means once.

Real processes: a primary and a replica (Valkey by default, and the system's Redis where it is
installed), the replica behind a link that delays the primary's bytes as a network between two
machines does (tests/replication.py). Each round: a fresh share, fully on the replica; the claim
through the app; SIGKILL to the primary at once, the link cut; REPLICAOF NO ONE on the replica;
the same claim through an app pointed at the promoted replica. At CLAIM_DURABILITY=replica the
second claim must be refused as already opened every time; at none and local (which guards
against a power cut, not a failover) it gets through, which shows the test can catch a loss.
"""

import shutil
import time

import pytest

from devtools.processes import valkey_binary
from server import create_app
from tests.cluster import LocalCluster
from tests.replication import ReplicatedPair
from tests.sharing import Sharing
from tests.support import TEST_CONFIG

ROUNDS = 20
ROUNDS_EXPECTED_TO_LOSE = 4


def servers():
    """Valkey (WAITAOF) with appendfsync everysec; Redis 7.0 (no WAITAOF) needs always."""
    found = [pytest.param((valkey_binary(), "everysec"), id="valkey")]
    if shutil.which("redis-server"):
        found.append(pytest.param((shutil.which("redis-server"), "always"), id="redis"))
    return found


@pytest.fixture(params=servers())
def pair(request, tmp_path):
    binary, fsync = request.param
    pair = ReplicatedPair(tmp_path, binary, fsync=fsync)
    yield pair
    pair.stop()


def app_on(node, level):
    return create_app({"REDIS_URL": node.url, "TESTING": True, **TEST_CONFIG,
                       "CLAIM_DURABILITY": level})


def claim_then_fail_over(pair, level):
    """Claim on the primary, fail over at once, claim again on the promoted replica."""
    sharing = Sharing(app_on(pair.primary, level).test_client())
    share = sharing.ready(size=2000)
    pair.wait_until_in_sync()  # the share is on the replica: what is at stake is the claim
    first = sharing.claim(share)
    assert first.status_code == 200, first.get_json()
    pair.fail_over()
    return Sharing(app_on(pair.primary, "none").test_client()).claim(share)


@pytest.mark.slow
def test_a_claim_at_the_replica_level_survives_every_failover(pair):
    for number in range(ROUNDS):
        second = claim_then_fail_over(pair, "replica")
        assert second.status_code == 410, (number, second.get_json())
        assert second.get_json()["message"].startswith("This link was already opened")


@pytest.mark.slow
@pytest.mark.parametrize("level", ["none", "local"])
def test_below_the_replica_level_a_failover_lets_a_second_claim_through(pair, level):
    statuses = [claim_then_fail_over(pair, level).status_code
                for _ in range(ROUNDS_EXPECTED_TO_LOSE)]
    assert 200 in statuses, statuses
    assert set(statuses) <= {200, 410}, statuses


# --- Redis Cluster: one replica per primary, CLUSTER FAILOVER TAKEOVER -----------------------

CLUSTER_ROUNDS = 20


@pytest.fixture
def replicated_cluster(tmp_path):
    """Three Valkey primaries with one replica each."""
    cluster = LocalCluster(tmp_path, primaries=3, replicas=1, binary=valkey_binary()).start()
    yield cluster
    cluster.stop()


def cluster_app(cluster, level):
    return create_app({"REDIS_CLUSTER_NODES": cluster.seeds, "TESTING": True, **TEST_CONFIG,
                       "CLAIM_DURABILITY": level})


def wait_until_served_by(cluster, key, node, seconds=30):
    deadline = time.monotonic() + seconds
    while cluster.node_for_key(key) is not node:
        assert time.monotonic() < deadline, "the replica did not take the slot over"
        time.sleep(0.05)


@pytest.mark.slow
def test_a_claim_at_the_replica_level_survives_every_cluster_failover(replicated_cluster):
    cluster = replicated_cluster
    for number in range(CLUSTER_ROUNDS):
        sharing = Sharing(cluster_app(cluster, "replica").test_client())
        share = sharing.ready(size=2000)
        key = f"ots:{{{share.id}}}:share"
        primary = cluster.node_for_key(key)
        replica = cluster.replica_of(primary)
        cluster.wait_for_replica(primary)  # the share is on the replica; the claim is at stake
        assert sharing.claim(share).status_code == 200
        primary.process.kill()  # SIGKILL, at once
        primary.process.wait()
        with replica.client() as client:
            client.execute_command("CLUSTER", "FAILOVER", "TAKEOVER")
        wait_until_served_by(cluster, key, replica)
        second = Sharing(cluster_app(cluster, "none").test_client()).claim(share)
        assert second.status_code == 410, (number, second.get_json())
        primary.start()  # back on its port: it rejoins as the replica of the new primary
        cluster.wait_for_replica(replica)
