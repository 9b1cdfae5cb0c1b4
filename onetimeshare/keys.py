"""Derive every key of a share from its link secret and optional password (protocol.md §2).

One random secret per share feeds HKDF with a distinct label per purpose, so the content key, the
metadata key and the proof sent to the server are independent. A password is stretched with PBKDF2
and mixed into the key material, so it is needed to decrypt, not merely to pass a server check.
"""

import hashlib
import os
import unicodedata
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from .errors import ProtocolError

SECRET_LENGTH = 16
PASSWORD_SALT_LENGTH = 16
PBKDF2_ITERATIONS = 600_000
# Checked when opening a share: the iteration count comes from the server, and a hostile server
# must not be able to make a recipient derive a cheap-to-guess key.
MIN_PBKDF2_ITERATIONS = 600_000
# A hostile server could name an absurd count to stall the client; the server itself refuses
# to store more than this, so no honest share exceeds it.
MAX_PBKDF2_ITERATIONS = 10_000_000
PASSWORD_KEY_LENGTH = 32

CONTENT_INFO = b"OneTimeShare v1 content"
METADATA_INFO = b"OneTimeShare v1 metadata"
AUTH_INFO = b"OneTimeShare v1 auth"
CONTENT_IKM_LENGTH = 16
METADATA_KEY_LENGTH = 32
AUTH_TOKEN_LENGTH = 32


@dataclass(frozen=True)
class PasswordParams:
    """Public parameters of a password-protected share, stored by the server."""

    salt: bytes
    iterations: int


@dataclass(frozen=True)
class ShareKeys:
    """The keys of one share; repr hides them so they never land in a log or traceback."""

    content_ikm: bytes = field(repr=False)
    metadata_key: bytes = field(repr=False)
    auth_token: bytes = field(repr=False)

    @property
    def verifier(self) -> bytes:
        """Return SHA-256(auth_token): what the server stores to check a claim without the token."""
        return hashlib.sha256(self.auth_token).digest()


def new_secret() -> bytes:
    """Return a fresh random link secret, the root of every key of a new share."""
    return os.urandom(SECRET_LENGTH)


def new_password_params() -> PasswordParams:
    """Return fresh PBKDF2 parameters for protecting a new share with a password."""
    return PasswordParams(salt=os.urandom(PASSWORD_SALT_LENGTH), iterations=PBKDF2_ITERATIONS)


def derive_keys(
    secret: bytes, password: str | None = None, params: PasswordParams | None = None
) -> ShareKeys:
    """Derive a share's keys from its secret and, when it has one, its password.

    Raises ProtocolError for a secret of the wrong length or password parameters that are
    malformed or too weak (they may come from a hostile server), and ValueError when the password
    and its parameters are not given together.
    """
    if not isinstance(secret, bytes | bytearray) or len(secret) != SECRET_LENGTH:
        raise ProtocolError(f"the link secret must be exactly {SECRET_LENGTH} bytes")
    if (password is None) != (params is None):
        raise ValueError("a password and its parameters must be given together")
    ikm = bytes(secret)
    if password is not None:
        ikm += _stretch_password(password, params)
    return ShareKeys(
        content_ikm=_hkdf(ikm, CONTENT_INFO, CONTENT_IKM_LENGTH),
        metadata_key=_hkdf(ikm, METADATA_INFO, METADATA_KEY_LENGTH),
        auth_token=_hkdf(ikm, AUTH_INFO, AUTH_TOKEN_LENGTH),
    )


def _stretch_password(password: str, params: PasswordParams) -> bytes:
    """Run PBKDF2 on the password so that each offline guess costs the attacker real work."""
    if not isinstance(password, str):
        raise TypeError("the password must be text")
    # bool is an int subclass; True iterations would be an obvious server bug, not a count.
    if not isinstance(params.iterations, int) or isinstance(params.iterations, bool):
        raise ProtocolError("password iterations must be an integer")
    if params.iterations > MAX_PBKDF2_ITERATIONS:
        raise ProtocolError(
            f"password iterations {params.iterations} exceed the maximum {MAX_PBKDF2_ITERATIONS}"
        )
    if params.iterations < MIN_PBKDF2_ITERATIONS:
        raise ProtocolError(
            f"password iterations {params.iterations} are below the minimum "
            f"{MIN_PBKDF2_ITERATIONS}; refusing a weakened share"
        )
    if not isinstance(params.salt, bytes | bytearray) or len(params.salt) != PASSWORD_SALT_LENGTH:
        raise ProtocolError(f"the password salt must be exactly {PASSWORD_SALT_LENGTH} bytes")
    # NFC first: the same password typed on two systems may arrive composed or decomposed.
    encoded = unicodedata.normalize("NFC", password).encode("utf-8")
    kdf = PBKDF2HMAC(
        algorithm=hashes.SHA256(),
        length=PASSWORD_KEY_LENGTH,
        salt=bytes(params.salt),
        iterations=params.iterations,
    )
    return kdf.derive(encoded)


def _hkdf(ikm: bytes, info: bytes, length: int) -> bytes:
    """Derive one purpose-bound key; salt None is RFC 5869's default of zero bytes."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(ikm)
