"""Key derivation: labels, password mixing, NFC, and refusing weak or malformed parameters."""

import hashlib
import hmac

import pytest

from onetimeshare.errors import ProtocolError
from onetimeshare.keys import (
    AUTH_INFO,
    CONTENT_INFO,
    METADATA_INFO,
    MIN_PBKDF2_ITERATIONS,
    PASSWORD_SALT_LENGTH,
    PBKDF2_ITERATIONS,
    SECRET_LENGTH,
    PasswordParams,
    ShareKeys,
    derive_keys,
    new_password_params,
    new_secret,
)

SECRET = bytes(range(16))
PARAMS = PasswordParams(salt=bytes(range(16)), iterations=PBKDF2_ITERATIONS)


def hkdf_by_hand(ikm: bytes, info: bytes, length: int) -> bytes:
    """RFC 5869 spelled out with hmac: an empty salt is 32 zero bytes, one block suffices."""
    prk = hmac.digest(bytes(32), ikm, hashlib.sha256)
    return hmac.digest(prk, info + b"\x01", hashlib.sha256)[:length]


@pytest.fixture(scope="module")
def password_keys():
    """Keys of SECRET with a password; PBKDF2 is slow on purpose, so derive them once."""
    return derive_keys(SECRET, "correct horse", PARAMS)


def test_keys_without_password_follow_rfc5869():
    keys = derive_keys(SECRET)
    assert keys.content_ikm == hkdf_by_hand(SECRET, CONTENT_INFO, 16)
    assert keys.metadata_key == hkdf_by_hand(SECRET, METADATA_INFO, 32)
    assert keys.auth_token == hkdf_by_hand(SECRET, AUTH_INFO, 32)
    assert keys.verifier == hashlib.sha256(keys.auth_token).digest()


def test_labels_are_distinct_and_versioned():
    labels = [CONTENT_INFO, METADATA_INFO, AUTH_INFO]
    assert len(set(labels)) == 3
    assert all(label.startswith(b"OneTimeShare v1 ") for label in labels)


def test_keys_are_deterministic_and_depend_on_the_secret():
    assert derive_keys(SECRET) == derive_keys(bytearray(SECRET))
    assert derive_keys(SECRET) != derive_keys(bytes(16))


def test_password_keys_mix_in_pbkdf2(password_keys):
    stretched = hashlib.pbkdf2_hmac("sha256", b"correct horse", PARAMS.salt, PARAMS.iterations)
    assert password_keys.content_ikm == hkdf_by_hand(SECRET + stretched, CONTENT_INFO, 16)
    assert password_keys.auth_token == hkdf_by_hand(SECRET + stretched, AUTH_INFO, 32)
    assert password_keys != derive_keys(SECRET)


def test_wrong_password_gives_different_keys(password_keys):
    other = derive_keys(SECRET, "correct horsE", PARAMS)
    assert other.content_ikm != password_keys.content_ikm
    assert other.verifier != password_keys.verifier


def test_salt_changes_the_keys(password_keys):
    params = PasswordParams(salt=bytes(16), iterations=PBKDF2_ITERATIONS)
    assert derive_keys(SECRET, "correct horse", params) != password_keys


def test_password_is_normalized_to_nfc():
    composed, decomposed = "caf\u00e9 \u2713", "cafe\u0301 \u2713"
    assert derive_keys(SECRET, composed, PARAMS) == derive_keys(SECRET, decomposed, PARAMS)


@pytest.mark.parametrize(
    "secret",
    [b"", bytes(15), bytes(17), bytes(32), "A" * 16, None],
    ids=["empty", "15 bytes", "17 bytes", "32 bytes", "text", "None"],
)
def test_secret_of_wrong_length_or_type_is_refused(secret):
    with pytest.raises(ProtocolError):
        derive_keys(secret)


@pytest.mark.parametrize(
    "params",
    [
        PasswordParams(salt=bytes(16), iterations=MIN_PBKDF2_ITERATIONS - 1),
        PasswordParams(salt=bytes(16), iterations=100),
        PasswordParams(salt=bytes(16), iterations=10_000_001),
        PasswordParams(salt=bytes(16), iterations=0),
        PasswordParams(salt=bytes(16), iterations=-600_000),
        PasswordParams(salt=bytes(16), iterations=True),
        PasswordParams(salt=bytes(16), iterations=600_000.0),
        PasswordParams(salt=bytes(16), iterations="600000"),
        PasswordParams(salt=bytes(15), iterations=PBKDF2_ITERATIONS),
        PasswordParams(salt=b"", iterations=PBKDF2_ITERATIONS),
        PasswordParams(salt="A" * 16, iterations=PBKDF2_ITERATIONS),
    ],
    ids=[
        "one below minimum", "100 (Firefox Send)", "above maximum", "zero", "negative", "bool",
        "float", "text", "short salt", "empty salt", "text salt",
    ],
)
def test_weak_or_malformed_password_params_are_refused(params):
    """These come from the server when opening a share; a hostile one must not weaken the key."""
    with pytest.raises(ProtocolError):
        derive_keys(SECRET, "password", params)


@pytest.mark.parametrize(
    ("password", "params"), [("password", None), (None, PARAMS)], ids=["no params", "no password"]
)
def test_password_and_params_come_together(password, params):
    with pytest.raises(ValueError):
        derive_keys(SECRET, password, params)


def test_new_secret_is_random():
    secrets = {new_secret() for _ in range(8)}
    assert len(secrets) == 8
    assert all(len(secret) == SECRET_LENGTH for secret in secrets)


def test_new_password_params():
    one, two = new_password_params(), new_password_params()
    assert len(one.salt) == PASSWORD_SALT_LENGTH
    assert one.iterations == PBKDF2_ITERATIONS >= MIN_PBKDF2_ITERATIONS
    assert one.salt != two.salt


def test_keys_stay_out_of_repr():
    keys = derive_keys(SECRET)
    text = repr(keys)
    assert keys.content_ikm.hex() not in text and repr(keys.content_ikm) not in text
    assert repr(keys.auth_token) not in text
    assert isinstance(keys, ShareKeys)
