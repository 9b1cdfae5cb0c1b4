"""Property tests of the RFC 8188 decoder against hostile bodies (protocol.md §3).

tests/test_ece.py pins single flips, truncations and crafted framing on fixed bodies. Here
hypothesis builds the bodies as well (record size, keyid, the v2 writer's padding and padding in
layouts no writer produces, plaintext)
and then damages them any way it likes, several times over: bit flips, overwritten, inserted and
deleted bytes, truncation, appended data, a rewritten header (rs, idlen, keyid). Whatever arrives,
in whatever pieces, the decoder must do one of two things:

- return exactly the plaintext, or
- raise DecryptionError or ProtocolError, having released only a prefix of the plaintext
  (the records that authenticated before the damage), never a byte of anything else.

Any other exception, or any other output, fails.
"""

import io
import random
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from onetimeshare.ece import (
    HEADER_LENGTH,
    MAX_RECORD_SIZE,
    TAG_LENGTH,
    Decryptor,
    Encryptor,
    RecordCipher,
    decrypt_stream,
)
from onetimeshare.errors import DecryptionError, ProtocolError

IKM = bytes(range(16))
DOCUMENTED = (DecryptionError, ProtocolError)
PROPERTY = settings(max_examples=200, deadline=None)


class Body:
    """A valid body and the plaintext it holds."""

    def __init__(self, data, plaintext, rs):
        self.data = data
        self.plaintext = plaintext
        self.rs = rs


@st.composite
def bodies(draw):
    """Valid bodies: the writer's own, or records hand-sealed with padding and a keyid."""
    rs = draw(st.one_of(st.integers(18, 120), st.sampled_from([18, 19, 64, 4096])), label="rs")
    plaintext = draw(st.binary(max_size=900), label="plaintext")
    keyid = draw(st.binary(max_size=12), label="keyid")
    salt = draw(st.binary(min_size=16, max_size=16), label="salt")
    how = draw(st.sampled_from(["writer", "padding writer", "hand-sealed"]), label="how")
    if how != "hand-sealed":
        # The v2 writer pads to any length at or above the plaintext's (Padmé in practice).
        pad_to = None if how == "writer" else len(plaintext) + draw(st.integers(0, 600),
                                                                    label="padding")
        encryptor = Encryptor(IKM, salt=salt, rs=rs, keyid=keyid, pad_to=pad_to)
        return Body(encryptor.update(plaintext) + encryptor.finalize(), plaintext, rs)
    # Hand-sealed records: each carries 0..room bytes of data, a delimiter, then zero padding up
    # to rs (or less, for the last), in layouts no writer of this project produces.
    cipher = RecordCipher(IKM, salt)
    room = rs - TAG_LENGTH - 1
    records, rest, seq = [], plaintext, 0
    while True:
        # Any share of the data per record, even none; past a few records, full ones, so that
        # small record sizes still end.
        drawn = seq < 8
        take = draw(st.integers(0, min(room, len(rest)))) if drawn else min(room, len(rest))
        last = take == len(rest) and (not drawn or draw(st.booleans(), label="end here"))
        data, rest = rest[:take], rest[take:]
        padding = room - take if not last else draw(st.integers(0, room - take))
        records.append(cipher.seal(seq, data + (b"\x02" if last else b"\x01") + bytes(padding)))
        seq += 1
        if last:
            break
    header = struct.pack(">16sIB", salt, rs, len(keyid)) + keyid
    return Body(header + b"".join(records), plaintext, rs)


