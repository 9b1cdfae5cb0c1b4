"""Chunks are read from Redis straight into the pieces served (server/bulk_reply.py, issue 14).

Against the test Redis: every reply framing the reader meets (a bulk string of any length, an
empty one, a nil, an error), a connection left clean for the next command, and a dropped one
replaced; through the API, ranges cut at any byte of chunks that arrive in many pieces.
"""

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server import bulk_reply
from tests.sharing import Sharing


@pytest.fixture
def small_pieces(monkeypatch):
    # Many pieces per chunk, and a first read that ends inside the reply's first line.
    monkeypatch.setattr(bulk_reply, "PIECE", 1000)
    monkeypatch.setattr(bulk_reply, "HEADER_READ", 3)


@pytest.mark.parametrize("length", [0, 1, 2, 3, 60, 61, 62, 1000, 1001, 65536, 300_001])
def test_a_bulk_reply_arrives_whole_and_the_connection_stays_usable(redis_client, length,
                                                                     small_pieces):
    value = bytes(range(256)) * (length // 256) + bytes(range(length % 256))
    redis_client.hset("h", "f", value)
    pieces = bulk_reply.fetch(redis_client, "HGET", "h", "f")
    assert b"".join(pieces) == value
    assert all(pieces) and all(type(piece) is bytes for piece in pieces)
    assert max(map(len, pieces), default=0) <= 1000
    assert redis_client.hget("h", "f") == value, "the pooled connection is read to its end"


@pytest.mark.parametrize("protocol", [2, 3])
def test_a_nil_reply_is_none(redis_server, protocol):
    client = redis.Redis.from_url(redis_server.url, protocol=protocol)
    try:
        assert bulk_reply.fetch(client, "HGET", "missing", "f") is None
        assert client.ping()
    finally:
        client.close()


def test_an_error_reply_is_raised_and_the_connection_closed(redis_client):
    redis_client.set("a-string", "x")
    with pytest.raises(redis.exceptions.ResponseError, match="WRONGTYPE"):
        bulk_reply.fetch(redis_client, "HGET", "a-string", "f")
    assert redis_client.get("a-string") == b"x"


def test_a_connection_dropped_by_the_server_is_replaced_once(redis_client):
    redis_client.hset("h", "f", b"value")
    redis_client.client_kill_filter(_type="normal", skipme=False)  # every pooled connection
    assert bulk_reply.fetch(redis_client, "HGET", "h", "f") == [b"value"]


def test_an_unreachable_server_is_a_connection_error():
    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    with pytest.raises(redis.exceptions.ConnectionError):
        bulk_reply.fetch(client, "HGET", "h", "f")


# Each example makes its own share: the app and its client can be shared between them.
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.integers(0, 149_999), length=st.integers(1, 150_000))
def test_any_range_of_a_share_read_in_small_pieces_is_exact(client, small_pieces, first, length):
    sharing = Sharing(client)
    share = sharing.ready(size=150_000, downloads=2)  # 64 KiB chunks: three, the last short
    last = min(first + length, 150_000 - 1) - 1  # short of the end: the claim stays open
    if last < first:
        return
    ticket = sharing.claim(share).get_json()["ticket"]
    response = sharing.fetch(share.id, ticket, f"bytes={first}-{last}")
    assert response.status_code == 206
    assert response.get_data() == share.ciphertext[first:last + 1]
    whole = sharing.fetch(share.id, ticket)
    assert whole.get_data() == share.ciphertext
