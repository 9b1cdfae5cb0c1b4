"""Check the headers that keep share URLs and content out of caches, referrers and frames."""

import pytest

from tests.sharing import b64u


@pytest.fixture
def answers(sharing, client):
    """One answer of every kind: JSON, streamed content, errors, health, OpenAPI."""
    share = sharing.ready(size=70_000)
    protected = sharing.ready(size=1000, password=True, downloads=2)
    ticket = sharing.claim(share).get_json()["ticket"]
    return {
        "status": sharing.status(share.id),
        "unlock": sharing.unlock(protected),
        "claim": sharing.claim(protected),
        "wrong_password": sharing.unlock(protected, password=b64u(b"w" * 32)),
        "content": sharing.fetch(share.id, ticket, "bytes=0-9"),
        "owner": sharing.owner(share),
        "not_found": sharing.status(b64u(b"\0" * 16)),
        "bad_json": client.post("/api/v1/shares", data=b"{", content_type="application/json"),
        "healthz": client.get("/healthz"),
        "config": client.get("/api/v1/config"),
        "unknown_page": client.get("/no/such/page"),
    }


EXPECTED = {
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


@pytest.mark.parametrize("name", [
    "status", "unlock", "claim", "wrong_password", "content", "owner", "not_found", "bad_json",
    "healthz", "config", "unknown_page",
])
def test_every_answer_carries_the_security_headers(answers, name):
    headers = answers[name].headers
    for header, value in EXPECTED.items():
        assert headers.get(header) == value, (name, header)
    policy = dict(
        (part.split(" ", 1) + [""])[:2] for part in headers["Content-Security-Policy"].split("; ")
    )
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert "unsafe-eval" not in headers["Content-Security-Policy"]


def test_content_is_served_as_an_opaque_download(answers):
    content = answers["content"]
    assert content.headers["Content-Type"] == "application/octet-stream"
    assert content.headers["Content-Disposition"] == "attachment"
    assert content.headers["Accept-Ranges"] == "bytes"


def test_html_errors_are_pages_not_tracebacks(answers):
    page = answers["unknown_page"]
    assert page.status_code == 404
    assert page.headers["Content-Type"].startswith("text/html")
    assert "Traceback" not in page.get_data(as_text=True)
