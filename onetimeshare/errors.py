"""Every failure the client library raises, in one tree, and the one table from API codes to it.

Callers catch a branch of this tree and never read a status code or an English message; the
server's stable `code` (protocol.md, "Error codes") picks the class through `API_ERRORS`, and an
unknown code falls back by HTTP status (`error_for_answer`). The browser's `static/js/errors.js`
uses the same names. The command line maps these classes to exit codes in one table
(`cli_common.EXIT_CODES`)::

    OneTimeShareError
    ├── LinkError            malformed link or fragment (found before any request)
    ├── ProtocolError        the server (or a body) says something the protocol forbids
    │   └── UnsupportedVersion
    ├── DecryptionError      content or metadata does not authenticate (tampered, wrong key)
    ├── ContentChanged       a local file changed while it was being sent
    ├── StateError           the local file of owner tokens cannot be read or written
    └── ApiError (status, code, message, retry_after)
        ├── NotFound             not_found
        ├── Gone                 consumed, deleted           (.reason = code)
        ├── NotReady             not_ready, upload_incomplete
        ├── ProofRejected        proof_invalid, owner_token_invalid, ticket_invalid
        ├── PasswordRequired     password_required
        ├── WrongPassword        password_invalid            (.attempts_left)
        ├── Locked               locked
        ├── RateLimited          rate_limited, upload_budget, quota_exceeded
        ├── UploadTokenRequired  upload_token_required, upload_token_invalid
        ├── StorageFull          storage_full
        ├── ServerUnavailable    unavailable, not_durable, internal, another 5xx, network failure
        └── BadRequest           every other 4xx (invalid_request, not_uploading, too_large...)

`StateError` is the one client-local addition to the shared tree (the browser keeps no file).
"""


class OneTimeShareError(Exception):
    """Base class: catch this to handle every failure of the library."""


class LinkError(OneTimeShareError):
    """Refuse a malformed share link or fragment before anything talks to the server."""


class ProtocolError(OneTimeShareError):
    """Refuse malformed input (bad header field, bad base64, bad parameters) before decrypting."""


class UnsupportedVersion(ProtocolError):
    """Refuse a share whose protocol version this client does not know."""


class DecryptionError(OneTimeShareError):
    """Refuse data that does not authenticate: it was damaged, truncated, reordered, or the key
    (secret or password) is wrong. Cryptography cannot tell these apart, so neither do we."""

    def __init__(self, message: str = "decryption failed: damaged data or wrong key") -> None:
        super().__init__(message)


class ContentChanged(OneTimeShareError):
    """A local file grew, shrank or ended early while it was being encrypted and sent."""


class StateError(OneTimeShareError, OSError):
    """The state file of owner tokens cannot be read or written."""


class ApiError(OneTimeShareError):
    """The server refused a request; `code` (stable) and `message` (for people) say why.

    `status` is the HTTP status (None for a network failure), `body` the whole JSON error body,
    `retry_after` the seconds of a `Retry-After` header (429, 503), else None.
    """

    def __init__(self, status, code, message, body=None, retry_after=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.body = body or {}
        self.retry_after = retry_after


class NotFound(ApiError):
    """No such share: it never existed, or it expired."""


class Gone(ApiError):
    """The share was opened as often as allowed (`reason` consumed) or deleted (`deleted`)."""

    @property
    def reason(self) -> str:
        return self.code


class NotReady(ApiError):
    """The share is still being uploaded, or was finalized with chunks missing."""


class ProofRejected(ApiError):
    """A proof was refused: the link's access proof, an owner token, or a claim ticket."""


class PasswordRequired(ApiError):
    """The share has a password and no password proof was sent; nothing was counted."""


class WrongPassword(ApiError):
    """The password proof was wrong; it was counted, `attempts_left` says how many remain."""

    @property
    def attempts_left(self) -> int | None:
        left = self.body.get("attempts_left")
        return left if isinstance(left, int) and not isinstance(left, bool) else None


class Locked(ApiError):
    """Too many wrong passwords on this share: unlock and claim wait `retry_after` seconds."""


class RateLimited(ApiError):
    """This address sent too much (requests, upload bytes, stored bytes); try later."""


class UploadTokenRequired(ApiError):
    """The server takes new shares only with an upload token, and none (or a wrong one) came."""


class StorageFull(ApiError):
    """The server's storage is full; waiting a few seconds will not help."""


class ServerUnavailable(ApiError):
    """The server cannot answer now: storage unreachable, a 5xx, or no connection at all."""


class BadRequest(ApiError):
    """Any other refusal (4xx): the request was malformed or over a limit."""


# The one table from the server's stable codes to classes (protocol.md, "Error codes").
API_ERRORS: dict[str, type[ApiError]] = {
    "not_found": NotFound,
    "consumed": Gone,
    "deleted": Gone,
    "not_ready": NotReady,
    "upload_incomplete": NotReady,
    "proof_invalid": ProofRejected,
    "owner_token_invalid": ProofRejected,
    "ticket_invalid": ProofRejected,
    "password_required": PasswordRequired,
    "password_invalid": WrongPassword,
    "locked": Locked,
    "rate_limited": RateLimited,
    "upload_budget": RateLimited,
    "quota_exceeded": RateLimited,
    "upload_token_required": UploadTokenRequired,
    "upload_token_invalid": UploadTokenRequired,
    "storage_full": StorageFull,
    "unavailable": ServerUnavailable,
    "not_durable": ServerUnavailable,
    "internal": ServerUnavailable,
    "invalid_request": BadRequest,
    "not_uploading": BadRequest,
    "unsupported_version": BadRequest,
    "too_large": BadRequest,
    "range_not_satisfiable": BadRequest,
    "method_not_allowed": BadRequest,
    # /metrics is the operator's, not a share client's; listed so the table stays complete.
    "metrics_token_required": BadRequest,
    "metrics_token_invalid": BadRequest,
    "metrics_forbidden": BadRequest,
}

# For a code this client does not know (a newer server): the class its status implies.
_BY_STATUS: dict[int, type[ApiError]] = {
    401: UploadTokenRequired,
    403: ProofRejected,
    404: NotFound,
    409: NotReady,
    410: Gone,
    429: RateLimited,
    507: StorageFull,
}

# The code a network failure carries: it never reached the server, so the server gave none.
NETWORK_CODE = "network"


def error_class(status: int | None, code: str | None) -> type[ApiError]:
    """Return the class for an answer: by its code, else by its status."""
    if code in API_ERRORS:
        return API_ERRORS[code]
    if status is None or status >= 500:
        return _BY_STATUS.get(status, ServerUnavailable)
    return _BY_STATUS.get(status, BadRequest)


def api_error(status, code, message, body=None, retry_after=None) -> ApiError:
    """Build the typed error for one refused request."""
    return error_class(status, code)(status, code, message, body, retry_after)
