"""Exceptions of the client library, so callers can tell bad data from a bad key from a bug."""


class OneTimeShareError(Exception):
    """Base class: catch this to handle every failure of a share's cryptography or format."""


class IntegrityError(OneTimeShareError):
    """Refuse data that does not authenticate: it was damaged, truncated, reordered, or the key
    (secret or password) is wrong. Cryptography cannot tell these apart, so neither do we."""

    def __init__(self, message: str = "decryption failed: damaged data or wrong key") -> None:
        super().__init__(message)


class ProtocolError(OneTimeShareError):
    """Refuse malformed input (bad header field, bad base64, bad link) before any decryption."""


class UnsupportedVersion(ProtocolError):
    """Refuse a share whose protocol version this client does not know."""