def mutations(length):
    """One damage to a body of `length` bytes, as a function of the body."""
    position = st.integers(0, max(0, length - 1))
    return st.one_of(
        st.tuples(st.just("flip"), position, st.integers(0, 7)),
        st.tuples(st.just("set"), position, st.integers(0, 255)),
        st.tuples(st.just("insert"), st.integers(0, length), st.binary(min_size=1, max_size=40)),
        st.tuples(st.just("delete"), position, st.integers(1, 70)),
        st.tuples(st.just("truncate"), st.integers(0, max(0, length - 1))),
        st.tuples(st.just("append"), st.binary(min_size=1, max_size=80)),
        st.tuples(st.just("repeat tail"), st.integers(1, 200)),
        st.tuples(st.just("rs"), st.one_of(st.integers(0, 2**32 - 1),
                                           st.integers(0, 300),
                                           st.sampled_from([17, 18, MAX_RECORD_SIZE,
                                                            MAX_RECORD_SIZE + 1]))),
        st.tuples(st.just("idlen"), st.integers(0, 255)),
        st.tuples(st.just("keyid"), st.binary(max_size=20)),
    )


def damage(data, mutation):
    """Apply one mutation from `mutations`; header rewrites need a whole header to work on."""
    body = bytearray(data)
    kind, *args = mutation
    if kind == "flip":
        if body:
            body[args[0] % len(body)] ^= 1 << args[1]
    elif kind == "set":
        if body:
            body[args[0] % len(body)] = args[1]
    elif kind == "insert":
        body[args[0]:args[0]] = args[1]
    elif kind == "delete":
        del body[args[0]:args[0] + args[1]]
    elif kind == "truncate":
        del body[args[0]:]
    elif kind == "append":
        body += args[0]
    elif kind == "repeat tail":
        body += body[-args[0]:]
    elif len(body) >= HEADER_LENGTH:
        idlen = body[20]
        if kind == "rs":
            body[16:20] = args[0].to_bytes(4, "big")
        elif kind == "idlen":
            body[20] = args[0]
        elif kind == "keyid":
            body[HEADER_LENGTH:HEADER_LENGTH + idlen] = args[0]
            body[20] = len(args[0])
    return bytes(body)


def pieces(data, rng):
    """Cut data at random places, empty pieces included."""
    out, start = [], 0
    while start < len(data):
        size = rng.choice([0, 1, 2, 17, 63, 64, 65, 300, 5000])
        out.append(data[start:start + size])
        start += size
    return out


def decode(data, rng):
    """Feed `data` to a Decryptor in random pieces; return (released bytes, error or None)."""
    decryptor, released = Decryptor(IKM), bytearray()
    try:
        for piece in pieces(data, rng):
            released += decryptor.update(piece)
        released += decryptor.finalize()
    except DOCUMENTED as error:
        return bytes(released), error
    return bytes(released), None


def assert_exact_or_documented(released, error, plaintext):
    if error is None:
        assert released == plaintext
    else:
        # Only records that authenticated came out, and they are the plaintext's own start.
        assert released == plaintext[:len(released)], "released bytes that are not the plaintext"


@PROPERTY
@given(body=bodies(), seed=st.integers(0, 2**32 - 1))
def test_any_split_of_a_valid_body_round_trips(body, seed):
    released, error = decode(body.data, random.Random(seed))
    assert error is None, error
    assert released == body.plaintext
    sink = io.BytesIO()
    read_size = random.Random(seed).randint(1, 3 * body.rs)
    assert decrypt_stream(io.BytesIO(body.data), sink, IKM, read_size=read_size) == len(
        body.plaintext)
    assert sink.getvalue() == body.plaintext


@PROPERTY
@given(data=st.data(), body=bodies(), seed=st.integers(0, 2**32 - 1))
def test_damaged_bodies_give_the_plaintext_or_a_documented_error(data, body, seed):
    damaged = body.data
    for _ in range(data.draw(st.integers(1, 4), label="damages")):
        damaged = damage(damaged, data.draw(mutations(len(damaged)), label="damage"))
    released, error = decode(damaged, random.Random(seed))
    assert_exact_or_documented(released, error, body.plaintext)
    if error is None and damaged[HEADER_LENGTH:] != body.data[HEADER_LENGTH:]:
        # Only an unauthenticated header field may change while the plaintext survives: the
        # records themselves, shifted or not, must be the very same bytes.
        start = HEADER_LENGTH + damaged[20]
        assert damaged[start:] == body.data[HEADER_LENGTH + body.data[20]:]


