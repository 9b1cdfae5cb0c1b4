"""Turn every failure into one JSON error shape, and never into a stack trace.

API answers look like `{"error": "Gone", "code": "consumed", "message": "This link was already
opened."}`: `error` is the HTTP reason, `code` a stable machine-readable reason that clients
branch on (never on the wording), `message` an English sentence for people. Pages get the same
words in a small HTML page. Store refusals (`StoreError`), Redis trouble and Werkzeug's own HTTP
errors are translated here and nowhere else; views refuse a request with `refuse()`.

`CODES` is the table of every code, mirrored by the `ErrorCode` enum of `openapi.json` (a test
holds the two together).
"""

import logging

import redis
from flask import current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.http import HTTP_STATUS_CODES

from .store import StoreError

log = logging.getLogger(__name__)

#: Every stable code -> the HTTP status it comes with. `quota_exceeded`, `upload_token_*` and
#: `metrics_*` are answered by the modules that enforce them (quota, upload_auth, metrics_access).
CODES = {
    "invalid_request": 400,
    "unsupported_version": 400,
    "not_found": 404,
    "consumed": 410,
    "deleted": 410,
    "not_ready": 409,
    "not_uploading": 409,
    "upload_incomplete": 409,
    "proof_invalid": 403,
    "password_required": 403,
    "password_invalid": 403,
    "locked": 429,
    "rate_limited": 429,
    "upload_budget": 429,
    "quota_exceeded": 429,
    "owner_token_invalid": 403,
    "ticket_invalid": 403,
    "upload_token_required": 401,
    "upload_token_invalid": 403,
    "metrics_token_required": 401,
    "metrics_token_invalid": 403,
    "metrics_forbidden": 403,
    "too_large": 413,
    "range_not_satisfiable": 416,
    "method_not_allowed": 405,
    "storage_full": 507,
    "unavailable": 503,
    "not_durable": 503,
    "internal": 500,
}

#: The code of a Werkzeug HTTP error raised outside `refuse()`: routing (404, 405), the
#: request-size cap (413), flask-limiter (429).
STATUS_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    416: "range_not_satisfiable",
    429: "rate_limited",
    503: "unavailable",
    507: "storage_full",
}

#: Store refusal kind -> (HTTP status, code, message for people).
REFUSALS = {
    "not_found": (404, "not_found", "No share with this id exists, or it has expired."),
    "gone:consumed": (410, "consumed",
                      "This link was already opened. Someone opened it before you."),
    "gone:deleted": (410, "deleted", "This share was deleted by its sender."),
    "gone:purged": (410, "consumed",
                    "This download's claim ran out and the content was deleted."),
    "not_ready": (409, "not_ready", "This share is still being uploaded."),
    "not_uploading": (409, "not_uploading", "This share no longer accepts uploads."),
    "owner_forbidden": (403, "owner_token_invalid",
                        "The owner token is missing or does not match this share."),
    "proof_invalid": (403, "proof_invalid",
                      "The link's key does not match this share. Nothing was consumed."),
    "password_required": (403, "password_required",
                          "This share is protected by a password: send the password proof."),
    "password_invalid": (403, "password_invalid", "Wrong password. Nothing was consumed."),
    "ticket_invalid": (403, "ticket_invalid", "This claim ticket is missing, unknown or expired."),
    "locked": (429, "locked", "Too many wrong passwords for this share. Try again later."),
    "bad_index": (400, "invalid_request", "The chunk index is out of range for this share."),
    "bad_length": (400, "invalid_request",
                   "The chunk does not have the length this share expects."),
    "incomplete": (409, "upload_incomplete",
                   "The upload is incomplete: some chunks are missing."),
    "storage_full": (507, "storage_full", "The server is out of storage space. Try again later."),
    # The claim ran but was not confirmed on disk (or on a replica) within
    # CLAIM_DURABILITY_TIMEOUT, so no ticket was handed out; the download stays counted.
    "not_durable": (503, "not_durable",
                    "The server could not confirm this download in time, so it was not "
                    "handed out. If the link allowed a single download, it may now count "
                    "as opened: ask the sender to share it again."),
}


class Refusal(HTTPException):
    """An HTTP error with a stable code; raised by `refuse()`, answered by `_http_error`."""

    def __init__(self, status, code, message, headers=None, extra=None):
        super().__init__(description=message)
        self.code = status
        self.error_code = code
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def get_headers(self, environ=None, scope=None):
        return [("Content-Type", "application/json"), *self.headers.items()]


