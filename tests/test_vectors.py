"""The shared vectors in tests/vectors/: this implementation reproduces every case, and
regenerating them gives the same bytes (the browser implementation runs against them too)."""

import hashlib
import json
from pathlib import Path

import pytest

from onetimeshare import PROTOCOL_VERSION
from onetimeshare.ece import (
    RECORD_SIZE,
    Decryptor,
    Encryptor,
    RecordCipher,
    encrypted_size,
    padded_length,
    padded_size,
)
from onetimeshare.encoding import b64u_decode, b64u_encode
from onetimeshare.errors import DecryptionError, ProtocolError
from onetimeshare.keys import PasswordParams, derive_keys
from onetimeshare.metadata import decrypt_metadata, encrypt_metadata
from tests.vectors.generate import VECTOR_FILES, pattern, write_vectors

VECTORS = Path(__file__).resolve().parent / "vectors"
ERRORS = {"integrity": DecryptionError, "protocol": ProtocolError}


def load(name: str) -> dict:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


def cases(name: str, group: str = "cases") -> list:
    return load(name)[group]


def decrypt(body: bytes, ikm: bytes) -> bytes:
    decryptor = Decryptor(ikm)
    return decryptor.update(body) + decryptor.finalize()


@pytest.mark.parametrize("name", sorted(VECTOR_FILES))
def test_file_shape(name):
    document = load(name)
    assert document["version"] == PROTOCOL_VERSION
    assert document["description"]
    assert document["cases"]


def test_no_stray_vector_files():
    assert sorted(path.name for path in VECTORS.glob("*.json")) == sorted(VECTOR_FILES)


def test_regenerating_gives_identical_files(tmp_path):
    for path in write_vectors(tmp_path):
        assert path.read_bytes() == (VECTORS / path.name).read_bytes(), path.name


def assert_same_body(body: bytes, case: dict):
    """Compare with the case's body: in full when it is given, else its length and SHA-256."""
    if "ciphertext" in case:
        assert body.hex() == case["ciphertext"]
    else:
        assert len(body) == case["ciphertext_length"]
        assert hashlib.sha256(body).hexdigest() == case["ciphertext_sha256"]


def params_of(case):
    if case["password"] is None:
        return None
    return PasswordParams(salt=b64u_decode(case["salt"]), iterations=case["iterations"])


def b64u_or_none(value):
    return None if value is None else b64u_encode(value)


@pytest.mark.parametrize("case", cases("keys.json"), ids=lambda case: case["description"])
def test_keys(case):
    keys = derive_keys(b64u_decode(case["secret"]), case["password"], params_of(case))
    assert keys.content_ikm.hex() == case["content_ikm"]
    assert keys.metadata_key.hex() == case["metadata_key"]
    assert b64u_encode(keys.access_token) == case["access_token"]
    assert b64u_encode(keys.access_verifier) == case["access_verifier"]
    assert b64u_or_none(keys.password_token) == case["password_token"]
    assert b64u_or_none(keys.password_verifier) == case["password_verifier"]


def test_access_token_depends_on_the_secret_alone():
    by_secret = {}
    for case in cases("keys.json"):
        by_secret.setdefault(case["secret"], set()).add(case["access_token"])
    assert all(len(tokens) == 1 for tokens in by_secret.values())
    assert len(by_secret) == 2


@pytest.mark.parametrize("case", cases("keys.json", "v1_cases"),
                         ids=lambda case: case["description"])
def test_v1_keys(case):
    keys = derive_keys(b64u_decode(case["secret"]), case["password"], params_of(case), version=1)
    assert keys.content_ikm.hex() == case["content_ikm"]
    assert keys.metadata_key.hex() == case["metadata_key"]
    assert b64u_encode(keys.access_token) == case["auth_token"]
    assert b64u_encode(keys.access_verifier) == case["verifier"]
    assert keys.password_token is None


@pytest.mark.parametrize("case", cases("padding.json"),
                         ids=lambda case: f"n{case['plaintext_length']}")
def test_padded_sizes(case):
    assert padded_length(case["plaintext_length"]) == case["padded_length"]
    assert padded_size(case["plaintext_length"]) == case["ciphertext_size"]
    records = case["records"]
    assert case["ciphertext_size"] == 21 + case["padded_length"] + 17 * records


def test_padded_sizes_cover_the_edges():
    lengths = {case["plaintext_length"] for case in cases("padding.json")}
    assert {0, 1, 4095, 4096, 4097, RECORD_SIZE - 17, 2 * (RECORD_SIZE - 17)} <= lengths


