"""Serve the sender's side of the API: create, upload chunks, finalize, watch, delete.

Everything here that changes a share needs the owner token handed out at creation, sent as a
bearer token. Chunk bodies are read with a known length and stored as they are: the server
never looks inside the ciphertext.
"""

from flask import Blueprint, current_app, jsonify, request

from . import limits, metrics, quota, store, upload_auth
from .errors import refuse
from .request_body import read_body
from .validation import (
    CREATE_VERSIONS,
    bearer_token,
    create_request,
    iso_time,
    json_object,
    share_id,
)

bp = Blueprint("uploads", __name__, url_prefix="/api/v1")

OWNER_TOKEN = "owner token"


@bp.get("/config")
def service_limits():
    """Tell clients the limits they must respect before they encrypt anything."""
    config = current_app.config
    return jsonify(
        protocol_versions=list(CREATE_VERSIONS),
        chunk_size=config["CHUNK_SIZE"],
        max_share_bytes=config["MAX_SHARE_BYTES"],
        min_expiry_seconds=config["MIN_EXPIRY_SECONDS"],
        max_expiry_seconds=config["MAX_EXPIRY_SECONDS"],
        default_expiry_seconds=config["DEFAULT_EXPIRY_SECONDS"],
        max_downloads=config["MAX_DOWNLOADS"],
        max_metadata_chars=config["MAX_METADATA_CHARS"],
        **upload_auth.config_fields(config),
        **quota.config_fields(config),
    )


@bp.post("/shares")
def create():
    """Create a share in state "uploading" and hand its owner the token to fill it."""
    config = current_app.config
    wanted = create_request(json_object(), config)
    chunk_size = config["CHUNK_SIZE"]
    chunks = -(-wanted["size"] // chunk_size)
    share = store.NewShare(
        version=wanted["version"],
        size=wanted["size"],
        chunk_size=chunk_size,
        chunks=chunks,
        downloads=wanted["downloads"],
        verifier=wanted["verifier"],
        metadata=wanted["metadata"],
        password=wanted["password"],
    )
    limits.check_upload_budget(wanted["size"])
    admission = quota.admit(wanted["size"], wanted["expires_in"])  # 429 quota_exceeded
    wanted["expires_in"] = admission.expires_in
    # The store draws the id first and checks room on the node that will hold it.
    new_id, owner_token, expires = store.create_share(
        share, wanted["expires_in"], config["UPLOAD_IDLE_SECONDS"],
        reserve=config["STORAGE_RESERVE_BYTES"],
    )
    admission.record(new_id, expires)
    metrics.SHARES_CREATED.inc()
    body = {
        "id": new_id,
        "owner_token": owner_token,
        "chunk_size": chunk_size,
        "chunks": chunks,
        "expires_at": iso_time(expires),
        "upload_idle_seconds": config["UPLOAD_IDLE_SECONDS"],
    }
    return jsonify(body), 201


@bp.put("/shares/<sid>/chunks/<int:index>")
def put_chunk(sid, index):
    """Store one chunk; sending the same chunk again is harmless, so uploads resume."""
    sid = share_id(sid)
    owner_token = bearer_token(OWNER_TOKEN)
    if owner_token is None:
        # Refused before the body is read and charged: no chunk without a token can be stored.
        refuse(403, "owner_token_invalid", "Send the owner token as an 'Authorization: Bearer' "
                                           "header.")
    length = request.content_length
    if length is None:
        refuse(411, "invalid_request", "Send each chunk with a Content-Length header.")
    if length > current_app.config["CHUNK_SIZE"]:
        refuse(413, "too_large",
               f"A chunk may hold at most {current_app.config['CHUNK_SIZE']} bytes.")
    data = _read_exactly(length)
    limits.charge_upload(length)
    config = current_app.config
    stored = store.put_chunk(sid, owner_token, index, data, config["UPLOAD_IDLE_SECONDS"],
                             config["STORAGE_RESERVE_BYTES"])
    metrics.UPLOAD_BYTES.inc(length)
    return jsonify(index=index, stored_chunks=stored)


@bp.post("/shares/<sid>/finalize")
def finalize(sid):
    """Open the share to claimants once every chunk is stored at its exact length."""
    sid = share_id(sid)
    store.finalize(sid, bearer_token(OWNER_TOKEN))
    metrics.SHARES_FINALIZED.inc()
    return jsonify(id=sid, state="ready")


@bp.get("/shares/<sid>/owner")
def owner_view(sid):
    """Show the sender whether and when the share was opened, and which chunks are stored."""
    sid = share_id(sid)
    view = store.owner_view(sid, bearer_token(OWNER_TOKEN))
    times, received = view.pop("times_ms"), view.pop("received_chunks")
    body = {"id": sid, **view, **{name: iso_time(ms) for name, ms in times.items()}}
    if received is not None:
        body["received_chunks"] = received
    return jsonify(body)


@bp.delete("/shares/<sid>")
def delete(sid):
    """Delete the content now; the link then answers 410 until the original expiry."""
    sid = share_id(sid)
    store.delete_share(sid, bearer_token(OWNER_TOKEN))
    metrics.SHARES_DELETED.inc()
    return "", 204


def _read_exactly(length):
    """Read a request body of `length` bytes, answering 400 if the client sends less.

    server/request_body.py reads it straight from the socket under gunicorn (one copy, a
    buffer that grows with what has arrived), through `wsgi.input` elsewhere; never through
    Werkzeug's `request.stream`, whose `read` preallocates the whole declared length.
    """
    data = read_body(request.environ, length)
    if len(data) != length:
        refuse(400, "invalid_request", f"The body ended after {len(data)} of {length} bytes.")
    return data
