"""Collect the service's settings: defaults, then the environment, then a test config.

Every setting is documented in the README's configuration table. Nothing here runs at import
time: `load_config` is called by the app factory, so tests and gunicorn workers each read the
environment they were started with.
"""

import os
from urllib.parse import urlsplit

from limits import parse_many

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB
#: Where the service listens unless BIND says otherwise: loopback, behind a reverse proxy.
DEFAULT_BIND = "127.0.0.1:8000"

#: Default values, keyed by the environment variable that overrides each one.
DEFAULTS = {
    "REDIS_URL": "",  # empty: start (or join) the embedded redis-server under DATA_DIR
    "REDIS_CLUSTER_NODES": "",  # host:port seeds of a Redis Cluster; set, it wins over REDIS_URL
    "DATA_DIR": "./data",
    "EMBEDDED_REDIS_MAXMEMORY": "0",  # bytes, 0 = no limit (noeviction either way)
    "CHUNK_SIZE": 4 * MIB,
    "MAX_SHARE_BYTES": 2 * GIB + 64 * MIB,  # a 2 GiB file plus its RFC 8188 overhead
    "MIN_EXPIRY_SECONDS": 60,
    "MAX_EXPIRY_SECONDS": 7 * 24 * 3600,
    "DEFAULT_EXPIRY_SECONDS": 24 * 3600,
    "MAX_DOWNLOADS": 100,
    "UPLOAD_IDLE_SECONDS": 3600,
    "CLAIM_IDLE_SECONDS": 300,
    # none | local | replica, or auto: local with the embedded Redis or a Redis without
    # replicas, replica where every primary has one (server/durability.py).
    "CLAIM_DURABILITY": "auto",
    "CLAIM_DURABILITY_TIMEOUT": 2,
    # Rewrite the append-only file this long after a share's data was deleted, at the latest,
    # so opened, deleted and expired ciphertext leaves the disk (server/aof_purge.py); 0: never.
    "AOF_PURGE_SECONDS": 900,
    "PROOF_FAILURES_MAX": 10,
    "PROOF_FAILURE_WINDOW": 900,
    "MAX_METADATA_CHARS": 8192,
    "REDIS_RETRY_AFTER": 5,
    "STORAGE_RESERVE_BYTES": 16 * MIB,
    "ACCESS_LOG": 1,
    # Abuse controls (server/limits.py): requests per client address, per route.
    "RATE_LIMITS_ENABLED": 1,
    "RATE_LIMIT_DEFAULT": "600 per minute",
    "RATE_LIMIT_CREATE": "30 per minute",
    # A 2 GiB file is 512 chunks of 4 MiB; this lets one address send ~240 MiB/s of them.
    "RATE_LIMIT_CHUNK": "3600 per minute",
    "RATE_LIMIT_CLAIM": "60 per minute",
    "UPLOAD_BYTES_PER_IP_PER_HOUR": 10 * GIB,  # 0 = no byte budget
    "TRUSTED_PROXY_COUNT": 0,  # reverse proxies in front of gunicorn that set X-Forwarded-*
    # Stored bytes per sender (server/quota.py): what one address or credential keeps stored.
    "STORED_BYTES_PER_SENDER": 2 * GIB + 64 * MIB,  # 0 = no byte quota
    "STORED_SHARES_PER_SENDER": 100,  # 0 = no share count cap
    "LARGE_SHARE_BYTES": 256 * MIB,  # shares above this keep a shorter maximum expiry; 0 = off
    "LARGE_SHARE_MAX_EXPIRY_SECONDS": 24 * 3600,
    # Who may upload (server/upload_auth.py); both empty: anyone may.
    "UPLOAD_TOKENS_FILE": "",
    "TRUSTED_USER_HEADER": "",  # honoured only with TRUSTED_PROXY_COUNT > 0
    # /metrics (server/metrics_access.py): empty = loopback peers only.
    "METRICS_TOKEN": "",
    # Slow and idle clients (server/serving.py, docs/deployment.md "Serving model").
    "CLIENT_HEADER_TIMEOUT": 10,  # request line and headers, whole, from connect or last answer
    "CLIENT_IDLE_TIMEOUT": 30,  # longest a read or write of a body may wait without progress
    "CLIENT_MIN_RATE": 1024,  # bytes/s a body or answer must average; 0 = no minimum
    "MAX_CONNECTIONS_PER_ADDRESS": 128,  # per worker process; 0 = no cap
    "CONCURRENT_REQUESTS_PER_WORKER": 16,  # not counting those waiting on their client; 0 = no cap
    # Gunicorn (server/gunicorn_conf.py); the app itself never reads these.
    "BIND": DEFAULT_BIND,
    "WEB_CONCURRENCY": 0,  # worker processes; 0 = the CPU count, at least 2
    "GUNICORN_WORKER_CONNECTIONS": 2048,
    "GUNICORN_TIMEOUT": 120,
    "LOG_LEVEL": "info",
}

#: Settings that hold flask-limiter rate strings, like "30 per minute" or "5/second; 100/hour".
RATE_LIMITS = ("RATE_LIMIT_DEFAULT", "RATE_LIMIT_CREATE", "RATE_LIMIT_CHUNK", "RATE_LIMIT_CLAIM")

