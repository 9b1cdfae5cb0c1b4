"""A chunk's body read straight from gunicorn's socket (server/request_body.py) is exact.

Against `onetimeshare serve`'s gunicorn on a real redis-server, over raw sockets so the bytes'
arrival can be shaped: a body in odd pieces with pauses, a body that arrives with its headers
in one segment, a next request pipelined right behind a body, a body cut short. Every stored
chunk is checked byte for byte through a real claim and fetch. The same view under Flask's test
client reads through `wsgi.input` (tests/test_lifecycle.py and the rest cover that path).
"""

import os
import socket
import time

import pytest

from devtools.slow_clients import claim, create_share, fetch, honest_client, served, upload
from server import request_body

CHUNK = 1024 * 1024


@pytest.fixture(scope="module")
def server(redis_server, tmp_path_factory):
    log = tmp_path_factory.mktemp("request-body") / "gunicorn.log"
    with served(redis_server.url, log, workers=1) as running:
        yield running


def put_head(share, index, length, extra=""):
    return (f"PUT /api/v1/shares/{share.id}/chunks/{index} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {share.owner_token}\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {length}\r\n"
            f"{extra}\r\n").encode()


def read_answers(sock, count):
    """Read `count` responses with Content-Length bodies; return [(status, body)]."""
    data = b""
    answers = []
    while len(answers) < count:
        head_end = data.find(b"\r\n\r\n")
        if head_end >= 0:
            head = data[:head_end].decode("latin-1").split("\r\n")
            length = next(int(line.split(":", 1)[1]) for line in head
                          if line.lower().startswith("content-length:"))
            if len(data) >= head_end + 4 + length:
                answers.append((int(head[0].split()[1]), data[head_end + 4:head_end + 4 + length]))
                data = data[head_end + 4 + length:]
                continue
        more = sock.recv(65536)
        assert more, f"closed after {len(answers)} answers: {data[:200]!r}"
        data += more
    return answers


def stored_whole(server, share):
    with honest_client(server.url) as http:
        finalized = http.post(f"/api/v1/shares/{share.id}/finalize", headers=share.owner)
        assert finalized.status_code == 200, finalized.text
        return fetch(http, share, claim(http, share)).content == share.ciphertext


def new_share(server, size):
    with honest_client(server.url) as http:
        return create_share(http, size)


@pytest.mark.parametrize("pieces", [
    pytest.param([1, 7, 65535, 65536, 1], id="odd-sizes"),
    pytest.param([CHUNK - 1], id="all-but-one-byte-then-one"),
    pytest.param([300_000] * 3, id="three-pauses"),
])
def test_a_body_arriving_in_pieces_with_pauses_is_stored_exactly(server, pieces):
    share = new_share(server, CHUNK)
    body = share.ciphertext
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(put_head(share, 0, CHUNK))
        offset = 0
        for size in pieces + [CHUNK]:
            sock.sendall(body[offset:offset + size])
            offset += size
            if offset >= CHUNK:
                break
            time.sleep(0.05)
        [(status, answer)] = read_answers(sock, 1)
    assert status == 200, answer
    assert stored_whole(server, share)


def test_headers_and_a_whole_body_in_one_segment_are_stored_exactly(server):
    # Gunicorn then holds part of the body in its own buffer before the view runs.
    share = new_share(server, 5000)
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(put_head(share, 0, 5000) + share.ciphertext)
        [(status, answer)] = read_answers(sock, 1)
    assert status == 200, answer
    assert stored_whole(server, share)


def test_a_request_pipelined_behind_a_body_is_answered_on_the_same_connection(server):
    with honest_client(server.url) as http:
        chunk_size = http.get("/api/v1/config").json()["chunk_size"]
    share = new_share(server, chunk_size + 3000)
    first, second = share.ciphertext[:chunk_size], share.ciphertext[chunk_size:]
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        # Both chunks in one write: the first body's end and the next request share segments.
        sock.sendall(put_head(share, 0, len(first)) + first
                     + put_head(share, 1, len(second)) + second
                     + b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answers = read_answers(sock, 3)
    assert [status for status, _ in answers] == [200, 200, 200], answers
    assert stored_whole(server, share)


def test_a_body_cut_short_stores_nothing_and_the_chunk_can_be_sent_again(server):
    share = new_share(server, CHUNK)
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(put_head(share, 0, CHUNK) + share.ciphertext[:CHUNK // 3])
        sock.shutdown(socket.SHUT_WR)  # the client gives up mid-body
        [(status, answer)] = read_answers(sock, 1)
    assert status == 400 and b"invalid_request" in answer, answer
    with honest_client(server.url) as http:
        owner = http.get(f"/api/v1/shares/{share.id}/owner", headers=share.owner).json()
        assert owner["received_chunks"] == [], "no partial chunk was kept"
        upload(http, share)
    assert stored_whole(server, share)


def test_a_declared_body_larger_than_what_arrives_holds_only_what_arrived():
    # The buffer grows with what has arrived, never to the declared length up front.
    class Trickle:
        def __init__(self, pieces):
            self.pieces = list(pieces)
            self.sizes = []

        def recv_into(self, view):
            self.sizes.append(len(view))
            if not self.pieces:
                return 0
            piece = self.pieces.pop(0)
            taken, rest = piece[:len(view)], piece[len(view):]
            if rest:
                self.pieces.insert(0, rest)
            view[:len(taken)] = taken
            return len(taken)

    class Unreader:
        def __init__(self, sock, held):
            self.sock, self.held, self.unread_bytes = sock, held, b""

        def take_buffered(self):
            return self.held

        def unread(self, data):
            self.unread_bytes = data

    sock = Trickle([b"x" * 10])
    data = request_body._receive(Unreader(sock, b"abc"), 4 * 1024 * 1024)
    assert bytes(data) == b"abc" + b"x" * 10
    assert max(sock.sizes) <= request_body.FIRST_BUFFER, "no 4 MiB buffer for 13 bytes"

    pieces = [os.urandom(n) for n in (70_000, 200_000, 1, 300_000)]
    sock = Trickle(pieces)
    data = request_body._receive(Unreader(sock, b""), sum(map(len, pieces)))
    assert bytes(data) == b"".join(pieces)

    unreader = Unreader(Trickle([]), b"body" + b"NEXT REQUEST")
    assert bytes(request_body._receive(unreader, 4)) == b"body"
    assert unreader.unread_bytes == b"NEXT REQUEST", "a pipelined request stays for gunicorn"
