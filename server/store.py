"""Own the Redis connection and every read and write of share data.

Views never talk to Redis: they call the plainly named functions here. Each decision that must
hold under concurrency (count a download, accept a chunk, delete after the last fetch) is one Lua
script run atomically by Redis, never a read and a write in two round trips. All keys of a share
carry the hash tag `{<id>}`, so every script touches a single Redis Cluster slot: with
REDIS_CLUSTER_NODES set, the same scripts run unchanged on the node that owns the share
(`server/redis_client.py` builds the client).
"""

import base64
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from importlib import resources
from typing import NamedTuple

import redis
from flask import current_app

from . import bulk_reply
from .durability import Durability, NotHonoured
from .redis_client import Connection
from .storage_errors import UNAVAILABLE, StorageUnavailable, StoreError, guarded, translate

log = logging.getLogger(__name__)

EXTENSION_KEY = "onetimeshare.redis"
DURABILITY_KEY = "onetimeshare.durability"
SCRIPT_NAMES = ("create", "put_chunk", "finalize", "unlock", "claim", "check_claim", "complete",
                "delete")
ID_BYTES = 16
TOKEN_BYTES = 32
#: A node that cannot answer, untranslated or translated (StorageUnavailable is among them).
UNREACHABLE = UNAVAILABLE


@dataclass(frozen=True)
class Claim:
    """What a winning claimant needs to fetch: its ticket, the content's layout, the metadata."""

    ticket: str
    size: int
    chunk_size: int
    chunks: int
    idle_deadline_ms: int
    metadata: str


def init_app(app):
    """Set up the Redis or Redis Cluster client and register the scripts, once per app."""
    prelude = lua_script("common")
    scripts = {name: prelude + lua_script(name) for name in SCRIPT_NAMES}
    connection = Connection(app.config, scripts)
    app.extensions[EXTENSION_KEY] = connection
    durability = app.extensions[DURABILITY_KEY] = Durability(app.config)
    try:
        # Refuse to start on a Redis that cannot honour CLAIM_DURABILITY (NotHonoured rises);
        # one that does not answer yet is checked again before the first claim.
        durability.ensure_checked(connection.primary_clients)
    except UNREACHABLE:
        pass


def client(app=None):
    """Return the app's redis-py client (`Redis`, or `RedisCluster` on a cluster).

    For server/counters.py (the keys that are not a share's) and the rate limiter's connection
    pool; share data goes through the functions below.
    """
    return _connection(app).client


def _connection(app=None):
    return (app or current_app).extensions[EXTENSION_KEY]


def lua_script(name):
    """Return the text of `server/lua/<name>.lua`."""
    return resources.files(__package__).joinpath("lua", f"{name}.lua").read_text("utf-8")


def _run(script, share_id, *args):
    """Run a named script on the share's keys and decode its status word."""
    connection = _connection()
    script = connection.scripts[script]
    keys = share_keys(share_id)
    try:
        reply = connection.client.evalsha(script.sha, len(keys), *keys, *args)
    except redis.exceptions.NoScriptError:
        # Load it where the keys live. redis-py's own fallback loads it on every primary, so
        # one node down would fail shares on the healthy nodes that lack the script.
        connection.node_client(keys.share).script_load(script.script)
        reply = connection.client.evalsha(script.sha, len(keys), *keys, *args)
    return reply[0].decode(), reply[1:]


class ShareKeys(NamedTuple):
    """A share's Redis keys, in the order the scripts receive them as KEYS[1..4]."""

    share: str  # the hash: state, layout, digests, times (the fields below)
    data: str  # the chunks, a hash field per chunk
    claims: str  # live claims by ticket digest
    fails: str  # the wrong-proof counter


def share_keys(share_id):
    """Return the share's Redis keys: hash, chunks, claims, wrong-proof counter."""
    prefix = f"ots:{{{share_id}}}"
    return ShareKeys(f"{prefix}:share", f"{prefix}:data", f"{prefix}:claims", f"{prefix}:fails")


def digest(token):
    """Hash a base64url bearer token's bytes; Redis only ever holds this one-way form.

    No token (None) digests to '', which matches no stored digest: the scripts then refuse it
    with the code of the missing proof, after checking the share's state.
    """
    if token is None:
        return ""
    return hashlib.sha256(_b64u_bytes(token)).hexdigest()


