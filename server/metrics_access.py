"""Keep /metrics private: with METRICS_TOKEN set, only `Authorization: Bearer <METRICS_TOKEN>`
reads it; without one, only a client on this machine (a loopback peer) does.

The loopback rule looks at the TCP peer *and* at the client address the trusted proxies report,
and refuses any request that carries X-Forwarded-For: a reverse proxy on the same machine is a
loopback peer, and without this the whole internet would reach /metrics through it. Prometheus
on another machine or container therefore needs the token.
"""

import hmac
import ipaddress

from flask import current_app, request

from . import errors

ENDPOINT = "metrics.metrics"
REALM = 'Bearer realm="OneTimeShare metrics"'


def init_app(app):
    """Guard the metrics route."""
    app.before_request(guard_metrics)


def guard_metrics():
    """Answer 401/403 to a scrape that may not read the metrics; let the others through."""
    if request.endpoint != ENDPOINT:
        return None
    token = current_app.config["METRICS_TOKEN"]
    if token:
        scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not sent.strip():
            response = errors.error_response(
                401, "metrics_token_required",
                "Metrics need 'Authorization: Bearer <METRICS_TOKEN>'.")
            response.headers["WWW-Authenticate"] = REALM
            return response
        if not hmac.compare_digest(sent.strip().encode(), token.encode()):
            return errors.error_response(403, "metrics_token_invalid",
                                         "This metrics token is wrong.")
        return None
    if _from_this_machine():
        return None
    return errors.error_response(
        403, "metrics_forbidden",
        "Metrics are served only to this machine (set METRICS_TOKEN to scrape from elsewhere).")


def _from_this_machine():
    if "X-Forwarded-For" in request.headers:
        return False
    original = request.environ.get("werkzeug.proxy_fix.orig", {}).get("REMOTE_ADDR")
    return all(_loopback(address) for address in (original or request.remote_addr,
                                                  request.remote_addr))


def _loopback(address):
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False  # a unix socket peer has no address: refused, as with an unknown one
    return ip.is_loopback or bool(ip.version == 6 and ip.ipv4_mapped
                                  and ip.ipv4_mapped.is_loopback)
