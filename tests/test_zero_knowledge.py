"""Prove the server learns nothing, and that a password can be guessed online only.

A file with a known canary content and name is sent with a password through real gunicorn and
downloaded again. Then every byte clients sent the server, every command the server sent Redis,
every key left in Redis, and every log line are searched for the canary, the name, the password,
the fragment secret and the derived keys.

The offline attacker holds the link but not the password and collects everything the API hands
out without a correct password proof; with the real crypto, no candidate of a dictionary (the
right password included) can be confirmed against it, while each online guess is counted.
"""

import contextlib
import io
import json
import re
import subprocess
import sys
import time

import httpx
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from devtools.processes import ROOT, GunicornProcess
from onetimeshare.api import ShareApi
from onetimeshare.ece import RECORD_SIZE, Decryptor
from onetimeshare.encoding import b64u_decode, b64u_encode
from onetimeshare.errors import DecryptionError, ProtocolError, WrongPassword
from onetimeshare.keys import PasswordParams, derive_keys
from onetimeshare.links import parse_link
from onetimeshare.transfer import open_share, receive, send
from tests.recording import RecordingProxy, RedisMonitor
from tests.support import IN_PROCESS_URL

CANARY = b"CANARY-7f3e9c1d-the-plaintext-must-never-reach-the-server"
NAME = "canary-contract-9a1b2c.pdf"
PASSWORD = "canary password 5e6f7a"


@pytest.fixture
def observed(redis_server, redis_client, tmp_path):
    """A gunicorn service behind a recording proxy, with Redis monitored and debug logs on."""
    log = tmp_path / "gunicorn.log"
    service = GunicornProcess(redis_server.url, workers=2, threads=4, log_path=log,
                              env={"LOG_LEVEL": "debug", "CHUNK_SIZE": str(64 * 1024)}).start()
    proxy = RecordingProxy(service.port)
    monitor = RedisMonitor(redis_server.port)
    yield proxy, monitor, log
    monitor.close()
    proxy.close()
    service.stop()


def forbidden_strings(link, info):
    parsed = parse_link(link)
    keys = info.keys
    values = [CANARY, NAME.encode(), PASSWORD.encode(), link.split("#")[1].encode(),
              parsed.secret, parsed.secret.hex().encode()]
    for key in (keys.content_ikm, keys.metadata_key):
        values += [key, key.hex().encode(), b64u_encode(key).encode()]
    return values


