"""Every page state, in the light and the dark theme, has no serious or critical axe finding.

axe-core (a test dependency, see accessibility.py) checks WCAG 2.1 A/AA and best practice,
contrast included, on each state a person can reach: the composer (files, note, an error),
sending, the result, the delete dialog, the deleted result, the recent list; the recipient's
password step (and a wrong password), the offer of a file and of several, the saved file, the
note and a problem page.
"""

import os

import pytest
from playwright.sync_api import expect

from tests.browser.accessibility import axe_source, describe, violations
from tests.browser.actions import (
    download,
    drop_files,
    enter_password,
    get_link,
    open_offer,
    open_sender,
    path_of,
    set_options,
)
from tests.browser.conftest import CHUNK_SIZE
from tests.sharing import b64u
from tests.support import missing_part


@pytest.fixture(scope="session")
def axe():
    return axe_source(missing_part)


@pytest.fixture(params=["light", "dark"])
def themed(request, open_page, axe):
    """open_page in one colour scheme; returns (open, check(page, state))."""
    scheme = request.param

    def open_themed(path=None, **options):
        return open_page(path, color_scheme=scheme, **options)

    def check(page, state):
        page.wait_for_timeout(100)  # transitions settle, as a person would see it
        found = violations(page, axe)
        assert not found, f"{state}, {scheme} theme:\n{describe(found)}"

    return open_themed, check


def test_the_senders_states_have_no_serious_findings(themed, watch):
    open_themed, check = themed
    sender = open_sender(open_themed)
    check(sender, "composer")
    sender.click("#tab-note")
    sender.fill("#note", "a note")
    check(sender, "composer, note")
    sender.click("#tab-files")
    sender.click("#share-button", force=True)  # no file yet: an error under the button
    expect(sender.locator("#composer-error")).to_be_visible()
    check(sender, "composer, error")
    drop_files(sender, [("report.pdf", b"%PDF", "application/pdf"),
                        ("notes.txt", b"notes", "text/plain")])
    set_options(sender, password="pw")
    check(sender, "composer, files chosen")
    get_link(sender)
    check(sender, "result, recent list")
    sender.click("#delete-share")
    expect(sender.locator("#confirm-dialog")).to_be_visible()
    check(sender, "delete dialog")
    sender.click("#confirm-ok")
    expect(sender.locator("#result h1")).to_have_text("Share deleted")
    check(sender, "deleted result")

    held = open_sender(open_themed)
    held.route("**/chunks/1", lambda route: None)
    drop_files(held, [("big.bin", os.urandom(3 * CHUNK_SIZE), "application/octet-stream")])
    held.click("#share-button")
    expect(held.locator("#sending")).to_be_visible()
    check(held, "sending")
    watch.assert_clean()


def test_the_recipients_states_have_no_serious_findings(themed, open_page, watch):
    open_themed, check = themed
    sender = open_sender(open_page)
    drop_files(sender, [("plan.pdf", b"%PDF plan", "application/pdf")])
    set_options(sender, password="right", downloads=2)
    link = get_link(sender)
    recipient = open_themed(path_of(link))
    expect(recipient.locator("#password-step")).to_be_visible()
    check(recipient, "password step")
    enter_password(recipient, "wrong")
    expect(recipient.locator("#password-error")).to_be_visible()
    check(recipient, "wrong password")
    enter_password(recipient, "right")
    expect(recipient.locator("#offer")).to_be_visible()
    check(recipient, "offer of a file")
    download(recipient)
    check(recipient, "saved")

    sender.click("#share-another")
    drop_files(sender, [("a.txt", b"a", "text/plain"), ("b.txt", b"b", "text/plain")])
    zipped = open_offer(open_themed, get_link(sender))
    check(zipped, "offer of several files")

    sender.click("#share-another")
    sender.click("#tab-note")
    sender.fill("#note", "the note")
    note = open_offer(open_themed, get_link(sender))
    note.click("#claim")
    expect(note.locator("#note-view")).to_be_visible()
    check(note, "note")

    missing = open_themed(f"/s/{b64u(os.urandom(16))}#{b64u(os.urandom(16))}")
    expect(missing.locator("#problem")).to_be_visible()
    check(missing, "problem")
    watch.assert_clean()


def test_the_error_page_has_no_serious_findings(themed, watch):
    open_themed, check = themed
    page = open_themed("/s/not-a-share-id")
    expect(page.locator("h1")).to_be_visible()
    check(page, "error page")
    watch.assert_clean(expected_errors=["status of 404"])
