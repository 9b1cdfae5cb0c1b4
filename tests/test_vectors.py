"""The shared vectors in tests/vectors/: this implementation reproduces every case, and
regenerating them gives the same bytes (the browser implementation runs against them too)."""

import hashlib
import json
from pathlib import Path

import pytest

from onetimeshare import PROTOCOL_VERSION
from onetimeshare.ece import Decryptor, Encryptor, RecordCipher, encrypted_size
from onetimeshare.encoding import b64u_decode, b64u_encode
from onetimeshare.errors import IntegrityError, ProtocolError
from onetimeshare.keys import PasswordParams, derive_keys
from onetimeshare.metadata import decrypt_metadata, encrypt_metadata
from onetimeshare.vectors import VECTOR_FILES, pattern, write_vectors

VECTORS = Path(__file__).resolve().parent / "vectors"
ERRORS = {"integrity": IntegrityError, "protocol": ProtocolError}


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


@pytest.mark.parametrize("case", cases("keys.json"), ids=lambda case: case["description"])
def test_keys(case):
    params = None
    if case["password"] is not None:
        params = PasswordParams(salt=b64u_decode(case["salt"]), iterations=case["iterations"])
    keys = derive_keys(b64u_decode(case["secret"]), case["password"], params)
    assert keys.content_ikm.hex() == case["content_ikm"]
    assert keys.metadata_key.hex() == case["metadata_key"]
    assert b64u_encode(keys.auth_token) == case["auth_token"]
    assert b64u_encode(keys.verifier) == case["verifier"]


@pytest.mark.parametrize(
    "case", cases("ece.json"), ids=lambda case: f"rs{case['rs']}-n{case['plaintext_length']}"
)
def test_ece(case):
    ikm, keyid = bytes.fromhex(case["ikm"]), bytes.fromhex(case["keyid"])
    plaintext = pattern(case["plaintext_length"])
    encryptor = Encryptor(ikm, salt=bytes.fromhex(case["salt"]), rs=case["rs"], keyid=keyid)
    body = encryptor.update(plaintext) + encryptor.finalize()
    if "ciphertext" in case:
        assert body.hex() == case["ciphertext"]
    else:
        assert len(body) == case["ciphertext_length"]
        assert hashlib.sha256(body).hexdigest() == case["ciphertext_sha256"]
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
