"""Take screenshots of every page state, light and dark, desktop and phone, for a human to look at.

    .venv/bin/python -m tests.browser.screenshots [/tmp/shots]

Starts its own redis-server and gunicorn like the tests do. Not a test: it asserts nothing
about looks, it only makes them easy to review.
"""

import os
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from devtools.chromium import CHROMIUM, CHROMIUM_ARGS
from devtools.processes import GunicornProcess, RedisProcess
from tests.browser.actions import drop_files, get_link, open_sender, path_of, set_options
from tests.browser.conftest import CHUNK_SIZE

VIEWPORTS = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 390, "height": 844}}
SCHEMES = ("light", "dark")


def main(out):
    out.mkdir(parents=True, exist_ok=True)
    expect.set_options(timeout=20_000)
    redis = RedisProcess(tempfile.mkdtemp(prefix="shots-redis-")).start()
    server = GunicornProcess(redis.url, workers=2, threads=8,
                             env={"CHUNK_SIZE": str(CHUNK_SIZE), "ACCESS_LOG": "0",
                                  "RATE_LIMITS_ENABLED": "0"}).start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM if os.path.exists(CHROMIUM) else None,
                args=CHROMIUM_ARGS, headless=True)
            for scheme in SCHEMES:
                for size, viewport in VIEWPORTS.items():
                    shoot(browser, server.url, out, f"{scheme}-{size}",
                          {"viewport": viewport, "color_scheme": scheme,
                           "device_scale_factor": 1, "is_mobile": size == "phone",
                           "has_touch": size == "phone"})
            browser.close()
    finally:
        server.stop()
        redis.stop()


def shoot(browser, base_url, out, suffix, options):
    contexts = []

    def open_page(path=None):
        context = browser.new_context(base_url=base_url, accept_downloads=True, **options)
        contexts.append(context)
        page = context.new_page()
        if path:
            page.goto(path)
        return page

    def snap(page, name):
        page.wait_for_timeout(250)  # let transitions settle
        page.screenshot(path=out / f"{name}-{suffix}.png", full_page=True)

    sender = open_sender(open_page)
    snap(sender, "01-send-empty")
    drop_files(sender, [("Holiday photos – Brittany 2024.jpg", os.urandom(2_400_000), "image/jpeg"),
                        ("itinerary.pdf", os.urandom(180_000), "application/pdf"),
                        ("notes.txt", b"hello\n" * 100, "text/plain")])
    set_options(sender, downloads=2, password="hunter2")
    snap(sender, "02-send-files")
    held = []
    sender.route("**/chunks/5", lambda route: held.append(route))
    sender.click("#share-button")
    expect(sender.locator("#sending")).to_be_visible()
    sender.wait_for_timeout(600)
    snap(sender, "03-send-progress")
    for route in held:
        route.continue_()
    sender.unroute("**/chunks/5")
    expect(sender.locator("#result")).to_be_visible()
    files_link = sender.input_value("#share-link")
    snap(sender, "04-send-result")

    sender.click("#share-another")
    sender.click("#tab-note")
    sender.fill("#note", "The door code is 4711#.\nThe spare key is under the blue pot.")
    set_options(sender, downloads=1)
    snap(sender, "05-send-note")
    note_link = get_link(sender)

    recipient = open_page(path_of(files_link))
    expect(recipient.locator("#password-step")).to_be_visible()
    recipient.fill("#password", "wrong")
    recipient.click("#unlock")
    expect(recipient.locator("#password-error")).to_be_visible()
    snap(recipient, "06-receive-password")
    recipient.fill("#password", "hunter2")
    recipient.click("#unlock")
    expect(recipient.locator("#offer")).to_be_visible()
    snap(recipient, "07-receive-offer-files")
    with recipient.expect_download():
        recipient.click("#claim")
    expect(recipient.locator("#done")).to_be_visible()
    snap(recipient, "08-receive-done")

    note = open_page(path_of(note_link))
    expect(note.locator("#offer")).to_be_visible()
    snap(note, "09-receive-offer-note")
    note.click("#claim")
    expect(note.locator("#note-view")).to_be_visible()
    snap(note, "10-receive-note")

    again = open_page(path_of(note_link))
    expect(again.locator("#problem")).to_be_visible()
    snap(again, "11-receive-already-opened")

    single = open_sender(open_page)
    drop_files(single, [("contract-v3-signed.pdf", os.urandom(90_000), "application/pdf")])
    one_link = get_link(single)
    offer = open_page(path_of(one_link))
    expect(offer.locator("#offer")).to_be_visible()
    snap(offer, "12-receive-offer-file")
    snap(open_page("/s/nope"), "13-error-404")
    snap(open_page(f"/s/{'A' * 22}#{'A' * 22}"), "14-receive-not-found")

    single.click("#delete-share")
    expect(single.locator("#confirm-dialog")).to_be_visible()
    snap(single, "15-send-delete-confirm")
    single.click("#confirm-ok")
    expect(single.locator("#result h1")).to_have_text("Share deleted")
    snap(single, "16-send-deleted")
    sender.click("#forget-recent")
    snap(sender, "17-send-forget-confirm")
    sender.click("#confirm-cancel")
    disguised = open_sender(open_page)
    drop_files(disguised, [("invoice\u202efdp.exe", b"MZ", "application/octet-stream")])
    snap(disguised, "18-send-bidi-name")
    for context in contexts:
        context.close()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/shots"))
