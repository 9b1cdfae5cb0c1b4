"""Encrypt and decrypt a share's metadata: name, type and size, as one opaque blob (§4).

The server hands the blob to anyone who asks for a share's status, so the recipient can see what
they are about to open before anything is consumed; without the secret it is noise.
"""

import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .encoding import b64u_decode, b64u_encode
from .errors import IntegrityError, ProtocolError

# Padding to a multiple of this hides the exact length of a file name.
METADATA_PAD = 128
# The server refuses longer blobs, so writers fail early and readers refuse to parse more.
MAX_METADATA_CHARS = 8192
IV_LENGTH = 12
KEY_LENGTH = 32
TAG_LENGTH = 16


def encrypt_metadata(metadata: dict, key: bytes, *, iv: bytes | None = None) -> str:
    """Encrypt a metadata object into a blob; ``iv`` is for test vectors only, else random.

    Raises ValueError when the blob would exceed what the server stores (MAX_METADATA_CHARS).
    """
    if not isinstance(metadata, dict):
        raise TypeError("metadata must be a JSON object (dict)")
    _check_key(key)
    iv = os.urandom(IV_LENGTH) if iv is None else bytes(iv)
    if len(iv) != IV_LENGTH:
        raise ValueError(f"iv must be {IV_LENGTH} bytes")
    # Compact and unescaped, the way JSON.stringify writes it, so both clients produce the same
    # bytes; NaN and Infinity are not JSON and would not survive a browser's parser.
    text = json.dumps(metadata, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    plaintext = text.encode("utf-8")
    plaintext += b" " * (-len(plaintext) % METADATA_PAD)
    blob = b64u_encode(iv + AESGCM(key).encrypt(iv, plaintext, None))
    if len(blob) > MAX_METADATA_CHARS:
        raise ValueError(f"metadata is too large: {len(blob)} > {MAX_METADATA_CHARS} characters")
    return blob


def decrypt_metadata(blob: str, key: bytes) -> dict:
    """Decrypt a blob back into its metadata object.

    Raises IntegrityError when the blob does not authenticate (damaged, or wrong key) and
    ProtocolError when it is malformed: bad base64url, too short or long, or not a JSON object.
    Unknown fields are kept; callers ignore what they do not understand.
    """
    _check_key(key)
    if not isinstance(blob, str):
        raise ProtocolError("metadata blob must be text")
    if len(blob) > MAX_METADATA_CHARS:
        raise ProtocolError(f"metadata blob is longer than {MAX_METADATA_CHARS} characters")
    raw = b64u_decode(blob)
    if len(raw) < IV_LENGTH + TAG_LENGTH:
        raise ProtocolError("metadata blob is too short to hold an iv and a tag")
    try:
        plaintext = AESGCM(key).decrypt(raw[:IV_LENGTH], raw[IV_LENGTH:], None)
    except InvalidTag:
        raise IntegrityError("metadata does not authenticate: damaged data or wrong key") from None
    try:
        metadata = json.loads(plaintext.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError) as error:
        raise ProtocolError(f"metadata is not valid UTF-8 JSON: {error}") from None
    if not isinstance(metadata, dict):
        raise ProtocolError("metadata is not a JSON object")
    return metadata


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes | bytearray) or len(key) != KEY_LENGTH:
        raise ValueError(f"metadata key must be {KEY_LENGTH} bytes")


def _refuse_constant(name: str):
    """Reject NaN and Infinity, which Python's parser accepts but JSON does not define."""
    raise ValueError(f"{name} is not JSON")
