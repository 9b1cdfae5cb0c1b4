# OneTimeShare: gunicorn serving `server:create_app()`, configured only through environment
# variables (README.md lists them; docs/deployment.md covers the container-specific ones).
#
#   docker build -t onetimeshare .
#   docker run --rm -p 127.0.0.1:8000:8000 -e REDIS_URL=redis://redis.example:6379/0 onetimeshare
#
# compose.yaml runs it next to its own Redis. tests/test_deployment.py lints this file and replays
# it without Docker: the builder's RUN lines, then the final stage's files, ENV, CMD, HEALTHCHECK.

# Both stages use the same base so that the venv's interpreter symlinks stay valid. The tag pins
# the Python minor version and the Debian release; rebuilding picks up patch and security
# releases. For byte-for-byte reproducible builds, pin a digest: python:3.11-slim-bookworm@sha256:…
FROM python:3.11-slim-bookworm AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore

# Python 3.11's venv comes with setuptools 65.5.0, which has known CVEs; nothing the service
# runs needs setuptools, so it is removed rather than carried.
RUN python -m venv /opt/venv && /opt/venv/bin/pip uninstall --yes --quiet setuptools

# The lock file alone first: this slow layer is rebuilt only when the pins change, not on every
# code change. Wheels only (no compiler exists here, nor needs to), exactly the pinned versions
# (--no-deps), then `pip check` fails the build if the lock misses a dependency.
COPY requirements.lock /tmp/requirements.lock
RUN /opt/venv/bin/pip install --no-deps --only-binary=:all: -r /tmp/requirements.lock \
    && /opt/venv/bin/pip check


FROM python:3.11-slim-bookworm

LABEL org.opencontainers.image.title="OneTimeShare" \
      org.opencontainers.image.description="Self-hosted, zero-knowledge, one-time sharing of files and notes." \
      org.opencontainers.image.licenses="MIT"

# A fixed, numeric, unprivileged user: Kubernetes' runAsNonRoot can verify it, and volume
# ownership stays the same across rebuilds. No home directory: nothing is kept outside /data.
RUN groupadd --system --gid 10001 onetimeshare \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin onetimeshare \
    && install --directory --owner=10001 --group=10001 --mode=0700 /data

# Only the venv leaves the builder. The code stays owned by root: the service cannot change it.
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
COPY pyproject.toml README.md ./
COPY server/ server/
COPY onetimeshare/ onetimeshare/
COPY static/ static/
RUN python -m compileall -q server onetimeshare

# BIND and DATA_DIR are the service's own settings (README.md); DATA_DIR is used only by the
# embedded Redis, i.e. when REDIS_URL is unset (x86_64 images only: see requirements.lock).
# Gunicorn (>= 25) would open a control socket under $HOME; this image has no use for one.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GUNICORN_CMD_ARGS=--no-control-socket \
    BIND=0.0.0.0:8000 \
    DATA_DIR=/data
VOLUME ["/data"]
USER 10001:10001
EXPOSE 8000

# Liveness only (it never touches Redis). Slim images have no curl; the port follows BIND.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('BIND', '0.0.0.0:8000').rsplit(':', 1)[-1]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"]

CMD ["gunicorn", "-c", "python:server.gunicorn_conf", "server:create_app()"]
