"""Walk every stable error code the server produces, each from a real request on a real Redis.

One row per code: the request that provokes it, and the exact status and code it must get; the
completeness test holds the table to `server.errors.CODES`.
"""

import hashlib
import re
from dataclasses import dataclass

import pytest

from devtools.processes import free_port
from server import create_app, store
from server.errors import CODES, REFUSALS
from tests.sharing import Sharing, b64u, bearer, random_token
from tests.support import ROOT

CREATE = {"version": 2, "size": 1000, "verifier": b64u(b"v" * 32), "metadata": b64u(b"m" * 64)}


@dataclass
class World:
    """The suite's app and Redis, and a way to build an app with other settings."""

    app_config: dict
    sharing: Sharing
    redis_client: object
    monkeypatch: object
    tmp_path: object

    def variant(self, **settings):
        return Sharing(create_app({**self.app_config, **settings}).test_client())


@pytest.fixture
def world(app_config, sharing, redis_client, monkeypatch, tmp_path):
    yield World(app_config, sharing, redis_client, monkeypatch, tmp_path)
    redis_client.config_set("maxmemory", 0)


def locked(w):
    share = w.sharing.ready(password=True)
    for _ in range(w.app_config["PROOF_FAILURES_MAX"]):
        w.sharing.claim(share, password=random_token())
    return w.sharing.claim(share)


def consumed(w):
    share = w.sharing.ready()
    w.sharing.download(share)
    return w.sharing.status(share.id)


def deleted(w):
    share = w.sharing.ready()
    w.sharing.delete(share)
    return w.sharing.claim(share)


def rate_limited(w):
    people = w.variant(RATE_LIMITS_ENABLED=1, RATE_LIMIT_DEFAULT="1 per minute")
    people.client.get("/api/v1/config")
    return people.client.get("/api/v1/config")


def storage_full(w):
    w.redis_client.config_set("maxmemory", 1)
    return w.sharing.client.post("/api/v1/shares", json=CREATE)


