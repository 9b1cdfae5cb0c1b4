"""What a sender and a recipient do in the browser, as steps the tests combine.

Each step waits for what a person would wait for (the link, the offer, the download) and
returns what they would get, so a test reads as the story it checks.
"""

import base64
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import expect

ALREADY_OPENED = "Someone opened this link before you"


def drop_files(page, files, target=".dropzone-title"):
    """Drop `files` ([(name, bytes, mime)]) on the drop zone with real drag events.

    The File objects are built in the page and travel in a DataTransfer through dragenter,
    dragover and drop, dispatched on an element inside the zone, where a pointer would drop.
    Each event must be accepted (preventDefault), as the browser requires for a drop.
    """
    payload = [{"name": name, "type": mime, "data": base64.b64encode(data).decode()}
               for name, data, mime in files]
    page.evaluate(
        """async ({ files, target }) => {
          const transfer = new DataTransfer();
          for (const file of files) {
            const bytes = Uint8Array.from(atob(file.data), (c) => c.charCodeAt(0));
            transfer.items.add(new File([bytes], file.name, { type: file.type }));
          }
          const element = document.querySelector(target);
          for (const type of ['dragenter', 'dragover', 'drop']) {
            const event = new DragEvent(type, {
              bubbles: true, cancelable: true, dataTransfer: transfer });
            element.dispatchEvent(event);
            if (!event.defaultPrevented) throw new Error(`the page did not accept ${type}`);
          }
        }""",
        {"files": payload, "target": target},
    )


def open_sender(open_page):
    """Open the sender's page and wait until it knows the server's limits."""
    page = open_page("/")
    expect(page.locator("#expiry option")).not_to_have_count(0)
    return page


def set_options(page, *, downloads=None, password=None, expiry=None):
    if downloads is not None:
        page.fill("#downloads", str(downloads))
    if password is not None:
        page.fill("#password", password)
    if expiry is not None:
        page.select_option("#expiry", str(expiry))


def get_link(page):
    """Press the share button and return the link once the upload is finalized."""
    page.click("#share-button")
    expect(page.locator("#result")).to_be_visible()
    link = page.input_value("#share-link")
    assert urlsplit(link).fragment, link
    return link


def secret_of(link):
    return urlsplit(link).fragment


def share_id_of(link):
    return urlsplit(link).path.rsplit("/", 1)[1]


def path_of(link):
    """The link without its origin: what a second browser context navigates to."""
    parts = urlsplit(link)
    return f"{parts.path}#{parts.fragment}"


def open_offer(open_page, link, **options):
    """Open the link in a new browser context and wait for the offer (nothing consumed yet)."""
    page = open_page(path_of(link), **options)
    expect(page.locator("#offer")).to_be_visible()
    return page


def enter_password(page, password):
    """Type the password on the recipient's password step and press Unlock."""
    expect(page.locator("#password-step")).to_be_visible()
    expect(page.locator("#unlock")).to_be_enabled()
    page.fill("#password", password)
    page.click("#unlock")
    expect(page.locator("#unlock")).to_have_text("Unlock")  # the answer is in


def download(page):
    """Press the download button; return (file name, bytes) of the saved download."""
    with page.expect_download() as info:
        page.click("#claim")
    saved = info.value
    assert saved.failure() is None, saved.failure()
    data = Path(saved.path()).read_bytes()
    expect(page.locator("#done")).to_be_visible()
    return saved.suggested_filename, data


def expect_problem(page, title, text=None):
    expect(page.locator("#problem")).to_be_visible()
    expect(page.locator("#problem-title")).to_have_text(title)
    if text:
        expect(page.locator("#problem-text")).to_contain_text(text)


def expect_already_opened(open_page, link):
    """A new visitor of a used-up link is told someone opened it first."""
    page = open_page(path_of(link))
    expect_problem(page, "This link was already opened", ALREADY_OPENED)
    return page