@PROPERTY
@given(body=bodies(), cut=st.data(), seed=st.integers(0, 2**32 - 1))
def test_every_truncation_fails_and_releases_only_a_prefix(body, cut, seed):
    length = cut.draw(st.integers(0, len(body.data) - 1), label="kept")
    released, error = decode(body.data[:length], random.Random(seed))
    assert isinstance(error, DecryptionError), f"a {length}-byte prefix decrypted"
    assert released == body.plaintext[:len(released)]


@PROPERTY
@given(body=bodies(), key=st.binary(min_size=1, max_size=48), seed=st.integers(0, 2**32 - 1))
def test_a_wrong_key_releases_nothing(body, key, seed):
    if key == IKM:
        key = key[::-1] + b"\0"
    decryptor, released = Decryptor(key), bytearray()
    try:
        for piece in pieces(body.data, random.Random(seed)):
            released += decryptor.update(piece)
        released += decryptor.finalize()
    except DecryptionError:
        assert released == b""
        return
    raise AssertionError("a body decrypted under the wrong key")


@PROPERTY
@given(noise=st.binary(max_size=600), seed=st.integers(0, 2**32 - 1))
def test_noise_is_refused_with_a_documented_error(noise, seed):
    released, error = decode(noise, random.Random(seed))
    assert error is not None and released == b""


@PROPERTY
@given(body=bodies(), rs=st.integers(0, 2**32 - 1))
def test_a_record_size_out_of_bounds_is_a_protocol_error_before_any_record(body, rs):
    header = bytearray(body.data)
    header[16:20] = rs.to_bytes(4, "big")
    released, error = decode(bytes(header), random.Random(rs))
    if not 18 <= rs <= MAX_RECORD_SIZE:
        assert isinstance(error, ProtocolError) and released == b""
    else:
        assert_exact_or_documented(released, error, body.plaintext)


@PROPERTY
@given(body=bodies(), damage_at=st.data(), read_size=st.integers(1, 700))
def test_decrypt_stream_leaves_only_a_prefix_behind(body, damage_at, read_size):
    """decrypt_stream writes records as they authenticate; on failure, what it wrote must
    still be the start of the plaintext (the caller then throws it away)."""
    damaged = damage(body.data, damage_at.draw(mutations(len(body.data)), label="damage"))
    sink = io.BytesIO()
    try:
        written = decrypt_stream(io.BytesIO(damaged), sink, IKM, read_size=read_size)
    except DOCUMENTED:
        assert sink.getvalue() == body.plaintext[:len(sink.getvalue())]
        return
    assert written == len(body.plaintext) and sink.getvalue() == body.plaintext


@PROPERTY
@given(body=bodies(),
       extra=st.lists(st.tuples(st.binary(max_size=30), st.sampled_from([b"\x01", b"\x02"])),
                      min_size=1, max_size=3),
       seed=st.integers(0, 2**32 - 1))
def test_records_sealed_after_the_last_one_are_refused(body, extra, seed):
    """Even records that authenticate (sealed with the right key, in sequence) must not extend
    a body past its 0x02 record: the end is part of what the delimiter binds."""
    salt, rs, idlen = struct.unpack_from(">16sIB", body.data)
    records = -(-(len(body.data) - HEADER_LENGTH - idlen) // rs)
    cipher = RecordCipher(IKM, salt)
    extended = body.data + b"".join(
        cipher.seal(records + i, data[:rs - TAG_LENGTH - 1] + delimiter)
        for i, (data, delimiter) in enumerate(extra))
    released, error = decode(extended, random.Random(seed))
    assert isinstance(error, DecryptionError)
    assert released == body.plaintext[:len(released)]
