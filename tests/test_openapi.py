"""Check the OpenAPI document: valid, complete, served as shipped, and true to every answer.

Conformance tests drive the app through `Conformance` (tests/openapi_conformance.py), a test
client that checks every answer against the documented operation before handing it back. The
`Sharing` helpers run on top of it, so every step of a life cycle is checked too.
"""

import io
import json
import re
from dataclasses import dataclass

import pytest
from openapi_spec_validator import validate

from devtools.processes import free_port
from server import create_app
from server.errors import CODES
from tests.openapi_conformance import (
    DOCUMENT,
    DOCUMENT_FILE,
    HTTP_METHODS,
    METADATA,
    ON_A_SHARE,
    OPERATIONS,
    SALT,
    SECURED,
    SOME_TOKEN,
    UNKNOWN_ID,
    VALID_CREATE,
    VERIFIER,
    Conformance,
    chunk_url,
    create_with,
    fill,
    openapi_path,
    operation_id,
    owner_of,
    plausible_request,
    resolve,
    schema_errors,
    share_url,
)
from tests.sharing import Share, Sharing, b64u, bearer


@pytest.fixture
def api(app):
    return Conformance(app)


@pytest.fixture
def people(api):
    """Sender and recipient helpers whose every request is checked against the document."""
    return Sharing(api)


# --- The document itself -----------------------------------------------------------------------


def test_document_is_valid_openapi_3_1():
    validate(DOCUMENT)
    assert re.fullmatch(r"3\.1\.\d+", DOCUMENT["openapi"])
    assert "docs/protocol.md" in DOCUMENT["info"]["description"]


def test_document_file_is_pretty_printed_with_two_spaces():
    text = DOCUMENT_FILE.read_text("utf-8")
    assert text == json.dumps(DOCUMENT, indent=2, ensure_ascii=False) + "\n"


