"""Helpers that act like a sender and a recipient, on any HTTP client with Flask's call shape.

They speak protocol v2 with random bytes standing in for ciphertext and the metadata blob, and
random tokens for the access and password proofs: the server cannot tell the difference, which
is the point. Tests of real encryption use the `onetimeshare` library on top of these.
`plant_v1_share` stores a version 1 share the way the server used to create them, since the API
no longer does.
"""

import base64
import hashlib
import os
from dataclasses import dataclass, field

import httpx
import pytest

#: `password=SHARE_PASSWORD` (the default) sends the share's own password proof, if it has one.
SHARE_PASSWORD = object()


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def random_token():
    return b64u(os.urandom(32))


def verifier_of(token):
    """Return b64u(SHA-256(token bytes)): what a client sends in place of a token."""
    return b64u(hashlib.sha256(base64.urlsafe_b64decode(token + "=")).digest())


def proof_headers(access, password=None):
    """Return the headers of a claim or unlock: the access proof, the password proof if any."""
    headers = bearer(access) if access else {}
    if password:
        headers["X-Password-Proof"] = password
    return headers


@dataclass
class Share:
    """A share as its sender knows it."""

    id: str
    owner_token: str
    access_token: str
    ciphertext: bytes
    chunk_size: int
    metadata: str
    created: dict = field(default_factory=dict)
    #: {salt, iterations} as the status shows them; None without a password.
    password: dict | None = None
    password_token: str | None = None

    @property
    def chunks(self):
        size = self.chunk_size
        return [self.ciphertext[i:i + size] for i in range(0, len(self.ciphertext), size)]


class Sharing:
    """Drive the share life cycle through `client` (Flask test client or a thin adapter)."""

    def __init__(self, client):
        self.client = client

    def create(self, ciphertext=None, *, size=None, downloads=1, expires_in=3600,
               password=None, metadata=None, access_token=None, expect=201):
        """Create a v2 share. `password`: None, True, or some of {salt, iterations}."""
        ciphertext = os.urandom(size or 1000) if ciphertext is None else ciphertext
        access_token = access_token or random_token()
        password_token = public = None
        if password:
            public = {"salt": b64u(os.urandom(16)), "iterations": 600_000,
                      **(password if isinstance(password, dict) else {})}
            password_token = random_token()
        body = {
            "version": 2,
            "size": len(ciphertext),
            "expires_in": expires_in,
            "downloads": downloads,
            "verifier": verifier_of(access_token),
            "metadata": metadata or b64u(os.urandom(12 + 16 + 128)),
            "password": public and {**public, "verifier": verifier_of(password_token)},
        }
        response = self.client.post("/api/v1/shares", json=body)
        assert response.status_code == expect, response.get_json()
        data = response.get_json()
        if expect != 201:
            return data
        return Share(data["id"], data["owner_token"], access_token, ciphertext,
                     data["chunk_size"], body["metadata"], data, public, password_token)

    def put_chunk(self, share, index, data=None, token=None):
        data = share.chunks[index] if data is None else data
        return self.client.put(
            f"/api/v1/shares/{share.id}/chunks/{index}", data=data,
            headers={**bearer(token or share.owner_token),
                     "Content-Type": "application/octet-stream"},
        )

    def upload(self, share, finalize=True):
        for index in range(len(share.chunks)):
            response = self.put_chunk(share, index)
            assert response.status_code == 200, response.get_json()
        if finalize:
            response = self.finalize(share)
            assert response.status_code == 200, response.get_json()
        return share

    def finalize(self, share, token=None):
        return self.client.post(f"/api/v1/shares/{share.id}/finalize",
                                headers=bearer(token or share.owner_token))

    def ready(self, ciphertext=None, **options):
        """Create, upload and finalize a share in one go."""
        return self.upload(self.create(ciphertext, **options))

    def status(self, share_id):
        return self.client.get(f"/api/v1/shares/{share_id}")

    def _proofs(self, share, token, password):
        if password is SHARE_PASSWORD:
            password = share.password_token
        return proof_headers(share.access_token if token is None else token, password)

    def unlock(self, share, token=None, password=SHARE_PASSWORD):
        """Ask for the metadata blob; `token=""` or `password=None` sends no such proof."""
        return self.client.post(f"/api/v1/shares/{share.id}/unlock",
                                headers=self._proofs(share, token, password))

    def claim(self, share, token=None, password=SHARE_PASSWORD):
        """Claim one download; `token=""` or `password=None` sends no such proof."""
        return self.client.post(f"/api/v1/shares/{share.id}/claim",
                                headers=self._proofs(share, token, password))

    def fetch(self, share_id, ticket, byte_range=None):
        headers = bearer(ticket)
        if byte_range:
            headers["Range"] = byte_range
        # buffered: the streamed body is read and closed now, as a real client would do.
        return self.client.get(f"/api/v1/shares/{share_id}/content", headers=headers,
                               buffered=True)

    def download(self, share):
        """Claim and fetch the whole content, as a recipient's client would."""
        response = self.claim(share)
        assert response.status_code == 200, response.get_json()
        fetched = self.fetch(share.id, response.get_json()["ticket"])
        assert fetched.status_code == 200
        return fetched.get_data()

    def owner(self, share, token=None):
        return self.client.get(f"/api/v1/shares/{share.id}/owner",
                               headers=bearer(token or share.owner_token))

    def delete(self, share, token=None):
        return self.client.delete(f"/api/v1/shares/{share.id}",
                                  headers=bearer(token or share.owner_token))


def plant_v1_share(app, sharing, size=1000, downloads=1, password=None, expires_in=3600):
    """Store a protocol v1 share as the server created them before v2, and upload its content.

    v1's one proof (the auth token) binds the secret and, with a password, the password too.
    `password`: None or {salt, iterations}.
    """
    from server import store

    ciphertext = os.urandom(size)
    auth_token = random_token()
    chunk_size = app.config["CHUNK_SIZE"]
    declared = store.NewShare(
        version=1, size=size, chunk_size=chunk_size, chunks=-(-size // chunk_size),
        downloads=downloads, verifier=verifier_of(auth_token),
        metadata=b64u(os.urandom(12 + 16 + 128)),
        password=password and {"salt": password["salt"], "iterations": password["iterations"]},
    )
    with app.app_context():
        share_id, owner_token, _ = store.create_share(
            declared, expires_in, app.config["UPLOAD_IDLE_SECONDS"])
    share = Share(share_id, owner_token, auth_token, ciphertext, chunk_size, declared.metadata,
                  password=password)
    return sharing.upload(share)


class HttpClient:
    """Give an httpx client the call shape of Flask's test client, so `Sharing` can drive a
    real server over loopback."""

    def __init__(self, base_url):
        self.http = httpx.Client(base_url=base_url, timeout=30)

    def _call(self, method, path, json=None, data=None, headers=None, buffered=False):
        response = self.http.request(method, path, json=json, content=data, headers=headers)
        response.get_json = response.json
        response.get_data = lambda: response.content
        return response

    def get(self, path, **kwargs):
        return self._call("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self._call("POST", path, **kwargs)

    def put(self, path, **kwargs):
        return self._call("PUT", path, **kwargs)

    def delete(self, path, **kwargs):
        return self._call("DELETE", path, **kwargs)

    def close(self):
        self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


@pytest.fixture
def sharing(client):
    return Sharing(client)
