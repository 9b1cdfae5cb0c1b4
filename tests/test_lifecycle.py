"""Walk a share through every state of its life against a real Redis."""

import pytest

from tests.sharing import b64u


def test_create_answers_with_id_owner_token_and_layout(sharing):
    share = sharing.create(size=150_000)
    assert len(share.id) == 22 and len(share.owner_token) == 43
    assert share.created["chunk_size"] == 64 * 1024
    assert share.created["chunks"] == 3
    assert share.created["expires_at"].endswith("Z")


def test_round_trip_returns_identical_bytes_then_410(sharing):
    share = sharing.ready(size=200_000)
    assert sharing.download(share) == share.ciphertext
    response = sharing.claim(share)
    assert response.status_code == 410
    assert response.get_json()["error"] == "Gone"
    assert response.get_json()["code"] == "consumed"
    assert "already opened" in response.get_json()["message"]


def test_status_changes_nothing(sharing, redis_client):
    share = sharing.ready(size=5000, downloads=2)
    # Share keys only: the rate limiter's per-client counters are not share state.
    before = {key: redis_client.dump(key) for key in redis_client.keys("ots:*")}
    for _ in range(5):
        body = sharing.status(share.id).get_json()
        assert body["downloads_left"] == 2 and body["state"] == "ready"
    after = {key: redis_client.dump(key) for key in redis_client.keys("ots:*")}
    assert before == after


def test_status_carries_what_the_download_page_needs(sharing):
    share = sharing.ready(size=1234, downloads=3, expires_in=600)
    body = sharing.status(share.id).get_json()
    assert body["version"] == 2
    assert body["size"] == 1234
    assert body["downloads"] == 3 and body["downloads_left"] == 3
    assert body["password"] is None
    assert body["metadata"] == share.metadata
    assert body["expires_at"].endswith("Z")


def test_status_of_a_password_share_withholds_the_metadata(sharing):
    password = {"salt": b64u(b"s" * 16), "iterations": 700_000}
    share = sharing.ready(size=1234, password=password)
    body = sharing.status(share.id).get_json()
    assert body["version"] == 2
    assert body["password"] == password
    assert body["metadata"] is None
    assert share.metadata not in sharing.status(share.id).get_data(as_text=True)


@pytest.mark.parametrize("password", [None, True])
def test_unlock_hands_out_the_metadata_and_consumes_nothing(sharing, redis_client, password):
    share = sharing.ready(size=1000, password=password)
    before = {key: redis_client.dump(key) for key in redis_client.keys("ots:*")}
    for _ in range(3):
        response = sharing.unlock(share)
        assert response.status_code == 200
        assert response.get_json() == {"metadata": share.metadata}
    after = {key: redis_client.dump(key) for key in redis_client.keys("ots:*")}
    assert before == after
    claimed = sharing.claim(share).get_json()
    assert claimed["metadata"] == share.metadata


def test_share_with_three_downloads_serves_three_then_410(sharing, redis_client):
    share = sharing.ready(size=100_000, downloads=3)
    for left in (2, 1, 0):
        assert sharing.download(share) == share.ciphertext
        if left:
            assert sharing.status(share.id).get_json()["downloads_left"] == left
    assert sharing.claim(share).status_code == 410
    assert redis_client.keys("*:data") == []


def test_ciphertext_is_deleted_when_the_last_fetch_completes(sharing, redis_client):
    share = sharing.ready(size=300_000)
    ticket = sharing.claim(share).get_json()["ticket"]
    assert redis_client.exists(f"ots:{{{share.id}}}:data") == 1
    assert sharing.fetch(share.id, ticket).get_data() == share.ciphertext
    assert redis_client.keys("*:data") == []
    assert sorted(redis_client.keys("ots:*")) == [f"ots:{{{share.id}}}:share".encode()]
    tombstone = redis_client.hgetall(f"ots:{{{share.id}}}:share")
    assert b"verifier" not in tombstone and b"meta" not in tombstone
    assert 0 < redis_client.pttl(f"ots:{{{share.id}}}:share") <= 3600 * 1000


def test_fetch_resumes_with_range_while_the_claim_is_alive(sharing, redis_client):
    share = sharing.ready(size=200_000)
    ticket = sharing.claim(share).get_json()["ticket"]
    first = sharing.fetch(share.id, ticket, "bytes=0-99999")
    assert first.status_code == 206
    assert first.headers["Content-Range"] == "bytes 0-99999/200000"
    assert redis_client.exists(f"ots:{{{share.id}}}:data") == 1, "a partial fetch keeps the data"
    rest = sharing.fetch(share.id, ticket, "bytes=100000-")
    assert rest.status_code == 206
    assert first.get_data() + rest.get_data() == share.ciphertext
    assert redis_client.keys("*:data") == []


