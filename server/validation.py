"""Check what clients send before it reaches the store.

Every check raises a 400-class HTTP error with a message that says what to fix. The create body
is checked strictly: an unknown field is refused, so a client bug cannot slip a file name or a key
into the server's storage by accident.
"""

import json
import re
from datetime import UTC, datetime

from flask import abort, request
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized

SHARE_ID = re.compile(r"[A-Za-z0-9_-]{22}")
TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # base64url of 32 bytes, no padding
B64U = re.compile(r"[A-Za-z0-9_-]*")
PROTOCOL_VERSIONS = (1,)
MIN_CIPHERTEXT_BYTES = 21 + 17  # RFC 8188 header plus one empty record
MIN_METADATA_CHARS = 38  # base64url of a 12-byte IV and a 16-byte tag
PASSWORD_SALT_CHARS = 22  # base64url of 16 bytes
MIN_PBKDF2_ITERATIONS = 600_000
MAX_PBKDF2_ITERATIONS = 10_000_000
MAX_JSON_BYTES = 64 * 1024
CREATE_FIELDS = {"version", "size", "expires_in", "downloads", "verifier", "metadata", "password"}


def share_id(value):
    """Return `value` if it can be a share id; otherwise answer 404 without asking Redis."""
    if not SHARE_ID.fullmatch(value):
        abort(404, description="No share with this id exists, or it has expired.")
    return value


def bearer_token(what):
    """Return the request's bearer token, or answer 401 naming the token that is needed."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            description=f"This request needs the {what} as an 'Authorization: Bearer' header.",
            www_authenticate=WWWAuthenticate("bearer"),
        )
    token = token.strip()
    if not TOKEN.fullmatch(token):
        abort(400, description=f"The {what} is malformed: expected 43 base64url characters.")
    return token


def json_object():
    """Return the request's JSON object body, or answer 400/413/415.

    The body is read with a cap, so a chunked upload without Content-Length cannot smuggle in
    more than MAX_JSON_BYTES either.
    """
    too_large = f"A JSON body may hold at most {MAX_JSON_BYTES} bytes."
    if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
        abort(413, description=too_large)
    if not request.is_json:
        abort(415, description="Send a JSON body with 'Content-Type: application/json'.")
    raw = request.stream.read(MAX_JSON_BYTES + 1)
    if len(raw) > MAX_JSON_BYTES:
        abort(413, description=too_large)
    try:
        body = json.loads(raw)
    except ValueError:  # bad JSON, and bytes that are not UTF-8 (UnicodeDecodeError)
        body = None
    if not isinstance(body, dict):
        abort(400, description="The body must be a JSON object.")
    return body


def create_request(body, config):
    """Validate a create body against the configured limits; return normalized values."""
    unknown = sorted(set(body) - CREATE_FIELDS)
    if unknown:
        abort(400, description=f"Unknown field(s): {', '.join(unknown)}.")
    version = body.get("version", 1)
    if not _is_int(version) or version not in PROTOCOL_VERSIONS:
        abort(400, description=f"Unsupported protocol version; this server speaks "
                               f"{list(PROTOCOL_VERSIONS)}.")
    size = _int_field(body, "size", None, MIN_CIPHERTEXT_BYTES, config["MAX_SHARE_BYTES"])
    expires_in = _int_field(body, "expires_in", config["DEFAULT_EXPIRY_SECONDS"],
                            config["MIN_EXPIRY_SECONDS"],
                            config["MAX_EXPIRY_SECONDS"])
    downloads = _int_field(body, "downloads", 1, 1, config["MAX_DOWNLOADS"])
    verifier = body.get("verifier")
    if not isinstance(verifier, str) or not TOKEN.fullmatch(verifier):
        abort(400, description="'verifier' must be base64url of SHA-256(auth token), 43 chars.")
    metadata = body.get("metadata")
    if (not isinstance(metadata, str) or not B64U.fullmatch(metadata)
            or not MIN_METADATA_CHARS <= len(metadata) <= config["MAX_METADATA_CHARS"]):
        abort(400, description=f"'metadata' must be base64url ciphertext of "
                               f"{MIN_METADATA_CHARS} to {config['MAX_METADATA_CHARS']} chars.")
    return {
        "version": version, "size": size, "expires_in": expires_in, "downloads": downloads,
        "verifier": verifier, "metadata": metadata, "password": _password(body.get("password")),
    }


def _password(value):
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"salt", "iterations"}:
        abort(400, description="'password' must be null or {\"salt\": ..., \"iterations\": ...}.")
    salt = value["salt"]
    if not isinstance(salt, str) or len(salt) != PASSWORD_SALT_CHARS or not B64U.fullmatch(salt):
        abort(400, description="'password.salt' must be base64url of 16 bytes.")
    iterations = _int_field(value, "iterations", None, MIN_PBKDF2_ITERATIONS,
                            MAX_PBKDF2_ITERATIONS, label="password.iterations")
    return {"salt": salt, "iterations": iterations}


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _int_field(body, name, default, low, high, label=None):
    value = body.get(name, default)
    if not _is_int(value) or not low <= value <= high:
        abort(400, description=f"'{label or name}' must be a whole number from {low} to {high}.")
    return value


def iso_time(epoch_ms):
    """Format Redis's millisecond timestamps as ISO 8601 UTC, the API's time format."""
    if epoch_ms in (None, ""):
        return None
    moment = datetime.fromtimestamp(int(epoch_ms) / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
