"""Check what clients send before it reaches the store.

Every check refuses with a 400-class answer, a stable code and a message that says what to fix.
The create body is checked strictly: an unknown field is refused, so a client bug cannot slip a
file name or a key into the server's storage by accident. A token that is missing is not refused
here: the store checks the share's state first and then answers the code of the missing proof.
"""

import json
import re
from datetime import UTC, datetime

from flask import request

from .errors import refuse

SHARE_ID = re.compile(r"[A-Za-z0-9_-]{22}")
TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # base64url of 32 bytes, no padding
B64U = re.compile(r"[A-Za-z0-9_-]*")
#: Versions of the protocol new shares may use; stored version 1 shares are still served.
CREATE_VERSIONS = (2,)
MIN_CIPHERTEXT_BYTES = 21 + 17  # RFC 8188 header plus one empty record
MIN_METADATA_CHARS = 38  # base64url of a 12-byte IV and a 16-byte tag
PASSWORD_SALT_CHARS = 22  # base64url of 16 bytes
MIN_PBKDF2_ITERATIONS = 600_000
MAX_PBKDF2_ITERATIONS = 10_000_000
MAX_JSON_BYTES = 64 * 1024
CREATE_FIELDS = {"version", "size", "expires_in", "downloads", "verifier", "metadata", "password"}
PASSWORD_FIELDS = {"salt", "iterations", "verifier"}
PASSWORD_PROOF = "X-Password-Proof"


def bad_request(message):
    """Refuse a malformed body, header or parameter (400 `invalid_request`)."""
    refuse(400, "invalid_request", message)


def share_id(value):
    """Return `value` if it can be a share id; otherwise answer 404 without asking Redis."""
    if not SHARE_ID.fullmatch(value):
        refuse(404, "not_found", "No share with this id exists, or it has expired.")
    return value


def bearer_token(what):
    """Return the request's bearer token, None when there is none; 400 when it is malformed.

    A missing token is the store's to refuse, after the share's state: a consumed share then
    says so whoever asks, and the answer names the token that is missing (a 403 with its code).
    """
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return _token(token.strip(), what)


def password_proof():
    """Return the X-Password-Proof header's token, None when absent; 400 when malformed."""
    token = request.headers.get(PASSWORD_PROOF, "").strip()
    return _token(token, "password proof") if token else None


def _token(token, what):
    if not TOKEN.fullmatch(token):
        bad_request(f"The {what} is malformed: expected 43 base64url characters.")
    return token


def json_object():
    """Return the request's JSON object body, or answer 400/413/415.

    The body is read with a cap, so a chunked upload without Content-Length cannot smuggle in
    more than MAX_JSON_BYTES either.
    """
    too_large = f"A JSON body may hold at most {MAX_JSON_BYTES} bytes."
    if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
        refuse(413, "too_large", too_large)
    if not request.is_json:
        refuse(415, "invalid_request", "Send a JSON body with 'Content-Type: application/json'.")
    raw = request.stream.read(MAX_JSON_BYTES + 1)
    if len(raw) > MAX_JSON_BYTES:
        refuse(413, "too_large", too_large)
    try:
        body = json.loads(raw)
    except ValueError:  # bad JSON, and bytes that are not UTF-8 (UnicodeDecodeError)
        body = None
    if not isinstance(body, dict):
        bad_request("The body must be a JSON object.")
    return body


def create_request(body, config):
    """Validate a create body against the configured limits; return normalized values."""
    unknown = sorted(set(body) - CREATE_FIELDS)
    if unknown:
        bad_request(f"Unknown field(s): {', '.join(unknown)}.")
    version = body.get("version")
    if not _is_int(version) or version not in CREATE_VERSIONS:
        refuse(400, "unsupported_version",
               f"This server creates shares of protocol version {list(CREATE_VERSIONS)} only.")
    size = _int_field(body, "size", None, MIN_CIPHERTEXT_BYTES, config["MAX_SHARE_BYTES"])
    expires_in = _int_field(body, "expires_in", config["DEFAULT_EXPIRY_SECONDS"],
                            config["MIN_EXPIRY_SECONDS"],
                            config["MAX_EXPIRY_SECONDS"])
    downloads = _int_field(body, "downloads", 1, 1, config["MAX_DOWNLOADS"])
    verifier = body.get("verifier")
    if not isinstance(verifier, str) or not TOKEN.fullmatch(verifier):
        bad_request("'verifier' must be base64url of SHA-256(access token), 43 chars.")
    metadata = body.get("metadata")
    if (not isinstance(metadata, str) or not B64U.fullmatch(metadata)
            or not MIN_METADATA_CHARS <= len(metadata) <= config["MAX_METADATA_CHARS"]):
        bad_request(f"'metadata' must be base64url ciphertext of "
                    f"{MIN_METADATA_CHARS} to {config['MAX_METADATA_CHARS']} chars.")
    return {
        "version": version, "size": size, "expires_in": expires_in, "downloads": downloads,
        "verifier": verifier, "metadata": metadata, "password": _password(body.get("password")),
    }


def _password(value):
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != PASSWORD_FIELDS:
        bad_request("'password' must be null or {\"salt\": ..., \"iterations\": ..., "
                    "\"verifier\": ...}.")
    salt = value["salt"]
    if not isinstance(salt, str) or len(salt) != PASSWORD_SALT_CHARS or not B64U.fullmatch(salt):
        bad_request("'password.salt' must be base64url of 16 bytes.")
    iterations = _int_field(value, "iterations", None, MIN_PBKDF2_ITERATIONS,
                            MAX_PBKDF2_ITERATIONS, label="password.iterations")
    verifier = value["verifier"]
    if not isinstance(verifier, str) or not TOKEN.fullmatch(verifier):
        bad_request("'password.verifier' must be base64url of SHA-256(password token), 43 chars.")
    return {"salt": salt, "iterations": iterations, "verifier": verifier}


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _int_field(body, name, default, low, high, label=None):
    value = body.get(name, default)
    if not _is_int(value) or not low <= value <= high:
        bad_request(f"'{label or name}' must be a whole number from {low} to {high}.")
    return value


def iso_time(epoch_ms):
    """Format Redis's millisecond timestamps as ISO 8601 UTC, the API's time format."""
    if epoch_ms in (None, ""):
        return None
    moment = datetime.fromtimestamp(int(epoch_ms) / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
