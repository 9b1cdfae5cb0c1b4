"""Warn, once, when a reverse proxy seems to stand in front but TRUSTED_PROXY_COUNT is 0.

Then X-Forwarded-For is ignored (a client could otherwise choose its own address), so every
visitor counts as the proxy: they share one rate-limit bucket, one upload budget and one
stored-bytes quota. The warning names the setting, never the header's value. Once per app,
which is once per gunicorn worker process.
"""

import logging
import threading

from flask import current_app, request

log = logging.getLogger(__name__)

WARNED_KEY = "onetimeshare.forwarded_warned"
WARNING = ("X-Forwarded-For arrived but TRUSTED_PROXY_COUNT is 0: the header is ignored and every "
           "client behind the proxy counts as the proxy's address for rate limits and quotas. "
           "Set TRUSTED_PROXY_COUNT to the number of reverse proxies in front "
           "(docs/deployment.md).")


def init_app(app):
    """Watch requests for forwarded headers while no proxy is trusted."""
    if app.config["TRUSTED_PROXY_COUNT"]:
        return
    app.extensions[WARNED_KEY] = threading.Event()
    app.before_request(warn_once_about_untrusted_proxy)


def warn_once_about_untrusted_proxy():
    warned = current_app.extensions[WARNED_KEY]
    if not warned.is_set() and "X-Forwarded-For" in request.headers:
        warned.set()
        log.warning(WARNING)
