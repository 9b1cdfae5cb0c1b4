"""Write one JSON line per request, naming the route but never the share or a token.

A path like `/api/v1/shares/<id>/claim` carries a share id, so the line records the route's
pattern (`/api/v1/shares/<sid>/claim`) instead; headers, where the tokens travel, are never
logged. Streamed downloads are logged when the stream closes, with their real duration.
"""

import json
import logging
import sys
import time

from flask import g, request

from . import metrics

log = logging.getLogger("onetimeshare.access")


def init_app(app):
    """Install the request timer and the logging hook."""
    if app.config["ACCESS_LOG"] and not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    app.before_request(_start_timer)
    app.after_request(_log_when_closed)


def _start_timer():
    g.request_started = time.perf_counter()


def _log_when_closed(response):
    metrics.RESPONSES.labels(str(response.status_code)).inc()
    if not log.isEnabledFor(logging.INFO):
        return response
    line = {
        "method": request.method,
        "route": request.url_rule.rule if request.url_rule else "(unmatched)",
        "status": response.status_code,
        "remote": request.remote_addr,
        "request_bytes": request.content_length or 0,
    }
    started = g.get("request_started", time.perf_counter())

    def write():
        line["ms"] = round((time.perf_counter() - started) * 1000, 1)
        line["ts"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        log.info(json.dumps(line, separators=(",", ":")))

    response.call_on_close(write)
    return response
