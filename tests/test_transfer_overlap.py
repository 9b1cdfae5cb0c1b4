"""The client overlaps its steps (issue 14) without losing order, bounds or errors.

`send` keeps a few chunk uploads in flight while it encrypts the next; these tests hold the
uploader to its bound, to in-order progress, and to stopping at the first refused chunk. The API
object records calls instead of talking HTTP: what is tested is the client's own scheduling
(the end-to-end paths run against a real server in test_client_v2.py and test_cli.py).
"""

import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onetimeshare import transfer
from onetimeshare.errors import api_error


class RecordingApi:
    """Take chunk uploads slowly, counting how many run at once; refuse `refuse_index`."""

    def __init__(self, refuse_index=None):
        self.lock = threading.Lock()
        self.running = self.most = 0
        self.stored = {}
        self.refuse_index = refuse_index

    def put_chunk(self, share_id, owner_token, index, data):
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(0.02)
            if index == self.refuse_index:
                raise api_error(409, "not_uploading", "the share is no longer uploading")
            with self.lock:
                self.stored[index] = bytes(data)
        finally:
            with self.lock:
                self.running -= 1


def uploader(api, chunk_size=4, total=40, progress=None):
    return transfer._ChunkUploader(api, "s", "owner", chunk_size, total, progress)


def test_uploads_overlap_up_to_the_bound_and_store_every_chunk_in_place():
    api = RecordingApi()
    seen = []
    up = uploader(api, progress=seen.append)
    data = bytes(range(40)) * 3  # 30 chunks of 4 bytes
    for offset in range(0, len(data), 7):  # fed in pieces that do not match the chunks
        up.feed(data[offset:offset + 7])
    up.flush()
    assert api.most == transfer.UPLOADS_IN_FLIGHT
    assert b"".join(api.stored[i] for i in range(30)) == data
    assert up.sent == len(data)
    assert seen == sorted(seen) and len(seen) == 30  # progress in order, once per chunk


def test_a_refused_chunk_stops_the_upload_with_its_error():
    api = RecordingApi(refuse_index=2)
    up = uploader(api)
    with pytest.raises(Exception) as refused:
        for _ in range(30):
            up.feed(b"abcd")
        up.flush()
    assert getattr(refused.value, "code", None) == "not_uploading"
    # Chunks already queued behind the refused one may finish; nothing is sent after it fails.
    assert len(api.stored) <= 2 + transfer.UPLOADS_IN_FLIGHT
    assert up.sent == 2 * 4


class StoringApi:
    def __init__(self):
        self.stored = {}
        self.lock = threading.Lock()

    def put_chunk(self, share_id, owner_token, index, data):
        with self.lock:
            self.stored[index] = bytes(data)


@settings(max_examples=60, deadline=None)
@given(chunk_size=st.integers(1, 50),
       pieces=st.lists(st.binary(max_size=120), max_size=20),
       as_bytearray=st.booleans())
def test_chunks_are_the_stream_cut_at_chunk_size_whatever_the_pieces(chunk_size, pieces,
                                                                     as_bytearray):
    # The uploader keeps views of the pieces until a chunk is full: a caller's buffer that is
    # reused after `feed` must not change what was sent.
    api = StoringApi()
    total = sum(map(len, pieces))
    up = uploader(api, chunk_size=chunk_size, total=total)
    for piece in pieces:
        if as_bytearray:
            buffer = bytearray(piece)
            up.feed(buffer)
            buffer[:] = bytes(len(buffer))  # the caller reuses its buffer
        else:
            up.feed(piece)
    up.flush()
    chunks = [api.stored[i] for i in range(len(api.stored))]
    assert b"".join(chunks) == b"".join(pieces)
    assert all(len(chunk) == chunk_size for chunk in chunks[:-1])
    assert len(chunks) == -(-total // chunk_size)
    assert up.sent == total
