"""Send every kind of bad input and check each gets a JSON 4xx and harms no other share."""

import io
import time

import pytest

from server import create_app
from tests.sharing import Sharing, b64u, bearer

GOOD_VERIFIER = b64u(b"v" * 32)
GOOD_METADATA = b64u(b"m" * 64)
GOOD_SALT = b64u(b"s" * 16)


def create_body(**changes):
    body = {"version": 2, "size": 5000, "expires_in": 600, "downloads": 1,
            "verifier": GOOD_VERIFIER, "metadata": GOOD_METADATA, "password": None}
    body.update(changes)
    return {key: value for key, value in body.items() if value != "<drop>"}


@pytest.fixture
def bystander(sharing):
    """A healthy share that every bad request must leave intact."""
    share = sharing.ready(size=150_000, downloads=2)
    yield share
    left = 1 if getattr(share, "claimed_once", False) else 2
    assert sharing.status(share.id).get_json()["downloads_left"] == left
    assert sharing.download(share) == share.ciphertext


def assert_json_error(response, status, code=None):
    assert response.status_code == status, response.get_data()[:300]
    body = response.get_json()
    assert set(body) >= {"error", "code", "message"} and body["message"]
    if code:
        assert body["code"] == code
    assert "Traceback" not in response.get_data(as_text=True)


@pytest.mark.parametrize("changes, status", [
    ({"size": "<drop>"}, 400),
    ({"size": 0}, 400),
    ({"size": 37}, 400),
    ({"size": -5}, 400),
    ({"size": 8 * 1024 * 1024 + 1}, 400),
    ({"size": 5000.5}, 400),
    ({"size": "5000"}, 400),
    ({"size": True}, 400),
    ({"expires_in": 59}, 400),
    ({"expires_in": 8 * 24 * 3600}, 400),
    ({"downloads": 0}, 400),
    ({"downloads": 11}, 400),
    ({"downloads": None}, 400),
    ({"verifier": "<drop>"}, 400),
    ({"verifier": "short"}, 400),
    ({"verifier": "+" * 43}, 400),
    ({"metadata": "<drop>"}, 400),
    ({"metadata": ""}, 400),
    ({"metadata": "a" * 8193}, 400),
    ({"metadata": "not base64!" * 5}, 400),
    ({"metadata": {"name": "secret.pdf"}}, 400),
    ({"password": {"salt": GOOD_SALT, "iterations": 1000, "verifier": GOOD_VERIFIER}}, 400),
    ({"password": {"salt": "short", "iterations": 600_000, "verifier": GOOD_VERIFIER}}, 400),
    ({"password": {"salt": GOOD_SALT, "iterations": 600_000}}, 400),
    ({"password": {"salt": GOOD_SALT, "iterations": 600_000, "verifier": "short"}}, 400),
    ({"password": {"salt": GOOD_SALT, "iterations": 600_000, "verifier": None}}, 400),
    ({"password": {"salt": GOOD_SALT, "iterations": 600_000, "verifier": GOOD_VERIFIER,
                   "hint": "x"}}, 400),
    ({"password": "hunter2"}, 400),
    ({"name": "secret.pdf"}, 400),
])
def test_bad_create_bodies_are_refused(client, bystander, changes, status):
    response = client.post("/api/v1/shares", json=create_body(**changes))
    assert_json_error(response, status, "invalid_request")


@pytest.mark.parametrize("version", [1, 3, 0, "2", 2.0, None, "<drop>"])
def test_only_version_2_shares_are_created(client, bystander, version):
    response = client.post("/api/v1/shares", json=create_body(version=version))
    assert_json_error(response, 400, "unsupported_version")


@pytest.mark.parametrize("data, content_type, status", [
    (b"{not json", "application/json", 400),
    (b"[1, 2]", "application/json", 400),
    (b"null", "application/json", 400),
    (b'{"size": 5000}', "text/plain", 415),
    (b"\xff\xfe\x00", "application/json", 400),
    (b" " * 70_000, "application/json", 413),
])
def test_garbage_bodies_are_refused(client, bystander, data, content_type, status):
    response = client.post("/api/v1/shares", data=data, headers={"Content-Type": content_type})
    assert_json_error(response, status)


