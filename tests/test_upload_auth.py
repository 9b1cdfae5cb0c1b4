"""Check who may upload: upload tokens (stored as hashes), a trusted proxy's user header, and
that downloads never need either.
"""

import base64
import hashlib
import os
import subprocess
import sys

import pytest

from server import create_app
from server.config import ConfigError, load_config
from server.upload_tokens import main as new_token
from tests.sharing import Share, Sharing, b64u, bearer
from tests.support import ROOT
from tests.test_quota import share_body

ALICE_TOKEN = "alice-token-" + "a" * 31


def token_line(name, token):
    return f"{name} {hashlib.sha256(token.encode()).hexdigest()}\n"


@pytest.fixture
def tokens_file(tmp_path):
    path = tmp_path / "upload-tokens"
    path.write_text("# who may upload\n\n" + token_line("alice", ALICE_TOKEN)
                    + token_line("bob", "bob-token"))
    return path


@pytest.fixture
def build(app_config):
    def make(address="192.0.2.10", **settings):
        client = create_app({**app_config, **settings}).test_client()
        client.environ_base["REMOTE_ADDR"] = address
        return client

    return make


def create(client, headers=None, size=40):
    return client.post("/api/v1/shares", json=share_body(size), headers=headers or {})


def test_uploads_are_open_by_default(build):
    client = build()
    assert client.get("/api/v1/config").get_json()["upload_token_required"] is False
    assert create(client).status_code == 201


def test_with_tokens_a_create_needs_one(build, tokens_file):
    client = build(UPLOAD_TOKENS_FILE=str(tokens_file))
    assert client.get("/api/v1/config").get_json()["upload_token_required"] is True
    missing = create(client)
    assert missing.status_code == 401
    assert missing.get_json()["code"] == "upload_token_required"
    assert "upload token" in missing.get_json()["message"]
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    for wrong in ("alice", ALICE_TOKEN + "x", "x" * 600, hashlib.sha256(
            ALICE_TOKEN.encode()).hexdigest()):
        refused = create(client, bearer(wrong))
        assert refused.status_code == 403
        assert refused.get_json()["code"] == "upload_token_invalid"
    assert create(client, {"Authorization": f"Basic {ALICE_TOKEN}"}).status_code == 401
    assert create(client, bearer(ALICE_TOKEN)).status_code == 201
    assert create(client, bearer("bob-token")).status_code == 201


