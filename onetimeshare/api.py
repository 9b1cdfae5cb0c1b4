"""Talk to a OneTimeShare server's HTTP API, and only that.

Every call turns a refusal into the typed error its stable `code` names (`errors.API_ERRORS`),
and a network failure into `ServerUnavailable`, so callers (the transfer logic, the CLI) branch on
classes, never on status numbers or English messages. Tokens and proofs go in headers, never in
URLs: `Authorization: Bearer` carries the link's access proof (or an owner token, a claim ticket,
an upload token), `X-Password-Proof` the password proof.
"""

import contextlib
import ssl
import sys

# httpx's package imports its own command-line tool whenever click, pygments and rich are
# installed (they are beside Flask and the test tools): ~110 ms of every `onetimeshare` start,
# for a tool this client never runs. A None entry makes that one import fail the documented
# way (ModuleNotFoundError), which httpx catches; the rest of httpx is untouched.
sys.modules.setdefault("httpx._main", None)

import httpcore  # noqa: E402
import httpx  # noqa: E402

from .encoding import b64u_encode  # noqa: E402
from .errors import NETWORK_CODE, ServerUnavailable, api_error  # noqa: E402

API_PREFIX = "/api/v1"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
PASSWORD_PROOF_HEADER = "X-Password-Proof"
#: Bytes httpcore asks the socket for per read of a response (its own default: 64 KiB). A 4 MiB
#: chunk then takes 4 reads, not 64, each passing through h11's buffer: the client's CPU for a
#: download fell from 2.0 to 0.9 ms per MiB (docs/performance.md). Memory: one read in flight.
RESPONSE_READ_BYTES = 1024 * 1024


def _read_responses_in_large_pieces():
    """Raise httpcore's per-read size for HTTP/1.1 responses (a class attribute it reads on every
    read); an httpcore without it keeps its own."""
    connection = getattr(getattr(httpcore, "_sync", None), "http11", None)
    connection = getattr(connection, "HTTP11Connection", None)
    if connection is not None and hasattr(connection, "READ_NUM_BYTES"):
        connection.READ_NUM_BYTES = max(connection.READ_NUM_BYTES, RESPONSE_READ_BYTES)


_read_responses_in_large_pieces()


def tls_options(base_url):
    """Return httpx's TLS options for a client that talks only to `base_url`.

    httpx builds its TLS context when the client is made, loading a trust store of ~120
    certificates: 20-35 ms of every command's start (docs/performance.md). A client of an
    `http://` server never speaks TLS (it follows no redirect, and every request is a path under
    `base_url`), so it gets a context that trusts nothing instead, which costs nothing to make and,
    were it ever used, would refuse every certificate. An `https://` server gets httpx's own
    verification, untouched.
    """
    if base_url.lower().startswith("http://"):
        return {"verify": ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)}
    return {}


def raise_for_answer(response):
    """Raise the typed error for a non-2xx `response` (its body must already be read)."""
    if response.is_success:
        return
    try:
        body = response.json()
        if not isinstance(body, dict):
            raise ValueError("not an object")
    except ValueError:
        body = {}
    code = body.get("code") if isinstance(body.get("code"), str) else None
    message = body.get("message") if isinstance(body.get("message"), str) else None
    message = message or f"HTTP {response.status_code} {response.reason_phrase}"
    retry_after = response.headers.get("Retry-After", "")
    retry_after = int(retry_after) if retry_after.isdigit() else None
    raise api_error(response.status_code, code, message, body, retry_after)


def network_error(error: httpx.TransportError) -> ServerUnavailable:
    """Return the ServerUnavailable for a failure that never got an answer."""
    if isinstance(error, httpx.TimeoutException):
        message = f"the server did not answer in time ({error or type(error).__name__})"
    else:
        message = f"cannot talk to the server: {error or type(error).__name__}"
    return ServerUnavailable(None, NETWORK_CODE, message)


def proof_headers(access_token: bytes, password_token: bytes | None = None) -> dict:
    """Return the headers that prove the link's secret (and, with a password, the password)."""
    headers = _bearer(b64u_encode(access_token))
    if password_token is not None:
        headers[PASSWORD_PROOF_HEADER] = b64u_encode(password_token)
    return headers


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


class ShareApi:
    """The API of one server; a thin, typed layer over an httpx client.

    `upload_token`, when given, goes with `create` only: servers open to the internet may take
    new shares only from holders of such a token; every other route ignores it.
    """

    def __init__(self, base_url, *, timeout=DEFAULT_TIMEOUT, transport=None, upload_token=None):
        self.base_url = base_url.rstrip("/")
        self.upload_token = upload_token or None
        self.http = httpx.Client(base_url=self.base_url + API_PREFIX, timeout=timeout,
                                 transport=transport, follow_redirects=False,
                                 **tls_options(self.base_url))

    def close(self):
        self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _call(self, method, path, **kwargs):
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as error:
            raise network_error(error) from error
        raise_for_answer(response)
        return response

    def config(self):
        """Return the server's limits (chunk size, largest share, expiry, downloads, ...)."""
        return self._call("GET", "/config").json()

    def create(self, **fields):
        """Create a share; return the server's answer (id, owner_token, chunk_size, ...)."""
        headers = _bearer(self.upload_token) if self.upload_token else {}
        return self._call("POST", "/shares", json=fields, headers=headers).json()

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

    def unlock(self, share_id, access_token, password_token=None):
        """Return the share's encrypted metadata for valid proofs; consumes nothing.

        A wrong password proof is counted against the share (WrongPassword); a missing one
        raises PasswordRequired and counts nothing.
        """
        return self._call("POST", f"/shares/{share_id}/unlock",
                          headers=proof_headers(access_token, password_token)).json()

    def claim(self, share_id, access_token, password_token=None):
        """Claim one download with the proofs; return the ticket, layout and metadata."""
        return self._call("POST", f"/shares/{share_id}/claim",
                          headers=proof_headers(access_token, password_token)).json()

    @contextlib.contextmanager
    def content(self, share_id, ticket, start=0):
        """Yield (response, pieces): the streamed ciphertext from byte `start` on.

        Iterating `pieces` raises ServerUnavailable when the connection breaks mid-body.
        """
        headers = _bearer(ticket)
        if start:
            headers["Range"] = f"bytes={start}-"
        try:
            with self.http.stream("GET", f"/shares/{share_id}/content",
                                  headers=headers) as response:
                if not response.is_success:
                    response.read()
                    raise_for_answer(response)
                yield response, _pieces(response)
        except httpx.TransportError as error:
            raise network_error(error) from error

    def owner(self, share_id, owner_token):
        """Return the owner's view: state, when it was opened, chunks received."""
        return self._call("GET", f"/shares/{share_id}/owner", headers=_bearer(owner_token)).json()

    def delete(self, share_id, owner_token):
        """Delete the share now."""
        self._call("DELETE", f"/shares/{share_id}", headers=_bearer(owner_token))


def _pieces(response):
    """Yield the body as the bytes arrive; a broken connection becomes ServerUnavailable."""
    try:
        yield from response.iter_raw()
    except httpx.TransportError as error:
        raise network_error(error) from error
