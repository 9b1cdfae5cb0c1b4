"""Serve protocol v1 shares stored before v2, read-only and exactly as before.

The API no longer creates v1 shares (400 `unsupported_version`), so the shares are planted with
the store, as the v1 create view wrote them. v1 has one proof, the auth token, derived from the
secret and the password together: every wrong one is counted and the lock comes first, as it
always did.
"""

import pytest

from tests.sharing import b64u, plant_v1_share, random_token
from tests.support import TEST_CONFIG

PASSWORD = {"salt": b64u(b"s" * 16), "iterations": 600_000}
FAILURES_MAX = TEST_CONFIG["PROOF_FAILURES_MAX"]


@pytest.mark.parametrize("password", [None, PASSWORD])
def test_a_stored_v1_share_answers_its_status_as_before(app, sharing, password):
    share = plant_v1_share(app, sharing, size=150_000, downloads=2, password=password)
    body = sharing.status(share.id).get_json()
    assert body["version"] == 1
    assert body["password"] == password
    assert body["metadata"] == share.metadata, "v1 shows its blob, password or not"


@pytest.mark.parametrize("password", [None, PASSWORD])
def test_a_stored_v1_share_is_claimed_with_its_auth_token(app, sharing, redis_client, password):
    share = plant_v1_share(app, sharing, size=150_000, downloads=2, password=password)
    claimed = sharing.claim(share, password=None)
    assert claimed.status_code == 200 and claimed.get_json()["metadata"] == share.metadata
    assert sharing.fetch(share.id, claimed.get_json()["ticket"]).get_data() == share.ciphertext
    assert sharing.download(share) == share.ciphertext
    gone = sharing.claim(share)
    assert gone.status_code == 410 and gone.get_json()["code"] == "consumed"
    assert redis_client.keys("*:data") == []


def test_unlock_of_a_v1_share_checks_its_one_proof(app, sharing):
    share = plant_v1_share(app, sharing, password=PASSWORD)
    assert sharing.unlock(share).get_json() == {"metadata": share.metadata}
    assert sharing.status(share.id).get_json()["downloads_left"] == 1


@pytest.mark.parametrize("password, code", [(None, "proof_invalid"),
                                            (PASSWORD, "password_invalid")])
def test_wrong_v1_proofs_are_counted_and_lock_first(app, sharing, password, code):
    share = plant_v1_share(app, sharing, password=password)
    left = []
    for _ in range(FAILURES_MAX):
        response = sharing.claim(share, token=random_token())
        assert response.status_code == 403 and response.get_json()["code"] == code
        left.append(response.get_json()["attempts_left"])
    assert left == list(range(FAILURES_MAX - 1, -1, -1))
    for token in (share.access_token, random_token()):
        locked = sharing.claim(share, token=token)
        assert locked.status_code == 429 and locked.get_json()["code"] == "locked"
        assert int(locked.headers["Retry-After"]) >= 1
    assert sharing.status(share.id).get_json()["downloads_left"] == 1


def test_v1_creates_are_refused_with_a_stable_code(client):
    body = {"version": 1, "size": 1000, "verifier": b64u(b"v" * 32),
            "metadata": b64u(b"m" * 64), "password": PASSWORD}
    response = client.post("/api/v1/shares", json=body)
    assert response.status_code == 400
    assert response.get_json()["code"] == "unsupported_version"
    assert client.get("/api/v1/config").get_json()["protocol_versions"] == [2]