def create_share(client, headers, size):
    """Create a share with `headers` (an upload credential); return it as its sender knows it."""
    auth_token = b64u(os.urandom(32))
    body = {**share_body(size),
            "verifier": b64u(hashlib.sha256(base64.urlsafe_b64decode(auth_token + "=")).digest())}
    response = client.post("/api/v1/shares", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    return Share(data["id"], data["owner_token"], auth_token, os.urandom(size),
                 data["chunk_size"], body["metadata"])


def test_downloads_and_owner_routes_never_need_a_credential(build, tokens_file, redis_client):
    settings = {"UPLOAD_TOKENS_FILE": str(tokens_file)}
    sender = Sharing(build(**settings))
    share = sender.upload(create_share(sender.client, bearer(ALICE_TOKEN), 150_000))
    assert sender.owner(share).status_code == 200
    recipient = Sharing(build("198.51.100.7", **settings))
    assert recipient.status(share.id).status_code == 200
    assert recipient.download(share) == share.ciphertext
    assert recipient.claim(share).status_code == 410
    assert sender.delete(share).status_code == 204
    # The token itself is nowhere in Redis (only its name's keyed hash names a quota bucket).
    stored = b"".join(key + (redis_client.dump(key) or b"") for key in redis_client.keys("*"))
    assert ALICE_TOKEN.encode() not in stored and b"alice" not in stored


def test_tokens_are_reloaded_when_the_file_changes(build, tokens_file):
    client = build(UPLOAD_TOKENS_FILE=str(tokens_file))
    assert create(client, bearer("carol-token")).status_code == 403
    tokens_file.write_text(token_line("carol", "carol-token"))  # alice revoked, carol added
    os.utime(tokens_file, ns=(1, 1))  # a different mtime even within the clock's resolution
    assert create(client, bearer("carol-token")).status_code == 201
    assert create(client, bearer(ALICE_TOKEN)).status_code == 403
    tokens_file.write_text("not a valid line\n")  # a broken edit keeps the tokens in force
    os.utime(tokens_file, ns=(2, 2))
    assert create(client, bearer("carol-token")).status_code == 201


@pytest.mark.parametrize("text", ["alice\n", "alice 1234\n", "al ice " + "0" * 64 + "\n",
                                  token_line("a", "x") + token_line("a", "y"),
                                  "alice " + "A" * 64 + "\n"])
def test_a_malformed_tokens_file_stops_the_app(app_config, tmp_path, text):
    path = tmp_path / "tokens"
    path.write_text(text)
    with pytest.raises(ConfigError, match="UPLOAD_TOKENS_FILE line"):
        create_app({**app_config, "UPLOAD_TOKENS_FILE": str(path)})


def test_a_missing_tokens_file_stops_the_app(app_config, tmp_path):
    with pytest.raises(ConfigError, match="cannot be read"):
        create_app({**app_config, "UPLOAD_TOKENS_FILE": str(tmp_path / "nope")})


def test_each_token_has_its_own_quota_wherever_it_uploads_from(build, tokens_file):
    settings = {"UPLOAD_TOKENS_FILE": str(tokens_file), "STORED_BYTES_PER_SENDER": 0,
                "STORED_SHARES_PER_SENDER": 2}
    home, office = build("192.0.2.10", **settings), build("203.0.113.5", **settings)
    assert create(home, bearer(ALICE_TOKEN)).status_code == 201
    assert create(office, bearer(ALICE_TOKEN)).status_code == 201
    refused = create(office, bearer(ALICE_TOKEN))
    assert refused.status_code == 429 and refused.get_json()["code"] == "quota_exceeded"
    assert "upload credential" in refused.get_json()["message"]
    # Bob, from the same address as Alice, has room of his own.
    assert create(office, bearer("bob-token")).status_code == 201


# --- A user header from a trusted proxy --------------------------------------------------------


def test_user_header_needs_a_trusted_proxy():
    with pytest.raises(ConfigError, match="TRUSTED_PROXY_COUNT"):
        load_config(environ={"TRUSTED_USER_HEADER": "X-Forwarded-User"})


def test_users_signed_in_by_the_proxy_may_upload(build, tokens_file):
    settings = {"TRUSTED_PROXY_COUNT": 1, "TRUSTED_USER_HEADER": "X-Forwarded-User",
                "STORED_BYTES_PER_SENDER": 0, "STORED_SHARES_PER_SENDER": 1}
    client = build("10.0.0.1", **settings)
    proxied = {"X-Forwarded-For": "198.51.100.7"}
    refused = create(client, proxied)
    assert refused.status_code == 401 and refused.get_json()["code"] == "upload_token_required"
    assert "signed in" in refused.get_json()["message"]
    assert create(client, {**proxied, "X-Forwarded-User": "dana"}).status_code == 201
    # Dana's quota follows her; Erin's is her own.
    assert create(client, {**proxied, "X-Forwarded-User": "dana"}).status_code == 429
    assert create(client, {**proxied, "X-Forwarded-User": "erin"}).status_code == 201
    # With tokens too, either credential is enough.
    both = build("10.0.0.1", UPLOAD_TOKENS_FILE=str(tokens_file), **settings)
    assert create(both, {**proxied, **bearer("bob-token")}).status_code == 201
    assert create(both, {**proxied, **bearer("wrong")}).status_code == 403


# --- The command that draws a token ------------------------------------------------------------


def test_token_command_prints_the_token_once_and_a_line_the_server_accepts(
        build, tmp_path, capsys):
    path = tmp_path / "tokens"
    assert new_token(["frank", "--append", str(path)]) == 0
    token = capsys.readouterr().out.strip()
    assert len(token) == 43 and token not in path.read_text()
    assert path.read_text() == token_line("frank", token)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert create(build(UPLOAD_TOKENS_FILE=str(path)), bearer(token)).status_code == 201
    assert new_token(["frank", "--append", str(path)]) == 1, "a name is used once"
    assert "already has a token named" in capsys.readouterr().err


def test_token_command_runs_as_a_module():
    result = subprocess.run([sys.executable, "-m", "server.upload_tokens", "gina"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert token_line("gina", token).strip() in result.stderr