def digest_verifier(verifier):
    """Return a client-computed verifier, base64url of SHA-256(auth token), in stored form."""
    return _b64u_bytes(verifier).hex()


def _b64u_bytes(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_token(nbytes=TOKEN_BYTES):
    """Return a random url-safe token carrying `nbytes` of randomness."""
    return secrets.token_urlsafe(nbytes)


@guarded
def ping():
    """Return True when Redis answers, else raise StorageUnavailable; readiness checks use it.

    On a cluster: when a node answers and reports the cluster able to serve (`cluster_state:ok`).
    A primary down with `cluster-require-full-coverage no` leaves the state ok: only its own
    shares answer 503, so the instance stays ready for all the others.
    """
    connection = _connection()
    try:
        if connection.cluster:
            state = connection.cluster_state()
            if state != "ok":
                raise StorageUnavailable(f"cluster_state:{state}")
            return True
        return bool(connection.client.ping())
    except StorageUnavailable:
        raise
    except redis.exceptions.RedisError as error:
        # Any refusal (NOPERM, a replica's READONLY, ...) means not ready: the probe's question.
        raise StorageUnavailable(f"{type(error).__name__}: {error}") from error


@guarded
def memory_info(share_id=None):
    """Return INFO memory (used_memory, maxmemory, ...) of the Redis that holds the shares.

    On a cluster: of the primary that owns `share_id`'s slot; without an id, the primaries' sums
    (maxmemory 0, "no limit", when any primary has none), each primary's own under "nodes".
    """
    connection = _connection()
    if not connection.cluster:
        return connection.client.info("memory")
    if share_id is not None:
        return connection.node_client(share_keys(share_id).share).info("memory")
    nodes = {name: node.info("memory") for name, node in connection.primary_clients().items()}
    limits = [int(memory.get("maxmemory", 0)) for memory in nodes.values()]
    return {
        "used_memory": sum(int(memory["used_memory"]) for memory in nodes.values()),
        "maxmemory": 0 if 0 in limits else sum(limits),
        "nodes": nodes,
    }


def _has_room(memory, nbytes, reserve):
    """Say whether `nbytes` more would leave `reserve` bytes free under maxmemory (none: room).

    Redis with noeviction refuses *every* write once it is over maxmemory, claims included.
    Keeping `reserve` bytes free for the small writes of claims and completions means a full
    server still hands out, and then deletes, the shares it already holds. The chunk script
    (lua/put_chunk.lua) makes the same check for each chunk it keeps.
    """
    limit = int(memory.get("maxmemory", 0))
    return not limit or int(memory["used_memory"]) + nbytes + reserve <= limit


@dataclass(frozen=True)
class NewShare:
    """What a sender declares for a new share; the store decides how it is kept."""

    version: int
    size: int
    chunk_size: int
    chunks: int
    downloads: int
    verifier: str  # base64url SHA-256 of the access token, as the client sent it
    metadata: str
    #: For a password share {"salt", "iterations", "verifier"}; protocol v1 shares had no
    #: verifier of their own (their one proof bound the password too).
    password: dict | None = None

    def fields(self):
        """Return the share hash's first fields (the scripts add state and times)."""
        fields = {
            "v": self.version,
            "size": self.size,
            "chunk_size": self.chunk_size,
            "chunks": self.chunks,
            "downloads": self.downloads,
            "left": self.downloads,
            "verifier": digest_verifier(self.verifier),
            "meta": self.metadata,
        }
        if self.password:
            fields["pw_salt"] = self.password["salt"]
            fields["pw_iter"] = self.password["iterations"]
            if "verifier" in self.password:
                fields["pw_verifier"] = digest_verifier(self.password["verifier"])
        return fields


@guarded
def create_share(share, expires_in, upload_idle, reserve=None):
    """Store a new share in state "uploading"; return (id, owner token, expiry in ms).

    The id is drawn first. With `reserve`, room for the declared size is then checked on the
    Redis that will hold it (`_has_room`). On a cluster an id whose node is full or
    does not answer is drawn again, so new shares go to the nodes that can take them; the share
    is refused only when no primary can (503 if one is down, else "storage_full").
    """
    owner_token = new_token()
    args = [expires_in * 1000, upload_idle * 1000]
    for name, value in {**share.fields(), "owner": digest(owner_token)}.items():
        args += [name, value]
    connection = _connection()
    full, down = set(), {}  # node names, each asked once at most
    while True:
        share_id = new_token(ID_BYTES)
        node = _node_name(connection, share_id)
        if node in full or node in down:
            continue
        try:
            if reserve is not None and not _has_room(memory_info(share_id), share.size,
                                                     reserve):
                full.add(node)
            else:
                status, rest = _run("create", share_id, *args)
                if status == "ok":
                    (expires_ms,) = rest
                    return share_id, owner_token, int(expires_ms)
                continue  # "exists": an id already taken
        except UNREACHABLE as error:
            if not connection.cluster:
                raise
            # An abandoned half-created share, if the script ran after all, expires by itself.
            down[node] = error
        if len(full) + len(down) == len(connection.primary_clients()):
            if down:
                error = next(iter(down.values()))
                raise StorageUnavailable("no primary can take a new share") from error
            raise StoreError("storage_full")


def _node_name(connection, share_id):
    """Name the node that will hold `share_id` (from the client's slot map: no round trip)."""
    if not connection.cluster:
        return "redis"
    return connection.client.get_node_from_key(share_keys(share_id).share).name


@guarded
def put_chunk(share_id, owner_token, index, data, upload_idle, reserve):
    """Store chunk `index` (idempotent); return how many chunks are stored.

    The bytes are written under a fresh field and the script then keeps or drops them, in one
    transaction: they never enter Lua, where Redis builds that hash every byte of a string
    (Debian's 7.0) spend 2 ms per MiB before the script even starts. The script drops them too
    when, stored, they leave less than `reserve` bytes under maxmemory (see `_has_room`): the
    room check costs no round trip of its own, and is made on the node that holds the share.
    """
    keys = share_keys(share_id)
    staged = f"{index}.{new_token(12)}"
    connection = _connection()
    script = connection.scripts["put_chunk"].script
    # On the node that owns the share (redis-py's cluster pipeline refuses EVALSHA). EVAL with
    # the script's text, not EVALSHA: the transaction cannot meet NOSCRIPT after the HSET has
    # run, and needs no SCRIPT EXISTS round trip before it (Redis caches the script by its
    # hash: the few KiB of text are all it costs).
    with connection.node_client(keys.share).pipeline(transaction=True) as pipe:
        pipe.hset(keys.data, staged, data)
        pipe.eval(script, len(keys), *keys, digest(owner_token), index, staged,
                  upload_idle * 1000, reserve)
        _, reply = pipe.execute()
    status, rest = reply[0].decode(), reply[1:]
    _raise_unless_ok(status, rest)
    return int(rest[0])


@guarded
def finalize(share_id, owner_token):
    """Open a fully uploaded share to claimants."""
    status, rest = _run("finalize", share_id, digest(owner_token))
    _raise_unless_ok(status, [int(i) for i in rest] if status == "incomplete" else rest)


@guarded
def unlock(share_id, access, password, failures_max, failure_window):
    """Check the proofs (access token, password token or None); return the metadata blob.

    Consumes nothing; a wrong password proof is counted exactly as on a claim.
    """
    status, rest = _run("unlock", share_id, digest(access), digest(password), failures_max,
                        failure_window * 1000)
    _raise_unless_ok(status, rest)
    (metadata,) = rest
    return metadata.decode()


@guarded
def claim(share_id, access, password, claim_idle, failures_max, failure_window):
    """Check the proofs and count one download; return the winner's `Claim`.

    At CLAIM_DURABILITY local or replica the ticket is returned only once the claim is on disk
    (and on a replica): otherwise StoreError "not_durable" (503). The download stays counted
    then, since the claim may well be on disk: a lost download, never one too many.
    """
    ticket = new_token()
    args = (digest(access), digest(password), failures_max, failure_window * 1000,
            digest(ticket), claim_idle * 1000)
    durability = _connection_durability()
    try:
        durability.ensure_checked(_connection().primary_clients)
    except NotHonoured as error:
        log.error("%s", error)
        raise StorageUnavailable("claim durability cannot be honoured") from error
    waits = durability.wait_commands()
    if waits:
        status, rest, replies = _run_then_wait("claim", share_id, waits, *args)
    else:
        (status, rest), replies = _run("claim", share_id, *args), []
    _raise_unless_ok(status, rest)
    if not durability.confirmed(replies):
        log.warning("claim not confirmed durable within the timeout: %s",
                    ", ".join(type(r).__name__ if isinstance(r, Exception) else str(r)
                              for r in replies))
        raise StoreError("not_durable")
    size, chunk_size, chunks, deadline, metadata = rest
    return Claim(ticket, int(size), int(chunk_size), int(chunks), int(deadline),
                 metadata.decode())


def _connection_durability():
    return current_app.extensions[DURABILITY_KEY]


def _run_then_wait(script, share_id, waits, *args):
    """Run a script and then `waits` (WAIT, WAITAOF) on one connection, in one round trip.

    WAIT and WAITAOF wait for the replication offset of the calling connection's last write,
    so they must follow the script on its connection: a pipeline on the share's node.
    """
    connection = _connection()
    script = connection.scripts[script]
    keys = share_keys(share_id)
    node = connection.node_client(keys.share)
    for _ in range(2):
        with node.pipeline(transaction=False) as pipe:
            pipe.evalsha(script.sha, len(keys), *keys, *args)
            for command in waits:
                pipe.execute_command(*command)
            reply, *replies = pipe.execute(raise_on_error=False)
        if not isinstance(reply, redis.exceptions.NoScriptError):
            break
        node.script_load(script.script)  # the script did not run: run it again once loaded
    if isinstance(reply, Exception):
        raise translate(reply)  # a slot moving (MOVED, ASK) is StorageUnavailable: retry
    return reply[0].decode(), reply[1:], replies


@guarded
def check_ticket(share_id, ticket, claim_idle):
    """Return (size, chunk_size, chunks) for a live claim whose content is still stored."""
    status, rest = _run("check_claim", share_id, digest(ticket), claim_idle * 1000, -1)
    _raise_unless_ok(status, rest)
    size, chunk_size, chunks, _ = rest  # no chunk asked for, so no field
    return int(size), int(chunk_size), int(chunks)


@guarded
def read_chunk(share_id, ticket, index, claim_idle):
    """Return chunk `index` for a live claim, as a list of `bytes` pieces, keeping the claim
    alive."""
    status, rest = _run("check_claim", share_id, digest(ticket), claim_idle * 1000, index)
    _raise_unless_ok(status, rest)
    *_, field = rest  # size, chunk size, chunks, then the field that holds the chunk
    # The bytes are read outside Lua (see put_chunk), received straight into the pieces served
    # (server/bulk_reply.py). Fields of a ready share never change, and one deleted in between
    # reads as missing.
    keys = share_keys(share_id)
    pieces = bulk_reply.fetch(_connection().node_client(keys.data), "HGET", keys.data, field)
    if pieces is None:
        raise StoreError("gone", "purged")
    return pieces


@guarded
def complete_fetch(share_id, ticket):
    """Mark a claim's fetch complete; return True when the ciphertext was deleted."""
    status, rest = _run("complete", share_id, digest(ticket))
    _raise_unless_ok(status, rest)
    return rest[0] == b"deleted"


@guarded
def delete_share(share_id, owner_token):
    """Delete the share's content now, leaving a tombstone until its expiry."""
    status, rest = _run("delete", share_id, digest(owner_token))
    _raise_unless_ok(status, rest)


@guarded
def share_fields(share_id):
    """Return the share hash as a str dict (empty when unknown or expired)."""
    raw = client().hgetall(share_keys(share_id).share)
    return {key.decode(): value.decode() for key, value in raw.items()}


def public_status(share_id):
    """Return what anyone holding the link may read of a ready share; consumes nothing.

    Refuses (StoreError) a share that is unknown or expired ("not_found"), still uploading
    ("not_ready"), or consumed or deleted ("gone"). For a version 2 password share the metadata
    blob is withheld (None): its GCM tag would let anyone holding the link test password
    guesses offline. Version 1 shares keep answering as they always did.
    """
    fields = share_fields(share_id)
    state = fields.get("state")
    if not fields:
        raise StoreError("not_found")
    if state == "uploading":
        raise StoreError("not_ready")
    if state != "ready":
        raise StoreError("gone", state)
    version = int(fields["v"])
    password = None
    if "pw_salt" in fields:
        password = {"salt": fields["pw_salt"], "iterations": int(fields["pw_iter"])}
    hide_metadata = password is not None and version >= 2
    return {
        "version": version,
        "state": state,
        "size": int(fields["size"]),
        "chunk_size": int(fields["chunk_size"]),
        "chunks": int(fields["chunks"]),
        "expires_ms": int(fields["expires"]),
        "downloads": int(fields["downloads"]),
        "downloads_left": int(fields["left"]),
        "metadata": None if hide_metadata else fields["meta"],
        "password": password,
    }


#: The owner view's times: its name -> the share hash's field (absent until it happens).
OWNER_TIMES = {
    "created_at": "created", "expires_at": "expires", "ready_at": "ready_at",
    "first_claim_at": "first_claim", "last_claim_at": "last_claim",
    "last_complete_at": "last_complete", "consumed_at": "consumed_at",
    "deleted_at": "deleted_at",
}


def owner_view(share_id, owner_token):
    """Return what the owner may see: counts, times (ms or None, named as in OWNER_TIMES), and
    the stored chunk indexes while uploading (None after)."""
    fields, received = owner_fields(share_id, owner_token)
    return {
        "state": fields["state"],
        "size": int(fields["size"]),
        "chunk_size": int(fields["chunk_size"]),
        "chunks": int(fields["chunks"]),
        "downloads": int(fields["downloads"]),
        "downloads_left": int(fields["left"]),
        "claims": int(fields.get("claims", 0)),
        "completed_downloads": int(fields.get("completed", 0)),
        "times_ms": {name: _ms(fields.get(field)) for name, field in OWNER_TIMES.items()},
        "received_chunks": received if fields["state"] == "uploading" else None,
    }


def _ms(value):
    return None if value in (None, "") else int(value)


@guarded
def owner_fields(share_id, owner_token):
    """Return the share hash and the stored chunk indexes, for its owner only."""
    keys = share_keys(share_id)
    # No MULTI: Redis refuses to queue commands in a transaction when over maxmemory, and this
    # read must work on a full server. A chunk landing in between is harmless to report.
    with client().pipeline(transaction=False) as pipe:
        pipe.hgetall(keys.share)
        pipe.hkeys(keys.data)
        raw, names = pipe.execute()
    indexes = [name[1:] for name in names if name.startswith(b"n")]  # 'n<i>' names chunk i
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


#: States in which a share no longer holds ciphertext once its chunk hash is gone.
RELEASED_STATES = (b"consumed", b"deleted")


@guarded
def released_shares(share_ids):
    """Return those of `share_ids` (bytes) whose shares no longer hold ciphertext: expired,
    abandoned while uploading, deleted, or consumed with the last fetch done or abandoned.

    One round trip (a cluster pipeline splits it by node). When a node holding some of them is
    down, they are asked one by one, and those that cannot answer count as holding their bytes.
    """
    def ask(share_id):
        keys = share_keys(share_id.decode())
        return keys.share, keys.data

    try:
        with client().pipeline(transaction=False) as pipe:
            for share_id in share_ids:
                share, data = ask(share_id)
                pipe.hget(share, "state")
                pipe.exists(data)
            replies = pipe.execute()
    except UNREACHABLE:
        replies = []
        for share_id in share_ids:
            share, data = ask(share_id)
            try:
                replies += [client().hget(share, "state"), client().exists(data)]
            except UNREACHABLE:
                replies += [b"unknown", 1]
    return [share_id for share_id, state, data in zip(share_ids, replies[::2], replies[1::2],
                                                      strict=True)
            if state is None or (state in RELEASED_STATES and not data)]


@guarded
def drop_share(share_id):
    """Delete every key of a share at once (an empty share its quota refused)."""
    client().unlink(*share_keys(share_id))
