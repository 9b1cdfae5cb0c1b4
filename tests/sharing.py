"""Helpers that act like a sender and a recipient, on any HTTP client with Flask's call shape.

They speak the API with random bytes standing in for ciphertext and a random auth token for the
proof: the server cannot tell the difference, which is the point. Tests of real encryption use the
`onetimeshare` library on top of these.
"""

import base64
import hashlib
import os
from dataclasses import dataclass, field

import httpx
import pytest


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Share:
    """A share as its sender knows it."""

    id: str
    owner_token: str
    auth_token: str
    ciphertext: bytes
    chunk_size: int
    metadata: str
    created: dict = field(default_factory=dict)

    @property
    def chunks(self):
        size = self.chunk_size
        return [self.ciphertext[i:i + size] for i in range(0, len(self.ciphertext), size)]


class Sharing:
    """Drive the share life cycle through `client` (Flask test client or a thin adapter)."""

    def __init__(self, client):
        self.client = client

    def create(self, ciphertext=None, *, size=None, downloads=1, expires_in=3600,
               password=None, metadata=None, auth_token=None, expect=201):
        ciphertext = os.urandom(size or 1000) if ciphertext is None else ciphertext
        auth_token = auth_token or b64u(os.urandom(32))
        body = {
            "version": 1,
            "size": len(ciphertext),
            "expires_in": expires_in,
            "downloads": downloads,
            "verifier": b64u(hashlib.sha256(base64.urlsafe_b64decode(auth_token + "=")).digest()),
            "metadata": metadata or b64u(os.urandom(12 + 16 + 128)),
            "password": password,
        }
        response = self.client.post("/api/v1/shares", json=body)
        assert response.status_code == expect, response.get_json()
        data = response.get_json()
        if expect != 201:
            return data
        return Share(data["id"], data["owner_token"], auth_token, ciphertext, data["chunk_size"],
                     body["metadata"], data)

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

    def claim(self, share, token=None):
        return self.client.post(f"/api/v1/shares/{share.id}/claim",
                                headers=bearer(token or share.auth_token))

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
