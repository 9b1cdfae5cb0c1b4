"""Key derivation: labels, the two v2 proofs, password mixing, NFC, v1 keys for old links, and
refusing weak or malformed parameters."""

import hashlib
import hmac

import pytest

from onetimeshare.errors import ProtocolError, UnsupportedVersion
from onetimeshare.keys import (
    ACCESS_INFO,
    CONTENT_INFO,
    METADATA_INFO,
    MIN_PBKDF2_ITERATIONS,
    PASSWORD_INFO,
    PASSWORD_SALT_LENGTH,
    PBKDF2_ITERATIONS,
    SECRET_LENGTH,
    V1_AUTH_INFO,
    V1_CONTENT_INFO,
    V1_METADATA_INFO,
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
    assert keys.version == 2
    assert keys.content_ikm == hkdf_by_hand(SECRET, CONTENT_INFO, 16)
    assert keys.metadata_key == hkdf_by_hand(SECRET, METADATA_INFO, 32)
    assert keys.access_token == hkdf_by_hand(SECRET, ACCESS_INFO, 32)
    assert keys.access_verifier == hashlib.sha256(keys.access_token).digest()
    assert keys.password_token is None and keys.password_verifier is None


def test_labels_are_distinct_and_versioned():
    labels = [ACCESS_INFO, CONTENT_INFO, METADATA_INFO, PASSWORD_INFO]
    assert len(set(labels)) == 4
    assert all(label.startswith(b"OneTimeShare v2 ") for label in labels)
    old = [V1_CONTENT_INFO, V1_METADATA_INFO, V1_AUTH_INFO]
    assert all(label.startswith(b"OneTimeShare v1 ") for label in old)


def test_v1_keys_for_old_links_use_the_v1_labels():
    keys = derive_keys(SECRET, version=1)
    assert keys.version == 1
    assert keys.content_ikm == hkdf_by_hand(SECRET, V1_CONTENT_INFO, 16)
    assert keys.metadata_key == hkdf_by_hand(SECRET, V1_METADATA_INFO, 32)
    assert keys.access_token == hkdf_by_hand(SECRET, V1_AUTH_INFO, 32)
    assert keys.password_token is None


def test_v1_password_keys_have_one_token_from_secret_and_password():
    stretched = hashlib.pbkdf2_hmac("sha256", b"pw", PARAMS.salt, PARAMS.iterations)
    keys = derive_keys(SECRET, "pw", PARAMS, version=1)
    assert keys.access_token == hkdf_by_hand(SECRET + stretched, V1_AUTH_INFO, 32)
    assert keys.password_token is None


@pytest.mark.parametrize("version", [0, 3, True, "2"])
def test_unknown_versions_are_refused(version):
    with pytest.raises(UnsupportedVersion):
        derive_keys(SECRET, version=version)


def test_keys_are_deterministic_and_depend_on_the_secret():
    assert derive_keys(SECRET) == derive_keys(bytearray(SECRET))
    assert derive_keys(SECRET) != derive_keys(bytes(16))


def test_password_keys_mix_in_pbkdf2(password_keys):
    stretched = hashlib.pbkdf2_hmac("sha256", b"correct horse", PARAMS.salt, PARAMS.iterations)
    assert password_keys.content_ikm == hkdf_by_hand(SECRET + stretched, CONTENT_INFO, 16)
    assert password_keys.metadata_key == hkdf_by_hand(SECRET + stretched, METADATA_INFO, 32)
    assert password_keys.password_token == hkdf_by_hand(SECRET + stretched, PASSWORD_INFO, 32)
    assert password_keys.password_verifier == hashlib.sha256(
        password_keys.password_token).digest()
    assert password_keys != derive_keys(SECRET)


def test_access_token_proves_the_secret_alone(password_keys):
    """The server checks it first, so a wrong password can only be counted for link holders."""
    assert password_keys.access_token == derive_keys(SECRET).access_token
    assert password_keys.access_token == hkdf_by_hand(SECRET, ACCESS_INFO, 32)
    assert derive_keys(bytes(16)).access_token != password_keys.access_token


def test_wrong_password_gives_different_keys(password_keys):
    other = derive_keys(SECRET, "correct horsE", PARAMS)
    assert other.content_ikm != password_keys.content_ikm
    assert other.password_verifier != password_keys.password_verifier
    assert other.access_verifier == password_keys.access_verifier


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
    assert repr(keys.access_token) not in text
    assert isinstance(keys, ShareKeys)