#: Settings that must be whole numbers, with the smallest value that makes sense.
INTEGER_MINIMUMS = {
    "EMBEDDED_REDIS_MAXMEMORY": 0,
    "CHUNK_SIZE": 64 * KIB,
    "MAX_SHARE_BYTES": 38,  # an RFC 8188 header and one empty record
    "MIN_EXPIRY_SECONDS": 1,
    "MAX_EXPIRY_SECONDS": 1,
    "DEFAULT_EXPIRY_SECONDS": 1,
    "MAX_DOWNLOADS": 1,
    "UPLOAD_IDLE_SECONDS": 1,
    "CLAIM_IDLE_SECONDS": 1,
    "CLAIM_DURABILITY_TIMEOUT": 1,
    "AOF_PURGE_SECONDS": 0,
    "PROOF_FAILURES_MAX": 1,
    "PROOF_FAILURE_WINDOW": 1,
    "MAX_METADATA_CHARS": 256,
    "REDIS_RETRY_AFTER": 1,
    "STORAGE_RESERVE_BYTES": 0,
    "ACCESS_LOG": 0,
    "RATE_LIMITS_ENABLED": 0,
    "UPLOAD_BYTES_PER_IP_PER_HOUR": 0,
    "TRUSTED_PROXY_COUNT": 0,
    "STORED_BYTES_PER_SENDER": 0,
    "STORED_SHARES_PER_SENDER": 0,
    "LARGE_SHARE_BYTES": 0,
    "LARGE_SHARE_MAX_EXPIRY_SECONDS": 1,
    "CLIENT_HEADER_TIMEOUT": 1,
    "CLIENT_IDLE_TIMEOUT": 1,
    "CLIENT_MIN_RATE": 0,
    "MAX_CONNECTIONS_PER_ADDRESS": 0,
    "CONCURRENT_REQUESTS_PER_WORKER": 0,
    "WEB_CONCURRENCY": 0,
    "GUNICORN_WORKER_CONNECTIONS": 1,
    "GUNICORN_TIMEOUT": 1,
}
#: Gunicorn's log levels.
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


class ConfigError(ValueError):
    """Raised at start-up when a setting cannot be used, so a typo fails loudly."""


def load_config(environ=None, overrides=None):
    """Return the settings dict: defaults, then `environ`, then `overrides`."""
    environ = os.environ if environ is None else environ
    config = dict(DEFAULTS)
    for name in DEFAULTS:
        if name in environ:
            config[name] = environ[name]
    config.update(overrides or {})
    for name, minimum in INTEGER_MINIMUMS.items():
        config[name] = _whole_number(name, config[name], minimum)
    config["REDIS_CLUSTER_NODES"] = cluster_seeds(config["REDIS_CLUSTER_NODES"])
    config["CLAIM_DURABILITY"] = _one_of("CLAIM_DURABILITY", config["CLAIM_DURABILITY"],
                                         ("auto", "none", "local", "replica"))
    config["LOG_LEVEL"] = _one_of("LOG_LEVEL", config["LOG_LEVEL"], LOG_LEVELS)
    if not str(config["BIND"]).strip():
        raise ConfigError("BIND must name an address to listen on, like 127.0.0.1:8000")
    for name in RATE_LIMITS:
        config[name] = _rate_limit(name, config[name])
    if not config["MIN_EXPIRY_SECONDS"] <= config["MAX_EXPIRY_SECONDS"]:
        raise ConfigError("MIN_EXPIRY_SECONDS must not exceed MAX_EXPIRY_SECONDS")
    if config["TRUSTED_USER_HEADER"] and not config["TRUSTED_PROXY_COUNT"]:
        # Without a trusted proxy any client could send the header and name itself.
        raise ConfigError("TRUSTED_USER_HEADER needs TRUSTED_PROXY_COUNT > 0: only a proxy "
                          "in front may vouch for a user")
    config["DEFAULT_EXPIRY_SECONDS"] = min(
        max(config["DEFAULT_EXPIRY_SECONDS"], config["MIN_EXPIRY_SECONDS"]),
        config["MAX_EXPIRY_SECONDS"],
    )
    return config


def _whole_number(name, value, minimum):
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from None
    if number < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {number}")
    return number


def _one_of(name, value, choices):
    word = str(value).strip().lower()
    if word not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return word


def _rate_limit(name, value):
    try:
        if parse_many(str(value)):
            return str(value)
    except ValueError:
        pass
    raise ConfigError(f"{name} must be a rate like '30 per minute' or '5/second; 100/hour', "
                      f"got {value!r}")


def cluster_seeds(value):
    """Return REDIS_CLUSTER_NODES as a tuple of seed URLs; empty when no cluster is configured.

    Entries are comma-separated `host:port` or `redis://` / `rediss://` URLs (which may carry a
    user name and password); the client learns the rest of the cluster from whichever answers.
    """
    entries = value.split(",") if isinstance(value, str) else list(value)
    seeds = []
    for entry in filter(None, (str(item).strip() for item in entries)):
        url = entry if "://" in entry else f"redis://{entry}"
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            port = None
        if (parts.scheme not in ("redis", "rediss") or not parts.hostname or port is None
                or parts.path not in ("", "/", "/0") or parts.query):
            raise ConfigError(
                "REDIS_CLUSTER_NODES takes comma-separated host:port or redis[s]://host:port "
                f"entries, got {entry!r}"
            )
        seeds.append(url)
    return tuple(seeds)
