"""Once a fetch has sent its last byte, its ticket returns no content again, at any timing.

A claimant reads the whole body and, on a second connection, fetches again with the same ticket
the moment the last byte is in: 1,000 times, against real gunicorn. Every re-fetch must be 403
with no content (the server records the completion before the final byte leaves). A fetch that
stops short of the end keeps the claim, so resuming with Range still works.
"""

import httpx
import pytest

from devtools.processes import GunicornProcess
from tests.sharing import HttpClient, Sharing, bearer

TRIES = 1000
DOWNLOADS = 100  # claims per share: 10 shares give the 1,000 tickets


@pytest.fixture(scope="module")
def service(redis_server, tmp_path_factory):
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    env = {"CHUNK_SIZE": str(64 * 1024), "MAX_DOWNLOADS": str(DOWNLOADS),
           "RATE_LIMITS_ENABLED": "0"}
    server = GunicornProcess(redis_server.url, workers=2, threads=8, env=env,
                             log_path=log).start()
    yield server
    server.stop()
    assert b"Traceback" not in log.read_bytes()


@pytest.mark.slow
def test_a_spent_ticket_never_returns_content_even_right_after_the_last_byte(service,
                                                                             redis_client):
    sharing = Sharing(HttpClient(service.url))
    content = f"{service.url}/api/v1/shares/{{}}/content"
    refetched = []
    with httpx.Client(timeout=30) as reader, httpx.Client(timeout=30) as racer:
        for _ in range(TRIES // DOWNLOADS):
            share = sharing.ready(size=3000, downloads=DOWNLOADS)
            for _ in range(DOWNLOADS):
                claim = sharing.claim(share)
                assert claim.status_code == 200, claim.get_json()
                headers = bearer(claim.get_json()["ticket"])
                body = reader.get(content.format(share.id), headers=headers)
                assert body.status_code == 200 and body.content == share.ciphertext
                again = racer.get(content.format(share.id), headers=headers)
                refetched.append((again.status_code, len(again.content)))
                assert again.status_code == 403, again.text
                assert again.json()["code"] == "ticket_invalid"
    assert len(refetched) == TRIES
    sharing.client.close()


def test_a_fetch_cut_before_the_end_still_resumes(service, redis_client):
    with HttpClient(service.url) as adapter:
        sharing = Sharing(adapter)
        share = sharing.ready(size=200_000)
        ticket = sharing.claim(share).get_json()["ticket"]
        head = sharing.fetch(share.id, ticket, "bytes=0-199998")  # all but the last byte
        assert head.status_code == 206
        tail = sharing.fetch(share.id, ticket, "bytes=199999-")
        assert tail.status_code == 206
        assert head.get_data() + tail.get_data() == share.ciphertext
        assert sharing.fetch(share.id, ticket).status_code == 403
