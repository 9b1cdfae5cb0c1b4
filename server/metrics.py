"""Count what the service does, for Prometheus, without ever naming a share.

Labels are outcomes and status codes only: never an id, a token or an address. Under gunicorn
every worker writes its counters to PROMETHEUS_MULTIPROC_DIR (set up by `server.gunicorn_conf`
before anything imports prometheus_client), and `/metrics` adds them up across workers.
"""

import os

import redis
from flask import Blueprint, Response, current_app
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from . import store

bp = Blueprint("metrics", __name__)

SHARES_CREATED = Counter("onetimeshare_shares_created", "Shares created.")
SHARES_FINALIZED = Counter("onetimeshare_shares_finalized", "Shares whose upload was completed.")
SHARES_DELETED = Counter("onetimeshare_shares_deleted", "Shares deleted early by their owner.")
UPLOAD_BYTES = Counter("onetimeshare_upload_bytes", "Ciphertext bytes accepted in chunks.")
CLAIMS = Counter("onetimeshare_claims", "Claims by outcome.", ["outcome"])
UNLOCKS = Counter("onetimeshare_unlocks", "Unlocks (metadata handed out) by outcome.",
                  ["outcome"])
FETCH_BYTES = Counter("onetimeshare_fetch_bytes", "Ciphertext bytes sent to claimants.")
FETCHES_COMPLETED = Counter("onetimeshare_fetches_completed", "Fetches that sent the last byte.")
RESPONSES = Counter("onetimeshare_http_responses", "HTTP answers by status code.", ["code"])


class RedisMemoryCollector:
    """Report Redis's memory use at scrape time: the bytes the service is holding."""

    def __init__(self, app):
        self.app = app

    def collect(self):
        used = GaugeMetricFamily("onetimeshare_redis_used_memory_bytes",
                                 "Memory Redis uses, ciphertext included.")
        limit = GaugeMetricFamily("onetimeshare_redis_maxmemory_bytes",
                                  "Redis's maxmemory (0: no limit).")
        up = GaugeMetricFamily("onetimeshare_redis_up", "1 when Redis answers.")
        try:
            with self.app.app_context():
                memory = store.memory_info()
            used.add_metric([], memory["used_memory"])
            limit.add_metric([], memory.get("maxmemory", 0))
            up.add_metric([], 1)
            yield from (used, limit, up)
        except redis.exceptions.RedisError:
            up.add_metric([], 0)
            yield up


@bp.get("/metrics")
def metrics():
    """Expose the counters in Prometheus's text format."""
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    registry = _with_redis(registry)
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def _with_redis(registry):
    combined = CollectorRegistry()
    combined.register(_Forward(registry))
    combined.register(RedisMemoryCollector(current_app._get_current_object()))
    return combined


class _Forward:
    """Let one registry's metrics be collected as part of another."""

    def __init__(self, registry):
        self.registry = registry

    def collect(self):
        return self.registry.collect()
