"""Rewrite the append-only file in time, so deleted ciphertext leaves the disk.

Deleting a key from Redis only appends a DEL to the append-only file: the ciphertext written
earlier stays in the files until Redis rewrites them from what is in memory (by default only
when the file has doubled in size). So each gunicorn worker runs a small thread that asks Redis
now and then whether anything was written since the last rewrite (`aof_current_size` above
`aof_base_size`: every deletion and expiry is such a write), and if so, and if the last rewrite
this service asked for is at least AOF_PURGE_SECONDS old, asks for one (`BGREWRITEAOF`). The
rewritten file holds only live keys; Redis deletes the old files once it is done.

The bound: data deleted at time t is out of the files by t + AOF_PURGE_SECONDS + one poll +
the rewrite's own duration. The time of the last rewrite is kept in Redis (a key that never
expires, written just before the rewrite so that the rewrite itself contains it), so several
workers and instances ask for one rewrite per period between them, and an idle server is not
rewritten at all. On a cluster, each primary is handled on its own, with a key on its slots.
"""

import logging
import threading
import time

import redis

log = logging.getLogger(__name__)

KEY_PREFIX = "ots-aof:{%s}:rewritten"
MAX_POLL_SECONDS = 30

#: Set the rewrite time if the last one is at least ARGV[1] ms old; 1 if it was set.
CLAIM_REWRITE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
if now - last < tonumber(ARGV[1]) then
  return 0
end
redis.call('SET', KEYS[1], string.format('%d', now))
return 1
"""


def poll_seconds(period):
    """How often to look: a quarter of the period, between 0.25 s and MAX_POLL_SECONDS."""
    return min(MAX_POLL_SECONDS, max(0.25, period / 4))


def purge_once(client, key, period):
    """Ask `client`'s Redis to rewrite its AOF if data changed and the period has passed.

    Return True when a rewrite was asked for.
    """
    persistence = client.info("persistence")
    if int(persistence.get("aof_enabled", 0)) != 1:
        return False
    if int(persistence.get("aof_rewrite_in_progress", 0)) or int(
            persistence.get("aof_rewrite_scheduled", 0)):
        return False
    if int(persistence.get("aof_current_size", 0)) <= int(persistence.get("aof_base_size", 0)):
        return False  # nothing written, so nothing deleted, since the last rewrite
    if not client.eval(CLAIM_REWRITE, 1, key, int(period * 1000)):
        return False
    try:
        client.bgrewriteaof()
    except redis.exceptions.ResponseError as error:  # one already running: it will do
        log.info("aof rewrite not started: %s", error)
        return False
    return True


def node_keys(connection):
    """Return {node name: (plain client, key on that node)} for every primary."""
    result = {}
    for name, node in connection.primary_clients().items():
        if not connection.cluster:
            result[name] = (node, KEY_PREFIX % "0")
            continue
        cluster = connection.client
        tag = next(str(n) for n in range(100_000)
                   if cluster.get_node_from_key(KEY_PREFIX % n).name == name)
        result[name] = (node, KEY_PREFIX % tag)
    return result


def start(connection, period):
    """Run the purge loop in a daemon thread (per worker); nothing when `period` is 0."""
    if not period:
        return None
    thread = threading.Thread(target=_loop, args=(connection, period), daemon=True,
                              name="aof-purge")
    thread.start()
    return thread


def _loop(connection, period):
    while True:
        time.sleep(poll_seconds(period))
        try:
            for name, (client, key) in node_keys(connection).items():
                try:
                    if purge_once(client, key, period):
                        log.info("asked redis %s to rewrite its append-only file", name)
                except redis.exceptions.RedisError as error:
                    log.warning("aof purge on %s skipped: %s", name, type(error).__name__)
        except redis.exceptions.RedisError as error:
            log.warning("aof purge skipped: %s", type(error).__name__)
