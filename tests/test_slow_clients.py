"""Slow and idle clients cannot starve the service, and slow honest ones are still served.

Everything runs against `onetimeshare serve` (gunicorn with the project's config, 2 workers) on
a real redis-server, over loopback. Attackers hold 1,000 connections (500 trickling a header
block, 500 trickling a chunk body, one byte a second each), from one address or from 50; an
honest client on another address must meanwhile get /healthz within a second and complete a
share's round trip, and every slow connection must be closed within the documented timeouts.
The timeouts are shortened here (the mechanism is what is tested; the defaults are checked
against the README below) so that each case takes seconds.
"""

import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis

from devtools.slow_clients import (
    Trickler,
    attack_plan,
    body_headers,
    claim,
    create_share,
    fetch,
    honest_client,
    round_trip,
    served,
    timed_healthz,
    upload,
    wait_accepted,
)
from server import serving
from server.config import DEFAULTS, ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 2
ATTACK = {"CLIENT_HEADER_TIMEOUT": 10, "CLIENT_IDLE_TIMEOUT": 10}
#: Scheduling on a loaded two-core machine: how late a close may come past its timeout.
SLACK = 3.0
HONEST = "127.0.0.200"


@pytest.mark.slow
@pytest.mark.parametrize("addresses", [
    pytest.param(["127.0.0.1"], id="one-address"),
    pytest.param([f"127.0.0.{i}" for i in range(1, 51)], id="50-addresses"),
])
def test_a_thousand_slow_connections_neither_starve_nor_outlast_their_timeouts(
        redis_server, redis_client, tmp_path, addresses):
    env = {name: str(value) for name, value in ATTACK.items()}
    with served(redis_server.url, tmp_path / "gunicorn.log", workers=WORKERS, env=env) as server:
        with honest_client(server.url, HONEST) as http:
            # Connected before the burst, as a browser with the page open: a burst of new
            # connections waits in the kernel's accept queue in order, this one does not.
            timed_healthz(http)
            with Trickler(server.port, attack_plan(addresses)) as attack:
                healthz = [timed_healthz(http)]
                round_trip_seconds = round_trip(http)
                healthz.append(timed_healthz(http))
                held_meanwhile = attack.open_count()
                accepted = wait_accepted(server.port)
                with honest_client(server.url, HONEST) as newcomer:
                    healthz.append(timed_healthz(newcomer))  # once the queue is empty
                assert attack.wait_all_closed(max(ATTACK.values()) + 2 * SLACK)
        log = server.log()

    assert max(healthz) < 1.0, healthz
    assert round_trip_seconds < 5.0
    refused = [c for c in attack.connections if c.status == 429]
    admitted = [c for c in attack.connections if c.status != 429]
    cap = DEFAULTS["MAX_CONNECTIONS_PER_ADDRESS"]
    if len(addresses) == 1:
        # One address gets at most its cap in each worker; the rest are told 429 at once.
        assert 0 < len(admitted) <= cap * WORKERS
        assert max(c.closed_at for c in refused) <= accepted + SLACK
    else:
        # 20 connections per address is under the cap: all are held, until their timeout.
        assert not refused
        assert held_meanwhile == 1000, "the honest client ran while all were held"
    for connection in admitted:
        limit = ATTACK["CLIENT_HEADER_TIMEOUT" if connection.kind == "headers"
                      else "CLIENT_IDLE_TIMEOUT"]
        # The server's clock starts when it accepts, at the latest when the queue was empty.
        assert connection.held >= limit - 1, (connection.kind, connection.held)
        assert connection.closed_at <= accepted + limit + SLACK, (connection.kind, connection.held)
        assert connection.sent >= limit - 2, "it kept trickling while it was held"
    assert "Traceback" not in log and "[ERROR]" not in log, log[-3000:]


@pytest.fixture(scope="module")
def patient_server(redis_server, tmp_path_factory):
    """A server whose idle timeout (2 s) is far shorter than the slow transfers below."""
    log = tmp_path_factory.mktemp("patient") / "gunicorn.log"
    env = {"CLIENT_HEADER_TIMEOUT": "2", "CLIENT_IDLE_TIMEOUT": "2"}
    with served(redis_server.url, log, workers=WORKERS, env=env) as server:
        yield server


