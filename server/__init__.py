"""Build the OneTimeShare web service: a Flask app that stores only ciphertext in Redis.

Gunicorn serves `server:create_app()`; tests call `create_app({...})` with their own settings.
"""

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import drain, errors, forwarded, metrics_access, security, store, upload_auth
from .config import load_config


def create_app(test_config=None):
    """Create the app: defaults, then the environment, then `test_config`."""
    app = Flask(__name__, static_folder="../static", static_url_path="/static")
    app.config.update(load_config(overrides=test_config))
    app.config.update(
        # Bodies above one chunk are refused before being read; JSON bodies are capped lower.
        MAX_CONTENT_LENGTH=app.config["CHUNK_SIZE"],
        JSON_SORT_KEYS=False,
    )
    proxies = app.config["TRUSTED_PROXY_COUNT"]
    if proxies:
        # The client address, scheme and host are taken from that many X-Forwarded-* entries,
        # counted from the right (the ones the trusted proxies appended); with none they are
        # ignored, so a client cannot pick its own address (server/limits.py counts by it).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    store.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    drain.init_app(app)

    # Imported here, not at the top: gunicorn's master imports this package with its config,
    # and prometheus_client must not load there before PROMETHEUS_MULTIPROC_DIR is set.
    from . import access_log, downloads, health, limits, metrics, pages, uploads

    access_log.init_app(app)
    limits.init_app(app)
    forwarded.init_app(app)
    upload_auth.init_app(app)
    metrics_access.init_app(app)

    app.register_blueprint(health.bp)
    app.register_blueprint(uploads.bp)
    app.register_blueprint(downloads.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(pages.bp)
    return app
