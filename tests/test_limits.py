"""Check the abuse controls: rate limits per client address, the upload byte budget, the
trusted-proxy setting, and that a full server refuses new data without harming stored shares.

Every app here turns the limits on itself (RATE_LIMITS_ENABLED=1), whatever the suite's default.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from devtools.processes import GunicornProcess, free_port
from server import create_app
from server.config import ConfigError, load_config
from tests.sharing import Sharing, b64u, bearer

SOME_ID = b64u(b"\1" * 16)
SOME_TOKEN = b64u(b"t" * 32)
CREATE = {"version": 2, "size": 1000, "verifier": b64u(b"v" * 32), "metadata": b64u(b"m" * 64)}
CHUNK = 64 * 1024
BUDGET = 3 * CHUNK


@pytest.fixture
def limited(app_config):
    """Build an app with rate limits on and the given settings; return a test client maker."""

    def build(**settings):
        app = create_app({**app_config, "RATE_LIMITS_ENABLED": 1,
                          "UPLOAD_BYTES_PER_IP_PER_HOUR": 0, **settings})

        def client(address="192.0.2.10"):
            test_client = app.test_client()
            test_client.environ_base["REMOTE_ADDR"] = address
            return test_client

        return client

    return build


def assert_rate_limited(response, window=60):
    assert response.status_code == 429, response.get_data()[:300]
    body = response.get_json()
    assert body["error"] == "Too Many Requests" and "address" in body["message"]
    assert body["code"] == "rate_limited"
    assert 1 <= int(response.headers["Retry-After"]) <= window + 1


# Each route with a limit of its own, and routes that share the default, as (setting, request).
ROUTES = {
    "create": ("RATE_LIMIT_CREATE", lambda c: c.post("/api/v1/shares", json=CREATE), 201),
    "claim": ("RATE_LIMIT_CLAIM", lambda c: c.post(f"/api/v1/shares/{SOME_ID}/claim",
                                                   headers=bearer(SOME_TOKEN)), 404),
    "unlock": ("RATE_LIMIT_CLAIM", lambda c: c.post(f"/api/v1/shares/{SOME_ID}/unlock",
                                                    headers=bearer(SOME_TOKEN)), 404),
    "chunk": ("RATE_LIMIT_CHUNK", lambda c: c.put(f"/api/v1/shares/{SOME_ID}/chunks/0",
                                                  data=b"x" * 100, headers=bearer(SOME_TOKEN)),
              404),
    "config": ("RATE_LIMIT_DEFAULT", lambda c: c.get("/api/v1/config"), 200),
    "status": ("RATE_LIMIT_DEFAULT", lambda c: c.get(f"/api/v1/shares/{SOME_ID}"), 404),
    "openapi": ("RATE_LIMIT_DEFAULT", lambda c: c.get("/api/v1/openapi.json"), 200),
}


@pytest.mark.parametrize("route", ROUTES)
def test_each_route_answers_429_past_its_configured_limit(limited, route):
    setting, send, status = ROUTES[route]
    client = limited(**{setting: "3 per minute"})()
    assert [send(client).status_code for _ in range(3)] == [status] * 3
    assert_rate_limited(send(client))
    others = [name for name, (other, _, _) in ROUTES.items() if other != setting]
    for name in others[:2]:  # other routes keep their own count
        assert ROUTES[name][1](client).status_code == ROUTES[name][2]


def test_routes_on_the_default_limit_are_counted_separately(limited):
    client = limited(RATE_LIMIT_DEFAULT="2 per minute")()
    for _ in range(2):
        assert client.get("/api/v1/config").status_code == 200
    assert_rate_limited(client.get("/api/v1/config"))
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_limits_are_per_client_address(limited):
    build = limited(RATE_LIMIT_CREATE="2 per minute")
    first, second = build("192.0.2.10"), build("192.0.2.11")
    for _ in range(2):
        assert first.post("/api/v1/shares", json=CREATE).status_code == 201
    assert_rate_limited(first.post("/api/v1/shares", json=CREATE))
    assert second.post("/api/v1/shares", json=CREATE).status_code == 201


def test_ipv6_clients_are_counted_per_64(limited):
    build = limited(RATE_LIMIT_DEFAULT="2 per minute")
    assert build("2001:db8:0:7::1").get("/api/v1/config").status_code == 200
    assert build("2001:db8:0:7::ffff").get("/api/v1/config").status_code == 200
    assert_rate_limited(build("2001:db8:0:7:abcd::9").get("/api/v1/config"))
    assert build("2001:db8:0:8::1").get("/api/v1/config").status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_probes_and_metrics_are_never_limited(limited, path):
    client = limited(RATE_LIMIT_DEFAULT="1 per minute", METRICS_TOKEN="scrape")()
    headers = bearer("scrape")  # /metrics is not public (tests/test_proxies.py)
    assert [client.get(path, headers=headers).status_code for _ in range(5)] == [200] * 5


def test_rate_limits_can_be_turned_off(limited):
    client = limited(RATE_LIMITS_ENABLED=0, RATE_LIMIT_DEFAULT="1 per minute",
                     RATE_LIMIT_CREATE="1 per minute")()
    assert [client.get("/api/v1/config").status_code for _ in range(5)] == [200] * 5
    assert [client.post("/api/v1/shares", json=CREATE).status_code
            for _ in range(3)] == [201] * 3


def test_a_refused_request_consumes_nothing_and_the_share_still_works(limited, redis_client):
    client = limited(RATE_LIMIT_CLAIM="1 per minute")()
    people = Sharing(client)
    share = people.ready(size=150_000, password=True)
    assert people.claim(share, password=SOME_TOKEN).status_code == 403
    assert_rate_limited(people.claim(share))
    assert people.status(share.id).get_json()["downloads_left"] == 1
    assert not redis_client.exists(f"ots:{{{share.id}}}:claims")
    other = limited(RATE_LIMIT_CLAIM="1 per minute")("192.0.2.99")
    assert Sharing(other).download(share) == share.ciphertext


# --- Client address behind proxies -------------------------------------------------------------


def test_forwarded_for_is_ignored_without_trusted_proxies(limited):
    client = limited(RATE_LIMIT_CREATE="2 per minute", TRUSTED_PROXY_COUNT=0)()
    answers = [client.post("/api/v1/shares", json=CREATE,
                           headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code
               for i in range(2)]
    assert answers == [201, 201]
    # A fresh address in the header buys nothing: the peer address is what is counted.
    assert_rate_limited(client.post("/api/v1/shares", json=CREATE,
                                    headers={"X-Forwarded-For": "203.0.113.77"}))


@pytest.mark.parametrize("proxies, spoofed, honest", [
    # The right-most entries are the ones trusted proxies appended; the rest came from the client.
    (1, "203.0.113.9, 198.51.100.7", "198.51.100.7"),
    (2, "203.0.113.9, 198.51.100.7, 10.0.0.2", "198.51.100.7, 10.0.0.2"),
])
def test_trusted_proxies_count_the_forwarded_client_address(limited, proxies, spoofed, honest):
    # Every request arrives from the (last) proxy's own address, 10.0.0.1.
    client = limited(RATE_LIMIT_CREATE="2 per minute", TRUSTED_PROXY_COUNT=proxies)("10.0.0.1")

    def create(forwarded):
        return client.post("/api/v1/shares", json=CREATE, headers={"X-Forwarded-For": forwarded})

    assert [create(honest).status_code for _ in range(2)] == [201, 201]
    # The client put another address in front of what the proxies wrote: it is still counted
    # as 198.51.100.7.
    assert_rate_limited(create(spoofed))
    other = honest.replace("198.51.100.7", "198.51.100.8")
    assert create(other).status_code == 201


def test_proxy_setting_is_validated():
    with pytest.raises(ConfigError):
        load_config(environ={}, overrides={"TRUSTED_PROXY_COUNT": -1})


@pytest.mark.parametrize("value", ["lots", "", "30 per fortnight", "per minute"])
def test_rate_settings_are_validated(value):
    with pytest.raises(ConfigError, match="RATE_LIMIT_CLAIM"):
        load_config(environ={"RATE_LIMIT_CLAIM": value})


def test_rate_settings_accept_several_limits():
    config = load_config(environ={"RATE_LIMIT_CREATE": "5/second; 100 per hour"})
    assert config["RATE_LIMIT_CREATE"] == "5/second; 100 per hour"


# --- Storage trouble ---------------------------------------------------------------------------


def test_limits_fail_open_when_redis_is_down():
    """The limiter cannot count, so it lets requests through; the store then answers 503."""
    app = create_app({"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0", "TESTING": True,
                      "RATE_LIMITS_ENABLED": 1, "RATE_LIMIT_DEFAULT": "1 per minute",
                      "REDIS_RETRY_AFTER": 7})
    client = app.test_client()
    assert [client.get("/api/v1/config").status_code for _ in range(3)] == [200] * 3
    for response in (client.post("/api/v1/shares", json=CREATE),
                     client.put(f"/api/v1/shares/{SOME_ID}/chunks/0", data=b"x",
                                headers=bearer(SOME_TOKEN))):
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "7"
        assert response.get_json()["error"] == "Service Unavailable"


# --- The upload byte budget --------------------------------------------------------------------


def test_upload_budget_refuses_chunks_past_it_and_resets_per_address(limited, redis_client):
    build = limited(UPLOAD_BYTES_PER_IP_PER_HOUR=BUDGET, RATE_LIMITS_ENABLED=0)
    people = Sharing(build())
    # Two uploads declared at once both fit the budget; sending them both does not.
    first, second = people.create(size=2 * CHUNK), people.create(size=2 * CHUNK)
    people.upload(first)
    assert people.put_chunk(second, 0).status_code == 200
    refused = people.put_chunk(second, 1)
    assert refused.status_code == 429 and refused.get_json()["code"] == "upload_budget"
    assert "0 left" in refused.get_json()["message"] and refused.get_json()["error"]
    assert 3590 <= int(refused.headers["Retry-After"]) <= 3600
    owner = people.owner(second).get_json()
    assert owner["received_chunks"] == [0], "the refused chunk was not stored"
    assert people.download(first) == first.ciphertext
    # Another address has a budget of its own.
    neighbour = Sharing(build("192.0.2.200"))
    assert neighbour.ready(size=2 * CHUNK).ciphertext
    ttls = [redis_client.pttl(key) for key in redis_client.keys("ots-limits:upload-bytes:*")]
    assert len(ttls) == 2 and all(0 < ttl <= 3600_000 for ttl in ttls)


def test_upload_budget_refuses_a_share_it_cannot_cover_at_creation(limited):
    people = Sharing(limited(UPLOAD_BYTES_PER_IP_PER_HOUR=BUDGET)())
    people.ready(size=2 * CHUNK)
    refused = people.create(size=CHUNK + 2, expect=429)
    assert f"{CHUNK} left" in refused["message"] and refused["code"] == "upload_budget"
    assert people.ready(size=CHUNK).ciphertext, "what is left can still be used"


def test_upload_budget_zero_means_no_budget(limited, redis_client):
    people = Sharing(limited(UPLOAD_BYTES_PER_IP_PER_HOUR=0)())
    share = people.ready(size=10 * CHUNK)
    assert people.download(share) == share.ciphertext
    assert redis_client.keys("ots-limits:upload-bytes:*") == []


def test_upload_budget_counter_never_lacks_a_ttl(limited, redis_client):
    people = Sharing(limited(UPLOAD_BYTES_PER_IP_PER_HOUR=BUDGET)())
    share = people.create(size=CHUNK)
    redis_client.set("ots-limits:upload-bytes:192.0.2.10", 5)  # as if an EXPIRE had been lost
    assert people.put_chunk(share, 0).status_code == 200
    assert 0 < redis_client.pttl("ots-limits:upload-bytes:192.0.2.10") <= 3600_000
    assert int(redis_client.get("ots-limits:upload-bytes:192.0.2.10")) == CHUNK + 5


# --- The server's storage quota (Redis maxmemory and STORAGE_RESERVE_BYTES) ----------------------


def test_a_full_server_refuses_new_data_and_keeps_every_stored_share(limited, redis_client, app):
    people = Sharing(limited()())
    stored = people.ready(size=3 * CHUNK, downloads=2)
    partial = people.create(size=3 * CHUNK)
    assert people.put_chunk(partial, 0).status_code == 200
    reserve = app.config["STORAGE_RESERVE_BYTES"]
    redis_client.config_set("maxmemory", redis_client.info("memory")["used_memory"] + reserve // 2)
    try:
        for refused in (people.put_chunk(partial, 1), people.create(size=1000, expect=507)):
            body = refused if isinstance(refused, dict) else refused.get_json()
            assert body["error"] == "Insufficient Storage"
        assert people.download(stored) == stored.ciphertext
        assert people.owner(partial).get_json()["received_chunks"] == [0]
    finally:
        redis_client.config_set("maxmemory", 0)
    people.upload(partial)  # resumes where it stopped once there is room again
    assert people.download(partial) == partial.ciphertext
    assert people.download(stored) == stored.ciphertext


# --- On a Redis Cluster -------------------------------------------------------------------------


def test_limits_and_budget_work_on_a_cluster_and_start_without_it(cluster, app_config):
    cluster.wait_until_ok()
    cluster.flushall()
    settings = {**app_config, "REDIS_URL": "", "RATE_LIMITS_ENABLED": 1,
                "RATE_LIMIT_CREATE": "2 per minute", "UPLOAD_BYTES_PER_IP_PER_HOUR": BUDGET}
    people = Sharing(create_app({**settings, "REDIS_CLUSTER_NODES": cluster.seeds}).test_client())
    first, second = people.create(size=2 * CHUNK), people.create(size=2 * CHUNK)
    assert_rate_limited(people.client.post("/api/v1/shares", json=CREATE))
    people.upload(first)
    assert people.put_chunk(second, 0).status_code == 200
    assert people.put_chunk(second, 1).status_code == 429
    assert people.download(first) == first.ciphertext
    # With the cluster unreachable the app still starts; limits let requests through to 503.
    down = create_app({**settings, "REDIS_CLUSTER_NODES": f"127.0.0.1:{free_port()}"})
    client = down.test_client()
    assert [client.get("/api/v1/config").status_code for _ in range(3)] == [200] * 3
    assert client.post("/api/v1/shares", json=CREATE).status_code == 503


# --- Shared by every worker and every instance -------------------------------------------------


@pytest.fixture(scope="module")
def two_instances(redis_server, tmp_path_factory):
    """Two app instances on one Redis: one with two workers, one with one."""
    env = {"RATE_LIMITS_ENABLED": "1", "RATE_LIMIT_CLAIM": "20 per minute",
           "RATE_LIMIT_CHUNK": "20 per minute", "CHUNK_SIZE": str(CHUNK)}
    logs = tmp_path_factory.mktemp("limits")
    first = GunicornProcess(redis_server.url, workers=2, threads=8, env=env,
                            log_path=logs / "first.log")
    second = GunicornProcess(redis_server.url, workers=1, threads=8, env=env,
                             log_path=logs / "second.log")
    try:
        yield first.start(), second.start()
    finally:
        first.stop()
        second.stop()
    for log in ("first.log", "second.log"):
        assert b"Traceback" not in (logs / log).read_bytes()


def test_limits_hold_across_workers_and_instances(two_instances, redis_client):
    barrier = threading.Barrier(40)

    def claim(index):
        base = two_instances[index % 2].url
        barrier.wait(timeout=30)
        # A fresh connection per claim, so the workers of the first instance share the load.
        return httpx.post(f"{base}/api/v1/shares/{b64u(os.urandom(16))}/claim",
                          headers=bearer(SOME_TOKEN), timeout=30)

    with ThreadPoolExecutor(max_workers=40) as pool:
        answers = list(pool.map(claim, range(40)))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [404] * 20 + [429] * 20
    assert all(int(a.headers["Retry-After"]) >= 1 for a in answers if a.status_code == 429)


def test_a_rate_limited_chunk_leaves_the_connection_usable(two_instances, redis_client):
    """The limiter refuses before the body is read; the connection must still carry the next
    requests (a body left unread on a keep-alive connection breaks the next one)."""
    base = two_instances[1].url
    with httpx.Client(base_url=base, timeout=30) as http:
        for _ in range(25):  # past the 20 chunks a minute, on one connection
            answer = http.put(f"/api/v1/shares/{SOME_ID}/chunks/0", content=b"x" * CHUNK,
                              headers=bearer(SOME_TOKEN))
            assert answer.status_code in (404, 429)
        assert answer.status_code == 429
        assert http.get("/api/v1/config").status_code == 200
