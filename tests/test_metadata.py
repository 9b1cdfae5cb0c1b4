"""Metadata blobs: round trips, padding, fresh IVs, and refusing damaged or malformed blobs."""

import json

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from onetimeshare.encoding import b64u_decode, b64u_encode
from onetimeshare.errors import DecryptionError, ProtocolError
from onetimeshare.metadata import (
    MAX_METADATA_CHARS,
    METADATA_PAD,
    check_metadata,
    complete_metadata,
    decrypt_metadata,
    encrypt_metadata,
)

KEY = bytes(range(32))
IV = bytes(12)
FILE = {"kind": "file", "name": "Résumé – 2024.pdf", "type": "application/pdf", "size": 48213}


def seal(plaintext: bytes, key: bytes = KEY) -> str:
    """Build a blob around arbitrary plaintext, to test what readers do with bad contents."""
    return b64u_encode(IV + AESGCM(key).encrypt(IV, plaintext, None))


def open_blob(blob: str) -> bytes:
    raw = b64u_decode(blob)
    return AESGCM(KEY).decrypt(raw[:12], raw[12:], None)


@pytest.mark.parametrize(
    "metadata",
    [
        FILE,
        {"kind": "text", "name": "note.txt", "type": "text/plain;charset=utf-8", "size": 0},
        {
            "kind": "files", "name": "日本.zip", "type": "application/zip", "size": 3,
            "files": [{"name": "a", "size": 1}, {"name": "ü/b", "size": 2}],
        },
        {"kind": "file", "name": "x", "type": "", "size": 1, "future": {"nested": [1, None]}},
    ],
    ids=["file", "text", "files", "unknown field kept"],
)
def test_round_trip(metadata):
    assert decrypt_metadata(encrypt_metadata(metadata, KEY), KEY) == metadata


def test_plaintext_is_compact_utf8_json_padded_with_spaces():
    plaintext = open_blob(encrypt_metadata(FILE, KEY, iv=IV))
    assert len(plaintext) % METADATA_PAD == 0
    text = plaintext.decode("utf-8")
    assert text.rstrip(" ") == json.dumps(FILE, ensure_ascii=False, separators=(",", ":"))
    assert text.startswith('{"kind":"file","name":"Résumé – 2024.pdf"')


def test_padding_hides_the_length_of_the_name():
    short = encrypt_metadata({**FILE, "name": "a"}, KEY)
    long = encrypt_metadata({**FILE, "name": "a" * 40}, KEY)
    assert len(short) == len(long)


def test_iv_is_fresh_each_time():
    one, two = encrypt_metadata(FILE, KEY), encrypt_metadata(FILE, KEY)
    assert one[:16] != two[:16]


def test_fixed_iv_is_deterministic():
    assert encrypt_metadata(FILE, KEY, iv=IV) == encrypt_metadata(FILE, KEY, iv=IV)


def test_wrong_key_fails():
    with pytest.raises(DecryptionError):
        decrypt_metadata(encrypt_metadata(FILE, KEY), bytes(32))


@pytest.mark.parametrize("position", [0, 11, 16, 40, -5])
def test_damaged_blob_fails(position):
    raw = bytearray(b64u_decode(encrypt_metadata(FILE, KEY)))
    raw[position] ^= 0x01
    with pytest.raises(DecryptionError):
        decrypt_metadata(b64u_encode(bytes(raw)), KEY)


@pytest.mark.parametrize(
    "blob",
    [
        "",
        "AAAA",
        b64u_encode(bytes(27)),
        "!!!!" * 10,
        b64u_encode(bytes(60)) + "=",
        "A" * (MAX_METADATA_CHARS + 1),
        b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        None,
    ],
    ids=["empty", "too short", "27 bytes", "bad characters", "padding", "too long", "bytes",
         "None"],
)
def test_malformed_blob_is_a_protocol_error(blob):
    with pytest.raises(ProtocolError):
        decrypt_metadata(blob, KEY)


@pytest.mark.parametrize(
    "plaintext",
    [b"[1, 2]", b'"name"', b"42", b"null", b"{", b'{"a": NaN}', b"\xff\xfe{}", b""],
    ids=["array", "string", "number", "null", "broken JSON", "NaN", "not UTF-8", "empty"],
)
def test_authentic_blob_that_is_not_an_object_is_a_protocol_error(plaintext):
    with pytest.raises(ProtocolError):
        decrypt_metadata(seal(plaintext), KEY)