def refuse(status, code, message, headers=None, **extra):
    """Refuse the request: answer `status` with stable `code`, `message` and `extra` fields."""
    if CODES.get(code) is None:
        raise ValueError(f"unknown error code {code!r}")
    raise Refusal(status, code, message, headers, extra)


def code_for(status):
    """Return the stable code of an HTTP error that carries none of its own."""
    if status in STATUS_CODES:
        return STATUS_CODES[status]
    return "internal" if status >= 500 else "invalid_request"


def error_response(status, code, message, **extra):
    """Return the API's JSON error body and status; the one place that shapes errors."""
    body = {"error": HTTP_STATUS_CODES.get(status, "Error"), "code": code, "message": message,
            **extra}
    response = jsonify(body)
    response.status_code = status
    return response


def init_app(app):
    """Register the handlers that make every error a clean 4xx/5xx answer."""
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(StoreError, _store_error)
    app.register_error_handler(redis.exceptions.ConnectionError, _redis_unavailable)
    app.register_error_handler(redis.exceptions.TimeoutError, _redis_unavailable)
    app.register_error_handler(redis.exceptions.BusyLoadingError, _redis_unavailable)
    app.register_error_handler(redis.exceptions.OutOfMemoryError, _redis_full)
    app.register_error_handler(redis.exceptions.ResponseError, _redis_refused)
    app.register_error_handler(Exception, _unexpected)


def _wants_json():
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _render(status, code, message, headers=None, **extra):
    if _wants_json():
        response = error_response(status, code, message, **extra)
    else:
        # The page's words come from the negotiated catalogue (error.html); the API's English
        # message is only for JSON clients.
        response = current_app.make_response(
            (render_template("error.html", status=status, kind=_page_kind(status)), status)
        )
        response.vary.add("Accept-Language")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _page_kind(status):
    """Name the error page's wording (errorpage.<kind>.* in the catalogues) for `status`."""
    if status == 404:
        return "not-found"
    if status == 429:
        return "rate-limited"
    return "server" if status >= 500 else "client"


def _http_error(error):
    # Keep what the exception says (Allow, WWW-Authenticate, Content-Range), not its body type.
    headers = dict(error.get_headers())
    headers.pop("Content-Type", None)
    if isinstance(error, Refusal):
        return _render(error.code, error.error_code, error.description, headers, **error.extra)
    return _render(error.code, code_for(error.code), error.description, headers)


def _store_error(error):
    key = f"{error.kind}:{error.detail}" if error.kind == "gone" else error.kind
    status, code, message = REFUSALS.get(key, REFUSALS["not_found"])
    extra, headers = {}, {}
    if error.kind in ("password_invalid", "proof_invalid") and error.detail is not None:
        extra["attempts_left"] = max(int(error.detail), 0)  # counted failures only
    elif error.kind == "locked":
        headers["Retry-After"] = str(max(1, -(-int(error.detail) // 1000)))
    elif error.kind == "bad_length":
        message = f"This chunk must be exactly {error.detail} bytes long."
    elif error.kind == "bad_index":
        message = f"Chunk indexes of this share run from 0 to {int(error.detail) - 1}."
    elif error.kind == "incomplete":
        extra["missing"] = error.detail
    elif error.kind == "not_durable":
        headers["Retry-After"] = str(current_app.config["REDIS_RETRY_AFTER"])
    return _render(status, code, message, headers, **extra)


def _redis_unavailable(error):
    cause = error.__cause__ or error  # the redis-py error behind a StorageUnavailable
    log.warning("redis unavailable: %s", type(cause).__name__)
    retry = str(current_app.config["REDIS_RETRY_AFTER"])
    return _render(503, "unavailable", "The storage is unavailable. Try again shortly.",
                   {"Retry-After": retry})


def _redis_full(error):
    # noeviction: Redis refuses the write instead of evicting someone else's share.
    log.warning("redis is out of memory; refusing a write")
    return _render(*REFUSALS["storage_full"])


def _redis_refused(error):
    if str(error).startswith("OOM"):  # an OOM error raised from inside a Lua script
        return _redis_full(error)
    return _unexpected(error)


def _unexpected(error):
    log.error("unexpected %s while serving %s %s", type(error).__name__, request.method,
              request.url_rule.rule if request.url_rule else "(no route)")
    return _render(500, "internal", InternalServerError.description)
