"""Regenerate the shared test vectors: ``python -m onetimeshare.vectors [DIR]``.

The Python and browser implementations are both checked against these files, so they pin the
protocol byte for byte. Every input is fixed here (secrets, salts, IVs, and plaintext byte
``i = i % 251``), so regenerating gives identical files; a test makes sure they never drift.
"""

import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

from . import PROTOCOL_VERSION
from .ece import HEADER_LENGTH, Encryptor, RecordCipher, encrypted_size
from .encoding import b64u_encode
from .keys import PasswordParams, derive_keys
from .metadata import encrypt_metadata

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "tests" / "vectors"
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


def build_keys() -> dict:
    """Return the key derivation vectors, with and without a password."""
    secret_a = bytes(range(16))
    secret_b = bytes.fromhex("a3f1c2e4b5d60718293a4b5c6d7e8f90")
    salt = bytes.fromhex("5c0ffee5a17ba5e0c0ffee5a17ba5e00")
    accented = "p\u00e4ssw\u00f6rd \u2713"  # "pässwörd ✓", composed (NFC)
    decomposed = "pa\u0308sswo\u0308rd \u2713"  # the same password, decomposed (NFD)
    inputs = [
        ("no password", secret_a, None),
        ("no password, another secret", secret_b, None),
        ("ASCII password", secret_a, "correct horse battery staple"),
        ("non-ASCII password, given in NFC", secret_b, accented),
        ("the same password given in NFD: NFC first, so the keys equal the case above", secret_b,
         decomposed),
    ]
    cases = []
    for description, secret, password in inputs:
        params = None if password is None else PasswordParams(salt=salt, iterations=600_000)
        keys = derive_keys(secret, password, params)
        cases.append({
            "description": description,
            "secret": b64u_encode(secret),
            "password": password,
            "salt": None if params is None else b64u_encode(params.salt),
            "iterations": None if params is None else params.iterations,
            "content_ikm": keys.content_ikm.hex(),
            "metadata_key": keys.metadata_key.hex(),
            "auth_token": b64u_encode(keys.auth_token),
            "verifier": b64u_encode(keys.verifier),
        })
    return _document(
        "Key derivation (protocol.md §2). The password is normalized to NFC, then UTF-8; "
        "salt and iterations are the PBKDF2 parameters, null without a password.",
        cases,
    )


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
        }
        if len(body) <= INLINE_LIMIT:
            case["ciphertext"] = body.hex()
        else:
            case["ciphertext_length"] = len(body)
            case["ciphertext_sha256"] = hashlib.sha256(body).hexdigest()
        cases.append(case)
    doc = _document(
        "RFC 8188 aes128gcm bodies (protocol.md §3). Encrypting the plaintext with ikm, salt, rs "
        "and keyid must give ciphertext exactly; decrypting it must give the plaintext back. "
        "decrypt_cases are valid bodies no writer produces (padding, an empty last record); "
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
    ]
    cases = [
        {
            "key": key.hex(),
            "iv": iv,
            "metadata": metadata,
            "blob": encrypt_metadata(metadata, key, iv=bytes.fromhex(iv)),
        }
        for iv, metadata in entries
    ]
    return _document(
        "Metadata blobs (protocol.md §4): b64u(iv || AES-256-GCM(key, iv, JSON padded with "
        "spaces to a multiple of 128 bytes)). The JSON is written as JSON.stringify writes it: "
        "no white space, keys in the order given, non-ASCII characters unescaped.",
        cases,
    )


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


VECTOR_FILES: dict[str, Callable[[], dict]] = {
    "keys.json": build_keys,
    "ece.json": build_ece,
    "metadata.json": build_metadata,
    "rfc8188.json": build_rfc8188,
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


def _document(description: str, cases: list) -> dict:
    return {"description": description, "version": PROTOCOL_VERSION, "cases": cases}


def _encrypt(plaintext: bytes, ikm: bytes, rs: int, keyid: bytes = b"") -> bytes:
    encryptor = Encryptor(ikm, salt=ECE_SALT, rs=rs, keyid=keyid)
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
