"""Derive every key of a share from its link secret and optional password (protocol.md §2).

One random secret per share feeds HKDF with a distinct label per purpose, so the content key, the
metadata key and the proofs sent to the server are independent. A password is stretched with
PBKDF2 and mixed into the key material, so it is needed to decrypt, not merely to pass a server
check.

Protocol v2 sends the server two proofs. The *access token* comes from the secret alone, so the
server can tell a link holder from someone who only knows the share id before it counts anything.
The *password token* comes from secret and password; the server keeps only its hash and hands the
encrypted metadata out only for the right one, so nothing it gives away lets a guess be tested
offline. Version 1 keys (one auth token from secret and password) are kept for opening v1 links.
"""

import hashlib
import os
import unicodedata
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from .errors import ProtocolError, UnsupportedVersion

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

ACCESS_INFO = b"OneTimeShare v2 access"
CONTENT_INFO = b"OneTimeShare v2 content"
METADATA_INFO = b"OneTimeShare v2 metadata"
PASSWORD_INFO = b"OneTimeShare v2 password"
# Version 1 labels: only for opening links of shares stored before version 2.
V1_CONTENT_INFO = b"OneTimeShare v1 content"
V1_METADATA_INFO = b"OneTimeShare v1 metadata"
V1_AUTH_INFO = b"OneTimeShare v1 auth"

CONTENT_IKM_LENGTH = 16
METADATA_KEY_LENGTH = 32
TOKEN_LENGTH = 32
VERSIONS = (1, 2)


@dataclass(frozen=True)
class PasswordParams:
    """Public parameters of a password-protected share, stored by the server."""

    salt: bytes
    iterations: int


@dataclass(frozen=True)
class ShareKeys:
    """The keys of one share; repr hides them so they never land in a log or traceback.

    `access_token` is the proof sent as `Authorization: Bearer`: in v2 it proves the secret
    alone; in v1 it is the single auth token (from secret and password). `password_token` is the
    v2 proof of secret and password (`X-Password-Proof`), None without a password and in v1.
    """

    version: int
    content_ikm: bytes = field(repr=False)
    metadata_key: bytes = field(repr=False)
    access_token: bytes = field(repr=False)
    password_token: bytes | None = field(default=None, repr=False)

    @property
    def access_verifier(self) -> bytes:
        """Return SHA-256(access_token): what the server stores to check the access proof."""
        return hashlib.sha256(self.access_token).digest()

    @property
    def password_verifier(self) -> bytes | None:
        """Return SHA-256(password_token), stored by the server; None without a password."""
        if self.password_token is None:
            return None
        return hashlib.sha256(self.password_token).digest()


def new_secret() -> bytes:
    """Return a fresh random link secret, the root of every key of a new share."""
    return os.urandom(SECRET_LENGTH)


def new_password_params() -> PasswordParams:
    """Return fresh PBKDF2 parameters for protecting a new share with a password."""
    return PasswordParams(salt=os.urandom(PASSWORD_SALT_LENGTH), iterations=PBKDF2_ITERATIONS)


def derive_keys(
    secret: bytes,
    password: str | None = None,
    params: PasswordParams | None = None,
    *,
    version: int = 2,
) -> ShareKeys:
    """Derive a share's keys from its secret and, when it has one, its password.

    `version` 2 is what every new share uses; 1 opens shares stored before it. Raises
    ProtocolError for a secret of the wrong length or password parameters that are malformed or
    too weak (they may come from a hostile server), UnsupportedVersion for another version, and
    ValueError when the password and its parameters are not given together.
    """
    if version not in VERSIONS or isinstance(version, bool):
        raise UnsupportedVersion(f"this client knows protocol versions 1 and 2, not {version!r}")
    if not isinstance(secret, bytes | bytearray) or len(secret) != SECRET_LENGTH:
        raise ProtocolError(f"the link secret must be exactly {SECRET_LENGTH} bytes")
    if (password is None) != (params is None):
        raise ValueError("a password and its parameters must be given together")
    ikm = bytes(secret)
    if password is not None:
        ikm += _stretch_password(password, params)
    if version == 1:
        return ShareKeys(
            version=1,
            content_ikm=_hkdf(ikm, V1_CONTENT_INFO, CONTENT_IKM_LENGTH),
            metadata_key=_hkdf(ikm, V1_METADATA_INFO, METADATA_KEY_LENGTH),
            access_token=_hkdf(ikm, V1_AUTH_INFO, TOKEN_LENGTH),
        )
    return ShareKeys(
        version=2,
        content_ikm=_hkdf(ikm, CONTENT_INFO, CONTENT_IKM_LENGTH),
        metadata_key=_hkdf(ikm, METADATA_INFO, METADATA_KEY_LENGTH),
        # From the secret alone, whatever the password: the server checks it before it counts.
        access_token=_hkdf(bytes(secret), ACCESS_INFO, TOKEN_LENGTH),
        password_token=None if password is None else _hkdf(ikm, PASSWORD_INFO, TOKEN_LENGTH),
    )


def _stretch_password(password: str, params: PasswordParams) -> bytes:
    """Run PBKDF2 on the password so that each guess costs real work, online or not."""
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