def test_every_route_is_documented_and_every_documented_operation_exists(app):
    routes = {
        (openapi_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        # The HTML pages (and their service worker script) are the browser app, not the API.
        if rule.endpoint != "static" and not rule.endpoint.startswith("pages.")
        # Flask answers HEAD and OPTIONS by itself wherever GET or any method is routed.
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = set(OPERATIONS)
    assert routes - documented == set(), "routes missing from the document"
    assert documented - routes == set(), "documented operations the app does not serve"


@pytest.mark.parametrize("path", list(DOCUMENT["paths"]))
def test_path_parameters_are_declared_once_each(path):
    in_template = re.findall(r"\{([^}]+)\}", path)
    item = DOCUMENT["paths"][path]
    for method in (m for m in item if m in HTTP_METHODS):
        declared = [resolve(p, ())[0] for p in item.get("parameters", [])
                    + item[method].get("parameters", [])]
        names = sorted(p["name"] for p in declared if p["in"] == "path")
        assert names == sorted(in_template), f"{method.upper()} {path}"


def test_operations_are_described_and_errors_share_one_shape():
    operation_ids = [DOCUMENT["paths"][p][m]["operationId"] for p, m in OPERATIONS]
    assert len(set(operation_ids)) == len(operation_ids)
    for path, method in OPERATIONS:
        operation = DOCUMENT["paths"][path][method]
        assert operation["summary"] and len(operation["description"]) > 80, (path, method)
        assert "security" in operation, f"{method.upper()} {path} must say who may call it"
        for status, response in operation["responses"].items():
            declared, _ = resolve(response, ())
            if status.startswith(("4", "5")) and path.startswith("/api/"):
                codes = declared_codes(declared)
                assert codes, f"{method.upper()} {path} {status} names no error codes"
                for code in codes:
                    # invalid_request also comes with 411 and 415, for what is malformed there.
                    assert CODES[code] == int(status) or code == "invalid_request", (
                        path, method, status, code)
                    assert f"`{code}`" in declared["description"], (path, method, status, code)


def declared_codes(response):
    """Return the codes an error answer names: Error narrowed by `code: {enum: [...]}`."""
    schema = response["content"]["application/json"]["schema"]
    assert schema["allOf"] == [{"$ref": "#/components/schemas/Error"}]
    return schema["properties"]["code"]["enum"]


def test_every_error_code_is_in_the_document_and_every_documented_code_exists():
    documented = DOCUMENT["components"]["schemas"]["ErrorCode"]
    assert documented["enum"] == list(CODES)
    for code in CODES:
        assert f"`{code}` ({CODES[code]})" in documented["description"]
    named = {code for path, method in OPERATIONS
             for status, response in DOCUMENT["paths"][path][method]["responses"].items()
             if status.startswith(("4", "5")) and path.startswith("/api/")
             for code in declared_codes(resolve(response, ())[0])}
    # Routing answers (405) are not any operation's; the metrics codes belong to /metrics, which
    # is not under /api/.
    assert set(CODES) - named == {"method_not_allowed", "metrics_token_required",
                                  "metrics_token_invalid", "metrics_forbidden"}


@pytest.mark.parametrize("scheme", ["ownerToken", "accessToken", "claimTicket"])
def test_bearer_schemes_are_declared_and_used(scheme):
    declared = DOCUMENT["components"]["securitySchemes"][scheme]
    assert (declared["type"], declared["scheme"]) == ("http", "bearer")
    assert "43" in declared["bearerFormat"]
    assert any({scheme: []} in DOCUMENT["paths"][p][m]["security"] for p, m in SECURED)


def test_served_document_is_the_shipped_file(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.get_json() == DOCUMENT


# --- Whole life cycles -------------------------------------------------------------------------


def test_life_cycle_answers_match_the_document(api, people, redis_client):
    assert api.get("/healthz").get_json() == {"status": "ok"}
    assert api.get("/readyz").get_json() == {"status": "ready", "redis": "up"}
    assert api.get("/api/v1/openapi.json").status_code == 200
    limits = api.get("/api/v1/config").get_json()
    assert limits["chunk_size"] == 64 * 1024

    password = {"salt": SALT, "iterations": 600_000}
    share = people.create(size=150_000, downloads=2, password=password)
    assert people.unlock(share).status_code == 409
    assert share.created["chunks"] == 3
    uploading = people.owner(share).get_json()
    assert (uploading["state"], uploading["received_chunks"]) == ("uploading", [])
    assert people.put_chunk(share, 1).get_json() == {"index": 1, "stored_chunks": 1}
    assert people.status(share.id).status_code == 409
    assert people.claim(share).status_code == 409

    incomplete = people.finalize(share)
    assert incomplete.status_code == 409 and incomplete.get_json()["missing"] == [0, 2]
    assert people.owner(share).get_json()["received_chunks"] == [1]
    assert people.put_chunk(share, 1).get_json()["stored_chunks"] == 1, "a resend is harmless"
    people.upload(share)
    assert people.finalize(share).get_json() == {"id": share.id, "state": "ready"}
    assert people.put_chunk(share, 0).status_code == 409
    ready = people.owner(share).get_json()
    assert ready["state"] == "ready" and "received_chunks" not in ready and ready["ready_at"]

    status = people.status(share.id).get_json()
    assert status["password"] == password and status["downloads_left"] == 2
    assert status["metadata"] is None
    assert people.unlock(share, password=None).get_json()["code"] == "password_required"
    assert people.unlock(share).get_json() == {"metadata": share.metadata}
    wrong = people.claim(share, password=b64u(b"w" * 32))
    assert wrong.status_code == 403 and wrong.get_json()["attempts_left"] == 4
    assert people.status(share.id).get_json()["downloads_left"] == 2, "a wrong proof costs nothing"

    first = people.claim(share).get_json()
    assert first["metadata"] == share.metadata
    part = people.fetch(share.id, first["ticket"], "bytes=1000-1999")
    assert part.status_code == 206 and part.get_data() == share.ciphertext[1000:2000]
    assert part.headers["Content-Range"] == "bytes 1000-1999/150000"
    assert people.fetch(share.id, first["ticket"], "bytes=150000-").status_code == 416
    whole = people.fetch(share.id, first["ticket"])
    assert whole.status_code == 200 and whole.get_data() == share.ciphertext
    assert people.fetch(share.id, first["ticket"]).status_code == 403, "a finished claim ends"

    second = people.claim(share).get_json()
    assert people.status(share.id).status_code == 410
    assert people.claim(share).status_code == 410
    assert people.finalize(share).status_code == 409
    tail = people.fetch(share.id, second["ticket"], "bytes=-17")
    assert tail.status_code == 206 and tail.get_data() == share.ciphertext[-17:]
    assert redis_client.keys("*:data") == [], "the last fetch deleted the ciphertext"
    consumed = people.owner(share).get_json()
    assert consumed["state"] == "consumed" and consumed["completed_downloads"] == 2
    assert consumed["consumed_at"] and consumed["deleted_at"] is None

    assert people.delete(share).status_code == 204
    assert people.delete(share).status_code == 204, "deleting twice is harmless"
    assert people.status(share.id).status_code == 410
    assert people.owner(share).get_json()["deleted_at"]

    metrics = api.get("/metrics").get_data(as_text=True)
    assert 'onetimeshare_claims_total{outcome="won"}' in metrics
    assert share.id not in metrics and share.owner_token not in metrics
    assert {status for _, _, status in api.answers} >= {200, 201, 204, 206, 403, 409, 410, 416}


def test_head_on_content_checks_the_ticket_without_ending_the_claim(people, client):
    share = people.ready(size=1000)
    ticket = people.claim(share).get_json()["ticket"]
    head = client.head(f"/api/v1/shares/{share.id}/content", headers=bearer(ticket))
    assert head.status_code == 200 and head.headers["Content-Length"] == "1000"
    assert people.fetch(share.id, ticket).get_data() == share.ciphertext


def test_repeated_wrong_passwords_lock_with_retry_after(people):
    share = people.ready(size=1000, password=True)
    left = [people.claim(share, password=b64u(bytes([i]) * 32)).get_json()["attempts_left"]
            for i in range(5)]
    assert left == [4, 3, 2, 1, 0]
    for locked in (people.claim(share), people.unlock(share)):
        assert locked.status_code == 429, "even the right proof waits out the lock"
        assert locked.get_json()["code"] == "locked"
        assert 1 <= int(locked.headers["Retry-After"]) <= 60


# --- Every kind of refusal ---------------------------------------------------------------------


@dataclass
class Scene:
    """Shares in every state; a live claim ticket on `ready`, and one claimed before `deleted`."""

    uploading: Share
    ready: Share
    consumed: Share
    deleted: Share
    ticket: str
    deleted_ticket: str
    protected: Share


@pytest.fixture
def scene(people):
    protected = people.ready(size=1000, password=True)
    uploading = people.create(size=150_000)
    assert people.put_chunk(uploading, 1).status_code == 200
    ready = people.ready(size=1000, downloads=3)
    ticket = people.claim(ready).get_json()["ticket"]
    consumed = people.ready(size=1000)
    people.download(consumed)
    deleted = people.ready(size=1000)
    deleted_ticket = people.claim(deleted).get_json()["ticket"]
    assert people.delete(deleted).status_code == 204
    return Scene(uploading, ready, consumed, deleted, ticket, deleted_ticket, protected)


# (case, request built from the scene, expected status, expected subset of the JSON body)
REFUSALS = [
    ("status: unknown id", lambda s: ("get", share_url(UNKNOWN_ID), {}),
     404, {"code": "not_found"}),
    ("status: still uploading", lambda s: ("get", share_url(s.uploading.id), {}),
     409, {"code": "not_ready"}),
    ("status: consumed", lambda s: ("get", share_url(s.consumed.id), {}),
     410, {"code": "consumed"}),
    ("status: deleted", lambda s: ("get", share_url(s.deleted.id), {}), 410, {"code": "deleted"}),
    ("create: garbage JSON", lambda s: ("post", "/api/v1/shares", {
        "data": b"{not json", "content_type": "application/json"}),
     400, {"code": "invalid_request"}),
    ("create: JSON array", lambda s: ("post", "/api/v1/shares", {"json": [VALID_CREATE]}),
     400, {"code": "invalid_request"}),
    ("create: wrong content type", lambda s: ("post", "/api/v1/shares", {
        "data": json.dumps(VALID_CREATE), "content_type": "text/plain"}),
     415, {"code": "invalid_request"}),
    ("create: unknown field", lambda s: ("post", "/api/v1/shares", create_with(
        name="secret.pdf")), 400, {"code": "invalid_request"}),
    ("create: size above the configured limit", lambda s: ("post", "/api/v1/shares",
                                                           create_with(size=8 * 1024 * 1024 + 1)),
     400, {"code": "invalid_request"}),
    ("create: body too large", lambda s: ("post", "/api/v1/shares", {
        "data": b" " * 70_000, "content_type": "application/json"}), 413, {"code": "too_large"}),
    ("chunk: no owner token", lambda s: ("put", chunk_url(s.uploading), {"data": b"x"}),
     403, {"code": "owner_token_invalid"}),
    ("chunk: someone else's owner token", lambda s: ("put", chunk_url(s.uploading), {
        "data": b"x", "headers": owner_of(s.ready)}), 403, {"code": "owner_token_invalid"}),
    ("chunk: index past the end", lambda s: ("put", chunk_url(s.uploading, 3), {
        "data": b"x", "headers": owner_of(s.uploading)}), 400, {"code": "invalid_request"}),
    ("chunk: wrong length", lambda s: ("put", chunk_url(s.uploading, 0), {
        "data": b"x" * 1000, "headers": owner_of(s.uploading)}), 400, {"code": "invalid_request"}),
    ("chunk: body shorter than Content-Length", lambda s: ("put", chunk_url(s.uploading, 0), {
        "input_stream": io.BytesIO(b"x" * 10), "headers": owner_of(s.uploading),
        "environ_overrides": {"CONTENT_LENGTH": str(64 * 1024)}}),
     400, {"code": "invalid_request"}),
    ("chunk: above the chunk size", lambda s: ("put", chunk_url(s.uploading, 0), {
        "data": b"x" * (64 * 1024 + 1), "headers": owner_of(s.uploading)}),
     413, {"code": "too_large"}),
    ("chunk: no Content-Length", lambda s: ("put", chunk_url(s.uploading, 0), {
        "input_stream": io.BytesIO(b"x" * 1000),
        "headers": {**owner_of(s.uploading), "Transfer-Encoding": "chunked"}}),
     411, {"code": "invalid_request"}),
    ("chunk: negative index", lambda s: ("put", chunk_url(s.uploading, -1), {
        "data": b"x", "headers": owner_of(s.uploading),
        "operation": ("/api/v1/shares/{id}/chunks/{index}", "put")}), 404, {"code": "not_found"}),
    ("chunk: share already finalized", lambda s: ("put", chunk_url(s.ready), {
        "data": b"x" * 1000, "headers": owner_of(s.ready)}), 409, {"code": "not_uploading"}),
    ("chunk: share deleted", lambda s: ("put", chunk_url(s.deleted), {
        "data": b"x" * 1000, "headers": owner_of(s.deleted)}), 409, {"code": "not_uploading"}),
    ("finalize: incomplete", lambda s: ("post", share_url(s.uploading.id, "/finalize"), {
        "headers": owner_of(s.uploading)}), 409, {"missing": [0, 2], "code": "upload_incomplete"}),
    ("finalize: someone else's owner token", lambda s: (
        "post", share_url(s.uploading.id, "/finalize"), {"headers": owner_of(s.ready)}),
     403, {"code": "owner_token_invalid"}),
    ("finalize: consumed", lambda s: ("post", share_url(s.consumed.id, "/finalize"), {
        "headers": owner_of(s.consumed)}), 409, {"code": "not_uploading"}),
    ("finalize: unknown id", lambda s: ("post", share_url(UNKNOWN_ID, "/finalize"), {
        "headers": owner_of(s.ready)}), 404, {"code": "not_found"}),
    ("claim: wrong proof", lambda s: ("post", share_url(s.ready.id, "/claim"), {
        "headers": bearer(SOME_TOKEN)}), 403, {"code": "proof_invalid"}),
    ("claim: still uploading", lambda s: ("post", share_url(s.uploading.id, "/claim"), {
        "headers": bearer(s.uploading.access_token)}), 409, {"code": "not_ready"}),
    ("claim: consumed", lambda s: ("post", share_url(s.consumed.id, "/claim"), {
        "headers": bearer(s.consumed.access_token)}), 410, {"code": "consumed"}),
    ("claim: deleted", lambda s: ("post", share_url(s.deleted.id, "/claim"), {
        "headers": bearer(s.deleted.access_token)}), 410, {"code": "deleted"}),
    ("claim: unknown id", lambda s: ("post", share_url(UNKNOWN_ID, "/claim"), {
        "headers": bearer(SOME_TOKEN)}), 404, {"code": "not_found"}),
    ("content: made-up ticket", lambda s: ("get", share_url(s.ready.id, "/content"), {
        "headers": bearer(SOME_TOKEN)}), 403, {"code": "ticket_invalid"}),
    ("content: ticket of another share", lambda s: ("get", share_url(s.consumed.id, "/content"),
                                                    {"headers": bearer(s.ticket)}),
     403, {"code": "ticket_invalid"}),
    ("content: share deleted mid-claim", lambda s: ("get", share_url(s.deleted.id, "/content"),
                                                    {"headers": bearer(s.deleted_ticket)}),
     410, {"code": "deleted"}),
    ("owner: someone else's owner token", lambda s: ("get", share_url(s.ready.id, "/owner"), {
        "headers": owner_of(s.uploading)}), 403, {"code": "owner_token_invalid"}),
    ("owner: unknown id", lambda s: ("get", share_url(UNKNOWN_ID, "/owner"), {
        "headers": owner_of(s.ready)}), 404, {"code": "not_found"}),
    ("delete: someone else's owner token", lambda s: ("delete", share_url(s.ready.id), {
        "headers": owner_of(s.consumed)}), 403, {"code": "owner_token_invalid"}),
    ("delete: unknown id", lambda s: ("delete", share_url(UNKNOWN_ID), {
        "headers": owner_of(s.ready)}), 404, {"code": "not_found"}),
]


@pytest.mark.parametrize("build, status, expected", [case[1:] for case in REFUSALS],
                         ids=[case[0] for case in REFUSALS])
def test_refusals_match_the_document(api, people, scene, build, status, expected):
    method, url, kwargs = build(scene)
    response = api.open(method, url, **kwargs)
    assert response.status_code == status, response.get_json()
    assert response.get_json().items() >= expected.items()
    assert people.status(scene.ready.id).get_json()["downloads_left"] == 2, "nothing consumed"
    assert people.status(scene.protected.id).get_json()["downloads_left"] == 1


@pytest.mark.parametrize("byte_range", [
    "bytes=1000-", "bytes=5-1", "bytes=0-1,5-9", "items=0-5", "bytes=abc", "bytes=",
])
def test_unsatisfiable_ranges_are_documented_416(people, byte_range):
    share = people.ready(size=1000)
    ticket = people.claim(share).get_json()["ticket"]
    assert people.fetch(share.id, ticket, byte_range).status_code == 416
    assert people.fetch(share.id, ticket).get_data() == share.ciphertext, "the claim lives on"


@pytest.mark.parametrize("byte_range, status, first, last", [
    ("bytes=0-0", 206, 0, 0),
    ("bytes=65530-65545", 206, 65530, 65545),
    ("bytes=-17", 206, 149_983, 149_999),
    ("bytes=149999-999999", 206, 149_999, 149_999),
    ("bytes=0-", 200, 0, 149_999),
])
def test_ranges_are_answered_as_documented(people, byte_range, status, first, last):
    share = people.ready(size=150_000, downloads=2)
    ticket = people.claim(share).get_json()["ticket"]
    response = people.fetch(share.id, ticket, byte_range)
    assert response.status_code == status
    assert response.get_data() == share.ciphertext[first:last + 1]
    if status == 206:
        assert response.headers["Content-Range"] == f"bytes {first}-{last}/150000"


#: Each bearer scheme -> the code of a missing or wrong token of that kind.
SCHEME_CODES = {"ownerToken": "owner_token_invalid", "accessToken": "proof_invalid",
                "claimTicket": "ticket_invalid"}


@pytest.mark.parametrize("path, method", SECURED, ids=map(operation_id, SECURED))
def test_secured_operations_answer_403_without_a_bearer_token(api, people, path, method):
    share = people.ready(size=1000)
    kwargs = plausible_request(path, method)
    kwargs["headers"].pop("Authorization")
    response = api.open(method, fill(path, share.id), **kwargs)
    [scheme] = DOCUMENT["paths"][path][method]["security"][0]
    assert response.status_code == 403
    assert response.get_json()["code"] == SCHEME_CODES[scheme]


@pytest.mark.parametrize("token", ["not-a-token", "A" * 44, "=" * 43])
@pytest.mark.parametrize("path, method", SECURED, ids=map(operation_id, SECURED))
def test_secured_operations_answer_400_for_a_malformed_token(api, people, path, method, token):
    share = people.ready(size=1000)
    response = api.open(method, fill(path, share.id), **plausible_request(path, method, token))
    assert response.status_code == 400


@pytest.mark.parametrize("share_id", ["x", "A" * 21, "A" * 23, "AAAAAAAAAAAAAAAAAAAAA!"])
@pytest.mark.parametrize("path, method", ON_A_SHARE, ids=map(operation_id, ON_A_SHARE))
def test_share_operations_answer_404_for_a_malformed_id(api, path, method, share_id):
    response = api.open(method, fill(path, share_id), **plausible_request(path, method))
    assert response.status_code == 404


# --- Requests: the documented schema agrees with the server ------------------------------------


PASSWORD = {"salt": SALT, "iterations": 600_000}

CREATE_BODIES = [
    ("minimal", {}),
    ("everything", {"version": 1, "size": 5000, "expires_in": 600, "downloads": 3,
                    "password": PASSWORD}),
    ("null password", {"password": None}),
    ("most iterations", {"password": {"salt": SALT, "iterations": 10_000_000}}),
    ("shortest metadata", {"metadata": "A" * 38}),
    ("smallest size", {"size": 38}),
    ("unknown field", {"name": "secret.pdf"}),
    ("version 2", {"version": 2}),
    ("version as a string", {"version": "1"}),
    ("size too small", {"size": 37}),
    ("size as a string", {"size": "5000"}),
    ("size as a boolean", {"size": True}),
    ("size missing", {"size": None}),
    ("no expiry", {"expires_in": 0}),
    ("no downloads", {"downloads": 0}),
    ("downloads null", {"downloads": None}),
    ("verifier too short", {"verifier": VERIFIER[:42]}),
    ("verifier not base64url", {"verifier": "+" * 43}),
    ("verifier missing", {"verifier": None}),
    ("metadata too short", {"metadata": "A" * 37}),
    ("metadata padded", {"metadata": METADATA + "=="}),
    ("metadata as an object", {"metadata": {"name": "secret.pdf"}}),
    ("too few iterations", {"password": {"salt": SALT, "iterations": 599_999}}),
    ("too many iterations", {"password": {"salt": SALT, "iterations": 10_000_001}}),
    ("iterations missing", {"password": {"salt": SALT}}),
    ("password extra field", {"password": {**PASSWORD, "hint": "cat"}}),
    ("salt too short", {"password": {"salt": SALT[:21], "iterations": 600_000}}),
    ("salt not base64url", {"password": {"salt": "/" * 22, "iterations": 600_000}}),
    ("password as a string", {"password": "hunter2"}),
]
CREATE_SCHEMA = ("components", "schemas", "CreateShareRequest")


@pytest.mark.parametrize("changes", [case[1] for case in CREATE_BODIES],
                         ids=[case[0] for case in CREATE_BODIES])
def test_create_schema_accepts_exactly_what_the_server_accepts(api, changes):
    body = {**VALID_CREATE, **changes}
    # "size": None above means "leave the field out", which is how a client omits it.
    body = {key: value for key, value in body.items()
            if not (value is None and key in ("size", "verifier"))}
    documented_valid = not schema_errors(CREATE_SCHEMA, body)
    response = api.post("/api/v1/shares", json=body)
    assert (response.status_code == 201) == documented_valid, response.get_json()


@pytest.mark.parametrize("field, limit, at, past", [
    ("size", "max_share_bytes", lambda n: n, lambda n: n + 1),
    ("expires_in", "min_expiry_seconds", lambda n: n, lambda n: n - 1),
    ("expires_in", "max_expiry_seconds", lambda n: n, lambda n: n + 1),
    ("downloads", "max_downloads", lambda n: n, lambda n: n + 1),
    ("metadata", "max_metadata_chars", lambda n: "A" * n, lambda n: "A" * (n + 1)),
])
def test_configured_limits_are_the_limits_enforced(api, field, limit, at, past):
    limits = api.get("/api/v1/config").get_json()
    created = api.post("/api/v1/shares", json={**VALID_CREATE, field: at(limits[limit])})
    assert created.status_code == 201
    refused = api.post("/api/v1/shares", json={**VALID_CREATE, field: past(limits[limit])})
    assert refused.status_code == 400 and str(limits[limit]) in refused.get_json()["message"]


# --- Rate limits -------------------------------------------------------------------------------


@pytest.fixture
def rate_limited(app_config):
    """An app where every rate limit allows one request a minute."""
    limits = dict.fromkeys(("RATE_LIMIT_DEFAULT", "RATE_LIMIT_CREATE", "RATE_LIMIT_CHUNK",
                            "RATE_LIMIT_CLAIM"), "1 per minute")
    return Conformance(create_app({**app_config, "RATE_LIMITS_ENABLED": 1, **limits}))


@pytest.mark.parametrize("path, method", OPERATIONS, ids=map(operation_id, OPERATIONS))
def test_rate_limits_are_429_with_retry_after_where_documented(rate_limited, path, method):
    for _ in range(2):
        response = rate_limited.open(method, fill(path), **plausible_request(path, method))
    documented = "429" in DOCUMENT["paths"][path][method]["responses"]
    assert (response.status_code == 429) == documented == path.startswith("/api/")


# --- Storage trouble ---------------------------------------------------------------------------


@pytest.fixture
def storage_down():
    """An app whose Redis does not answer (nothing listens on its port)."""
    app = create_app({"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0", "TESTING": True,
                      "REDIS_RETRY_AFTER": 7})
    return Conformance(app)


@pytest.mark.parametrize("path, method", OPERATIONS, ids=map(operation_id, OPERATIONS))
def test_storage_outage_is_503_with_retry_after_where_documented(storage_down, path, method):
    response = storage_down.open(method, fill(path, b64u(b"\1" * 16)),
                                 **plausible_request(path, method))
    touches_storage = "503" in DOCUMENT["paths"][path][method]["responses"]
    assert response.status_code == (503 if touches_storage else 200)
    if touches_storage:
        assert response.headers["Retry-After"] == "7"


@pytest.fixture
def storage_full(redis_client):
    """Make Redis refuse every write that needs memory, as a full `noeviction` Redis does."""

    def fill_up():
        redis_client.config_set("maxmemory", 1)

    yield fill_up
    redis_client.config_set("maxmemory", 0)


@pytest.mark.parametrize("step", [
    "create", "chunk", "finalize", "claim", "wrong password", "wrong password on unlock",
])
def test_full_storage_is_507_where_documented(api, people, storage_full, step):
    uploading = people.create(size=1000)
    complete = people.upload(people.create(size=1000), finalize=False)
    ready = people.ready(size=1000, downloads=2)
    people.claim(ready)
    protected = people.ready(size=1000, password=True)
    storage_full()
    response = {
        "create": lambda: api.post("/api/v1/shares", json=VALID_CREATE),
        "chunk": lambda: people.put_chunk(uploading, 0),
        "finalize": lambda: people.finalize(complete),
        "claim": lambda: people.claim(ready),
        # Counting a wrong password is a write; a wrong access proof writes nothing.
        "wrong password": lambda: people.claim(protected, password=SOME_TOKEN),
        "wrong password on unlock": lambda: people.unlock(protected, password=SOME_TOKEN),
    }[step]()
    assert response.status_code == 507
    assert response.get_json()["error"] == "Insufficient Storage"
    assert response.get_json()["code"] == "storage_full"


def test_full_storage_still_answers_proofs_that_need_no_write(people, storage_full):
    protected = people.ready(size=1000, password=True)
    storage_full()
    assert people.unlock(protected).get_json() == {"metadata": protected.metadata}
    assert people.claim(protected, token=SOME_TOKEN).get_json()["code"] == "proof_invalid"


def test_full_storage_still_serves_fetches_and_owner_views(people, storage_full):
    # Reads must work on a full Redis: the claim keep-alive is best effort, and the owner view
    # reads without MULTI (which Redis refuses to queue when over maxmemory).
    ready = people.ready(size=1000, downloads=2)
    ticket = people.claim(ready).get_json()["ticket"]
    storage_full()
    fetched = people.fetch(ready.id, ticket)
    assert fetched.status_code == 200 and fetched.get_data() == ready.ciphertext
    assert people.owner(ready).status_code == 200


def test_full_storage_still_lets_owners_delete_and_anyone_read_the_status(people, storage_full):
    share = people.ready(size=1000)
    storage_full()
    assert people.status(share.id).status_code == 200
    assert people.delete(share).status_code == 204
    assert "deleted" in people.status(share.id).get_json()["message"]


def test_the_storage_reserve_refuses_new_shares_but_serves_stored_ones(app, people, redis_client):
    share = people.ready(size=1000)
    reserve = app.config["STORAGE_RESERVE_BYTES"]
    assert reserve > 2048, "the test needs a reserve larger than one small share"
    redis_client.config_set("maxmemory", redis_client.info("memory")["used_memory"] + reserve // 2)
    try:
        refused = people.create(size=1000, expect=507)
        assert refused["error"] == "Insufficient Storage"
        assert people.download(share) == share.ciphertext
    finally:
        redis_client.config_set("maxmemory", 0)
