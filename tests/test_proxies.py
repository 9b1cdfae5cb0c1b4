"""Check what depends on the proxies in front: the one warning when X-Forwarded-For arrives
while no proxy is trusted, and who may read /metrics.
"""

import hashlib
import logging

import pytest

from server import create_app
from tests.sharing import bearer

WARNING_LOGGER = "server.forwarded"


@pytest.fixture
def build(app_config):
    def make(address="127.0.0.1", **settings):
        client = create_app({**app_config, **settings}).test_client()
        client.environ_base["REMOTE_ADDR"] = address
        return client

    return make


# --- X-Forwarded-For while TRUSTED_PROXY_COUNT=0 ------------------------------------------------


def forwarded_warnings(caplog):
    return [r for r in caplog.records if r.name == WARNING_LOGGER and r.levelno == logging.WARNING]


def test_forwarded_for_without_trusted_proxies_warns_once(build, caplog):
    client = build("10.0.0.1")
    caplog.set_level(logging.WARNING, WARNING_LOGGER)
    assert client.get("/api/v1/config").status_code == 200
    assert forwarded_warnings(caplog) == []
    for address in ("198.51.100.7", "203.0.113.9", "198.51.100.8"):
        assert client.get("/api/v1/config",
                          headers={"X-Forwarded-For": address}).status_code == 200
    (warning,) = forwarded_warnings(caplog)
    assert "TRUSTED_PROXY_COUNT" in warning.getMessage()
    assert "198.51.100" not in warning.getMessage() and "203.0.113" not in warning.getMessage()


def test_no_warning_when_the_proxy_is_trusted(build, caplog):
    client = build("10.0.0.1", TRUSTED_PROXY_COUNT=1)
    caplog.set_level(logging.WARNING, WARNING_LOGGER)
    client.get("/api/v1/config", headers={"X-Forwarded-For": "198.51.100.7"})
    assert forwarded_warnings(caplog) == []


# --- /metrics ----------------------------------------------------------------------------------


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.5", "::1", "::ffff:127.0.0.1"])
def test_metrics_without_a_token_are_served_to_loopback_peers(build, address):
    answer = build(address).get("/metrics")
    assert answer.status_code == 200
    assert b"onetimeshare_redis_up" in answer.data


@pytest.mark.parametrize("address, settings, headers", [
    ("192.0.2.10", {}, {}),
    ("10.0.0.1", {}, {}),
    # A proxy on this machine is a loopback peer: what it forwards is refused.
    ("127.0.0.1", {}, {"X-Forwarded-For": "198.51.100.7"}),
    ("127.0.0.1", {"TRUSTED_PROXY_COUNT": 1}, {"X-Forwarded-For": "198.51.100.7"}),
    # Even a forwarded loopback address: the peer and the header are both checked.
    ("127.0.0.1", {"TRUSTED_PROXY_COUNT": 1}, {"X-Forwarded-For": "127.0.0.1"}),
    ("192.0.2.10", {"TRUSTED_PROXY_COUNT": 1}, {"X-Forwarded-For": "127.0.0.1"}),
])
def test_metrics_without_a_token_are_refused_to_everyone_else(build, address, settings,
                                                                headers):
    answer = build(address, **settings).get("/metrics", headers=headers)
    assert answer.status_code == 403
    assert answer.get_json()["code"] == "metrics_forbidden"
    assert b"onetimeshare_" not in answer.data


def test_metrics_with_a_token_need_it_from_everywhere(build):
    token = "s3cret-metrics-token"
    for address in ("192.0.2.10", "127.0.0.1"):
        client = build(address, METRICS_TOKEN=token)
        missing = client.get("/metrics")
        assert missing.status_code == 401
        assert missing.get_json()["code"] == "metrics_token_required"
        assert missing.headers["WWW-Authenticate"].startswith("Bearer")
        wrong = client.get("/metrics", headers=bearer(token + "x"))
        assert wrong.status_code == 403 and wrong.get_json()["code"] == "metrics_token_invalid"
        right = client.get("/metrics", headers=bearer(token))
        assert right.status_code == 200 and b"onetimeshare_redis_up" in right.data


# --- The refusals of issue 9 are documented -----------------------------------------------------


def test_the_new_refusals_match_the_openapi_document(app_config, tmp_path):
    from tests.test_openapi import Conformance
    from tests.test_quota import share_body

    tokens = tmp_path / "tokens"
    tokens.write_text("alice " + hashlib.sha256(b"alice-token").hexdigest() + "\n")
    api = Conformance(create_app({**app_config, "UPLOAD_TOKENS_FILE": str(tokens),
                                  "STORED_BYTES_PER_SENDER": 0, "STORED_SHARES_PER_SENDER": 1,
                                  "METRICS_TOKEN": "m"}))
    assert api.get("/api/v1/config").get_json()["upload_token_required"] is True
    assert api.post("/api/v1/shares", json=share_body(40)).status_code == 401
    assert api.post("/api/v1/shares", json=share_body(40),
                    headers=bearer("nope")).status_code == 403
    # Successes with a credential bypass the checker: it expects a documented `security` on
    # any success that sent one, and these credentials are optional (operator's choice).
    assert api.client.post("/api/v1/shares", json=share_body(40),
                           headers=bearer("alice-token")).status_code == 201
    quota = api.post("/api/v1/shares", json=share_body(40), headers=bearer("alice-token"))
    assert quota.status_code == 429 and quota.get_json()["code"] == "quota_exceeded"
    assert api.get("/metrics").status_code == 401
    assert api.get("/metrics", headers=bearer("x")).status_code == 403
    assert api.client.get("/metrics", headers=bearer("m")).status_code == 200
