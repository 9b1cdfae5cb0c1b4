"""Encrypt and decrypt content as an RFC 8188 ``aes128gcm`` body, streaming (protocol.md §3).

The body is cut into records of ``rs`` bytes, each sealed with AES-128-GCM under a nonce bound to
its position, and the last one marked by delimiter 0x02. Both directions work on a stream and keep
at most about two records in memory, so a file of any size can be shared from a small machine.

Protocol v2 writers pad the plaintext (RFC 8188 padding, sizes from `padded_length`) so that the
body size no longer tells a note's exact length; readers accept any padding the RFC allows.
"""

import hashlib
import hmac
import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import DecryptionError, ProtocolError

RECORD_SIZE = 65536  # docs/performance.md holds the measurement behind this choice
TAG_LENGTH = 16
SALT_LENGTH = 16
KEY_LENGTH = 16
NONCE_LENGTH = 12
# A record holds its tag, a delimiter and at least one byte of data: RFC 8188 §2.1.
MIN_RECORD_SIZE = 18
# Readers buffer a whole record before they may release it, so this caps their memory.
MAX_RECORD_SIZE = 16 * 1024 * 1024
HEADER_LENGTH = 21  # salt (16) + rs (4) + idlen (1), before the keyid
MAX_KEYID_LENGTH = 255
DELIMITER = 0x01
LAST_DELIMITER = 0x02
# Protocol v2 pads every plaintext to at least this many bytes, then by Padmé (padded_length).
MIN_PADDED = 4096
READ_SIZE = RECORD_SIZE  # per read() in the stream helpers: keeps memory near two records

_CEK_INFO = b"Content-Encoding: aes128gcm\x00\x01"
_NONCE_INFO = b"Content-Encoding: nonce\x00\x01"
_HEADER = struct.Struct(">16sIB")


