"""Decide who may create shares: anyone (the default), holders of an upload token, or users a
trusted reverse proxy has signed in. Downloads never need a credential.

Upload tokens live in UPLOAD_TOKENS_FILE as `name sha256hex` lines (`#` comments and blank
lines allowed): the server keeps only hashes, so the file leaks no token. `python -m
server.upload_tokens NAME` draws a token and prints its line once. The file is read at start-up
(a malformed line stops the app) and again whenever it changes, so tokens are added or revoked
without a restart; a later broken edit is logged and the previous tokens stay in force.

TRUSTED_USER_HEADER names a header (e.g. `X-Forwarded-User`, `Remote-User`) that an
authenticating proxy in front (oauth2-proxy, Authelia, Caddy forward_auth) sets for signed-in
users. config.py refuses it without TRUSTED_PROXY_COUNT: only a proxy may vouch for a user, and
that proxy must overwrite any copy of the header a client sends.

The credential also names the sender for the stored-bytes quota (server/quota.py): one token or
one user, wherever it uploads from.
"""

import hashlib
import hmac
import logging
import os
import re
import threading

from flask import current_app, g, request

from . import errors
from .config import ConfigError

log = logging.getLogger(__name__)

EXTENSION_KEY = "onetimeshare.upload_tokens"
CREATE_ENDPOINT = "uploads.create"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}")
LINE = re.compile(rf"({NAME.pattern})\s+([0-9a-f]{{64}})")
MAX_TOKEN_CHARS = 512
MAX_USER_CHARS = 256
REALM = 'Bearer realm="OneTimeShare uploads"'


def init_app(app):
    """Load the upload tokens (if any) and guard the create route."""
    path = app.config["UPLOAD_TOKENS_FILE"]
    app.extensions[EXTENSION_KEY] = TokenFile(path) if path else None
    app.before_request(check_uploader)


def config_fields(config):
    """Return what GET /api/v1/config says about upload credentials."""
    return {"upload_token_required": bool(config["UPLOAD_TOKENS_FILE"])}


def check_uploader():
    """Refuse a create without a valid credential when credentials are on; name the sender."""
    if request.endpoint != CREATE_ENDPOINT:
        return None
    tokens = current_app.extensions[EXTENSION_KEY]
    header = current_app.config["TRUSTED_USER_HEADER"]
    if not tokens and not header:
        return None
    user = request.headers.get(header, "").strip() if header else ""
    if user:
        g.uploader = f"user:{user[:MAX_USER_CHARS]}"
        return None
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if not tokens or scheme.lower() != "bearer" or not token:
        if tokens:
            message = ("This server accepts new shares only with an upload token from its "
                       "operator, sent as 'Authorization: Bearer <token>'.")
        else:
            message = "This server accepts new shares only from users signed in through it."
        response = errors.error_response(401, "upload_token_required", message)
        response.headers["WWW-Authenticate"] = REALM
        return response
    name = tokens.name_of(token)
    if name is None:
        return errors.error_response(
            403, "upload_token_invalid",
            "This upload token is not valid on this server (unknown or revoked). Ask the "
            "server's operator for a new one.")
    g.uploader = f"token:{name}"
    return None


class TokenFile:
    """The upload tokens' hashes, re-read from their file whenever it changes."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        try:
            self.stamp = self._stamp()
            self.hashes = parse(self._read())
        except OSError as error:
            raise ConfigError(f"UPLOAD_TOKENS_FILE {path!r} cannot be read: "
                              f"{error.strerror}") from None

    def name_of(self, token):
        """Return the name of `token`, or None; every entry is compared in constant time."""
        if len(token) > MAX_TOKEN_CHARS:
            return None
        self._reload_if_changed()
        digest = hashlib.sha256(token.encode()).hexdigest()
        found = None
        for stored, name in self.hashes.items():
            if hmac.compare_digest(stored, digest):
                found = name
        return found

    def _stamp(self):
        info = os.stat(self.path)
        return info.st_mtime_ns, info.st_size, info.st_ino

    def _read(self):
        with open(self.path, encoding="utf-8") as file:
            return file.read()

    def _reload_if_changed(self):
        try:
            stamp = self._stamp()
        except OSError as error:
            log.error("UPLOAD_TOKENS_FILE cannot be read (%s); keeping the tokens loaded before",
                      error.strerror)
            return
        if stamp == self.stamp:
            return
        with self.lock:
            try:
                self.hashes = parse(self._read())
                log.info("upload tokens reloaded: %d", len(self.hashes))
            except (OSError, ConfigError) as error:
                log.error("UPLOAD_TOKENS_FILE not reloaded (%s); keeping the tokens loaded "
                          "before", error)
            self.stamp = stamp


def parse(text):
    """Return {sha256 hex: name} from the file's text; ConfigError names a bad line's number."""
    hashes = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = LINE.fullmatch(line)
        if not match:
            raise ConfigError(f"UPLOAD_TOKENS_FILE line {number}: expected 'name sha256hex' "
                              "(name: letters, digits, . _ @ + -; 64 lowercase hex digits)")
        name, digest = match.groups()
        if name in hashes.values():
            raise ConfigError(f"UPLOAD_TOKENS_FILE line {number}: the name {name!r} is taken")
        hashes[digest] = name
    return hashes
