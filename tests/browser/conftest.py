"""Fixtures for tests in a real Chromium: the service under gunicorn, a browser, watched pages.

The browser talks to gunicorn through a `RecordingProxy`, so a test can search every byte the
server received for things that must never reach it (the link's secret, a password, a file
name). Every page is watched: console errors, uncaught exceptions, Content Security Policy
violations and requests to any other origin fail the test that caused them.
"""

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from devtools.chromium import CHROMIUM, CHROMIUM_ARGS
from devtools.processes import GunicornProcess
from server.config import RATE_LIMITS
from tests.recording import RecordingProxy
from tests.support import missing_part

CHUNK_SIZE = 256 * 1024  # small, so that a file of a few hundred KiB takes several chunks
PROOF_FAILURES_MAX = 3  # few, so that a test reaches the lock in a few wrong passwords
#: Runs in every page before its own scripts: report CSP violations as tagged console errors.
CSP_LISTENER = """
document.addEventListener('securitypolicyviolation', (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || 'inline'}`
    + ` at ${event.sourceFile}:${event.lineNumber}`);
}, true);
"""
#: Chromium logs every non-2xx answer as a console error. An API refusal the page is built to
#: meet (404 unknown, 403 wrong proof, 409 not ready, 410 already opened, 429 locked) is part of
#: the story a test tells; any other failed load (a static file, a 5xx) is a problem.
ANSWERED = "Failed to load resource: the server responded with a status of"
EXPECTED_REFUSAL = re.compile(r"status of (403|404|409|410|429)\b")
#: Schemes that name no origin to contact: inline icons, blobs made in the page.
LOCAL_SCHEMES = ("data:", "blob:", "about:")


@dataclass
class LiveServer:
    """The service as the browser sees it: through the recording proxy."""

    url: str  # the proxy, which records what the browser sends
    direct_url: str  # gunicorn itself, for checks made by the test
    proxy: RecordingProxy
    log_path: Path

    def received(self):
        """Return every byte clients have sent the server so far."""
        with self.proxy.lock:
            return bytes(self.proxy.received)

    def api(self, method, path, **kwargs):
        """Ask the API directly (not through the proxy), e.g. to check a share's status."""
        with httpx.Client(base_url=self.direct_url, timeout=10) as client:
            return client.request(method, f"/api/v1{path}", **kwargs)


#: The whole browser suite comes from one address and creates shares, claims and loads pages far
#: faster than any person: at the default 30 creates a minute it met its own 429 once the two
#: workers shared the load evenly. The limiter still runs; its limits are tested in
#: tests/test_limits.py, and the page's 429 messages in test_failures.py.
SUITE_RATE_LIMITS = dict.fromkeys(RATE_LIMITS, "100000 per minute")


@pytest.fixture(scope="session")
def live_server(redis_server, tmp_path_factory):
    """Gunicorn on the test Redis with small chunks, behind a recording proxy."""
    log_path = tmp_path_factory.mktemp("browser-server") / "gunicorn.log"
    server = GunicornProcess(
        redis_server.url, workers=2, threads=8, log_path=log_path,
        env={"CHUNK_SIZE": str(CHUNK_SIZE), "MAX_SHARE_BYTES": str(64 * 1024 * 1024),
             "MAX_DOWNLOADS": "10", "ACCESS_LOG": "0",
             "PROOF_FAILURES_MAX": str(PROOF_FAILURES_MAX), **SUITE_RATE_LIMITS},
    ).start()
    proxy = RecordingProxy(server.port)
    yield LiveServer(url=proxy.url, direct_url=server.url, proxy=proxy, log_path=log_path)
    proxy.close()
    server.stop()


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (Debian's when installed), started once for the session."""
    try:
        from playwright.sync_api import Error, expect, sync_playwright
    except ImportError:
        missing_part("the playwright package is not installed")
    expect.set_options(timeout=15_000)  # a busy CI machine is slow, not broken
    playwright = sync_playwright().start()
    executable = CHROMIUM if os.path.exists(CHROMIUM) else None
    try:
        browser = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True)
    except Error as error:
        playwright.stop()
        missing_part(f"Chromium cannot start ({executable or 'Playwright default'}): {error}")
    yield browser
    browser.close()
    playwright.stop()


@dataclass
class Watch:
    """What the pages of one test did that they must not: collected, then asserted empty."""

    origin: str
    problems: list = field(default_factory=list)
    requests: list = field(default_factory=list)
    checked: bool = False

    def attach(self, context):
        context.on("request", lambda request: self.requests.append(request.url))
        context.on("console", self._console)
        context.on("weberror", lambda error: self.problems.append(f"uncaught: {error.error}"))

    def _console(self, message):
        if message.type != "error":
            return
        if message.text.startswith(ANSWERED) and EXPECTED_REFUSAL.search(message.text):
            path = urlsplit(message.location.get("url", "")).path
            if path.startswith("/api/v1/shares/"):
                return  # the page asked and was told no (410 already opened...): it says so
        self.problems.append(f"console error: {message.text} ({message.location.get('url')})")

    def foreign_requests(self):
        own = urlsplit(self.origin)
        return [url for url in self.requests if not url.startswith(LOCAL_SCHEMES)
                and urlsplit(url)[:2] != own[:2]]

    def assert_clean(self, *, expected_errors=()):
        """Fail on any console error, CSP violation, uncaught error or foreign request.

        `expected_errors` are substrings of console errors a test provokes on purpose (a
        download it makes fail, for instance); anything else still fails.
        """
        self.checked = True
        problems = [problem for problem in self.problems
                    if not any(expected in problem for expected in expected_errors)]
        assert not problems, problems
        assert not self.foreign_requests(), self.foreign_requests()


@pytest.fixture
def watch(live_server):
    return Watch(live_server.url)


@pytest.fixture
def open_page(browser, live_server, watch):
    """Return a function opening a page in a fresh browser context (a separate "person")."""
    contexts = []

    def open_page(path=None, *, init_script=None, **options):
        context = browser.new_context(base_url=live_server.url, accept_downloads=True, **options)
        context.set_default_timeout(20_000)
        context.add_init_script(script=CSP_LISTENER)
        if init_script:
            context.add_init_script(script=init_script)
        watch.attach(context)
        contexts.append(context)
        page = context.new_page()
        if path is not None:
            page.goto(path)
        return page

    yield open_page
    for context in contexts:
        context.close()
    if not watch.checked:
        watch.assert_clean()

