"""Regenerate the shared test vectors: ``python -m tests.vectors.generate [DIR]``.

The Python and browser implementations are both checked against these files, so they pin the
protocol byte for byte. Every input is fixed here (secrets, salts, IVs, and plaintext byte
``i = i % 251``), so regenerating gives identical files; a test makes sure they never drift.
It lives beside the files it writes, not in the `onetimeshare` package: an installed client has
no business writing into a checkout's tests.
"""

import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

from onetimeshare import PROTOCOL_VERSION
from onetimeshare.ece import (
    HEADER_LENGTH,
    RECORD_SIZE,
    Encryptor,
    RecordCipher,
    encrypted_size,
    padded_length,
    padded_size,
)
from onetimeshare.encoding import b64u_encode
from onetimeshare.keys import PasswordParams, derive_keys
from onetimeshare.metadata import encrypt_metadata

DEFAULT_DIR = Path(__file__).resolve().parent
PATTERN_NOTE = "plaintext byte i is i % 251 (0, 1, ..., 250, 0, 1, ...)"
# Bodies up to this size are written out in full; larger ones by length and SHA-256.
INLINE_LIMIT = 1024

ECE_IKM = bytes.fromhex("6b9c9d2f5e0a4c1b8e7f3a2d1c0b9a88")
ECE_SALT = bytes.fromhex("00112233445566778899aabbccddeeff")
OTHER_IKM = bytes.fromhex("ffeeddccbbaa99887766554433221100")
ECE_CASES = [  # (rs, plaintext length, keyid)
    *((64, n, b"") for n in (0, 1, 46, 47, 48, 94, 200)),
    (64, 100, b"a1"),
    (18, 5, b""),
    *((65536, n, b"") for n in (0, 65518, 65519, 65520, 131038, 300000)),
]

WALRUS = "I am the walrus"


