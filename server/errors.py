"""Turn every failure into one JSON error shape, and never into a stack trace.

API answers look like `{"error": "Gone", "message": "This link was already opened."}`; pages get
the same words in a small HTML page. Store refusals (`StoreError`) and Redis trouble are translated
here and nowhere else, so a view only has to let them rise.
"""

import logging

import redis
from flask import current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.http import HTTP_STATUS_CODES

from .store import StoreError

log = logging.getLogger(__name__)

#: Store refusal kind -> (HTTP status, message for people).
REFUSALS = {
    "not_found": (404, "No share with this id exists, or it has expired."),
    "gone:consumed": (410, "This link was already opened. Someone opened it before you."),
    "gone:deleted": (410, "This share was deleted by its sender."),
    "gone:purged": (410, "This download's claim ran out and the content was deleted."),
    "not_ready": (409, "This share is still being uploaded."),
    "not_uploading": (409, "This share no longer accepts uploads."),
    "owner_forbidden": (403, "The owner token does not match this share."),
    "proof_forbidden": (403, "Wrong key or password. Nothing was consumed."),
    "ticket_invalid": (403, "This claim ticket is unknown or has expired."),
    "locked": (429, "Too many wrong attempts on this share. Try again later."),
    "bad_index": (400, "The chunk index is out of range for this share."),
    "bad_length": (400, "The chunk does not have the length this share expects."),
    "incomplete": (409, "The upload is incomplete: some chunks are missing."),
    "storage_full": (507, "The server is out of storage space. Try again later."),
    # The claim ran but was not confirmed on disk (or on a replica) within
    # CLAIM_DURABILITY_TIMEOUT, so no ticket was handed out; the download stays counted.
    "not_durable": (503, "The server could not confirm this download in time, so it was not "
                         "handed out. If the link allowed a single download, it may now count "
                         "as opened: ask the sender to share it again."),
}


def error_response(status, message, **extra):
    """Return the API's JSON error body and status; the one place that shapes errors."""
    body = {"error": HTTP_STATUS_CODES.get(status, "Error"), "message": message, **extra}
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


def _render(status, message, headers=None, **extra):
    if _wants_json():
        response = error_response(status, message, **extra)
    else:
        title = HTTP_STATUS_CODES.get(status, "Error")
        response = current_app.make_response(
            (render_template("error.html", status=status, title=title, message=message), status)
        )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _http_error(error):
    # Keep what the exception says (Allow, WWW-Authenticate, Content-Range), not its body type.
    headers = dict(error.get_headers())
    headers.pop("Content-Type", None)
    return _render(error.code, error.description, headers)


def _store_error(error):
    key = f"{error.kind}:{error.detail}" if error.kind == "gone" else error.kind
    status, message = REFUSALS.get(key, REFUSALS["not_found"])
    extra, headers = {}, {}
    if error.kind == "proof_forbidden":
        extra["attempts_left"] = max(int(error.detail), 0)
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
    return _render(status, message, headers, **extra)


def _redis_unavailable(error):
    log.warning("redis unavailable: %s", type(error).__name__)
    retry = str(current_app.config["REDIS_RETRY_AFTER"])
    return _render(503, "The storage is unavailable. Try again shortly.", {"Retry-After": retry})


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
    return _render(500, InternalServerError.description)
