"""Encrypt and decrypt a share's metadata: name, type and size, as one opaque blob (§4).

The recipient sees it before anything is consumed: for a share without a password the server
hands it out with the status; for a password share (v2) only the unlock step releases it, once the
password proof is right, so it can never serve to test a password guess offline. Without the
key it is noise.

Version 2 requires `kind`, `name`, `type` and `size` (and `files` for kind "files"): writers
refuse metadata without them, and readers refuse a v2 blob without them (`check_metadata`).
"""

import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .encoding import b64u_decode, b64u_encode
from .errors import DecryptionError, ProtocolError

# Padding to a multiple of this hides the exact length of a file name.
METADATA_PAD = 128
# The server's default limit (`max_metadata_chars` in /api/v1/config, which callers that know
# the server pass as `max_chars`): writers fail early and readers refuse to parse more.
MAX_METADATA_CHARS = 8192
IV_LENGTH = 12
KEY_LENGTH = 32
TAG_LENGTH = 16
KINDS = ("file", "files", "text")
UNKNOWN_TYPE = "application/octet-stream"
TEXT_TYPE = "text/plain;charset=utf-8"


def encrypt_metadata(metadata: dict, key: bytes, *, iv: bytes | None = None,
                     max_chars: int = MAX_METADATA_CHARS) -> str:
    """Encrypt a metadata object into a blob; ``iv`` is for test vectors only, else random.

    Raises ValueError when the blob would exceed what the server stores (``max_chars``, the
    server's `max_metadata_chars`).
    """
    if not isinstance(metadata, dict):
        raise TypeError("metadata must be a JSON object (dict)")
    try:
        check_metadata(metadata)
    except ProtocolError as error:
        raise ValueError(str(error)) from None
    _check_key(key)
    iv = os.urandom(IV_LENGTH) if iv is None else bytes(iv)
    if len(iv) != IV_LENGTH:
        raise ValueError(f"iv must be {IV_LENGTH} bytes")
    # Compact and unescaped, the way JSON.stringify writes it, so both clients produce the same
    # bytes; NaN and Infinity are not JSON and would not survive a browser's parser.
    text = json.dumps(metadata, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    plaintext = text.encode("utf-8")
    # Spaces up to the next multiple; a plaintext already at a multiple gets none.
    plaintext += b" " * (-len(plaintext) % METADATA_PAD)
    blob = b64u_encode(iv + AESGCM(key).encrypt(iv, plaintext, None))
    if len(blob) > max_chars:
        raise ValueError(f"metadata is too large: {len(blob)} > {max_chars} characters")
    return blob


def decrypt_metadata(blob: str, key: bytes, *, max_chars: int = MAX_METADATA_CHARS) -> dict:
    """Decrypt a blob back into its metadata object.

    Raises DecryptionError when the blob does not authenticate (damaged, or wrong key) and
    ProtocolError when it is malformed: bad base64url, too short or long, or not a JSON object.
    Unknown fields are kept; callers ignore what they do not understand.
    """
    _check_key(key)
    if not isinstance(blob, str):
        raise ProtocolError("metadata blob must be text")
    if len(blob) > max_chars:
        raise ProtocolError(f"metadata blob is longer than {max_chars} characters")
    raw = b64u_decode(blob)
    if len(raw) < IV_LENGTH + TAG_LENGTH:
        raise ProtocolError("metadata blob is too short to hold an iv and a tag")
    try:
        plaintext = AESGCM(key).decrypt(raw[:IV_LENGTH], raw[IV_LENGTH:], None)
    except InvalidTag:
        raise DecryptionError("metadata does not authenticate: damaged data or wrong key") from None
    try:
        metadata = json.loads(plaintext.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError) as error:
        raise ProtocolError(f"metadata is not valid UTF-8 JSON: {error}") from None
    if not isinstance(metadata, dict):
        raise ProtocolError("metadata is not a JSON object")
    return metadata


def check_metadata(metadata: dict) -> dict:
    """Return v2 metadata if it has every required field of the right type; else ProtocolError.

    Required: `kind` (file, files or text), `name` (text), `type` (text; writers put
    application/octet-stream when they do not know it), `size` (the unpadded plaintext size,
    an integer >= 0) and, for kind "files", `files` (a list). Other fields are allowed and
    ignored, so later versions can add some.
    """
    if metadata.get("kind") not in KINDS:
        raise ProtocolError(f"metadata kind must be one of {', '.join(KINDS)}")
    for name in ("name", "type"):
        if not isinstance(metadata.get(name), str):
            raise ProtocolError(f"metadata {name} must be text")
    size = metadata.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ProtocolError("metadata size must be an integer >= 0")
    if metadata["kind"] == "files" and not isinstance(metadata.get("files"), list):
        raise ProtocolError("metadata of kind files must list its files")
    return metadata


def complete_metadata(metadata: dict, size: int) -> dict:
    """Return a copy of `metadata` with `size` set and `type` defaulted, ready to encrypt."""
    completed = dict(metadata)
    completed["size"] = size
    if "type" not in completed:
        completed["type"] = TEXT_TYPE if completed.get("kind") == "text" else UNKNOWN_TYPE
    return completed


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes | bytearray) or len(key) != KEY_LENGTH:
        raise ValueError(f"metadata key must be {KEY_LENGTH} bytes")


def _refuse_constant(name: str):
    """Reject NaN and Infinity, which Python's parser accepts but JSON does not define."""
    raise ValueError(f"{name} is not JSON")
