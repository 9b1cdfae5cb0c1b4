"""Answer liveness and readiness probes, and serve the OpenAPI document.

`/healthz` says the process serves requests (it never touches Redis, so a Redis outage does not
get healthy workers restarted); `/readyz` says it can serve shares right now.
"""

import json
from importlib import resources

from flask import Blueprint, current_app, jsonify

from . import store

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Report that the process is alive."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Report whether Redis answers; 503 with Retry-After when it does not."""
    try:
        store.ping()
    except store.StorageUnavailable:
        response = jsonify(status="unavailable", redis="down")
        response.status_code = 503
        response.headers["Retry-After"] = str(current_app.config["REDIS_RETRY_AFTER"])
        return response
    return jsonify(status="ready", redis="up")


@bp.get("/api/v1/openapi.json")
def openapi():
    """Serve the OpenAPI 3.1 document that describes the whole API."""
    return jsonify(load_openapi())


def load_openapi():
    """Return the OpenAPI document shipped with the package."""
    text = resources.files(__package__).joinpath("openapi.json").read_text("utf-8")
    return json.loads(text)
