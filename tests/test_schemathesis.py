"""Fuzz the real service with schemathesis, from the OpenAPI document alone.

Gunicorn serves the app on loopback against the session's redis-server. For every documented
operation schemathesis generates requests (valid ones, boundary values, and ones that break the
schema on purpose) and runs its checks on every answer: no 5xx, the status code documented, the
body and headers matching the declared schema, bad input refused, methods that are not
documented answered 405. A second pass aims the same fuzzing at live shares, with their real ids
and tokens, so chunk bodies, indexes and byte ranges reach the store instead of stopping at 404.

Three of the document's deliberate choices need telling schemathesis about:
- configured limits (expiry, downloads, metadata length, share size) are published by
  `GET /api/v1/config`, not in the request schemas, so a schema-valid create may be refused 400;
- a chunk's exact length depends on the share, so a schema-valid chunk may be refused 400;
- a missing bearer token is answered 403 with the code of the token that is missing (after the
  share's state), as a wrong one is, where schemathesis's `missing_required_header` check wants
  401: that check is left out, and the live pass probes what the document promises instead.
"""

import base64
import hashlib
import os

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import ignored_auth, missing_required_header

from devtools.processes import ROOT, GunicornProcess

DOCUMENT = ROOT / "server" / "openapi.json"
CHUNK = 64 * 1024
EXAMPLES = 20  # per operation and pass: the whole file takes well under a minute
#: A well-formed bearer token that belongs to nothing, for the generic pass.
STRANGER = "T" * 43
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                    derandomize=True)

CONFIGURED_LIMITS = '''
[[operations]]
include-operation-id = "createShare"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409"]

[[operations]]
include-operation-id = "putChunk"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409"]

[[operations]]
include-operation-id = "getContent"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "410", "416"]
checks.negative_data_rejection.expected-statuses = ["400", "401", "403", "404", "416"]
'''
STRANGER_AUTH = "".join(f'[auth.openapi.{scheme}]\nbearer = "{STRANGER}"\n'
                        for scheme in ("ownerToken", "accessToken", "claimTicket"))

GENERIC = schemathesis.openapi.from_path(
    DOCUMENT, config=schemathesis.Config.from_str(STRANGER_AUTH + CONFIGURED_LIMITS))
LIVE = schemathesis.openapi.from_path(
    DOCUMENT, config=schemathesis.Config.from_str(CONFIGURED_LIMITS)
).exclude(path_regex=r"^(?!/api/v1/shares/\{id\})")  # only operations on one share


@pytest.fixture(scope="module")
def service(redis_server, tmp_path_factory):
    log = tmp_path_factory.mktemp("schemathesis") / "gunicorn.log"
    # Limits on, but far above what the fuzzing sends: every request goes through the limiter
    # and the quota. The quota counts what 127.0.0.1 keeps stored on the session's Redis,
    # earlier modules' shares included, so it is raised too.
    env = {"CHUNK_SIZE": str(CHUNK), "MAX_SHARE_BYTES": str(8 * 1024 * 1024),
           "MAX_DOWNLOADS": "10", "RATE_LIMITS_ENABLED": "1",
           "STORED_SHARES_PER_SENDER": "100000", "STORED_BYTES_PER_SENDER": str(64 * 1024 ** 3),
           **dict.fromkeys(("RATE_LIMIT_DEFAULT", "RATE_LIMIT_CREATE", "RATE_LIMIT_CHUNK",
                            "RATE_LIMIT_CLAIM"), "100000 per minute")}
    server = GunicornProcess(redis_server.url, workers=2, threads=4, env=env,
                             log_path=log).start()
    yield server
    server.stop()
    assert b"Traceback" not in log.read_bytes()


@GENERIC.parametrize()
@SETTINGS
def test_every_answer_matches_the_document(case, service):
    honest_length(case)
    case.call_and_validate(base_url=service.url, excluded_checks=[missing_required_header])


def honest_length(case):
    """Drop a well-formed Content-Length that schemathesis drew apart from the body it sends.

    Announcing more bytes than it sends makes the server wait for the rest, as it must for a
    slow client, until the client gives up. The HTTP client then sends the body's real length.
    A malformed one (negative, not a number) stays: the HTTP server refuses it at once.
    """
    for name in [name for name in case.headers or {} if name.lower() == "content-length"]:
        if str(case.headers[name]).isdigit():
            case.headers = {k: v for k, v in case.headers.items() if k != name}


