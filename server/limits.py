"""Limit what one client address may ask of the service: requests per route, bytes per hour.

Counters live in the app's own Redis, so every gunicorn worker and every app instance shares
them. The client address is the TCP peer, unless TRUSTED_PROXY_COUNT says how many reverse
proxies stand in front: then ProxyFix (installed by `create_app`) takes it from that many
X-Forwarded-For entries, counted from the right (the ones those proxies appended). With no
trusted proxy, X-Forwarded-For is ignored, so a client cannot pick its own address. IPv6 clients
are counted per /64, the block a single subscriber usually holds, so hopping through addresses
of one network buys nothing.

When Redis does not answer, rate limits fail open (flask-limiter's `swallow_errors`): the request
goes on and the store answers 503 for anything that needs storage, which is all a limit protects.
An in-memory fallback would only add per-worker limits to a service that cannot store anything.
"""

import threading
import time
from urllib.parse import urlsplit

import redis
from flask import current_app, request
from flask_limiter import Limit, Limiter
from limits.storage import RedisClusterStorage, RedisStorage, Storage

from . import counters, store
from .addresses import address_group
from .errors import refuse
from .storage_errors import UNAVAILABLE

LIMITER_KEY = "onetimeshare.limiter"
KEY_PREFIX = "ots-limits:rate"
BUDGET_WINDOW = 3600

#: Routes with a limit of their own (endpoint -> setting); every other route (pages included)
#: gets RATE_LIMIT_DEFAULT, each counted separately. flask-limiter never limits static files.
ROUTE_LIMITS = {
    "uploads.create": "RATE_LIMIT_CREATE",
    "uploads.put_chunk": "RATE_LIMIT_CHUNK",
    "downloads.claim": "RATE_LIMIT_CLAIM",
    # Unlock checks the same proofs as a claim; its own count at the same rate.
    "downloads.unlock": "RATE_LIMIT_CLAIM",
}
#: Probes and metrics are polled by machines on a schedule; limiting them would make a load
#: balancer or Prometheus see a healthy instance as down.
UNLIMITED = {"health.healthz", "health.readyz", "metrics.metrics"}

RATE_LIMITED = "Too many requests from your address. Try again after Retry-After seconds."
#: What the limiter's own storage may raise: it fails open on every one of them.
STORAGE_ERRORS = (redis.exceptions.RedisError, *UNAVAILABLE)


def init_app(app):
    """Install the rate limiter on the app's Redis."""
    limiter = Limiter(
        client_address,
        default_limits=[Limit(_route_limit, error_message=RATE_LIMITED)],
        storage_uri=f"{StoreStorage.STORAGE_SCHEME[0]}://",
        storage_options={"make": _counter_storage(app)},
        strategy="fixed-window",
        swallow_errors=True,
        headers_enabled=False,  # X-RateLimit-* on every answer would cost a Redis round trip
        enabled=bool(app.config["RATE_LIMITS_ENABLED"]),
    )
    limiter.request_filter(lambda: request.endpoint in UNLIMITED)
    limiter.init_app(app)
    app.extensions[LIMITER_KEY] = limiter
    app.after_request(_after_refusal)


def client_address():
    """Return the address a client is counted by: its IP, or its /64 for IPv6."""
    address = request.remote_addr or "unknown"
    # Not an IP (e.g. a unix socket peer): every request shares one count.
    return address_group(address) or address


def check_upload_budget(size):
    """Refuse (429) a new share of `size` bytes that the address's byte budget cannot cover.

    Nothing is counted here: the budget is spent by the chunks actually sent. This only spares
    a client an upload that would be refused halfway.
    """
    budget = current_app.config["UPLOAD_BYTES_PER_IP_PER_HOUR"]
    if not budget:
        return
    used, ttl_ms = counters.upload_budget_used(client_address())
    if used + size > budget:
        _refuse_budget(budget, used, ttl_ms)


def charge_upload(nbytes):
    """Count `nbytes` against the address's hourly upload budget; 429 once it is spent.

    Called once the chunk is read (answering before would leave its body unread on the
    connection). Every chunk received counts, stored or not: bandwidth is what it protects.
    """
    budget = current_app.config["UPLOAD_BYTES_PER_IP_PER_HOUR"]
    if not budget:
        return
    used, ttl_ms = counters.charge_upload_budget(client_address(), nbytes, BUDGET_WINDOW)
    if used > budget:
        _refuse_budget(budget, used - nbytes, ttl_ms)


def _refuse_budget(budget, used, ttl_ms):
    left = max(0, budget - used)
    wait = _seconds(ttl_ms / 1000 if ttl_ms > 0 else BUDGET_WINDOW)
    refuse(429, "upload_budget",
           f"Your address may upload {budget} bytes per hour and has {left} left. "
           "Try again after Retry-After seconds.", {"Retry-After": str(wait)})


def _counter_storage(app):
    """Return a maker of limits' storage on the app's Redis: the store's own connection pool,
    or the same Redis Cluster seeds."""
    seeds = app.config.get("REDIS_CLUSTER_NODES")
    if seeds:
        first = urlsplit(seeds[0])
        auth = first.netloc.rpartition("@")[0]
        nodes = ",".join(urlsplit(seed).netloc.rpartition("@")[2] for seed in seeds)
        uri = f"redis+cluster://{auth + '@' if auth else ''}{nodes}"
        options = {"ssl": True} if first.scheme == "rediss" else {}
        return lambda: RedisClusterStorage(uri, key_prefix=KEY_PREFIX, **options)
    pool = store.client(app).connection_pool
    return lambda: RedisStorage("redis://", connection_pool=pool, key_prefix=KEY_PREFIX)


class StoreStorage(Storage):
    """Hold rate-limit counters in the app's Redis, connecting on first use.

    A cluster client reads the slot map as soon as it is built; building it on the first
    request lets the app start while the cluster is down, as the store itself does.
    """

    STORAGE_SCHEME = ["onetimeshare"]

    def __init__(self, uri=None, wrap_exceptions=False, make=None, **options):
        super().__init__(uri, wrap_exceptions)
        self._make = make
        self._storage = None
        self._lock = threading.Lock()

    @property
    def counters(self):
        if self._storage is None:
            with self._lock:
                if self._storage is None:
                    self._storage = self._make()
        return self._storage

    @property
    def base_exceptions(self):
        return STORAGE_ERRORS

    def incr(self, key, expiry, amount=1):
        return self.counters.incr(key, expiry, amount)

    def get(self, key):
        return self.counters.get(key)

    def get_expiry(self, key):
        return self.counters.get_expiry(key)

    def check(self):
        return self.counters.check()

    def reset(self):
        return self.counters.reset()

    def clear(self, key):
        return self.counters.clear(key)


def _route_limit():
    return current_app.config[ROUTE_LIMITS.get(request.endpoint, "RATE_LIMIT_DEFAULT")]


def _after_refusal(response):
    """Tell a client refused by a rate limit when its window ends."""
    breached = current_app.extensions[LIMITER_KEY].current_limit
    if response.status_code != 429 or breached is None or not breached.breached:
        return response
    try:
        wait = breached.reset_at - time.time()
    except STORAGE_ERRORS:
        wait = breached.limit.get_expiry()  # the whole window: never too short
    response.headers["Retry-After"] = str(_seconds(wait))
    # The unread body is dropped by server.drain, as for every other early refusal.
    return response


def _seconds(wait):
    return max(1, int(-(-wait // 1)))