def padded_length(length: int) -> int:
    """Return the length a v2 writer pads a plaintext of ``length`` bytes to (Padmé).

    At least MIN_PADDED, so every note or file below 4 KiB looks the same; above, the length
    keeps its top bits and rounds the rest up (at most 6.25 % more, 3.1 % from 64 KiB on), so the
    result reveals at most O(log log n) bits of the length.
    """
    if not isinstance(length, int) or isinstance(length, bool) or length < 0:
        raise ValueError("plaintext length must be an integer >= 0")
    size = max(length, MIN_PADDED)
    exponent = size.bit_length() - 1  # floor(log2(size)), exact for integers of any size
    kept = exponent.bit_length()  # floor(log2(exponent)) + 1
    step = 1 << (exponent - kept)
    return -(-size // step) * step


def padded_size(length: int, rs: int = RECORD_SIZE) -> int:
    """Return the body size a v2 writer produces for ``length`` plaintext bytes."""
    return encrypted_size(padded_length(length), rs)


def encrypted_size(plaintext_length: int, rs: int = RECORD_SIZE) -> int:
    """Return the body size for a (padded) stream length: 21 + length + 17 per record."""
    _check_rs(rs, ValueError)
    if plaintext_length < 0:
        raise ValueError("plaintext length cannot be negative")
    records = max(1, -(-plaintext_length // _data_per_record(rs)))
    return HEADER_LENGTH + plaintext_length + (TAG_LENGTH + 1) * records


class RecordCipher:
    """Seal and open single records of one body; the nonce of record ``seq`` is bound to it.

    Encryptor and Decryptor are built on this. It is public so that tests and vectors can craft
    bodies a correct writer never produces (padding, a misplaced delimiter, and so on).
    """

    def __init__(self, ikm: bytes, salt: bytes) -> None:
        if len(salt) != SALT_LENGTH:
            raise ValueError(f"salt must be {SALT_LENGTH} bytes")
        # HKDF (RFC 5869) with L <= 32 is a single HMAC block, so hmac.digest spells it out.
        prk = hmac.digest(salt, ikm, hashlib.sha256)
        self._aead = AESGCM(hmac.digest(prk, _CEK_INFO, hashlib.sha256)[:KEY_LENGTH])
        self._nonce = int.from_bytes(hmac.digest(prk, _NONCE_INFO, hashlib.sha256)[:NONCE_LENGTH])

    def nonce(self, seq: int) -> bytes:
        """Return the nonce of record ``seq``: the base nonce XOR the 96-bit record number."""
        return (self._nonce ^ seq).to_bytes(NONCE_LENGTH, "big")

    def seal(self, seq: int, padded: bytes) -> bytes:
        """Encrypt one record whose plaintext already ends with its delimiter and padding."""
        return self._aead.encrypt(self.nonce(seq), padded, None)

    def open(self, seq: int, record: bytes) -> bytes:
        """Decrypt one record, returning data, delimiter and padding; DecryptionError if forged."""
        try:
            return self._aead.decrypt(self.nonce(seq), record, None)
        except InvalidTag:
            raise DecryptionError(
                f"record {seq} does not authenticate: damaged data or wrong key"
            ) from None


class Encryptor:
    """Encrypt a plaintext stream piece by piece into one ``aes128gcm`` body.

    Call ``update`` with each piece and ``finalize`` once at the end; concatenating their outputs
    gives the body. ``pad_to`` is the length of the padded stream (protocol v2 passes
    ``padded_length(n)``): the plaintext is followed by zero padding up to it, cut into records
    of ``rs - 17`` bytes like the data, so a record may hold padding only. Without ``pad_to``
    nothing is padded (v1 writers, RFC examples); then only ``finalize`` knows which record is
    last, so ``update`` holds back the final (possibly full) record.
    """

    def __init__(
        self,
        ikm: bytes,
        *,
        salt: bytes | None = None,
        rs: int = RECORD_SIZE,
        keyid: bytes = b"",
        pad_to: int | None = None,
    ) -> None:
        _check_rs(rs, ValueError)
        if len(keyid) > MAX_KEYID_LENGTH:
            raise ValueError(f"keyid is longer than {MAX_KEYID_LENGTH} bytes")
        if pad_to is not None and (not isinstance(pad_to, int) or pad_to < 0):
            raise ValueError("pad_to must be a length (an integer >= 0)")
        salt = os.urandom(SALT_LENGTH) if salt is None else bytes(salt)
        self._records = RecordCipher(ikm, salt)
        self._header: bytes | None = _HEADER.pack(salt, rs, len(keyid)) + bytes(keyid)
        self._chunk = _data_per_record(rs)
        self._pad_to = pad_to
        # One fixed buffer holds the pending record, its delimiter and any padding. It never
        # changes size, so no record costs an allocation, and memory stays at one record.
        self._buffer = bytearray(self._chunk + 1)
        self._fill = 0
        self._seq = 0
        self._count = 0
        self._finished = False

    def update(self, data: bytes) -> bytes:
        """Encrypt more plaintext; return whatever ciphertext is ready (header first)."""
        return b"".join(self.update_pieces(data))

    def finalize(self) -> bytes:
        """Seal the rest (padding records included), the last with delimiter 0x02."""
        return b"".join(self.finalize_pieces())

    def update_pieces(self, data: bytes) -> list[bytes]:
        """Like ``update``, as the list of its pieces (the header, then each sealed record).

        For a caller that copies the ciphertext on anyway (into a chunk, say): joining the
        pieces here would copy every byte once more.
        """
        if self._finished:
            raise ValueError("finalize() was already called")
        view = memoryview(data).cast("B")
        if self._pad_to is not None and self._count + len(view) > self._pad_to:
            raise ValueError(f"more plaintext than the {self._pad_to} bytes padded to")
        self._count += len(view)
        out = self._take_header()
        chunk, buffer = self._chunk, self._buffer
        while view:
            if self._fill == chunk:
                # More data follows this full record, so it is not the last one.
                out.append(self._seal(chunk, 0, last=False))
            take = min(chunk - self._fill, len(view))
            buffer[self._fill : self._fill + take] = view[:take]
            self._fill += take
            view = view[take:]  # slicing a memoryview copies nothing
            if self._fill == chunk and self._pad_to is not None and not self._is_last():
                out.append(self._seal(chunk, 0, last=False))
        return out

    def finalize_pieces(self) -> list[bytes]:
        """Like ``finalize``, as the list of its pieces."""
        if self._finished:
            raise ValueError("finalize() was already called")
        self._finished = True
        out = self._take_header()
        if self._pad_to is None:
            # An empty plaintext still gets one record: the delimiter alone marks the end.
            out.append(self._seal(self._fill, 0, last=True))
            return out
        chunk = self._chunk
        while True:
            # This record covers padded-stream bytes [seq * chunk, end); after the data, padding.
            end = min((self._seq + 1) * chunk, self._pad_to)
            padding = end - self._seq * chunk - self._fill
            last = self._is_last()
            out.append(self._seal(self._fill, padding, last=last))
            if last:
                return out

    def _is_last(self) -> bool:
        """Tell whether the pending record is the last one of the padded stream."""
        return (self._seq + 1) * self._chunk >= self._pad_to

    def _take_header(self) -> list[bytes]:
        """Start the output list with the header the first time any output is produced."""
        if self._header is None:
            return []
        header, self._header = self._header, None
        return [header]

    def _seal(self, size: int, padding: int, last: bool) -> bytes:
        """Seal ``size`` buffered data bytes, the delimiter and ``padding`` zero bytes."""
        buffer = self._buffer
        buffer[size] = LAST_DELIMITER if last else DELIMITER
        buffer[size + 1 : size + 1 + padding] = bytes(padding)
        record = self._records.seal(self._seq, memoryview(buffer)[: size + 1 + padding])
        self._seq += 1
        self._fill = 0
        return record


class Decryptor:
    """Decrypt an ``aes128gcm`` body piece by piece, releasing only authenticated plaintext.

    ``update`` returns the plaintext of records that have authenticated and are known not to be
    the last; ``finalize`` checks the last record and raises DecryptionError if the body was
    truncated. Until ``finalize`` returns, the output must not be presented as the file. After any
    error the decryptor refuses further use, since its position in the body is no longer known.
    """

    def __init__(self, ikm: bytes) -> None:
        self._ikm = bytes(ikm)
        self._head = bytearray()
        self._records: RecordCipher | None = None
        self._buffer = bytearray()
        self._fill = 0
        self.salt: bytes | None = None
        self.rs: int | None = None
        self.keyid: bytes | None = None
        self._seq = 0
        self._state = "open"

    def update(self, data: bytes) -> bytes:
        """Decrypt more of the body; return the plaintext of the records now proven sound."""
        self._check_open()
        try:
            return self._update(memoryview(data).cast("B"))
        except Exception:
            self._state = "failed"
            raise

    def finalize(self) -> bytes:
        """Check and decrypt the last record; DecryptionError if the body ended early."""
        self._check_open()
        self._state = "failed"  # until proven otherwise, so no path leaves it reusable
        if self._records is None:
            raise DecryptionError("body ended inside its header: truncated")
        if not self._fill:
            raise DecryptionError("body ended without its last record: truncated")
        if self._fill < TAG_LENGTH + 1:
            raise DecryptionError(f"last record is only {self._fill} bytes: truncated")
        data, last = self._open(memoryview(self._buffer)[: self._fill])
        if not last:
            raise DecryptionError("body ended without a record marked last: truncated")
        self._state = "finished"
        self._buffer = bytearray()
        return bytes(data)

    def _check_open(self) -> None:
        if self._state == "finished":
            raise ValueError("finalize() was already called")
        if self._state == "failed":
            raise ValueError("this decryptor already failed; start over with a new one")

    def _update(self, view: memoryview) -> bytes:
        if self._records is None:
            view = self._read_header(view)
            if view is None:
                return b""
        rs = self.rs
        out = []
        if self._fill:
            need = rs - self._fill
            if len(view) <= need:
                self._buffer[self._fill : self._fill + len(view)] = view
                self._fill += len(view)
                return b""
            # At least one byte follows this record, so it is not the last one.
            self._buffer[self._fill :] = view[:need]
            view = view[need:]
            out.append(self._open_middle(memoryview(self._buffer)))
            self._fill = 0
        full = max(0, (len(view) - 1) // rs)
        for start in range(0, full * rs, rs):
            out.append(self._open_middle(view[start : start + rs]))
        rest = view[full * rs :]
        self._buffer[: len(rest)] = rest
        self._fill = len(rest)
        return b"".join(out)

    def _read_header(self, view: memoryview) -> memoryview | None:
        """Take the header from the front of the body; return the rest, or None until complete.

        Raises ProtocolError for a record size out of bounds, as soon as its four bytes arrive.
        """
        head = self._head
        take = max(0, HEADER_LENGTH - len(head))
        head += view[:take]
        view = view[take:]
        if len(head) < HEADER_LENGTH:
            return None
        salt, rs, idlen = _HEADER.unpack_from(head)
        _check_rs(rs, ProtocolError)
        take = HEADER_LENGTH + idlen - len(head)
        head += view[:take]
        view = view[take:]
        if len(head) < HEADER_LENGTH + idlen:
            return None
        self.salt, self.rs, self.keyid = salt, rs, bytes(head[HEADER_LENGTH:])
        self._records = RecordCipher(self._ikm, salt)
        # Sized once to a whole record (rs is bounded above), and never resized after.
        self._buffer = bytearray(rs)
        return view

    def _open_middle(self, record) -> bytes:
        """Open a record that more data follows; it must not claim to be the last."""
        data, last = self._open(record)
        if last:
            raise DecryptionError(f"record {self._seq - 1} is marked last but more data follows")
        return data

    def _open(self, record) -> tuple[memoryview, bool]:
        """Authenticate and decrypt a record; return its data and whether it is marked last."""
        padded = self._records.open(self._seq, record)
        seq, self._seq = self._seq, self._seq + 1
        # Padding is zero bytes after the delimiter; most records carry none, so the common case
        # is the delimiter in the final position and no scan.
        end = len(padded) - 1
        if end >= 0 and padded[end] == 0:
            end = len(padded.rstrip(b"\x00")) - 1
        if end < 0:
            raise DecryptionError(f"record {seq} has no delimiter")
        if padded[end] not in (DELIMITER, LAST_DELIMITER):
            raise DecryptionError(f"record {seq} has an invalid delimiter {padded[end]:#04x}")
        return memoryview(padded)[:end], padded[end] == LAST_DELIMITER


def encrypt_stream(
    src,
    dst,
    ikm: bytes,
    *,
    rs: int = RECORD_SIZE,
    salt: bytes | None = None,
    read_size: int = READ_SIZE,
    pad_to: int | None = None,
) -> int:
    """Encrypt the binary file ``src`` into ``dst`` as one body; return the bytes written."""
    encryptor = Encryptor(ikm, salt=salt, rs=rs, pad_to=pad_to)
    written = 0
    while chunk := src.read(read_size):
        written += _write(dst, encryptor.update(chunk))
    return written + _write(dst, encryptor.finalize())


def decrypt_stream(src, dst, ikm: bytes, *, read_size: int = READ_SIZE) -> int:
    """Decrypt the body in ``src`` into ``dst``; return the plaintext bytes written.

    ``dst`` receives plaintext as records authenticate, so a failure leaves a partial file behind:
    write to a temporary file and keep it only when this returns without an exception.
    """
    decryptor = Decryptor(ikm)
    written = 0
    while chunk := src.read(read_size):
        written += _write(dst, decryptor.update(chunk))
    return written + _write(dst, decryptor.finalize())


def _write(dst, data: bytes) -> int:
    """Write all of data and return its length; raw files may accept only part per call."""
    view = memoryview(data)
    while view:
        count = dst.write(view)
        if count is None:  # a sink that reports no count (many hand-written ones) took it all
            break
        view = view[count:]
    return len(data)


def _data_per_record(rs: int) -> int:
    """Return the plaintext bytes a full record carries: rs minus tag and delimiter."""
    return rs - TAG_LENGTH - 1


def _check_rs(rs: int, error: type[Exception]) -> None:
    if not MIN_RECORD_SIZE <= rs <= MAX_RECORD_SIZE:
        raise error(f"record size {rs} is outside {MIN_RECORD_SIZE}..{MAX_RECORD_SIZE}")