IDLE = 2


def small_window_socket(port):
    """A client socket with a small receive buffer, so the server feels every pause."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
    sock.settimeout(30)
    sock.connect(("127.0.0.1", port))
    return sock


def read_head(sock):
    """Read a response's status line and headers; return (status, headers, body bytes so far)."""
    data = b""
    while b"\r\n\r\n" not in data:
        more = sock.recv(65536)
        assert more, f"closed before the headers: {data!r}"
        data += more
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split(" ")[1]), {k.lower(): v for k, v in headers.items()}, rest


def fetch_request(share, ticket):
    return (f"GET /api/v1/shares/{share.id}/content HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {ticket}\r\n\r\n").encode()


def stored_share(server, size):
    """A finalized share of `size` random bytes and the ticket of its one claim."""
    with honest_client(server.url) as http:
        share = create_share(http, size)
        upload(http, share)
        return share, claim(http, share)


@pytest.mark.slow
def test_a_slow_reader_that_keeps_reading_gets_the_whole_download(patient_server):
    # 12 MiB at 1 MiB/s: socket buffers hold at most ~4 MiB, so the server waits seconds on
    # each 4 MiB chunk it writes, far past the 2 s idle timeout, yet never more than ~0.1 s
    # without progress.
    share, ticket = stored_share(patient_server, 12 * 1024 * 1024)
    sock = small_window_socket(patient_server.port)
    started = time.monotonic()
    with sock:
        sock.sendall(fetch_request(share, ticket))
        status, headers, body = read_head(sock)
        assert status == 200
        length = int(headers["content-length"])
        received = bytearray(body)
        while len(received) < length:
            more = sock.recv(min(102_400, length - len(received)))
            assert more, f"cut after {len(received)} of {length} bytes"
            received += more
            time.sleep(len(more) / (1024 * 1024))
    elapsed = time.monotonic() - started
    assert bytes(received) == share.ciphertext
    assert elapsed > 4 * IDLE


@pytest.mark.slow
def test_a_reader_that_stops_is_cut_after_the_idle_timeout_and_resumes_with_range(
        patient_server):
    share, ticket = stored_share(patient_server, 12 * 1024 * 1024)
    with small_window_socket(patient_server.port) as sock:
        sock.sendall(fetch_request(share, ticket))
        status, headers, body = read_head(sock)
        assert status == 200
        time.sleep(IDLE + SLACK)  # stop reading: the server's writes stall
        received = bytearray(body)
        while more := sock.recv(1024 * 1024):
            received += more  # what the kernel buffered, then the server's close
    assert 0 < len(received) < len(share.ciphertext)
    assert bytes(received) == share.ciphertext[:len(received)]
    with honest_client(patient_server.url) as http:
        rest = fetch(http, share, ticket, first_byte=len(received))
    assert rest.status_code == 206
    assert bytes(received) + rest.content == share.ciphertext


@pytest.mark.slow
def test_a_chunk_sent_at_a_modest_steady_rate_is_stored(patient_server):
    # 1 MiB at 128 KiB/s takes 8 s, four times the idle timeout: only stalls are cut.
    size = 1024 * 1024
    with honest_client(patient_server.url) as http:
        share = create_share(http, size)
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", patient_server.port), timeout=30) as sock:
        sock.sendall((f"PUT /api/v1/shares/{share.id}/chunks/0 HTTP/1.1\r\n"
                      f"Host: 127.0.0.1\r\nAuthorization: Bearer {share.owner_token}\r\n"
                      f"Content-Type: application/octet-stream\r\nContent-Length: {size}\r\n"
                      "\r\n").encode())
        for offset in range(0, size, 16 * 1024):
            sock.sendall(share.ciphertext[offset:offset + 16 * 1024])
            time.sleep(0.125)
        status, _, _ = read_head(sock)
    assert status == 200
    assert time.monotonic() - started > 3 * IDLE
    with honest_client(patient_server.url) as http:
        finalized = http.post(f"/api/v1/shares/{share.id}/finalize", headers=share.owner)
        assert finalized.status_code == 200, "the chunk was stored whole"
        assert fetch(http, share, claim(http, share)).content == share.ciphertext


