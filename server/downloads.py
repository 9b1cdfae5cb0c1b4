"""Serve the recipient's side of the API: status, unlock, claim, and the streamed fetch.

Reading the status changes nothing (a link preview may do it freely). For a password share it
withholds the metadata blob: its GCM tag would let anyone holding the link test password guesses
offline. Unlock hands the blob out against the proofs (the access token, derived from the link's
secret, and the password token), consuming nothing; every wrong password proof is counted, so
guesses happen online only. The claim checks the same proofs and counts a download; its ticket
then unlocks the content, streamed chunk by chunk and resumable with `Range` while the claim is
alive. When a claim's fetch sends the last byte, the store deletes the ciphertext if no other
claim still needs it.
"""

import logging

import redis
from flask import Blueprint, Response, current_app, jsonify, request, stream_with_context

from . import metrics, store
from .errors import refuse
from .store import StoreError
from .validation import bearer_token, iso_time, password_proof, share_id

bp = Blueprint("downloads", __name__, url_prefix="/api/v1")
log = logging.getLogger(__name__)


@bp.get("/shares/<sid>")
def status(sid):
    """Describe a share before anyone commits to opening it; consumes nothing."""
    sid = share_id(sid)
    share = store.public_status(sid)
    return jsonify(
        id=sid,
        version=share["version"],
        state=share["state"],
        size=share["size"],
        chunk_size=share["chunk_size"],
        chunks=share["chunks"],
        expires_at=iso_time(share["expires_ms"]),
        downloads=share["downloads"],
        downloads_left=share["downloads_left"],
        metadata=share["metadata"],
        password=share["password"],
    )


def _proofs():
    """Return the request's (access token, password token); each None when not sent."""
    return bearer_token("access token derived from the link's secret"), password_proof()


def _decide_with_proofs(sid, decide, counter, success, *settings):
    """Run the store decision `decide` on the request's proofs; count its outcome in `counter`.

    `decide` takes the share id, the proofs, the `settings` named here, then the proof-failure
    limits: the one shape unlock and claim share (validated id first, then the proofs).
    """
    sid = share_id(sid)
    access, password = _proofs()
    config = current_app.config
    values = [config[name] for name in (*settings, "PROOF_FAILURES_MAX", "PROOF_FAILURE_WINDOW")]
    try:
        outcome = decide(sid, access, password, *values)
    except StoreError as refusal:
        counter.labels(refusal.kind).inc()
        raise
    counter.labels(success).inc()
    return outcome


@bp.post("/shares/<sid>/unlock")
def unlock(sid):
    """Hand out the metadata blob against valid proofs; consumes nothing."""
    metadata = _decide_with_proofs(sid, store.unlock, metrics.UNLOCKS, "ok")
    return jsonify(metadata=metadata)


@bp.post("/shares/<sid>/claim")
def claim(sid):
    """Count one download for a claimant that proves it holds the key; losers get 410."""
    won = _decide_with_proofs(sid, store.claim, metrics.CLAIMS, "won", "CLAIM_IDLE_SECONDS")
    return jsonify(
        ticket=won.ticket,
        size=won.size,
        chunk_size=won.chunk_size,
        chunks=won.chunks,
        claim_idle_seconds=current_app.config["CLAIM_IDLE_SECONDS"],
        claim_expires_at=iso_time(won.idle_deadline_ms),
        metadata=won.metadata,
    )


@bp.get("/shares/<sid>/content")
def content(sid):
    """Stream the ciphertext (or one byte range of it) to the holder of a live claim."""
    sid = share_id(sid)
    ticket = bearer_token("claim ticket")
    idle = current_app.config["CLAIM_IDLE_SECONDS"]
    # Check the ticket before any header is sent, so a bad one still gets a JSON 4xx.
    size, chunk_size, _ = store.check_ticket(sid, ticket, idle)
    start, end = _byte_range(size)
    headers = {
        "Content-Length": str(end - start),
        "Accept-Ranges": "bytes",
        "Content-Disposition": "attachment",
    }
    status_code = 200
    if (start, end) != (0, size):
        status_code = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    body = stream_with_context(_stream(sid, ticket, idle, start, end, size, chunk_size))
    return Response(body, status=status_code, mimetype="application/octet-stream",
                    headers=headers)


def _byte_range(size):
    """Return the half-open byte range asked for by the Range header (all when none)."""
    if "Range" not in request.headers:
        return 0, size
    ranges = request.range
    if ranges is None or ranges.units != "bytes" or len(ranges.ranges) != 1:
        _unsatisfiable(size, "Ask for one byte range, like 'Range: bytes=1024-'.")
    bounds = ranges.range_for_length(size)
    if bounds is None:
        _unsatisfiable(size, f"The range is outside the content's {size} bytes.")
    return bounds


def _unsatisfiable(size, message):
    refuse(416, "range_not_satisfiable", message, {"Content-Range": f"bytes */{size}"})


def _stream(sid, ticket, idle, start, end, size, chunk_size):
    """Yield the range chunk by chunk; a fetch reaching the end is completed before its last byte.

    The completion is recorded while the final byte is still held back, so once a client has
    the whole body its ticket is already spent: no request with it, however quickly sent,
    returns content again. A break before that byte leaves the claim alive for a resume; only
    a break during the last byte's own write finds it spent (the download then fails loudly).
    """
    position = start
    index = start // chunk_size
    try:
        while position < end:
            piece_start = index * chunk_size  # never past `position`: pieces come in order
            for data in store.read_chunk(sid, ticket, index, idle):
                # Only the part of the piece inside [position, end) is served; cutting copies
                # that part, and only the pieces at the edges of a range are cut.
                low, high = position - piece_start, end - piece_start
                piece_start += len(data)
                if low >= len(data) or high <= 0:
                    continue
                if low or high < len(data):
                    data = data[low:high]
                last = position + len(data) == end == size
                if last:
                    data, held_back = data[:-1], data[-1:]  # the final byte waits for completion
                if data:
                    yield data
                    metrics.FETCH_BYTES.inc(len(data))
                    position += len(data)
                if last:
                    store.complete_fetch(sid, ticket)
                    metrics.FETCHES_COMPLETED.inc()
                    yield held_back
                    metrics.FETCH_BYTES.inc(len(held_back))
                    position += len(held_back)
            index += 1
    except (StoreError, redis.exceptions.RedisError) as error:
        # Headers are already sent: cut the body short, so the client sees a short read and
        # can resume with Range rather than take a truncated file for a whole one.
        log.warning("content stream stopped early: %s", type(error).__name__)
        return
