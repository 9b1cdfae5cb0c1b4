"""Encode bytes as base64url without padding (RFC 4648 §5), the only base64 of the protocol."""

import base64
import binascii
import re

from .errors import ProtocolError

# Only the URL-safe alphabet, no "=": links, headers and JSON all carry this form.
_B64U = re.compile(r"[A-Za-z0-9_-]*")


def b64u_encode(data: bytes) -> str:
    """Encode bytes as unpadded base64url text."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str) -> bytes:
    """Decode unpadded base64url text strictly, raising ProtocolError on anything else.

    Strict means: no padding, no white space, no characters outside the URL-safe alphabet, and
    only the canonical spelling (unused trailing bits must be zero). Each byte string then has
    exactly one encoding, so two implementations can never disagree about what a value means.
    """
    if not isinstance(text, str):
        raise ProtocolError(f"base64url value must be text, not {type(text).__name__}")
    if not _B64U.fullmatch(text):
        raise ProtocolError("base64url value contains characters outside A-Z a-z 0-9 - _")
    if len(text) % 4 == 1:
        raise ProtocolError("base64url value has an impossible length")
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except binascii.Error as error:  # pragma: no cover - the checks above leave nothing to fail
        raise ProtocolError(f"bad base64url value: {error}") from None
    if b64u_encode(data) != text:
        raise ProtocolError("base64url value is not in canonical form (non-zero trailing bits)")
    return data
