"""Own the Redis connection and every read and write of share data.

Views never talk to Redis: they call the plainly named functions here. Each decision that must
hold under concurrency (count a download, accept a chunk, delete after the last fetch) is one Lua
script run atomically by Redis, never a read and a write in two round trips. All keys of a share
carry the hash tag `{<id>}`, so every script touches a single Redis Cluster slot.
"""

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from importlib import resources

import redis
from flask import current_app

from . import embedded_redis

EXTENSION_KEY = "onetimeshare.redis"
SCRIPT_NAMES = ("create", "put_chunk", "finalize", "claim", "read_chunk", "complete", "delete")
ID_BYTES = 16
TOKEN_BYTES = 32


class StoreError(Exception):
    """A share operation refused by the store; `kind` names why, `detail` adds a value."""

    def __init__(self, kind, detail=None):
        super().__init__(kind)
        self.kind = kind
        self.detail = detail


@dataclass(frozen=True)
class Claim:
    """What a winning claimant needs to fetch: its ticket and the content's layout."""

    ticket: str
    size: int
    chunk_size: int
    chunks: int
    idle_deadline_ms: int


def init_app(app):
    """Connect to Redis (embedded by default) and load the scripts, once per app."""
    url = app.config["REDIS_URL"] or embedded_redis.ensure_running(
        app.config["DATA_DIR"], app.config["EMBEDDED_REDIS_MAXMEMORY"]
    )
    client = redis.Redis.from_url(
        url,
        socket_connect_timeout=2,
        socket_timeout=30,
        health_check_interval=10,
        retry_on_timeout=False,
    )
    prelude = _lua("common")
    scripts = {name: client.register_script(prelude + _lua(name)) for name in SCRIPT_NAMES}
    app.extensions[EXTENSION_KEY] = (client, scripts)


def _lua(name):
    return resources.files(__package__).joinpath("lua", f"{name}.lua").read_text("utf-8")


def _client():
    return current_app.extensions[EXTENSION_KEY][0]


def _run(script, share_id, *args):
    """Run a named script on the share's keys and decode its status word."""
    script = current_app.extensions[EXTENSION_KEY][1][script]
    reply = script(keys=share_keys(share_id), args=args)
    return reply[0].decode(), reply[1:]


def share_keys(share_id):
    """Return the share's Redis keys: hash, chunks, claims, wrong-proof counter."""
    prefix = f"ots:{{{share_id}}}"
    return [f"{prefix}:share", f"{prefix}:data", f"{prefix}:claims", f"{prefix}:fails"]


def digest(token):
    """Hash a base64url bearer token's bytes; Redis only ever holds this one-way form."""
    return hashlib.sha256(_b64u_bytes(token)).hexdigest()


def digest_verifier(verifier):
    """Return a client-computed verifier, base64url of SHA-256(auth token), in stored form."""
    return _b64u_bytes(verifier).hex()


def _b64u_bytes(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_token(nbytes=TOKEN_BYTES):
    """Return a random url-safe token carrying `nbytes` of randomness."""
    return secrets.token_urlsafe(nbytes)


def ping():
    """Return True when Redis answers; readiness checks use it."""
    return bool(_client().ping())


def memory_info():
    """Return Redis's INFO memory section (used_memory, maxmemory, ...)."""
    return _client().info("memory")


def ensure_room(nbytes, reserve):
    """Refuse (StoreError "storage_full") a write of `nbytes` that would eat into the reserve.

    Redis with noeviction refuses *every* write once it is over maxmemory, claims included.
    Keeping `reserve` bytes free for the small writes of claims and completions means a full
    server still hands out, and then deletes, the shares it already holds.
    """
    memory = memory_info()
    limit = int(memory.get("maxmemory", 0))
    if limit and int(memory["used_memory"]) + nbytes + reserve > limit:
        raise StoreError("storage_full")


def create_share(fields, expires_in, upload_idle):
    """Store a new share in state "uploading"; return (id, owner token, expiry in ms)."""
    owner_token = new_token()
    args = [expires_in * 1000, upload_idle * 1000]
    for name, value in {**fields, "owner": digest(owner_token)}.items():
        args += [name, value]
    while True:
        share_id = new_token(ID_BYTES)
        status, rest = _run("create", share_id, *args)
        if status == "ok":
            return share_id, owner_token, int(rest[0])


def put_chunk(share_id, owner_token, index, data, upload_idle):
    """Store chunk `index` (idempotent); return how many chunks are stored."""
    status, rest = _run("put_chunk", share_id, digest(owner_token), index, data, upload_idle * 1000)
    _raise_unless_ok(status, rest)
    return int(rest[0])


def finalize(share_id, owner_token):
    """Open a fully uploaded share to claimants."""
    status, rest = _run("finalize", share_id, digest(owner_token))
    _raise_unless_ok(status, [int(i) for i in rest] if status == "incomplete" else rest)


def claim(share_id, proof, claim_idle, failures_max, failure_window):
    """Check the proof and count one download; return the winner's `Claim`."""
    ticket = new_token()
    status, rest = _run(
        "claim", share_id, digest(proof), digest(ticket), claim_idle * 1000, failures_max,
        failure_window * 1000,
    )
    _raise_unless_ok(status, rest)
    size, chunk_size, chunks, deadline = (int(v) for v in rest)
    return Claim(ticket, size, chunk_size, chunks, deadline)


def check_ticket(share_id, ticket, claim_idle):
    """Return (size, chunk_size, chunks) for a live claim whose content is still stored."""
    status, rest = _run("read_chunk", share_id, digest(ticket), claim_idle * 1000, -1)
    _raise_unless_ok(status, rest)
    return int(rest[0]), int(rest[1]), int(rest[2])


def read_chunk(share_id, ticket, index, claim_idle):
    """Return the bytes of chunk `index` for a live claim, keeping the claim alive."""
    status, rest = _run("read_chunk", share_id, digest(ticket), claim_idle * 1000, index)
    _raise_unless_ok(status, rest)
    return rest[3]


def complete_fetch(share_id, ticket):
    """Mark a claim's fetch complete; return True when the ciphertext was deleted."""
    status, rest = _run("complete", share_id, digest(ticket))
    _raise_unless_ok(status, rest)
    return rest[0] == b"deleted"


def delete_share(share_id, owner_token):
    """Delete the share's content now, leaving a tombstone until its expiry."""
    status, rest = _run("delete", share_id, digest(owner_token))
    _raise_unless_ok(status, rest)


def share_fields(share_id):
    """Return the share hash as a str dict (empty when unknown or expired)."""
    raw = _client().hgetall(share_keys(share_id)[0])
    return {key.decode(): value.decode() for key, value in raw.items()}


def owner_fields(share_id, owner_token):
    """Return the share hash and the stored chunk indexes, for its owner only."""
    keys = share_keys(share_id)
    # No MULTI: Redis refuses to queue commands in a transaction when over maxmemory, and this
    # read must work on a full server. A chunk landing in between is harmless to report.
    with _client().pipeline(transaction=False) as pipe:
        pipe.hgetall(keys[0])
        pipe.hkeys(keys[1])
        raw, indexes = pipe.execute()
    fields = {key.decode(): value.decode() for key, value in raw.items()}
    if not fields:
        raise StoreError("not_found")
    if not hmac.compare_digest(fields.get("owner", ""), digest(owner_token)):
        raise StoreError("owner_forbidden")
    return fields, sorted(int(i) for i in indexes)


def _raise_unless_ok(status, rest):
    if status != "ok":
        detail = rest[0].decode() if rest and isinstance(rest[0], bytes) else rest or None
        raise StoreError(status, detail)