def pattern(length: int) -> bytes:
    """Return the vectors' plaintext: byte i is i % 251, so misplaced records show up."""
    period = bytes(range(251))
    return (period * (length // 251 + 1))[:length]


KEY_SECRET_A = bytes(range(16))
KEY_SECRET_B = bytes.fromhex("a3f1c2e4b5d60718293a4b5c6d7e8f90")
KEY_SALT = bytes.fromhex("5c0ffee5a17ba5e0c0ffee5a17ba5e00")
KEY_INPUTS = [
    ("no password", KEY_SECRET_A, None),
    ("no password, another secret", KEY_SECRET_B, None),
    ("ASCII password", KEY_SECRET_A, "correct horse battery staple"),
    ("non-ASCII password, given in NFC", KEY_SECRET_B, "p\u00e4ssw\u00f6rd \u2713"),
    ("the same password given in NFD: NFC first, so the keys equal the case above", KEY_SECRET_B,
     "pa\u0308sswo\u0308rd \u2713"),
]


def build_keys() -> dict:
    """Return the key derivation vectors: v2 (cases) and v1 (v1_cases, for old links)."""
    cases, v1_cases = [], []
    for description, secret, password in KEY_INPUTS:
        params = None if password is None else PasswordParams(salt=KEY_SALT, iterations=600_000)
        inputs = {
            "description": description,
            "secret": b64u_encode(secret),
            "password": password,
            "salt": None if params is None else b64u_encode(params.salt),
            "iterations": None if params is None else params.iterations,
        }
        keys = derive_keys(secret, password, params)
        cases.append({
            **inputs,
            "access_token": b64u_encode(keys.access_token),
            "access_verifier": b64u_encode(keys.access_verifier),
            "content_ikm": keys.content_ikm.hex(),
            "metadata_key": keys.metadata_key.hex(),
            "password_token": _b64u_or_none(keys.password_token),
            "password_verifier": _b64u_or_none(keys.password_verifier),
        })
        old = derive_keys(secret, password, params, version=1)
        v1_cases.append({
            **inputs,
            "content_ikm": old.content_ikm.hex(),
            "metadata_key": old.metadata_key.hex(),
            "auth_token": b64u_encode(old.access_token),
            "verifier": b64u_encode(old.access_verifier),
        })
    doc = _document(
        "Key derivation (protocol.md, Keys). The password is normalized to NFC, then UTF-8; "
        "salt and iterations are the PBKDF2 parameters, null without a password. Tokens and "
        "verifiers are base64url, keys hex. password_token and password_verifier are null "
        "without a password. v1_cases: the version 1 derivation, kept to open v1 links.",
        cases,
    )
    doc["v1_cases"] = v1_cases
    return doc


def _b64u_or_none(value: bytes | None) -> str | None:
    return None if value is None else b64u_encode(value)


def build_ece() -> dict:
    """Return the content encryption vectors: bodies to reproduce, and bodies to reject."""
    cases = []
    for rs, length, keyid in ECE_CASES:
        body = _encrypt(pattern(length), ECE_IKM, rs, keyid)
        assert len(body) == encrypted_size(length, rs) + len(keyid)
        case = {
            "ikm": ECE_IKM.hex(),
            "salt": ECE_SALT.hex(),
            "rs": rs,
            "keyid": keyid.hex(),
            "plaintext_length": length,
            **_body_fields(body),
        }
        cases.append(case)
    doc = _document(
        "RFC 8188 aes128gcm bodies (protocol.md §3). Encrypting the plaintext with ikm, salt, rs "
        "and keyid must give ciphertext exactly; decrypting it must give the plaintext back. "
        "decrypt_cases are valid bodies no writer produces (padding in other layouts, an empty "
        "last record); "
        "invalid_cases must be refused: 'protocol' for a bad header, 'integrity' for the rest.",
        cases,
    )
    doc["plaintext"] = PATTERN_NOTE
    doc["decrypt_cases"] = _decrypt_only_cases()
    doc["invalid_cases"] = _invalid_cases()
    return doc


def build_metadata() -> dict:
    """Return the metadata encryption vectors."""
    key = bytes.fromhex("0f1e2d3c4b5a69788796a5b4c3d2e1f00123456789abcdeffedcba9876543210")
    entries = [
        ("00000000000000000000000a", {
            "kind": "file", "name": "Résumé – 2024.pdf", "type": "application/pdf",
            "size": 48213,
        }),
        ("0102030405060708090a0b0c", {
            "kind": "files", "name": "photos.zip", "type": "application/zip", "size": 9120044,
            "files": [
                {"name": "фото 1.jpg", "size": 4500000},
                {"name": "日本の海.jpg", "size": 4619800},
            ],
        }),
        ("a0a1a2a3a4a5a6a7a8a9aaab", {
            "kind": "text", "name": "note.txt", "type": "text/plain;charset=utf-8", "size": 11,
        }),
        # Its JSON is exactly 128 bytes: a plaintext at a multiple of 128 gets no padding.
        ("b0b1b2b3b4b5b6b7b8b9babb", {
            "kind": "file", "name": "exactly-one-block-" + "x" * 32 + ".bin",
            "type": "application/octet-stream", "size": 1234567,
        }),
    ]
    cases = [
        {
            "key": key.hex(),
            "iv": iv,
            "metadata": metadata,
            "plaintext_length": _padded_json_length(metadata),
            "blob": encrypt_metadata(metadata, key, iv=bytes.fromhex(iv)),
        }
        for iv, metadata in entries
    ]
    return _document(
        "Metadata blobs (protocol.md §4): b64u(iv || AES-256-GCM(key, iv, JSON padded with "
        "spaces to a multiple of 128 bytes, none when already at one)). The JSON is written as "
        "JSON.stringify writes it: no white space, keys in the order given, non-ASCII characters "
        "unescaped. plaintext_length is the padded JSON's length in bytes.",
        cases,
    )


def _padded_json_length(metadata: dict) -> int:
    text = json.dumps(metadata, ensure_ascii=False, separators=(",", ":"))
    length = len(text.encode("utf-8"))
    return length + (-length % 128)


def build_rfc8188() -> dict:
    """Return the two worked examples of RFC 8188 §3, exactly as the RFC prints them."""
    cases = [
        {
            "description": "RFC 8188 §3.1: one record, no keyid",
            "plaintext": WALRUS,
            "ikm": "yqdlZ-tYemfogSmv7Ws5PQ",
            "salt": "I1BsxtFttlv3u_Oo94xnmw",
            "rs": 4096,
            "keyid": "",
            "encoded": "I1BsxtFttlv3u_Oo94xnmwAAEAAA-NAVub2qFgBEuQKRapoZu-IxkIva3MEB1PD-ly8Thjg",
        },
        {
            "description": 'RFC 8188 §3.2: two records ("I am th" with one byte of padding, '
            'then "e walrus") and keyid "a1"',
            "plaintext": WALRUS,
            "ikm": "BO3ZVPxUlnLORbVGMpbT1Q",
            "salt": "uNCkWiNYzKTnBN9ji3-qWA",
            "rs": 25,
            "keyid": "a1",
            "records": [{"data": "I am th", "padding": 1}, {"data": "e walrus", "padding": 0}],
            "encoded": "uNCkWiNYzKTnBN9ji3-qWAAAABkCYTHOG8chz_gnvgOqdGYovxyjuqRyJFjEDyoF1Fvkj6hQ"
            "PdPHI51OEUKEpgz3SsLWIqS_uA",
        },
    ]
    return _document(
        "The worked examples of RFC 8188 §3. ikm, salt and encoded are base64url; keyid and "
        "plaintext are UTF-8 text.",
        cases,
    )


PADDED_LENGTHS = [
    0, 1, 17, 4095, 4096, 4097, 4352, 4353, 8191, 8192, 8193, 10_000,
    RECORD_SIZE - 18, RECORD_SIZE - 17, RECORD_SIZE - 16, 65536,
    2 * (RECORD_SIZE - 17), 3 * (RECORD_SIZE - 17), 3 * (RECORD_SIZE - 17) + 1,
    100_000, 1 << 20, (1 << 20) + 1, 10**9, (1 << 31) - 1, 1 << 31,
]
# (rs, plaintext length, pad_to): small records so padding-only records stay readable.
PAD_CASES = [
    (64, 0, 0), (64, 0, 47), (64, 0, 48), (64, 10, 47), (64, 10, 200), (64, 47, 94),
    (64, 100, 141), (64, 100, 142), (18, 2, 5),
    (RECORD_SIZE, 0, padded_length(0)),
    (RECORD_SIZE, 4097, padded_length(4097)),
    (RECORD_SIZE, 70_000, padded_length(70_000)),
    (RECORD_SIZE, RECORD_SIZE - 17, padded_length(RECORD_SIZE - 17)),
]


def build_padding() -> dict:
    """Return the v2 padding vectors: padded lengths and sizes, and padded bodies."""
    sizes = []
    for length in PADDED_LENGTHS:
        padded = padded_length(length)
        sizes.append({
            "plaintext_length": length,
            "padded_length": padded,
            "records": max(1, -(-padded // (RECORD_SIZE - 17))),
            "ciphertext_size": padded_size(length),
        })
    bodies = []
    for rs, length, pad_to in PAD_CASES:
        body = _encrypt(pattern(length), ECE_IKM, rs, pad_to=pad_to)
        assert len(body) == encrypted_size(pad_to, rs)
        bodies.append({"ikm": ECE_IKM.hex(), "salt": ECE_SALT.hex(), "rs": rs,
                       "plaintext_length": length, "pad_to": pad_to, **_body_fields(body)})
    doc = _document(
        "Content padding (protocol.md, Content padding). cases: padded_length(n) by Padme with "
        "a 4096-byte minimum, records and ciphertext_size = 21 + padded + 17 * records for "
        f"rs {RECORD_SIZE}. encrypt_cases: the plaintext followed by zero padding up to pad_to, "
        "cut into records of rs - 17 bytes; each record is its data, the delimiter (0x02 for "
        "the last, else 0x01), then its padding, so a record may be padding only.",
        sizes,
    )
    doc["plaintext"] = PATTERN_NOTE
    doc["encrypt_cases"] = bodies
    return doc


SHARE_NOTE = "Meet me at the blue door at 19:30. Bring the spare key.\n"


def build_shares() -> dict:
    """Return whole v2 shares: keys, proofs, metadata blob and padded note, all fixed."""
    cases = []
    inputs = [
        ("a note without a password", KEY_SECRET_A, None,
         "000102030405060708090a0b", "f0e1d2c3b4a5968778695a4b"),
        ("a note with a password", KEY_SECRET_B, "correct horse battery staple",
         "0c0b0a090807060504030201", "0123456789abcdef01234567"),
    ]
    for description, secret, password, iv, salt in inputs:
        params = None if password is None else PasswordParams(salt=KEY_SALT, iterations=600_000)
        keys = derive_keys(secret, password, params)
        note = SHARE_NOTE.encode("utf-8")
        metadata = {"kind": "text", "name": "note.txt", "type": "text/plain;charset=utf-8",
                    "size": len(note)}
        content_salt = bytes.fromhex(salt + "00000000")
        encryptor = Encryptor(keys.content_ikm, salt=content_salt,
                              pad_to=padded_length(len(note)))
        body = encryptor.update(note) + encryptor.finalize()
        assert len(body) == padded_size(len(note))
        cases.append({
            "description": description,
            "secret": b64u_encode(secret),
            "password": password,
            "password_params": None if params is None else {
                "salt": b64u_encode(params.salt), "iterations": params.iterations},
            "access_token": b64u_encode(keys.access_token),
            "access_verifier": b64u_encode(keys.access_verifier),
            "password_token": _b64u_or_none(keys.password_token),
            "password_verifier": _b64u_or_none(keys.password_verifier),
            "metadata": metadata,
            "metadata_iv": iv,
            "metadata_blob": encrypt_metadata(metadata, keys.metadata_key, iv=bytes.fromhex(iv)),
            "note": SHARE_NOTE,
            "content_salt": content_salt.hex(),
            "rs": RECORD_SIZE,
            "size": len(body),
            "body": body.hex(),
        })
    return _document(
        "Whole v2 shares: from secret (and password) to the create request's verifiers, the "
        "metadata blob (fixed iv) and the padded content body (fixed salt, rs 65536). The note "
        "is UTF-8; size is the body length the create request declares.",
        cases,
    )


VECTOR_FILES: dict[str, Callable[[], dict]] = {
    "keys.json": build_keys,
    "ece.json": build_ece,
    "metadata.json": build_metadata,
    "rfc8188.json": build_rfc8188,
    "padding.json": build_padding,
    "shares.json": build_shares,
}


def render(document: dict) -> str:
    """Serialize a vector document; ASCII-only so look-alike characters cannot hide in it."""
    return json.dumps(document, indent=2, ensure_ascii=True) + "\n"


def write_vectors(directory: Path) -> list[Path]:
    """Write every vector file into ``directory`` and return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, build in VECTOR_FILES.items():
        path = directory / name
        path.write_text(render(build()), encoding="utf-8")
        paths.append(path)
    return paths


def _body_fields(body: bytes) -> dict:
    """Return a body in full (hex) when small, else by length and SHA-256."""
    if len(body) <= INLINE_LIMIT:
        return {"ciphertext": body.hex()}
    return {"ciphertext_length": len(body), "ciphertext_sha256": hashlib.sha256(body).hexdigest()}


def _document(description: str, cases: list) -> dict:
    return {"description": description, "version": PROTOCOL_VERSION, "cases": cases}


def _encrypt(plaintext: bytes, ikm: bytes, rs: int, keyid: bytes = b"", pad_to=None) -> bytes:
    encryptor = Encryptor(ikm, salt=ECE_SALT, rs=rs, keyid=keyid, pad_to=pad_to)
    return encryptor.update(plaintext) + encryptor.finalize()


def _header(rs: int, keyid: bytes = b"") -> bytes:
    return ECE_SALT + rs.to_bytes(4, "big") + bytes([len(keyid)]) + keyid


def _craft(rs: int, raw_records: list[bytes], keyid: bytes = b"") -> bytes:
    """Seal records whose plaintexts (data, delimiter, padding) are given as they are."""
    cipher = RecordCipher(ECE_IKM, ECE_SALT)
    return _header(rs, keyid) + b"".join(cipher.seal(i, raw) for i, raw in enumerate(raw_records))


def _decrypt_only_cases() -> list[dict]:
    data = pattern(60)
    bodies = [
        ("padding before the end of a full record", data,
         _craft(64, [data[:40] + b"\x01" + bytes(7), data[40:] + b"\x02" + bytes(3)])),
        ("a last record holding only the delimiter after a full record", data[:47],
         _craft(64, [data[:47] + b"\x01", b"\x02"])),
        ("a long keyid", data[:10], _craft(64, [data[:10] + b"\x02"], keyid=bytes(range(255)))),
    ]
    return [
        {"description": description, "ikm": ECE_IKM.hex(), "plaintext": plaintext.hex(),
         "body": body.hex()}
        for description, plaintext, body in bodies
    ]


def _invalid_cases() -> list[dict]:
    data = pattern(100)
    valid = _encrypt(data, ECE_IKM, 64)  # records of 64, 64 and 23 bytes
    first_end = HEADER_LENGTH + 64
    flipped = bytearray(valid)
    flipped[-1] ^= 0x01
    bodies = [
        ("empty body", "integrity", b""),
        ("body ends inside the header", "integrity", valid[:10]),
        ("header only, no record", "integrity", valid[:HEADER_LENGTH]),
        ("last record dropped", "integrity", valid[: first_end + 64]),
        ("body cut inside the last record", "integrity", valid[:-5]),
        ("last record shorter than a tag and delimiter", "integrity", valid[: first_end + 64 + 16]),
        ("one byte appended", "integrity", valid + b"\x00"),
        ("first two records swapped", "integrity",
         valid[:HEADER_LENGTH] + valid[first_end : first_end + 64] + valid[HEADER_LENGTH:first_end]
         + valid[first_end + 64 :]),
        ("a bit flipped in the last tag", "integrity", bytes(flipped)),
        ("wrong key", "integrity", _encrypt(data, OTHER_IKM, 64)),
        ("only record has delimiter 0x01: truncated", "integrity", _craft(64, [b"abc\x01"])),
        ("delimiter 0x02 before the last record", "integrity",
         _craft(64, [data[:47] + b"\x02", data[47:50] + b"\x02"])),
        ("a valid record appended after the last one", "integrity",
         valid + RecordCipher(ECE_IKM, ECE_SALT).seal(3, b"xyz\x02")),
        ("record without delimiter (all zero)", "integrity", _craft(64, [bytes(5)])),
        ("record with delimiter 0x03", "integrity", _craft(64, [b"abc\x03"])),
        ("non-last record shorter than rs", "integrity",
         _craft(64, [data[:20] + b"\x01", data[20:30] + b"\x02"])),
        ("rs 0 in the header", "protocol", _header(0) + valid[HEADER_LENGTH:]),
        ("rs 17 in the header", "protocol", _header(17) + valid[HEADER_LENGTH:]),
        ("rs 16777217 in the header", "protocol", _header(16777217) + valid[HEADER_LENGTH:]),
    ]
    return [
        {"description": description, "ikm": ECE_IKM.hex(), "body": body.hex(), "error": error}
        for description, error, body in bodies
    ]


def main(argv: list[str] | None = None) -> int:
    """Write the vectors into the directory given, or tests/vectors of this checkout."""
    args = sys.argv[1:] if argv is None else argv
    directory = Path(args[0]) if args else DEFAULT_DIR
    for path in write_vectors(directory):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