@pytest.mark.parametrize(
    "case", cases("padding.json", "encrypt_cases"),
    ids=lambda case: f"rs{case['rs']}-n{case['plaintext_length']}-pad{case['pad_to']}",
)
def test_padded_bodies(case):
    ikm, plaintext = bytes.fromhex(case["ikm"]), pattern(case["plaintext_length"])
    encryptor = Encryptor(ikm, salt=bytes.fromhex(case["salt"]), rs=case["rs"],
                          pad_to=case["pad_to"])
    body = encryptor.update(plaintext) + encryptor.finalize()
    assert_same_body(body, case)
    assert len(body) == encrypted_size(case["pad_to"], case["rs"])
    assert decrypt(body, ikm) == plaintext


@pytest.mark.parametrize("case", cases("shares.json"), ids=lambda case: case["description"])
def test_whole_shares(case):
    params = None
    if case["password"] is not None:
        params = PasswordParams(b64u_decode(case["password_params"]["salt"]),
                                case["password_params"]["iterations"])
    keys = derive_keys(b64u_decode(case["secret"]), case["password"], params)
    assert b64u_encode(keys.access_verifier) == case["access_verifier"]
    assert b64u_or_none(keys.password_verifier) == case["password_verifier"]
    assert decrypt_metadata(case["metadata_blob"], keys.metadata_key) == case["metadata"]
    body = bytes.fromhex(case["body"])
    assert len(body) == case["size"] == padded_size(case["metadata"]["size"])
    assert decrypt(body, keys.content_ikm).decode("utf-8") == case["note"]
    encryptor = Encryptor(keys.content_ikm, salt=bytes.fromhex(case["content_salt"]),
                          pad_to=padded_length(case["metadata"]["size"]))
    assert encryptor.update(case["note"].encode()) + encryptor.finalize() == body


@pytest.mark.parametrize(
    "case", cases("ece.json"), ids=lambda case: f"rs{case['rs']}-n{case['plaintext_length']}"
)
def test_ece(case):
    ikm, keyid = bytes.fromhex(case["ikm"]), bytes.fromhex(case["keyid"])
    plaintext = pattern(case["plaintext_length"])
    encryptor = Encryptor(ikm, salt=bytes.fromhex(case["salt"]), rs=case["rs"], keyid=keyid)
    body = encryptor.update(plaintext) + encryptor.finalize()
    assert_same_body(body, case)
    assert len(body) == encrypted_size(len(plaintext), case["rs"]) + len(keyid)
    assert decrypt(body, ikm) == plaintext


@pytest.mark.parametrize(
    "case", cases("ece.json", "decrypt_cases"), ids=lambda case: case["description"]
)
def test_ece_decrypt_only(case):
    plaintext = decrypt(bytes.fromhex(case["body"]), bytes.fromhex(case["ikm"]))
    assert plaintext.hex() == case["plaintext"]


@pytest.mark.parametrize(
    "case", cases("ece.json", "invalid_cases"), ids=lambda case: case["description"]
)
def test_ece_invalid(case):
    with pytest.raises(ERRORS[case["error"]]):
        decrypt(bytes.fromhex(case["body"]), bytes.fromhex(case["ikm"]))


@pytest.mark.parametrize("case", cases("metadata.json"), ids=lambda case: case["metadata"]["kind"])
def test_metadata(case):
    key = bytes.fromhex(case["key"])
    assert encrypt_metadata(case["metadata"], key, iv=bytes.fromhex(case["iv"])) == case["blob"]
    assert decrypt_metadata(case["blob"], key) == case["metadata"]
    # iv (12) + padded JSON + tag (16), in base64url without padding.
    assert len(b64u_decode(case["blob"])) == 12 + case["plaintext_length"] + 16
    assert case["plaintext_length"] % 128 == 0


@pytest.mark.parametrize("case", cases("rfc8188.json"), ids=lambda case: case["description"])
def test_rfc8188(case):
    ikm, salt, body = (b64u_decode(case[field]) for field in ("ikm", "salt", "encoded"))
    keyid = case["keyid"].encode("utf-8")
    assert body[:16] == salt
    assert decrypt(body, ikm) == case["plaintext"].encode("utf-8")
    if "records" in case:
        # Padded records, which our writer never makes: seal them one by one.
        cipher, last = RecordCipher(ikm, salt), len(case["records"]) - 1
        records = [
            cipher.seal(seq, record["data"].encode() + (b"\x02" if seq == last else b"\x01")
                        + bytes(record["padding"]))
            for seq, record in enumerate(case["records"])
        ]
        header = salt + case["rs"].to_bytes(4, "big") + bytes([len(keyid)]) + keyid
        assert header + b"".join(records) == body
    else:
        encryptor = Encryptor(ikm, salt=salt, rs=case["rs"], keyid=keyid)
        assert encryptor.update(case["plaintext"].encode()) + encryptor.finalize() == body