@pytest.mark.parametrize("name", ["CLIENT_HEADER_TIMEOUT", "CLIENT_IDLE_TIMEOUT"])
def test_a_timeout_of_zero_is_refused_at_start(name):
    with pytest.raises(ConfigError, match=name):
        load_config(environ={name: "0"})


def test_every_serving_setting_is_in_the_readme_with_its_default():
    readme = (ROOT / "README.md").read_text()
    for name in ("CLIENT_HEADER_TIMEOUT", "CLIENT_IDLE_TIMEOUT", "CLIENT_MIN_RATE",
                 "MAX_CONNECTIONS_PER_ADDRESS", "CONCURRENT_REQUESTS_PER_WORKER"):
        row = re.search(rf"^\| `{name}` \| `(\d+)`", readme, re.MULTILINE)
        assert row, f"{name} has no row in the README's configuration table"
        assert int(row.group(1)) == DEFAULTS[name]


@pytest.mark.parametrize(("addr", "key"), [
    (("203.0.113.7", 5000), "203.0.113.7"),
    (("2001:db8:1:2:aaaa::1", 5000, 0, 0), "2001:db8:1:2::/64"),
    (("2001:db8:1:2:bbbb::9", 5001, 0, 0), "2001:db8:1:2::/64"),
    (("::ffff:203.0.113.7", 5000, 0, 0), "203.0.113.7"),
    ("", None),  # a unix socket peer: not counted
])
def test_connections_are_counted_per_address_and_per_ipv6_64(addr, key):
    assert serving.address_key(addr) == key


def test_requests_waiting_on_their_client_hold_no_run_slot(redis_server, tmp_path):
    # One worker that runs two requests at once (CONCURRENT_REQUESTS_PER_WORKER), and eight
    # uploads stalled inside their bodies: were a stalled request to keep its slot, /healthz
    # and a whole round trip would wait the 20 s idle timeout out.
    env = {"CONCURRENT_REQUESTS_PER_WORKER": "2", "CLIENT_IDLE_TIMEOUT": "20",
           "CLIENT_MIN_RATE": "0"}
    with served(redis_server.url, tmp_path / "gunicorn.log", workers=1, env=env) as server:
        stalled = []
        try:
            for _ in range(8):
                sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
                sock.sendall(body_headers() + b"x" * 100)  # then nothing more
                stalled.append(sock)
            time.sleep(1)  # every one of them is inside the app, reading its body
            with honest_client(server.url) as http:
                assert timed_healthz(http) < 3
                assert round_trip(http) < 8
        finally:
            for sock in stalled:
                sock.close()


def test_the_health_probe_answers_while_every_run_slot_is_held(redis_server, tmp_path):
    # One slot, held by an API request stuck on a paused Redis: /healthz still answers at once
    # (it takes no slot and no Redis), while the API request waits on Redis.
    env = {"CONCURRENT_REQUESTS_PER_WORKER": "1"}
    client = redis.Redis.from_url(redis_server.url)
    with served(redis_server.url, tmp_path / "gunicorn.log", workers=1, env=env) as server, \
            honest_client(server.url) as http, ThreadPoolExecutor(2) as pool:
        assert http.get("/api/v1/config").status_code == 200  # connections warmed up
        client.execute_command("CLIENT", "PAUSE", "3000", "ALL")
        try:
            stuck = pool.submit(http.get, "/api/v1/shares/" + "A" * 22)
            time.sleep(0.5)  # it holds the one slot, waiting on Redis
            started = time.monotonic()
            assert http.get("/healthz").status_code == 200
            assert time.monotonic() - started < 1.5
            assert not stuck.done(), "the API request was still waiting on Redis"
        finally:
            client.execute_command("CLIENT", "UNPAUSE")
        assert stuck.result(timeout=30).status_code == 404
