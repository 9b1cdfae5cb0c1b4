"""Talk to a OneTimeShare server's HTTP API, and only that.

Every call maps a non-2xx answer to a typed `ApiError` subclass, so callers (the transfer logic,
the CLI) can say "already opened" or "wrong password" without reading status codes. Tokens go
in `Authorization` headers, never in URLs.
"""

import contextlib

import httpx

from .errors import OneTimeShareError

API_PREFIX = "/api/v1"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class ApiError(OneTimeShareError):
    """The server refused a request; `status` and the server's `message` say why.

    `retry_after` holds the seconds of a `Retry-After` header (429, 503), else None.
    """

    def __init__(self, status, message, body=None, retry_after=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.body = body or {}
        self.retry_after = retry_after


class NotFound(ApiError):
    """404: no such share, or it expired."""


class Gone(ApiError):
    """410: already opened (or deleted by its sender)."""


class Forbidden(ApiError):
    """403: wrong proof (wrong password), owner token or claim ticket."""


class TooManyAttempts(ApiError):
    """429: too many wrong proofs on this share for now, or too many requests from this address."""


class ClaimsLocked(TooManyAttempts):
    """429 from a claim: the share is locked after wrong proofs (or this address claims too
    often); nothing was consumed, and `retry_after` says when to try again."""


class Unavailable(ApiError):
    """503 or 507: the server cannot store or serve right now; try later."""


_ERRORS = {403: Forbidden, 404: NotFound, 410: Gone, 429: TooManyAttempts, 503: Unavailable,
           507: Unavailable}


def raise_for_answer(response):
    """Raise the typed error for a non-2xx `response` (its body must already be read)."""
    if response.is_success:
        return
    try:
        body = response.json()
        message = body.get("message") or response.reason_phrase
    except (ValueError, AttributeError):
        body, message = {}, f"HTTP {response.status_code} {response.reason_phrase}"
    retry_after = response.headers.get("Retry-After", "")
    retry_after = int(retry_after) if retry_after.isdigit() else None
    raise _ERRORS.get(response.status_code, ApiError)(response.status_code, message, body,
                                                      retry_after)


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


class ShareApi:
    """The API of one server; a thin, typed layer over an httpx client."""

    def __init__(self, base_url, *, timeout=DEFAULT_TIMEOUT, transport=None):
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url + API_PREFIX, timeout=timeout,
                                 transport=transport, follow_redirects=False)

    def close(self):
        self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _call(self, method, path, **kwargs):
        response = self.http.request(method, path, **kwargs)
        raise_for_answer(response)
        return response

    def config(self):
        """Return the server's limits (chunk size, largest share, expiry, downloads)."""
        return self._call("GET", "/config").json()

    def create(self, **fields):
        """Create a share; return the server's answer (id, owner_token, chunk_size, ...)."""
        return self._call("POST", "/shares", json=fields).json()

    def put_chunk(self, share_id, owner_token, index, data):
        """Upload chunk `index`; safe to repeat."""
        self._call("PUT", f"/shares/{share_id}/chunks/{index}", content=bytes(data),
                   headers={**_bearer(owner_token), "Content-Type": "application/octet-stream"})

    def finalize(self, share_id, owner_token):
        """Open the share to claimants."""
        return self._call("POST", f"/shares/{share_id}/finalize", headers=_bearer(owner_token))

    def status(self, share_id):
        """Return the share's public status; consumes nothing."""
        return self._call("GET", f"/shares/{share_id}").json()

    def claim(self, share_id, auth_token):
        """Claim one download with the proof; return the ticket and layout."""
        try:
            response = self._call("POST", f"/shares/{share_id}/claim",
                                  headers=_bearer(auth_token))
        except TooManyAttempts as locked:
            raise ClaimsLocked(locked.status, locked.message, locked.body,
                               locked.retry_after) from None
        return response.json()

    @contextlib.contextmanager
    def content(self, share_id, ticket, start=0):
        """Yield an open streamed response of the ciphertext from byte `start` on."""
        headers = _bearer(ticket)
        if start:
            headers["Range"] = f"bytes={start}-"
        with self.http.stream("GET", f"/shares/{share_id}/content", headers=headers) as response:
            if not response.is_success:
                response.read()
                raise_for_answer(response)
            yield response

    def owner(self, share_id, owner_token):
        """Return the owner's view: state, when it was opened, chunks received."""
        return self._call("GET", f"/shares/{share_id}/owner", headers=_bearer(owner_token)).json()

    def delete(self, share_id, owner_token):
        """Delete the share now."""
        self._call("DELETE", f"/shares/{share_id}", headers=_bearer(owner_token))