def unavailable(w):
    people = w.variant(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    return people.client.post("/api/v1/shares", json=CREATE)


def internal(w):
    def broken(share_id):
        raise RuntimeError("a bug")

    w.monkeypatch.setattr(store, "share_fields", broken)
    return w.sharing.status(b64u(b"\1" * 16))


def not_durable(w):
    """The real wait is tested on a replicated pair in test_durability; here its verdict only."""
    class NeverConfirmed:
        def ensure_checked(self, clients):
            pass

        def wait_commands(self):
            return []

        def confirmed(self, replies):
            return False

    w.monkeypatch.setattr(store, "_connection_durability", NeverConfirmed)
    return w.sharing.claim(w.sharing.ready())


def ticket_invalid(w):
    share = w.sharing.ready()
    return w.sharing.fetch(share.id, random_token())


def range_not_satisfiable(w):
    share = w.sharing.ready(size=1000)
    ticket = w.sharing.claim(share).get_json()["ticket"]
    return w.sharing.fetch(share.id, ticket, "bytes=5000-")


def upload_incomplete(w):
    return w.sharing.finalize(w.sharing.create(size=1000))


def not_uploading(w):
    share = w.sharing.ready(size=1000)
    return w.sharing.put_chunk(share, 0)


def quota_exceeded(w):
    people = w.variant(STORED_SHARES_PER_SENDER=1)
    people.client.post("/api/v1/shares", json=CREATE)
    return people.client.post("/api/v1/shares", json=CREATE)


def with_upload_tokens(w, headers):
    path = w.tmp_path / "upload-tokens"
    path.write_text(f"alice {hashlib.sha256(b'right-token').hexdigest()}\n")
    people = w.variant(UPLOAD_TOKENS_FILE=str(path))
    return people.client.post("/api/v1/shares", json=CREATE, headers=headers)


def metrics_from_afar(w, headers=None, **settings):
    people = w.variant(**settings)
    return people.client.get("/metrics", headers=headers or {},
                             environ_base={"REMOTE_ADDR": "192.0.2.10"})


# (code, status, request)
CASES = [
    ("invalid_request", 400, lambda w: w.sharing.client.post(
        "/api/v1/shares", json={**CREATE, "size": "big"})),
    ("unsupported_version", 400, lambda w: w.sharing.client.post(
        "/api/v1/shares", json={**CREATE, "version": 1})),
    ("not_found", 404, lambda w: w.sharing.status(b64u(b"\0" * 16))),
    ("consumed", 410, consumed),
    ("deleted", 410, deleted),
    ("not_ready", 409, lambda w: w.sharing.claim(w.sharing.create())),
    ("not_uploading", 409, not_uploading),
    ("upload_incomplete", 409, upload_incomplete),
    ("proof_invalid", 403, lambda w: w.sharing.unlock(w.sharing.ready(), token=random_token())),
    ("password_required", 403, lambda w: w.sharing.claim(w.sharing.ready(password=True),
                                                         password=None)),
    ("password_invalid", 403, lambda w: w.sharing.unlock(w.sharing.ready(password=True),
                                                         password=random_token())),
    ("locked", 429, locked),
    ("rate_limited", 429, rate_limited),
    ("upload_budget", 429, lambda w: w.variant(UPLOAD_BYTES_PER_IP_PER_HOUR=100).client.post(
        "/api/v1/shares", json=CREATE)),
    ("owner_token_invalid", 403, lambda w: w.sharing.owner(w.sharing.ready(),
                                                           token=random_token())),
    ("ticket_invalid", 403, ticket_invalid),
    ("too_large", 413, lambda w: w.sharing.client.post(
        "/api/v1/shares", data=b" " * 70_000, headers={"Content-Type": "application/json"})),
    ("range_not_satisfiable", 416, range_not_satisfiable),
    ("method_not_allowed", 405, lambda w: w.sharing.client.patch("/api/v1/shares")),
    ("storage_full", 507, storage_full),
    ("unavailable", 503, unavailable),
    ("not_durable", 503, not_durable),
    ("internal", 500, internal),
    ("quota_exceeded", 429, quota_exceeded),
    ("upload_token_required", 401, lambda w: with_upload_tokens(w, {})),
    ("upload_token_invalid", 403, lambda w: with_upload_tokens(w, bearer("wrong-token"))),
    ("metrics_token_required", 401, lambda w: metrics_from_afar(w, METRICS_TOKEN="m" * 32)),
    ("metrics_token_invalid", 403, lambda w: metrics_from_afar(w, bearer("n" * 32),
                                                               METRICS_TOKEN="m" * 32)),
    ("metrics_forbidden", 403, lambda w: metrics_from_afar(w)),
]


@pytest.mark.parametrize("code, status, send", CASES, ids=[case[0] for case in CASES])
def test_each_code_comes_with_its_status_from_a_real_request(world, code, status, send):
    response = send(world)
    assert response.status_code == status, response.get_data()[:300]
    body = response.get_json()
    assert body["code"] == code
    assert body["error"] and body["message"]
    assert CODES[code] == status
    if status in (429, 503):
        assert int(response.headers["Retry-After"]) >= 1
    assert "Traceback" not in response.get_data(as_text=True)


def test_every_code_the_server_produces_is_walked():
    walked = [case[0] for case in CASES]
    assert len(walked) == len(set(walked))
    assert set(CODES) == set(walked)


def test_an_unknown_api_path_is_not_found_and_a_page_error_stays_html(client):
    api = client.get("/api/v1/nowhere")
    assert api.status_code == 404 and api.get_json()["code"] == "not_found"
    page = client.get("/s/not-a-share-id", headers={"Accept": "text/html"})
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert b"<html" in page.get_data().lower(), "pages keep their HTML error page"


def test_missing_tokens_name_the_token_that_is_missing(sharing):
    share = sharing.ready()
    url = f"/api/v1/shares/{share.id}"
    answers = {
        "claim": sharing.client.post(f"{url}/claim"),
        "unlock": sharing.client.post(f"{url}/unlock"),
        "content": sharing.client.get(f"{url}/content"),
        "owner": sharing.client.get(f"{url}/owner"),
        "finalize": sharing.client.post(f"{url}/finalize"),
        "delete": sharing.client.delete(url),
        "chunk": sharing.client.put(f"{url}/chunks/0", data=b"x" * 10),
    }
    assert {name: (r.status_code, r.get_json()["code"]) for name, r in answers.items()} == {
        "claim": (403, "proof_invalid"), "unlock": (403, "proof_invalid"),
        "content": (403, "ticket_invalid"), "owner": (403, "owner_token_invalid"),
        "finalize": (403, "owner_token_invalid"), "delete": (403, "owner_token_invalid"),
        "chunk": (403, "owner_token_invalid"),
    }
    assert sharing.client.post(f"{url}/claim", headers=bearer("short")).get_json()["code"] == (
        "invalid_request")


def test_every_refusal_in_the_code_names_a_known_code_with_its_status():
    sources = "\n".join(path.read_text("utf-8") for path in (ROOT / "server").glob("*.py"))
    calls = re.findall(r"refuse\(\s*(\d{3}),\s*\"(\w+)\"", sources)
    assert len(calls) >= 10, "the pattern still finds the refusals"
    for status, code in calls + [(str(s), c) for s, c, _ in REFUSALS.values()]:
        # invalid_request also answers 411 and 415, where the request is malformed that way.
        assert CODES[code] == int(status) or code == "invalid_request", (status, code)
