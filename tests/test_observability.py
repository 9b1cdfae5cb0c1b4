"""Check /metrics and the JSON access log: useful numbers, and never an id or a token."""

import json
import re
import time

import pytest

from devtools.processes import GunicornProcess
from tests.sharing import HttpClient, Sharing, b64u


def scrape(client_get):
    """Return {sample line name with labels: value} from a /metrics answer."""
    text = client_get("/metrics")
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def test_metrics_count_the_life_of_a_share(client, sharing):
    def get(path):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        return response.get_data(as_text=True)

    before = scrape(get)
    share = sharing.ready(size=150_000)
    sharing.claim(share, token=b64u(b"w" * 32))
    sharing.unlock(share)
    assert sharing.download(share) == share.ciphertext
    sharing.claim(share)
    after = scrape(get)

    def delta(name):
        return after.get(name, 0) - before.get(name, 0)

    assert delta("onetimeshare_shares_created_total") == 1
    assert delta("onetimeshare_shares_finalized_total") == 1
    assert delta("onetimeshare_upload_bytes_total") == 150_000
    assert delta('onetimeshare_claims_total{outcome="won"}') == 1
    assert delta('onetimeshare_claims_total{outcome="proof_invalid"}') == 1
    assert delta('onetimeshare_unlocks_total{outcome="ok"}') == 1
    assert delta('onetimeshare_claims_total{outcome="gone"}') == 1
    assert delta("onetimeshare_fetch_bytes_total") == 150_000
    assert delta("onetimeshare_fetches_completed_total") == 1
    assert delta('onetimeshare_http_responses_total{code="410"}') == 1
    assert delta('onetimeshare_http_responses_total{code="403"}') == 1
    assert after["onetimeshare_redis_up"] == 1
    assert after["onetimeshare_redis_used_memory_bytes"] > 0
    text = get("/metrics")
    assert share.id not in text and share.owner_token not in text


@pytest.fixture(scope="module")
def logged_service(redis_server, tmp_path_factory):
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    server = GunicornProcess(redis_server.url, workers=3, threads=4, log_path=log,
                             env={"CHUNK_SIZE": str(64 * 1024)}).start()
    yield server, log
    server.stop()


def test_metrics_add_up_across_gunicorn_workers(logged_service):
    server, _ = logged_service
    with HttpClient(server.url) as http:
        sharing = Sharing(http)

        def get(path):
            return http.get(path).text

        before = scrape(get)
        shares = [sharing.ready(size=1000) for _ in range(12)]
        for share in shares:
            sharing.download(share)
        after = scrape(get)
    created = after["onetimeshare_shares_created_total"] - before.get(
        "onetimeshare_shares_created_total", 0)
    won = after['onetimeshare_claims_total{outcome="won"}'] - before.get(
        'onetimeshare_claims_total{outcome="won"}', 0)
    assert created == 12 and won == 12


def test_access_log_is_json_without_ids_or_tokens(logged_service):
    server, log = logged_service
    with HttpClient(server.url) as http:
        sharing = Sharing(http)
        share = sharing.ready(size=1000)
        ticket = sharing.claim(share).get_json()["ticket"]
        sharing.fetch(share.id, ticket)
        sharing.owner(share)
    fetched = ("GET", "/api/v1/shares/<sid>/content", 200)
    deadline = time.monotonic() + 5
    while True:  # a stream's line is written when it closes, just after the client's last read
        text = log.read_text()
        lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        routes = {(line["method"], line["route"], line["status"]) for line in lines}
        if fetched in routes or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert ("POST", "/api/v1/shares/<sid>/claim", 200) in routes
    assert fetched in routes
    assert all(set(line) >= {"method", "route", "status", "ms", "ts"} for line in lines)
    for secret in (share.id, share.owner_token, share.access_token, ticket):
        assert secret not in text
    assert not re.search(r"/s/[A-Za-z0-9_-]{22}", text)
