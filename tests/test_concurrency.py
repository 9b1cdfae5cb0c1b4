"""Hold the headline promise under real concurrency: exactly N releases, whatever the race.

A real gunicorn with four worker processes serves the app against the session's redis-server;
200 threads fire their claims at the same instant (a barrier releases them together), round
after round. Claims speak protocol v2: an access proof, and a password proof for password shares.
"""

import hashlib
import http.client
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest

from devtools.processes import GunicornProcess
from tests.sharing import b64u

CLAIMANTS = 200
ROUNDS = 20
WORKERS = 4
# Long enough for a whole storm to land in one window: with one greenlet per connection every
# claim of a burst is in flight at once, and on a loaded machine 200 of them took up to 6 s
# (docs/performance.md, "Slow clients").
WRONG_PROOF_WINDOW = 15


@pytest.fixture(scope="module")
def service(redis_server, tmp_path_factory):
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    env = {"CHUNK_SIZE": str(64 * 1024), "PROOF_FAILURES_MAX": "10",
           "PROOF_FAILURE_WINDOW": str(WRONG_PROOF_WINDOW), "MAX_DOWNLOADS": "10",
           # 200 claimants share one loopback address; per-address limits are tested elsewhere.
           "RATE_LIMITS_ENABLED": "0",
           # ... and their connections are no attack: no per-address connection cap either.
           "MAX_CONNECTIONS_PER_ADDRESS": "0"}
    server = GunicornProcess(redis_server.url, workers=WORKERS, threads=16, env=env,
                             log_path=log).start()
    yield server
    server.stop()
    assert b"Traceback" not in log.read_bytes()


@pytest.fixture(scope="module")
def pool():
    with ThreadPoolExecutor(max_workers=CLAIMANTS) as executor:
        yield executor


