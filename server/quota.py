"""Limit what one sender keeps stored: ciphertext bytes and shares not yet expired or released.

The hourly upload budget (server/limits.py) bounds bandwidth; this bounds what stays. A sender is
its upload credential when it has one (server/upload_auth.py), else its client address. Past
STORED_BYTES_PER_SENDER or STORED_SHARES_PER_SENDER a create is refused with 429
`quota_exceeded`, naming the limit and when room frees up at the latest.

Bookkeeping, per sender bucket: a hash share id -> bytes and a sorted set share id -> expiry,
under the hash tag of a keyed hash of the bucket (no raw address or name in Redis); the keys and
their commands are the store's (`server/counters.py`), the rules are here. On a Redis
Cluster those keys live in another slot than the shares, so they cannot change atomically with
them; instead every check first asks the shares themselves and releases every one that no longer
holds ciphertext: expired, abandoned while uploading, deleted, or consumed with its last fetch
done or its claim abandoned. Entries past their expiry are pruned by the script as well, and the
bucket expires with its longest share. When the bucket's Redis (or cluster node) does not answer,
the quota fails open, as the rate limits do: the create goes on uncounted. A create is admitted
in two steps around the store's own create (check, then add again atomically with a re-check), so
two racing creates cannot both slip under the quota: the loser's empty share is dropped.

Very large shares may also be held for a shorter time: above LARGE_SHARE_BYTES the expiry is
capped at LARGE_SHARE_MAX_EXPIRY_SECONDS (the create's answer says the expiry it got).
"""

import hmac
import logging
import math
import secrets
import time
from dataclasses import dataclass

from flask import abort, current_app, g
from werkzeug.exceptions import HTTPException

from . import counters, errors, limits, store
from .validation import iso_time

log = logging.getLogger(__name__)

EXTENSION_KEY = "onetimeshare.quota_hash_key"


def sender():
    """Name the sender of this request: its upload credential, or its client address."""
    return g.get("uploader") or f"address:{limits.client_address()}"


def allowed_expiry(size, expires_in):
    """Return the expiry a share of `size` bytes gets: very large shares are held less long."""
    config = current_app.config
    large = config["LARGE_SHARE_BYTES"]
    if large and size > large:
        return min(expires_in, config["LARGE_SHARE_MAX_EXPIRY_SECONDS"])
    return expires_in


def config_fields(config):
    """Return what GET /api/v1/config says about quotas and the expiry of large shares."""
    return {
        "stored_bytes_per_sender": config["STORED_BYTES_PER_SENDER"],
        "stored_shares_per_sender": config["STORED_SHARES_PER_SENDER"],
        "large_share_bytes": config["LARGE_SHARE_BYTES"],
        "large_share_max_expiry_seconds": config["LARGE_SHARE_MAX_EXPIRY_SECONDS"],
    }


def admit(size, expires_in):
    """Check that this request's sender may store `size` more bytes; 429 if not.

    Returns the `Admission` to `record` once the share exists, with the expiry it may have.
    """
    admission = Admission(size, allowed_expiry(size, expires_in))
    if admission.enabled:
        admission.run("check")
    return admission


@dataclass
class Admission:
    """One create's place in its sender's quota, between the check and the record."""

    size: int
    expires_in: int

    def __post_init__(self):
        config = current_app.config
        self.quota = config["STORED_BYTES_PER_SENDER"]
        self.cap = config["STORED_SHARES_PER_SENDER"]
        self.enabled = bool(self.quota or self.cap)
        self.who = sender()
        self.bucket = None

    def record(self, share_id, expires_ms):
        """Count the new share against its sender until it expires (or is released earlier).

        If a racing create took the room meanwhile, the new share (still empty) is dropped and
        the create refused as if the check had failed.
        """
        if not self.enabled:
            return
        try:
            self.run("add", share_id, expires_ms)
        except HTTPException:
            store.drop_share(share_id)
            raise

    def run(self, mode, share_id="", expires_ms=0):
        """Check (or add) in the sender's bucket; refuse with 429 when it is full.

        Like the rate limits, the quota fails open: when the Redis (or the cluster node) that
        holds the bucket does not answer, the create goes on uncounted, and the store answers
        503 itself if the share's own node is down. On a cluster one node down must not stop
        the senders whose buckets live there from creating shares on the others.
        """
        try:
            if self.bucket is None:
                self.bucket = _bucket_hash(self.who)
            reply = counters.quota_bucket(self.bucket, mode, self.quota, self.cap, self.size,
                                       share_id, expires_ms)
        except store.UNREACHABLE as error:
            log.warning("quota bookkeeping unreachable (%s); this create is not counted",
                        type(error).__name__)
            return
        if reply[0] == b"full":
            self.refuse(int(reply[1]), int(reply[2]), int(reply[3]))

    def refuse(self, used, count, free_at_ms):
        whose = "upload credential" if g.get("uploader") else "address"
        limit = []
        if self.quota:
            limit.append(f"{self.quota} bytes")
        if self.cap:
            limit.append(f"{self.cap} shares")
        message = (f"Your {whose} may keep at most {' and '.join(limit)} stored at once; it "
                   f"holds {used} bytes in {count} shares, and this share needs {self.size}.")
        headers = {}
        extra = {"quota_bytes": self.quota, "quota_shares": self.cap,
                 "stored_bytes": used, "stored_shares": count, "frees_at": None}
        if free_at_ms >= 0:
            message += (" Room frees up as shares are downloaded or deleted, and at the latest "
                        f"at {iso_time(free_at_ms)}, when one expires.")
            extra["frees_at"] = iso_time(free_at_ms)
            wait = math.ceil(free_at_ms / 1000 - time.time())
            headers["Retry-After"] = str(max(1, wait))
        else:
            message += " This share alone is larger than the quota."
        response = errors.error_response(429, "quota_exceeded", message, **extra)
        response.headers.update(headers)
        abort(response)


def _bucket_hash(who):
    """Return a keyed hash of the sender: Redis never holds an address or a credential name.

    The key is drawn by whichever worker needs it first and kept in Redis, so every worker and
    instance agrees on it. It is read on every create (the copy kept here serves only while its
    node is down): were it ever lost (a FLUSHALL), workers using an old copy would count one
    sender in two buckets.
    """
    extensions = current_app.extensions
    try:
        key = counters.quota_hash_key(secrets.token_bytes(32))
        extensions[EXTENSION_KEY] = key
    except store.UNREACHABLE:
        # On a cluster, the node holding the key may be down while the bucket's node is not:
        # the last key this process read is the one in force.
        key = extensions.get(EXTENSION_KEY)
        if key is None:
            raise
    return hmac.new(key, who.encode(), "sha256").hexdigest()[:32]
