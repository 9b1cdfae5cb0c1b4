"""Keep the service's own counters in the shares' Redis: upload budgets and quota buckets.

`server/store.py` owns the share keys; this module owns every other key, and sends their
commands through the store's client with the same error translation (`guarded`). The rules
(what a budget or a quota allows) stay with `server/limits.py` and `server/quota.py`.
"""

import functools

from . import store
from .storage_errors import guarded

#: An address's hourly upload budget counter (server/limits.py decides what it allows).
BUDGET_KEY = "ots-limits:upload-bytes:{}"
#: A sender's quota bucket (server/quota.py decides what it allows): share id -> bytes, and
#: share id -> expiry, under the hash tag of a keyed hash of the sender.
QUOTA_KEYS = ("ots-quota:{{{}}}:bytes", "ots-quota:{{{}}}:expiry")
QUOTA_HASH_KEY = "ots-quota:hash-key"
#: Draw the hashing key unless one exists, and return the one in force, in one round trip.
QUOTA_HASH_KEY_SCRIPT = (
    "redis.call('SET', KEYS[1], ARGV[1], 'NX') return redis.call('GET', KEYS[1])")


@guarded
def upload_budget_used(address):
    """Return (bytes counted, ms until the count resets; negative when none) for `address`."""
    with store.client().pipeline(transaction=False) as pipe:
        key = BUDGET_KEY.format(address)
        used, ttl_ms = pipe.get(key).pttl(key).execute()
    return int(used or 0), ttl_ms


@guarded
def charge_upload_budget(address, nbytes, window):
    """Count `nbytes` for `address`; return (bytes counted, ms until the count resets).

    The window starts with its first charge. Setting the TTL whenever one is missing (not only
    on the first INCRBY) means no counter can ever be left without one.
    """
    key = BUDGET_KEY.format(address)
    with store.client().pipeline(transaction=False) as pipe:
        used, ttl_ms = pipe.incrby(key, nbytes).pttl(key).execute()
    if ttl_ms < 0:
        store.client().expire(key, window)
        ttl_ms = window * 1000
    return used, ttl_ms


@guarded
def quota_hash_key(candidate):
    """Keep `candidate` as the quota's hashing key unless one exists; return the one in force."""
    return store.client().eval(QUOTA_HASH_KEY_SCRIPT, 1, QUOTA_HASH_KEY, candidate)


@guarded
def quota_bucket(bucket, mode, quota, cap, size, share_id, expires_ms):
    """Check ("check") or add ("add") a share in a sender's bucket, releasing first the shares
    that no longer hold ciphertext; return the script's reply (["full", used, count, free_at]
    when it is full). Raises the storage errors of the node that holds the bucket."""
    keys = [key.format(bucket) for key in QUOTA_KEYS]
    ids = store.client().zrange(keys[1], 0, -1)
    gone = store.released_shares(ids) if ids else []
    return store.client().eval(_quota_script(), 2, *keys, mode, quota, cap, size, share_id,
                         expires_ms, *gone)


@functools.cache
def _quota_script():
    return store.lua_script("quota")