@pytest.mark.parametrize("share_id", [
    "x", "A" * 21, "A" * 23, "AAAAAAAAAAAAAAAAAAAAA!", "..%2F..%2Fetc", "ots:{x}:share",
])
@pytest.mark.parametrize("method, suffix", [
    ("get", ""), ("post", "/claim"), ("get", "/content"), ("get", "/owner"), ("delete", ""),
    ("post", "/finalize"), ("put", "/chunks/0"),
])
def test_malformed_ids_are_404(client, bystander, share_id, method, suffix):
    response = getattr(client, method)(f"/api/v1/shares/{share_id}{suffix}",
                                       headers=bearer(b64u(b"t" * 32)))
    assert_json_error(response, 404, "not_found")


#: The code a route answers for a missing or wrong token of its kind.
TOKEN_CODES = {"/claim": "proof_invalid", "/unlock": "proof_invalid",
               "/content": "ticket_invalid"}


@pytest.mark.parametrize("header, status", [
    (None, 403),
    ("Basic dXNlcjpwYXNz", 403),
    ("Bearer ", 403),
    ("Bearer not-a-token", 400),
    ("Bearer " + "A" * 44, 400),
    ("Bearer " + "=" * 43, 400),
])
@pytest.mark.parametrize("method, suffix", [
    ("post", "/claim"), ("post", "/unlock"), ("get", "/content"), ("get", "/owner"),
    ("delete", ""), ("post", "/finalize"), ("put", "/chunks/0"),
])
def test_bad_tokens_are_refused(client, bystander, header, status, method, suffix):
    headers = {"Authorization": header} if header else {}
    response = getattr(client, method)(f"/api/v1/shares/{bystander.id}{suffix}", headers=headers)
    code = TOKEN_CODES.get(suffix, "owner_token_invalid") if status == 403 else "invalid_request"
    assert_json_error(response, status, code)


@pytest.mark.parametrize("proof", ["not-a-token", "A" * 44, "=" * 43, "Bearer " + "A" * 43])
@pytest.mark.parametrize("suffix", ["/claim", "/unlock"])
def test_malformed_password_proofs_are_400(sharing, bystander, proof, suffix):
    share = sharing.ready(size=1000, password=True)
    response = sharing.client.post(f"/api/v1/shares/{share.id}{suffix}",
                                   headers={**bearer(share.access_token),
                                            "X-Password-Proof": proof})
    assert_json_error(response, 400, "invalid_request")
    assert sharing.unlock(share).status_code == 200, "a malformed proof is not counted"


@pytest.mark.parametrize("suffix, method", [
    ("/owner", "get"), ("", "delete"), ("/finalize", "post"), ("/chunks/0", "put"),
])
def test_someone_elses_owner_token_is_403(client, bystander, suffix, method):
    response = getattr(client, method)(f"/api/v1/shares/{bystander.id}{suffix}",
                                       headers=bearer(b64u(b"o" * 32)), data=b"x" * 10)
    assert_json_error(response, 403)


def test_a_ticket_for_another_share_is_refused(sharing, bystander):
    other = sharing.ready(size=1000)
    ticket = sharing.claim(other).get_json()["ticket"]
    assert_json_error(sharing.fetch(bystander.id, ticket), 403, "ticket_invalid")


def test_a_made_up_ticket_is_refused(sharing, bystander):
    assert_json_error(sharing.fetch(bystander.id, b64u(b"t" * 32)), 403, "ticket_invalid")


@pytest.mark.parametrize("index, size, status", [
    (3, 1000, 400),          # past the last chunk (3 chunks of 64 KiB for 150,000 bytes)
    (99999999999, 1000, 400),
    (0, 1000, 400),          # first chunk must be a full 65,536 bytes
    (2, 65536, 400),         # last chunk must be exactly 18,928 bytes
    (0, 65537, 413),         # above the chunk size
])
def test_chunks_of_the_wrong_shape_are_refused(sharing, bystander, index, size, status):
    share = sharing.create(size=150_000)
    assert_json_error(sharing.put_chunk(share, index, data=b"x" * size), status)
    assert sharing.owner(share).get_json()["received_chunks"] == []


