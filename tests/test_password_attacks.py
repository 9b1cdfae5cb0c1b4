"""Attack password shares the way protocol v2 says they cannot be attacked, against a real Redis.

- The offline attacker holds the link (so the access token) but not the password. Everything the
  API hands out without a correct password proof must leave them nothing to test a guess against:
  no metadata blob (its GCM tag confirms a key), no ciphertext, no verifier.
- Someone who knows only the share id must not be able to lock the share: the access proof is
  checked first and a wrong one is never counted.
- Wrong password proofs are counted, across unlock and claim; the lock then refuses even the right
  password until the window passes, and a wrong password never consumes a download.

Random bytes stand in for the ciphertext and the metadata blob, random tokens for the proofs: the
server cannot tell them apart from real ones. The same attack with real keys and a password
dictionary runs on the client side (`onetimeshare`).
"""

import base64
import hashlib
import logging
import time

import pytest

from server import create_app
from tests.sharing import Sharing, b64u, bearer, proof_headers, random_token
from tests.support import TEST_CONFIG

FAILURES_MAX = TEST_CONFIG["PROOF_FAILURES_MAX"]


def secrets_of(share, redis_client):
    """Every string a password guess could be tested against, in every encoding the server
    might leak it in: the metadata blob, the ciphertext, both verifiers, the password token."""
    stored = {key.decode(): value.decode()
              for key, value in redis_client.hgetall(f"ots:{{{share.id}}}:share").items()}
    access_verifier = hashlib.sha256(_bytes(share.access_token)).digest()
    password_verifier = hashlib.sha256(_bytes(share.password_token)).digest()
    found = {
        "metadata": share.metadata,
        "metadata (standard base64)": base64.b64encode(_bytes(share.metadata)).decode(),
        "ciphertext (base64url)": b64u(share.ciphertext[:64]),
        "ciphertext (hex)": share.ciphertext[:32].hex(),
        "access verifier": b64u(access_verifier),
        "access verifier (hex)": access_verifier.hex(),
        "password verifier": b64u(password_verifier),
        "password verifier (hex)": password_verifier.hex(),
        "password token": share.password_token,
        "stored password verifier": stored["pw_verifier"],
        "stored access verifier": stored["verifier"],
    }
    assert stored["meta"] == share.metadata, "the share really holds this blob"
    return found


