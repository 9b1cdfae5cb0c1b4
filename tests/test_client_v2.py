"""The real client against the real app (in process, real Redis): v2 shares with and without a
password, padded sizes on the wire, the online-only password check, and v1 links read-only.

The app is driven through httpx's WSGITransport, so every request goes through Flask, the Lua
scripts and Redis exactly as under gunicorn, without a process per test.
"""

import io

import httpx
import pytest

from onetimeshare import errors
from onetimeshare.api import ShareApi
from onetimeshare.ece import RECORD_SIZE, padded_size
from onetimeshare.keys import new_secret
from onetimeshare.links import build_link
from onetimeshare.metadata import MAX_METADATA_CHARS
from onetimeshare.transfer import open_share, receive, send
from server import create_app
from tests.support import IN_PROCESS_URL
from tests.v1_shares import plant_v1

PASSWORD = "correct horse battery staple"


def note(text="the door code is 4711"):
    data = text.encode()
    return io.BytesIO(data), len(data), {"kind": "text", "name": "note.txt"}


def fetch(share_api, info):
    sink = io.BytesIO()
    size = receive(share_api, info, sink)
    assert size == len(sink.getvalue())
    return sink.getvalue()


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, 4097, RECORD_SIZE - 17, 200_000])
def test_the_server_sees_only_padded_sizes(share_api, size):
    data = bytes(range(256)) * (size // 256 + 1)
    sent = send(share_api, io.BytesIO(data[:size]), size, {"kind": "file", "name": "f.bin"})
    status = share_api.status(sent.share_id)
    assert status["version"] == 2 and status["size"] == padded_size(size)
    info = open_share(share_api, sent.link)
    assert info.metadata == {"kind": "file", "name": "f.bin", "type": "application/octet-stream",
                             "size": size}
    assert fetch(share_api, info) == data[:size]


def test_notes_of_any_length_below_4_kib_look_alike(share_api):
    sizes = set()
    for text in ["", "y", "x" * 45, "a longer note " * 200]:
        sent = send(share_api, *note(text))
        sizes.add(share_api.status(sent.share_id)["size"])
    assert sizes == {21 + 4096 + 17}


def test_a_password_share_opens_only_through_the_unlock_step(share_api):
    sent = send(share_api, *note(), password=PASSWORD)
    status = share_api.status(sent.share_id)
    assert status["metadata"] is None, "the status must not carry anything to guess against"
    assert set(status["password"]) == {"salt", "iterations"}
    with pytest.raises(errors.PasswordRequired):
        open_share(share_api, sent.link)
    with pytest.raises(errors.WrongPassword) as wrong:
        open_share(share_api, sent.link, "correct horse battery stapler")
    assert wrong.value.code == "password_invalid" and wrong.value.attempts_left == 4
    info = open_share(share_api, sent.link, PASSWORD)
    assert info.metadata["name"] == "note.txt" and info.metadata["size"] == 21
    assert fetch(share_api, info) == b"the door code is 4711"
    with pytest.raises(errors.Gone) as again:
        fetch(share_api, open_share(share_api, sent.link, PASSWORD))
    assert again.value.reason == "consumed"


def test_wrong_passwords_lock_the_share_without_consuming_it(share_api, app):
    sent = send(share_api, *note(), password=PASSWORD)
    limit = app.config["PROOF_FAILURES_MAX"]
    for left in range(limit - 1, -1, -1):
        with pytest.raises(errors.WrongPassword) as wrong:
            open_share(share_api, sent.link, f"guess {left}")
        assert wrong.value.attempts_left == left
    with pytest.raises(errors.Locked) as locked:
        open_share(share_api, sent.link, PASSWORD)
    assert locked.value.retry_after and locked.value.retry_after > 0
    assert share_api.status(sent.share_id)["downloads_left"] == 1


def test_a_wrong_link_is_never_counted_and_cannot_lock(share_api, app):
    sent = send(share_api, *note(), password=PASSWORD)
    other_secret = build_link(IN_PROCESS_URL, sent.share_id, new_secret())
    for _ in range(3 * app.config["PROOF_FAILURES_MAX"]):
        with pytest.raises(errors.ProofRejected) as refused:
            open_share(share_api, other_secret, PASSWORD)
        assert refused.value.code == "proof_invalid"
    info = open_share(share_api, sent.link, PASSWORD)
    assert fetch(share_api, info) == b"the door code is 4711"


def test_a_damaged_metadata_blob_is_a_decryption_error(share_api, redis_client):
    sent = send(share_api, *note())
    key = f"ots:{{{sent.share_id}}}:share"
    blob = redis_client.hget(key, "meta").decode()
    redis_client.hset(key, "meta", ("B" if blob[5] == "A" else "A").join([blob[:5], blob[6:]]))
    with pytest.raises(errors.DecryptionError):
        open_share(share_api, sent.link)


@pytest.mark.parametrize("password", [None, PASSWORD], ids=["no password", "password"])
def test_a_v1_link_still_opens_read_only(app, share_api, password):
    plaintext = b"stored before version 2\n" * 5000
    link = plant_v1(app, share_api, plaintext, password)
    if password:
        with pytest.raises(errors.DecryptionError):  # v1: checked on this machine, not counted
            open_share(share_api, link, "wrong")
    info = open_share(share_api, link, password)
    assert info.version == 1 and info.metadata["name"] == "old.txt"
    assert fetch(share_api, info) == plaintext
    with pytest.raises(errors.Gone):
        fetch(share_api, open_share(share_api, link, password))


def test_an_unknown_version_is_refused_before_any_key_is_derived(share_api):
    sent = send(share_api, *note())
    status = {**share_api.status(sent.share_id), "version": 3}
    with pytest.raises(errors.UnsupportedVersion):
        open_share(share_api, sent.link, status=status)


def test_progress_counts_plaintext_bytes_both_ways(app):
    size = 3 * RECORD_SIZE + 5  # several records and chunks; padding follows the data
    data = bytes(range(256)) * (size // 256 + 1)
    app.config["CHUNK_SIZE"] = 64 * 1024
    with ShareApi(IN_PROCESS_URL, transport=httpx.WSGITransport(app=app)) as share_api:
        up, down = [], []
        sent = send(share_api, io.BytesIO(data[:size]), size, {"kind": "file", "name": "p"},
                    progress=up.append)
        info = open_share(share_api, sent.link)
        receive(share_api, info, io.BytesIO(), progress=down.append)
    for steps in (up, down):
        assert steps == sorted(steps) and steps[-1] == size and len(steps) > 2
        assert all(0 <= step <= size for step in steps)


@pytest.mark.parametrize("limit", [300, 20_000], ids=["lower", "higher"])
def test_the_client_honours_the_servers_metadata_limit(app_config, redis_client, limit):
    """The blob may be as long as the server's `max_metadata_chars`, and no longer: a name that
    does not fit is refused before anything is sent, one that fits travels and opens."""
    app = create_app({**app_config, "MAX_METADATA_CHARS": limit})
    fits, too_long = "n" * (limit // 2 - 130), "n" * limit  # a blob is ~4/3 of its JSON
    with ShareApi(IN_PROCESS_URL, transport=httpx.WSGITransport(app=app)) as api:
        with pytest.raises(ValueError, match="metadata is too large"):
            send(api, io.BytesIO(b"x"), 1, {"kind": "file", "name": too_long})
        assert redis_client.dbsize() == 0, "nothing was created"
        sent = send(api, io.BytesIO(b"x"), 1, {"kind": "file", "name": fits})
        blob = api.status(sent.share_id)["metadata"]
        assert limit // 2 < len(blob) <= limit
        assert (len(blob) > MAX_METADATA_CHARS) == (limit > MAX_METADATA_CHARS)
        info = open_share(api, sent.link)
        assert info.metadata["name"] == fits
        assert fetch(api, info) == b"x"