@pytest.mark.parametrize("byte_range, expected", [
    ("bytes=0-0", slice(0, 1)),
    ("bytes=65535-65536", slice(65535, 65537)),
    ("bytes=-10", slice(-10, None)),
    ("bytes=131072-", slice(131072, None)),
])
def test_ranges_cross_chunk_boundaries_exactly(sharing, byte_range, expected):
    share = sharing.ready(size=150_000, downloads=2)
    ticket = sharing.claim(share).get_json()["ticket"]
    response = sharing.fetch(share.id, ticket, byte_range)
    assert response.status_code == 206
    assert response.get_data() == share.ciphertext[expected]


def test_wrong_access_proof_is_403_uncounted_and_consumes_nothing(sharing, redis_client):
    share = sharing.ready(size=1000)
    response = sharing.claim(share, token=b64u(b"w" * 32))
    assert response.status_code == 403
    assert response.get_json()["code"] == "proof_invalid"
    assert "attempts_left" not in response.get_json()
    assert redis_client.keys("*:fails") == []
    assert sharing.status(share.id).get_json()["downloads_left"] == 1
    assert sharing.download(share) == share.ciphertext


def test_wrong_password_is_403_counted_and_consumes_nothing(sharing):
    share = sharing.ready(size=1000, password=True)
    response = sharing.claim(share, password=b64u(b"w" * 32))
    assert response.status_code == 403
    assert response.get_json()["code"] == "password_invalid"
    assert response.get_json()["attempts_left"] == 4
    assert sharing.status(share.id).get_json()["downloads_left"] == 1
    assert sharing.download(share) == share.ciphertext


def test_repeated_wrong_passwords_lock_claims_for_a_while(sharing):
    share = sharing.ready(size=1000, password=True)
    wrong = b64u(b"w" * 32)
    codes = [sharing.claim(share, password=wrong).status_code for _ in range(5)]
    assert codes == [403] * 5
    locked = sharing.claim(share)
    assert locked.status_code == 429 and locked.get_json()["code"] == "locked"
    assert 1 <= int(locked.headers["Retry-After"]) <= 60
    assert sharing.status(share.id).get_json()["downloads_left"] == 1


def test_upload_is_resumable_and_idempotent(sharing):
    share = sharing.create(size=200_000)
    assert sharing.put_chunk(share, 0).status_code == 200
    assert sharing.put_chunk(share, 2).status_code == 200
    assert sharing.put_chunk(share, 2).status_code == 200
    owner = sharing.owner(share).get_json()
    assert owner["state"] == "uploading" and owner["received_chunks"] == [0, 2]
    incomplete = sharing.finalize(share)
    assert incomplete.status_code == 409 and incomplete.get_json()["missing"] == [1, 3]
    sharing.put_chunk(share, 1)
    sharing.put_chunk(share, 3)
    assert sharing.finalize(share).status_code == 200
    assert sharing.finalize(share).status_code == 200, "finalize is idempotent"
    assert sharing.download(share) == share.ciphertext


def test_share_is_not_claimable_before_finalize(sharing):
    share = sharing.create(size=1000)
    sharing.put_chunk(share, 0)
    assert sharing.status(share.id).status_code == 409
    assert sharing.claim(share).status_code == 409


def test_chunks_are_refused_after_finalize(sharing):
    share = sharing.ready(size=1000)
    response = sharing.put_chunk(share, 0, data=b"x" * 1000)
    assert response.status_code == 409
    assert sharing.download(share) == share.ciphertext


def test_owner_sees_when_the_share_was_opened(sharing):
    share = sharing.ready(size=1000)
    before = sharing.owner(share).get_json()
    assert before["state"] == "ready" and before["first_claim_at"] is None
    assert "received_chunks" not in before
    sharing.download(share)
    after = sharing.owner(share).get_json()
    assert after["state"] == "consumed"
    assert after["claims"] == 1 and after["completed_downloads"] == 1
    assert after["first_claim_at"] and after["last_complete_at"] and after["consumed_at"]


def test_owner_can_delete_early_and_the_link_then_says_so(sharing, redis_client):
    share = sharing.ready(size=1000)
    assert sharing.delete(share).status_code == 204
    gone = sharing.status(share.id)
    assert gone.status_code == 410 and gone.get_json()["code"] == "deleted"
    assert "deleted" in gone.get_json()["message"]
    assert sharing.claim(share).status_code == 410
    assert redis_client.keys("*:data") == []
    assert sharing.delete(share).status_code == 204, "deleting twice is harmless"
    assert sharing.owner(share).get_json()["deleted_at"]


def test_delete_during_a_claim_stops_the_fetch(sharing):
    share = sharing.ready(size=1000)
    ticket = sharing.claim(share).get_json()["ticket"]
    sharing.delete(share)
    assert sharing.fetch(share.id, ticket).status_code in (403, 410)


def test_unknown_share_is_404_with_json(sharing):
    response = sharing.status(b64u(b"\0" * 16))
    assert response.status_code == 404
    assert response.get_json() == {
        "error": "Not Found",
        "code": "not_found",
        "message": "No share with this id exists, or it has expired.",
    }


def test_service_limits_are_published(client):
    body = client.get("/api/v1/config").get_json()
    assert body["chunk_size"] == 64 * 1024
    assert body["max_downloads"] == 10
    assert body["protocol_versions"] == [2]