# --- The same fuzzing on live shares -----------------------------------------------------------


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def live_share(http, *, upload=True, finalize=True, claim=False):
    """Create a share of three chunks; return its id and the token each operation needs."""
    access = os.urandom(32)
    body = {"version": 2, "size": 2 * CHUNK + 1000, "downloads": 2,
            "verifier": b64u(hashlib.sha256(access).digest()), "metadata": b64u(os.urandom(64))}
    created = http.post("/api/v1/shares", json=body).json()
    owner = {"Authorization": f"Bearer {created['owner_token']}"}
    data = os.urandom(body["size"])
    for index in range(created["chunks"] if upload else 0):
        http.put(f"/api/v1/shares/{created['id']}/chunks/{index}",
                 content=data[index * CHUNK:(index + 1) * CHUNK], headers=owner)
    if finalize:
        assert http.post(f"/api/v1/shares/{created['id']}/finalize", headers=owner).is_success
    tokens = {"ownerToken": created["owner_token"], "accessToken": b64u(access)}
    if claim:
        granted = http.post(f"/api/v1/shares/{created['id']}/claim",
                            headers={"Authorization": f"Bearer {tokens['accessToken']}"})
        tokens["claimTicket"] = granted.json()["ticket"]
    return created["id"], tokens


#: Each bearer scheme -> the code of a missing or wrong token of that kind.
SCHEME_CODES = {"ownerToken": "owner_token_invalid", "accessToken": "proof_invalid",
                "claimTicket": "ticket_invalid"}

#: How to prepare a share for each operation: the state the operation is meant for.
PREPARE = {
    "putChunk": {"upload": False, "finalize": False},
    "finalizeShare": {"finalize": False},
    "getContent": {"claim": True},
}


@LIVE.parametrize()
@SETTINGS
def test_answers_on_live_shares_match_the_document(case, service):
    honest_length(case)
    if not case.meta.generation.mode.is_positive:
        # Schema-breaking input is refused before any share is looked up: nothing to aim at.
        case.call_and_validate(base_url=service.url, excluded_checks=[missing_required_header])
        return
    operation = case.operation.definition.raw
    with httpx.Client(base_url=service.url, timeout=30) as http:
        share_id, tokens = live_share(http, **PREPARE.get(operation["operationId"], {}))
    case.path_parameters = {**case.path_parameters, "id": share_id}
    scheme = next(iter((operation["security"] or [{}])[0]), None)
    if not scheme or not any(name.lower() == "authorization" for name in case.headers or {}):
        # Nothing to prove, or schemathesis is checking what a missing credential gets.
        case.call_and_validate(base_url=service.url, excluded_checks=[missing_required_header])
        return
    # The share's real token, sent the way a client sends it.
    case.headers = {**{k: v for k, v in case.headers.items() if k.lower() != "authorization"},
                    "Authorization": f"Bearer {tokens[scheme]}"}
    # schemathesis's own probe of the credential sends a malformed token, which this API answers
    # 400 by design where its check wants 401 or 403; the probes below ask what the document
    # promises instead: no token, or a well-formed token that is not this share's, is 403 with
    # the code of that token.
    answer = case.call_and_validate(base_url=service.url,
                                    excluded_checks=[ignored_auth, missing_required_header])
    if answer.status_code < 300:
        for authorization in (f"Bearer {STRANGER}", None):
            refused = probe(case, service.url, authorization)
            assert refused.status_code == 403
            assert refused.json()["code"] == SCHEME_CODES[scheme]


def probe(case, base_url, authorization):
    """Send the case again with another Authorization header (None: without one)."""
    request = case.as_transport_kwargs(base_url=base_url)
    request["headers"].pop("Authorization")
    if authorization:
        request["headers"]["Authorization"] = authorization
    return httpx.request(request["method"], request["url"], headers=request["headers"],
                         params=request["params"], content=request.get("data"),
                         json=request.get("json"), timeout=30)