def request(base_url, method, path, body=None, token=None, headers=None, password=None):
    """Send one request on a fresh connection; return (status, body bytes)."""
    address = urlsplit(base_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    try:
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        if password:
            all_headers["X-Password-Proof"] = password
        if isinstance(body, dict):
            body = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def make_share(base_url, ciphertext, downloads, password=False):
    """Create and upload a v2 share; return (id, (access token, password token or None))."""
    access, password_token = os.urandom(32), os.urandom(32) if password else None
    body = {"version": 2, "size": len(ciphertext), "downloads": downloads, "expires_in": 600,
            "verifier": b64u(hashlib.sha256(access).digest()), "metadata": b64u(os.urandom(64)),
            "password": {"salt": b64u(os.urandom(16)), "iterations": 600_000,
                         "verifier": b64u(hashlib.sha256(password_token).digest())}
            if password else None}
    status, raw = request(base_url, "POST", "/api/v1/shares", body)
    assert status == 201, raw
    created = json.loads(raw)
    chunk = created["chunk_size"]
    for index in range(created["chunks"]):
        status, raw = request(base_url, "PUT", f"/api/v1/shares/{created['id']}/chunks/{index}",
                              ciphertext[index * chunk:(index + 1) * chunk],
                              token=created["owner_token"])
        assert status == 200, raw
    status, raw = request(base_url, "POST", f"/api/v1/shares/{created['id']}/finalize",
                          token=created["owner_token"])
    assert status == 200, raw
    return created["id"], (b64u(access), password_token and b64u(password_token))


def storm(pool, base_url, share_id, proofs):
    """Fire one claim per (access, password) proof pair, all released at the same instant;
    return the answers."""
    barrier = threading.Barrier(len(proofs))

    def claim(proof):
        barrier.wait(timeout=60)
        return request(base_url, "POST", f"/api/v1/shares/{share_id}/claim", token=proof[0],
                       password=proof[1])

    return list(pool.map(claim, proofs))


def claim_once(base_url, share_id, proof):
    return request(base_url, "POST", f"/api/v1/shares/{share_id}/claim", token=proof[0],
                   password=proof[1])


def codes(answers):
    """Count the answers by (status, code)."""
    counts = {}
    for status, body in answers:
        key = (status, json.loads(body).get("code"))
        counts[key] = counts.get(key, 0) + 1
    return counts


def deleted_soon(redis_client, key, seconds=5.0):
    """Wait for `key` to go: the server deletes right after its last byte is written,
    which can be a moment after the client has read that byte."""
    deadline = time.monotonic() + seconds
    while redis_client.exists(key):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def status_counts(answers):
    counts = {}
    for status, _ in answers:
        counts[status] = counts.get(status, 0) + 1
    return counts


def test_service_runs_several_worker_processes(service):
    deadline = time.monotonic() + 10
    while len(service.worker_pids()) < WORKERS and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(service.worker_pids()) == WORKERS


@pytest.mark.parametrize("downloads, password", [(1, False), (3, False), (2, True)])
def test_concurrent_claims_release_exactly_n(service, pool, redis_client, downloads, password):
    ciphertext = os.urandom(150_000)
    for round_number in range(ROUNDS):
        share_id, proof = make_share(service.url, ciphertext, downloads, password)
        answers = storm(pool, service.url, share_id, [proof] * CLAIMANTS)
        counts = status_counts(answers)
        assert counts == {200: downloads, 410: CLAIMANTS - downloads}, (round_number, counts)
        tickets = {json.loads(body)["ticket"] for status, body in answers if status == 200}
        assert len(tickets) == downloads
        for ticket in tickets:
            status, body = request(service.url, "GET", f"/api/v1/shares/{share_id}/content",
                                   token=ticket)
            assert status == 200 and body == ciphertext
        assert deleted_soon(redis_client, f"ots:{{{share_id}}}:data")
        status, _ = request(service.url, "GET", f"/api/v1/shares/{share_id}")
        assert status == 410


def test_wrong_access_proof_storm_counts_nothing_and_locks_nothing(service, pool):
    share_id, proof = make_share(service.url, os.urandom(1000), 2, password=True)
    wrong = [(b64u(os.urandom(32)), proof[1]) for _ in range(CLAIMANTS)]
    assert codes(storm(pool, service.url, share_id, wrong)) == {(403, "proof_invalid"): CLAIMANTS}
    status, body = claim_once(service.url, share_id, proof)
    assert status == 200, body


def test_wrong_password_storm_never_consumes_a_download(service, pool):
    share_id, proof = make_share(service.url, os.urandom(1000), 2, password=True)
    wrong = [(proof[0], b64u(os.urandom(32))) for _ in range(CLAIMANTS)]
    counts = codes(storm(pool, service.url, share_id, wrong))
    assert counts == {(403, "password_invalid"): 10, (429, "locked"): CLAIMANTS - 10}, counts
    status, body = request(service.url, "GET", f"/api/v1/shares/{share_id}")
    assert status == 200 and json.loads(body)["downloads_left"] == 2
    status, body = claim_once(service.url, share_id, proof)
    assert (status, json.loads(body)["code"]) == (429, "locked"), "the lock holds the right one"
    time.sleep(WRONG_PROOF_WINDOW + 0.2)
    status, body = claim_once(service.url, share_id, proof)
    assert status == 200, body


def test_one_right_password_in_a_wrong_password_storm(service, pool):
    for _ in range(5):
        share_id, proof = make_share(service.url, os.urandom(1000), 1, password=True)
        proofs = [(proof[0], b64u(os.urandom(32))) for _ in range(CLAIMANTS - 1)] + [proof]
        answers = storm(pool, service.url, share_id, proofs)
        right = answers[-1][0]
        assert right in (200, 429)
        status, body = request(service.url, "GET", f"/api/v1/shares/{share_id}")
        if right == 200:
            assert status == 410
        else:
            assert status == 200 and json.loads(body)["downloads_left"] == 1
        wrong = codes(answers[:-1])
        # Once the right proof won, later wrong ones meet a consumed share: 410.
        assert wrong.get((403, "password_invalid"), 0) <= 10
        assert set(wrong) <= {(403, "password_invalid"), (410, "consumed"), (429, "locked")}


def test_proofs_are_bound_to_their_share(service):
    share_a, proof_a = make_share(service.url, os.urandom(100), 1)
    share_b, _ = make_share(service.url, os.urandom(100), 1)
    status, body = claim_once(service.url, share_b, proof_a)
    assert (status, json.loads(body)["code"]) == (403, "proof_invalid")
    status, _ = claim_once(service.url, share_a, proof_a)
    assert status == 200


def test_a_storm_larger_than_the_redis_pool_on_one_worker_gets_no_503(redis_server,
                                                                      tmp_path):
    # 250 claims at once on one worker: more than redis-py's pool holds (100 connections).
    # Before run slots (CONCURRENT_REQUESTS_PER_WORKER) every greenlet took a connection at
    # once and the 101st got MaxConnectionsError, answered 503.
    env = {"RATE_LIMITS_ENABLED": "0", "MAX_CONNECTIONS_PER_ADDRESS": "0"}
    server = GunicornProcess(redis_server.url, workers=1, env=env,
                             log_path=tmp_path / "gunicorn.log").start()
    claimants = 250
    try:
        with ThreadPoolExecutor(max_workers=claimants) as many:
            for _ in range(2):
                share_id, proof = make_share(server.url, os.urandom(5000), 1)
                counts = status_counts(storm(many, server.url, share_id, [proof] * claimants))
                assert counts == {200: 1, 410: claimants - 1}, counts
    finally:
        server.stop()