def _bytes(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def everything_without_the_password(client, share):
    """Ask every route for everything it gives without a correct password proof; return the
    answers as (what was asked, response)."""
    url = f"/api/v1/shares/{share.id}"
    wrong = random_token()
    right_access = share.access_token
    proof_sets = {
        "no proofs": {},
        "wrong access proof": proof_headers(wrong),
        "wrong access proof, right password proof": proof_headers(wrong, share.password_token),
        "only the password proof": {"X-Password-Proof": share.password_token},
        "access proof, no password proof": proof_headers(right_access),
        "access proof, wrong password proof": proof_headers(right_access, wrong),
        "access proof, malformed password proof": proof_headers(right_access, "x" * 43),
        "access proof twice": {**bearer(right_access), "X-Password-Proof": right_access},
        "owner token as the access proof": proof_headers(share.owner_token),
    }
    answers = [
        ("status", client.get(url)),
        ("status, HEAD", client.head(url)),
        ("status, asking for HTML", client.get(url, headers={"Accept": "text/html"})),
        ("config", client.get("/api/v1/config")),
        ("openapi", client.get("/api/v1/openapi.json")),
        ("recipient page", client.get(f"/s/{share.id}")),
    ]
    for name, headers in proof_sets.items():
        for route in ("unlock", "claim"):
            answers.append((f"{route}: {name}", client.post(f"{url}/{route}", headers=headers)))
    for name, token in (("access token", right_access), ("password token", share.password_token),
                        ("made-up", wrong)):
        answers += [
            (f"content with the {name}", client.get(f"{url}/content", headers=bearer(token))),
            (f"owner view with the {name}", client.get(f"{url}/owner", headers=bearer(token))),
            (f"finalize with the {name}", client.post(f"{url}/finalize", headers=bearer(token))),
            (f"chunk with the {name}", client.put(f"{url}/chunks/0", data=b"x" * 10,
                                                  headers=bearer(token))),
            (f"delete with the {name}", client.delete(url, headers=bearer(token))),
        ]
    return answers


def assert_nothing_leaks(answers, secrets):
    for asked, response in answers:
        seen = response.get_data(as_text=True) + "\n" + "\n".join(
            f"{name}: {value}" for name, value in response.headers.items())
        for what, secret in secrets.items():
            assert secret not in seen, f"{asked} ({response.status_code}) hands out the {what}"


def test_the_offline_attacker_gets_nothing_to_test_a_password_against(client, sharing,
                                                                      redis_client, caplog):
    caplog.set_level(logging.DEBUG)
    share = sharing.ready(size=5000, password=True)
    secrets = secrets_of(share, redis_client)
    answers = everything_without_the_password(client, share)
    # Past the lock as well: its answers must leak no more than the others.
    for _ in range(FAILURES_MAX):
        sharing.claim(share, password=random_token())
    answers += [("locked " + asked, response)
                for asked, response in everything_without_the_password(client, share)]
    assert_nothing_leaks(answers, secrets)
    statuses = {asked: response.status_code for asked, response in answers}
    assert statuses["status"] == 200
    assert statuses["unlock: access proof, wrong password proof"] == 403
    assert statuses["locked unlock: access proof, wrong password proof"] == 429
    assert 200 not in {statuses[asked] for asked in statuses if "unlock" in asked
                       or "claim" in asked or "content" in asked}
    for what, secret in secrets.items():
        assert secret not in caplog.text, f"a log line carries the {what}"
    # The collection would have caught a leak: the right proofs do hand the blob out (on a
    # fresh share, since this one is locked).
    fresh = sharing.ready(size=5000, password=True)
    assert fresh.metadata in sharing.unlock(fresh).get_data(as_text=True)
    assert sharing.status(share.id).get_json()["downloads_left"] == 1, "nothing was consumed"


def test_a_tombstone_of_a_password_share_keeps_no_secret(sharing, redis_client):
    share = sharing.ready(size=1000, password=True)
    stored = redis_client.hgetall(f"ots:{{{share.id}}}:share")
    assert {b"verifier", b"pw_verifier", b"meta"} <= set(stored)
    sharing.download(share)
    tombstone = redis_client.hgetall(f"ots:{{{share.id}}}:share")
    assert not {b"verifier", b"pw_verifier", b"meta", b"pw_salt", b"pw_iter"} & set(tombstone)


@pytest.mark.parametrize("password", [True, None])
def test_someone_with_only_the_id_cannot_lock_the_share(sharing, redis_client, password):
    share = sharing.ready(size=1000, password=password)
    for attempt in range(50):
        route = (sharing.unlock, sharing.claim)[attempt % 2]
        # With and without a (made-up) password proof: neither is ever counted.
        guess = random_token() if attempt % 4 < 2 else None
        response = route(share, token=random_token(), password=guess)
        assert response.status_code == 403 and response.get_json()["code"] == "proof_invalid"
        assert "attempts_left" not in response.get_json()
    assert redis_client.keys("*:fails") == [], "no wrong-proof counter was ever started"
    assert sharing.unlock(share).get_json() == {"metadata": share.metadata}
    assert sharing.download(share) == share.ciphertext


def test_the_id_alone_cannot_even_tell_that_a_share_is_locked(sharing):
    share = sharing.ready(size=1000, password=True)
    for _ in range(FAILURES_MAX):
        sharing.unlock(share, password=random_token())
    assert sharing.unlock(share).status_code == 429
    response = sharing.claim(share, token=random_token())
    assert response.status_code == 403 and response.get_json()["code"] == "proof_invalid"


def test_wrong_passwords_are_counted_across_unlock_and_claim_then_lock(sharing):
    share = sharing.ready(size=1000, password=True, downloads=2)
    left = []
    for attempt in range(FAILURES_MAX):
        route = (sharing.unlock, sharing.claim)[attempt % 2]
        response = route(share, password=random_token())
        assert response.status_code == 403 and response.get_json()["code"] == "password_invalid"
        left.append(response.get_json()["attempts_left"])
    assert left == list(range(FAILURES_MAX - 1, -1, -1))
    for route in (sharing.unlock, sharing.claim):
        for password in (share.password_token, random_token(), None):
            locked = route(share, password=password)
            assert locked.status_code == 429, "the lock holds even the right password"
            assert locked.get_json()["code"] == "locked"
            assert 1 <= int(locked.headers["Retry-After"]) <= TEST_CONFIG["PROOF_FAILURE_WINDOW"]
            assert "attempts_left" not in locked.get_json()
    assert sharing.status(share.id).get_json()["downloads_left"] == 2, "nothing was consumed"


def test_a_missing_password_proof_is_not_counted(sharing):
    share = sharing.ready(size=1000, password=True)
    for route in (sharing.unlock, sharing.claim) * 10:
        response = route(share, password=None)
        assert response.status_code == 403
        assert response.get_json()["code"] == "password_required"
    wrong = sharing.unlock(share, password=random_token()).get_json()
    assert wrong["attempts_left"] == FAILURES_MAX - 1


def test_the_lock_lapses_with_its_window_and_the_right_password_then_works(app_config):
    app_config.update(PROOF_FAILURES_MAX=3, PROOF_FAILURE_WINDOW=1)
    sharing = Sharing(create_app(app_config).test_client())
    share = sharing.ready(size=1000, password=True)
    for _ in range(3):
        assert sharing.claim(share, password=random_token()).status_code == 403
    assert sharing.claim(share).status_code == 429
    time.sleep(1.2)
    assert sharing.unlock(share).get_json() == {"metadata": share.metadata}
    assert sharing.download(share) == share.ciphertext


def test_a_wrong_password_never_consumes_a_download(sharing, redis_client):
    share = sharing.ready(size=1000, password=True)
    for _ in range(FAILURES_MAX):
        sharing.claim(share, password=random_token())
    assert sharing.status(share.id).get_json()["downloads_left"] == 1
    assert not redis_client.exists(f"ots:{{{share.id}}}:claims"), "no claim was recorded"
    owner = sharing.owner(share).get_json()
    assert owner["claims"] == 0 and owner["first_claim_at"] is None