def test_server_sees_no_plaintext_name_password_or_key(observed, redis_server, redis_client):
    proxy, monitor, log = observed
    plaintext = (CANARY + b"\n") * (3 * RECORD_SIZE // len(CANARY))
    metadata = {"kind": "file", "name": NAME, "type": "application/pdf", "size": len(plaintext)}
    with ShareApi(proxy.url) as api:
        sent = send(api, io.BytesIO(plaintext), len(plaintext), metadata, password=PASSWORD)
        stored = b"".join(redis_client.dump(key) or b"" for key in redis_client.keys("*"))
        info = open_share(api, sent.link, password=PASSWORD)
        assert info.metadata["name"] == NAME
        sink = io.BytesIO()
        receive(api, info, sink)
        assert sink.getvalue() == plaintext
    time.sleep(0.3)  # let the last relayed bytes and MONITOR lines arrive
    redis_log = (redis_server.directory / "redis.log").read_bytes()
    places = {
        "requests the server received": bytes(proxy.received),
        "commands the server sent Redis": bytes(monitor.output),
        "keys stored in Redis": stored,
        "gunicorn log": log.read_bytes(),
        "redis log": redis_log,
    }
    assert len(proxy.received) > len(plaintext), "the proxy saw the upload"
    assert b"ots:{" in monitor.output, "MONITOR saw the server's commands"
    for value in forbidden_strings(sent.link, info):
        for place, seen in places.items():
            assert value not in seen, f"{value[:40]!r} leaked into the {place}"


def test_server_never_imports_anything_that_can_decrypt(redis_server):
    # redis-py imports the bare `cryptography` package to see whether it is installed; the
    # ciphers live under cryptography.hazmat, which must stay out.
    probe = (
        "import sys; from server import create_app; "
        f"app = create_app({{'REDIS_URL': {redis_server.url!r}}}); "
        "app.test_client().get('/readyz'); "
        "bad = sorted(m for m in sys.modules if m.startswith(('onetimeshare', "
        "'cryptography.hazmat', 'Crypto', 'nacl'))); print(bad); "
        "sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


# --- the offline attacker ----------------------------------------------------------------------

DICTIONARY = ["123456", "password", "sunshine1", "letmein", "correct horse", PASSWORD]


def everything_handed_out(api, http, link):
    """Collect every answer the API gives someone holding the link but not the password."""
    parsed = parse_link(link)
    access = derive_keys(parsed.secret).access_token  # the link alone gives the access proof
    sid = parsed.share_id
    headers = {"Authorization": f"Bearer {b64u_encode(access)}"}
    answers = [
        http.get("/api/v1/config"),
        http.get(f"/api/v1/shares/{sid}"),
        http.post(f"/api/v1/shares/{sid}/unlock", headers=headers),
        http.post(f"/api/v1/shares/{sid}/claim", headers=headers),
        http.post(f"/api/v1/shares/{sid}/unlock"),
        http.post(f"/api/v1/shares/{sid}/claim"),
        http.get(f"/api/v1/shares/{sid}/content", headers=headers),
        http.get(f"/api/v1/shares/{sid}/owner", headers=headers),
        http.get(f"/s/{sid}"),
    ]
    return answers


def values_in(answers):
    """Every string and header value in the answers, and what each decodes to as base64url."""
    texts = []
    for answer in answers:
        texts += list(answer.headers.values())
        try:
            texts += _strings(answer.json())
        except ValueError:
            texts.append(answer.text)
    decoded = []
    for text in texts:
        for word in re.findall(r"[A-Za-z0-9_-]{22,}", text):
            with contextlib.suppress(ProtocolError):
                decoded.append(b64u_decode(word))
    return texts, decoded


def _strings(value):
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


def confirmations(candidate, params, secret, decoded):
    """Every way a guess could be checked offline against what was handed out."""
    keys = derive_keys(secret, candidate, params)
    found = []
    for value in decoded:
        if value in (keys.password_token, keys.password_verifier, keys.metadata_key):
            found.append("a password-bound value appears in an answer")
        if len(value) >= 12 + 16:
            with contextlib.suppress(InvalidTag):
                AESGCM(keys.metadata_key).decrypt(value[:12], value[12:], None)
                found.append("a blob authenticates under the guessed metadata key")
            for key in (keys.content_ikm,):
                with contextlib.suppress(DecryptionError, ProtocolError, ValueError):
                    decryptor = Decryptor(key)
                    decryptor.update(value)
                    decryptor.finalize()
                    found.append("content authenticates under the guessed key")
    return found


def test_no_password_guess_can_be_confirmed_offline(app, share_api):
    """Given everything the API hands out without a correct password proof, no candidate,
    the right one included, can be told apart offline: there is nothing to test it against.
    Guesses must go to the server, which counts them."""
    plaintext = b"the vault code is 0451\n"
    metadata = {"kind": "text", "name": "vault.txt"}
    api = share_api
    with httpx.Client(base_url=IN_PROCESS_URL, transport=httpx.WSGITransport(app=app)) as http:
        sent = send(api, io.BytesIO(plaintext), len(plaintext), metadata, password=PASSWORD)
        answers = everything_handed_out(api, http, sent.link)
        assert [answer.status_code for answer in answers] == [
            200, 200, 403, 403, 403, 403, 403, 403, 200]
        codes = [answer.json().get("code") for answer in answers[2:8]]
        assert codes == ["password_required", "password_required", "proof_invalid",
                         "proof_invalid", "ticket_invalid", "owner_token_invalid"]
        status = answers[1].json()
        assert status["metadata"] is None and "verifier" not in json.dumps(status)
        texts, decoded = values_in(answers)
        assert decoded, "the answers were searched"
        secret = parse_link(sent.link).secret
        params = PasswordParams(b64u_decode(status["password"]["salt"]),
                                status["password"]["iterations"])
        results = {candidate: confirmations(candidate, params, secret, decoded)
                   for candidate in DICTIONARY}
        assert results == {candidate: [] for candidate in DICTIONARY}
        # Nothing was counted by all this, and nothing was consumed.
        assert api.status(sent.share_id)["downloads_left"] == 1
        # Online, each guess is counted, and the right one is the only one that opens.
        limit = app.config["PROOF_FAILURES_MAX"]
        for number, candidate in enumerate(DICTIONARY[:limit - 1], start=1):
            with pytest.raises(WrongPassword) as wrong:
                open_share(api, sent.link, candidate)
            assert wrong.value.attempts_left == limit - number
        info = open_share(api, sent.link, PASSWORD)
        sink = io.BytesIO()
        receive(api, info, sink)
        assert sink.getvalue() == plaintext


def test_the_control_the_same_search_confirms_a_guess_when_the_blob_is_handed_out(share_api):
    """The search above is able to find a confirmation: given the metadata blob (as a v1 status
    was, and as unlock gives it after a right password), it confirms the right password only."""
    api = share_api
    sent = send(api, io.BytesIO(b"x"), 1, {"kind": "text", "name": "n"}, password=PASSWORD)
    keys = open_share(api, sent.link, PASSWORD).keys
    blob = api.unlock(sent.share_id, keys.access_token, keys.password_token)["metadata"]
    status = api.status(sent.share_id)
    params = PasswordParams(b64u_decode(status["password"]["salt"]),
                            status["password"]["iterations"])
    secret = parse_link(sent.link).secret
    results = {candidate: bool(confirmations(candidate, params, secret, [b64u_decode(blob)]))
               for candidate in DICTIONARY}
    assert results == {candidate: candidate == PASSWORD for candidate in DICTIONARY}