@pytest.mark.parametrize(
    ("metadata", "key", "iv", "error"),
    [
        ([FILE], KEY, None, TypeError),
        ("{}", KEY, None, TypeError),
        ({**FILE, "size": float("nan")}, KEY, None, ValueError),
        ({**FILE, "name": "x" * MAX_METADATA_CHARS}, KEY, None, ValueError),
        (FILE, bytes(16), None, ValueError),
        (FILE, KEY, bytes(16), ValueError),
    ],
    ids=["list", "text", "NaN", "too large", "short key", "long iv"],
)
def test_encrypt_refuses_bad_input(metadata, key, iv, error):
    with pytest.raises(error):
        encrypt_metadata(metadata, key, iv=iv)


def test_largest_blob_fits_the_server_limit():
    metadata = {**FILE, "name": "x" * 5840}
    blob = encrypt_metadata(metadata, KEY)
    assert len(blob) <= MAX_METADATA_CHARS
    assert decrypt_metadata(blob, KEY) == metadata


def json_length(metadata):
    return len(json.dumps(metadata, ensure_ascii=False, separators=(",", ":")).encode())


@pytest.mark.parametrize("extra", [-1, 0, 1], ids=["127 bytes", "128 bytes", "129 bytes"])
def test_padding_at_the_edge_of_a_block(extra):
    """A plaintext already at a multiple of 128 bytes gets no padding at all."""
    base = {**FILE, "name": ""}
    metadata = {**base, "name": "n" * (128 + extra - json_length(base))}
    assert json_length(metadata) == 128 + extra
    plaintext = open_blob(encrypt_metadata(metadata, KEY, iv=IV))
    assert len(plaintext) == (128 if extra <= 0 else 256)


@pytest.mark.parametrize(
    "metadata",
    [
        {"name": "x", "type": "a/b", "size": 1},
        {"kind": "folder", "name": "x", "type": "a/b", "size": 1},
        {"kind": "file", "type": "a/b", "size": 1},
        {"kind": "file", "name": 7, "type": "a/b", "size": 1},
        {"kind": "file", "name": "x", "size": 1},
        {"kind": "file", "name": "x", "type": None, "size": 1},
        {"kind": "file", "name": "x", "type": "a/b"},
        {"kind": "file", "name": "x", "type": "a/b", "size": -1},
        {"kind": "file", "name": "x", "type": "a/b", "size": 1.0},
        {"kind": "file", "name": "x", "type": "a/b", "size": True},
        {"kind": "files", "name": "x", "type": "a/b", "size": 1},
    ],
    ids=["no kind", "unknown kind", "no name", "name not text", "no type", "type null",
         "no size", "negative size", "float size", "bool size", "files without a list"],
)
def test_required_fields(metadata):
    with pytest.raises(ProtocolError):
        check_metadata(metadata)
    with pytest.raises(ValueError):
        encrypt_metadata(metadata, KEY)


def test_unknown_fields_and_an_unknown_type_are_accepted():
    metadata = {**FILE, "type": "application/octet-stream", "later": {"x": 1}}
    assert check_metadata(metadata) is metadata


@pytest.mark.parametrize(
    ("given", "expected_type"),
    [({"kind": "file", "name": "a"}, "application/octet-stream"),
     ({"kind": "text", "name": "note.txt"}, "text/plain;charset=utf-8"),
     ({"kind": "file", "name": "a", "type": "image/png", "size": 3}, "image/png")],
    ids=["file", "text", "given"],
)
def test_complete_metadata_sets_size_and_defaults_the_type(given, expected_type):
    completed = complete_metadata(given, 42)
    assert completed["size"] == 42 and completed["type"] == expected_type
    assert check_metadata(completed) is completed


def test_a_server_limit_above_the_default_admits_a_longer_blob():
    metadata = {**FILE, "name": "x" * 8000}
    with pytest.raises(ValueError, match="too large"):
        encrypt_metadata(metadata, KEY)
    blob = encrypt_metadata(metadata, KEY, max_chars=16384)
    assert MAX_METADATA_CHARS < len(blob) <= 16384
    with pytest.raises(ProtocolError, match="longer than 8192"):
        decrypt_metadata(blob, KEY)
    assert decrypt_metadata(blob, KEY, max_chars=16384) == metadata


def test_a_server_limit_below_the_default_refuses_early():
    with pytest.raises(ValueError, match="> 1024 characters"):
        encrypt_metadata({**FILE, "name": "x" * 1000}, KEY, max_chars=1024)
