"""Send and receive a 256 MiB file in Chromium while the tab's JavaScript heap stays flat.

The file is picked from disk through the page's file input, as a person would; the heap is read
through the DevTools protocol (Performance.getMetrics) while the upload and the download run.
"""

import time

import pytest
from playwright.sync_api import expect

from devtools.files import sha256_of, write_random_file
from devtools.processes import GunicornProcess
from tests.browser.actions import path_of

MIB = 1024 * 1024
SIZE = 256 * MIB
HEAP_LIMIT = 64 * MIB  # a quarter of the file: a tab holding the file would blow far past it
TIMEOUT_SECONDS = 240


@pytest.fixture(scope="module")
def big_server(redis_server):
    server = GunicornProcess(redis_server.url, workers=2, threads=8, env={
        "CHUNK_SIZE": str(4 * MIB), "MAX_SHARE_BYTES": str(300 * MIB),
        "RATE_LIMITS_ENABLED": "0", "ACCESS_LOG": "0"}).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    return write_random_file(tmp_path_factory.mktemp("big") / "video.bin", SIZE // MIB)


def heap_used(cdp):
    metrics = cdp.send("Performance.getMetrics")["metrics"]
    return next(m["value"] for m in metrics if m["name"] == "JSHeapUsedSize")


def wait_sampling(page, cdp, selector, samples):
    """Wait for `selector` to show, reading the JS heap every quarter second meanwhile."""
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while not page.locator(selector).is_visible():
        assert time.monotonic() < deadline, f"{selector} did not show in {TIMEOUT_SECONDS} s"
        samples.append(heap_used(cdp))
        page.wait_for_timeout(250)
    samples.append(heap_used(cdp))


def test_256_mib_round_trip_keeps_the_tab_heap_flat(browser, big_server, big_file):
    path, expected = big_file
    sender = browser.new_context(base_url=big_server.url, accept_downloads=True)
    recipient = browser.new_context(base_url=big_server.url, accept_downloads=True)
    try:
        page = sender.new_page()
        cdp = sender.new_cdp_session(page)
        cdp.send("Performance.enable")
        page.goto("/")
        expect(page.locator("#expiry option")).not_to_have_count(0)
        page.set_input_files("#file-input", str(path))
        upload_idle = heap_used(cdp)
        upload = []
        page.click("#share-button")
        wait_sampling(page, cdp, "#result", upload)
        link = page.input_value("#share-link")

        offer = recipient.new_page()
        cdp2 = recipient.new_cdp_session(offer)
        cdp2.send("Performance.enable")
        offer.goto(path_of(link))
        expect(offer.locator("#offer")).to_be_visible()
        download_idle = heap_used(cdp2)
        download = []
        with offer.expect_download(timeout=TIMEOUT_SECONDS * 1000) as info:
            offer.click("#claim")
        wait_sampling(offer, cdp2, "#done", download)
        saved = info.value
        assert saved.failure() is None, saved.failure()
        assert sha256_of(saved.path()) == expected
    finally:
        sender.close()
        recipient.close()
    print(f"\nJS heap, upload: idle {upload_idle / MIB:.1f} MiB, peak {max(upload) / MIB:.1f} MiB; "
          f"download: idle {download_idle / MIB:.1f} MiB, peak {max(download) / MIB:.1f} MiB")
    assert max(upload) < HEAP_LIMIT
    assert max(download) < HEAP_LIMIT