def test_negative_chunk_index_is_404(sharing, bystander):
    share = sharing.create(size=1000)
    response = sharing.client.put(f"/api/v1/shares/{share.id}/chunks/-1", data=b"x",
                                  headers=bearer(share.owner_token))
    assert_json_error(response, 404)


def test_chunk_without_length_is_411(sharing, bystander):
    share = sharing.create(size=1000)

    response = sharing.client.put(f"/api/v1/shares/{share.id}/chunks/0",
                                  input_stream=io.BytesIO(b"x" * 1000),
                                  headers={**bearer(share.owner_token),
                                           "Transfer-Encoding": "chunked"})
    assert_json_error(response, 411)


def test_finalize_with_missing_chunks_is_409(sharing, bystander):
    share = sharing.create(size=150_000)
    sharing.put_chunk(share, 1)
    response = sharing.finalize(share)
    assert_json_error(response, 409)
    assert response.get_json()["missing"] == [0, 2]


@pytest.mark.parametrize("byte_range", [
    "bytes=200000-", "bytes=5-1", "bytes=0-1,5-9", "items=0-5", "bytes=abc",
])
def test_unsatisfiable_ranges_are_416(sharing, bystander, byte_range):
    share = sharing.ready(size=150_000, downloads=2)
    ticket = sharing.claim(share).get_json()["ticket"]
    assert_json_error(sharing.fetch(share.id, ticket, byte_range), 416)


def test_expired_claim_ticket_is_refused(app_config, redis_client):
    app_config["CLAIM_IDLE_SECONDS"] = 1
    sharing = Sharing(create_app(app_config).test_client())
    share = sharing.ready(size=1000, downloads=2)
    ticket = sharing.claim(share).get_json()["ticket"]
    time.sleep(1.2)
    assert_json_error(sharing.fetch(share.id, ticket), 403)
    assert sharing.download(share) == share.ciphertext, "the other download is untouched"


@pytest.mark.parametrize("method, path", [
    ("patch", "/api/v1/shares"), ("get", "/api/v1/shares"), ("put", "/api/v1/config"),
    ("get", "/api/v1/nope"), ("post", "/healthz"),
])
def test_unknown_routes_and_methods_get_json(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code in (404, 405)
    if path.startswith("/api/"):
        expected = {404: "not_found", 405: "method_not_allowed"}[response.status_code]
        assert_json_error(response, response.status_code, expected)


def test_chunked_json_cannot_exceed_the_json_cap(app_config):
    app_config["CHUNK_SIZE"] = 1024 * 1024  # the body cap for chunks is then above the JSON cap
    client = create_app(app_config).test_client()
    body = b'{"size": 5000, "metadata": "' + b"A" * 70_000 + b'"}'
    # As gunicorn passes a chunked body: no Content-Length, the input marked as terminated.
    response = client.post("/api/v1/shares", input_stream=io.BytesIO(body),
                           headers={"Content-Type": "application/json",
                                    "Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})
    assert_json_error(response, 413)


def test_a_missing_proof_is_answered_after_the_share_state(sharing, bystander):
    share = sharing.ready(size=1000)
    assert_json_error(sharing.claim(share, token=""), 403, "proof_invalid")
    sharing.download(share)
    assert_json_error(sharing.claim(share, token=""), 410, "consumed")
    assert_json_error(sharing.unlock(share, token=""), 410, "consumed")


def test_unsatisfiable_range_reports_the_length(sharing, bystander):
    ticket = sharing.claim(bystander).get_json()["ticket"]
    response = sharing.fetch(bystander.id, ticket, "bytes=999999-")
    assert_json_error(response, 416)
    assert response.headers["Content-Range"] == "bytes */150000"
    assert sharing.fetch(bystander.id, ticket).get_data() == bystander.ciphertext
    bystander.claimed_once = True
