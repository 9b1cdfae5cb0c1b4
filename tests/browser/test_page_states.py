"""The sender's and recipient's pages as people use them: what each state shows and offers.

Deleting asks first and leaves nothing usable on the card; "Share something else" starts from
the defaults; the result card and the recent list say the same; the list can be forgotten; the
heading follows the tab; names with direction controls are shown and saved as they are; the
download worker never lets a `/dl/…/<name>` request reach the server; a used-up link loses its
key from the address bar; Share, paste, copy fallback and the recipient's Show button work.
"""

import os
import re

from playwright.sync_api import expect

from tests.browser.actions import (
    download,
    drop_files,
    expect_problem,
    get_link,
    open_offer,
    open_sender,
    path_of,
    set_options,
)
from tests.browser.conftest import CHUNK_SIZE

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
RECENT_KEY = "onetimeshare.recent"


def make_share(open_page, name="report.pdf", data=b"%PDF-1.7 a report", **options):
    sender = open_sender(open_page)
    drop_files(sender, [(name, data, "application/pdf")])
    set_options(sender, **options)
    return sender, get_link(sender)


def test_delete_asks_first_and_then_leaves_nothing_usable(open_page, live_server, watch):
    sender, link = make_share(open_page)
    share_id = link.rsplit("#", 1)[0].rsplit("/", 1)[1]
    expect(sender.locator("#result h1")).to_have_text("Your link is ready")
    sender.click("#delete-share")
    dialog = sender.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(sender.locator("#confirm-title")).to_have_text("Delete this share?")
    expect(sender.locator("#confirm-cancel")).to_be_focused()  # the safe choice comes first
    sender.click("#confirm-cancel")
    expect(dialog).to_be_hidden()
    assert live_server.api("GET", f"/shares/{share_id}").status_code == 200  # kept

    sender.click("#delete-share")
    sender.click("#confirm-ok")
    expect(sender.locator("#result h1")).to_have_text("Share deleted")
    expect(sender.locator("#owner-status")).to_have_text("Deleted")
    expect(sender.locator("#result-icon")).to_be_hidden()  # no tick for a deleted share
    expect(sender.locator("#result-icon-deleted")).to_be_visible()
    for gone in ("#share-link", "#copy-link", "#qr", "#delete-share", "#result-expiry"):
        expect(sender.locator(gone)).to_be_hidden()
    expect(sender.locator("#result")).not_to_contain_text("Whoever opens")
    assert sender.input_value("#share-link") == ""  # not even hidden in the page
    answer = live_server.api("GET", f"/shares/{share_id}")
    assert (answer.status_code, answer.json()["code"]) == (410, "deleted")
    watch.assert_clean()


def test_share_something_else_returns_every_option_to_its_default(open_page, watch):
    sender, _ = make_share(open_page, downloads=2, password="correct horse")
    expect(sender.locator("#result-downloads")).to_have_text("2 times")
    sender.click("#share-another")
    expect(sender.locator("#composer")).to_be_visible()
    assert sender.input_value("#downloads") == "1"
    assert sender.input_value("#password") == ""
    assert sender.get_attribute("#password", "type") == "password"
    drop_files(sender, [("second.txt", b"second", "text/plain")])
    set_options(sender, password="another")
    get_link(sender)
    expect(sender.locator("#result-downloads")).to_have_text("Once, then the link stops working")
    watch.assert_clean()


def test_the_result_card_and_the_recent_list_agree_once_opened(open_page, watch):
    sender = open_page()
    sender.clock.install()  # the card asks for its status every 15 s: let the test move time
    sender.goto("/")
    expect(sender.locator("#expiry option")).not_to_have_count(0)
    drop_files(sender, [("plan.txt", b"the plan", "text/plain")])
    link = get_link(sender)
    row = sender.locator("#recent-list .recent-row")
    expect(row).to_have_count(1)
    expect(row.locator(".status")).to_have_text("Not yet opened")
    expect(row.locator(".recent-meta")).to_contain_text("Expires")

    recipient = open_offer(open_page, link)
    download(recipient)
    sender.clock.fast_forward(16_000)
    expect(sender.locator("#owner-status")).to_contain_text("Opened today at")
    card = sender.locator("#owner-status").inner_text()
    expect(row.locator(".status")).to_have_text(card)
    # Used up: nothing expires any more and there is nothing to delete.
    expect(row.locator(".recent-meta")).to_be_hidden()
    expect(row.get_by_role("button", name="Delete plan.txt")).to_be_hidden()
    expect(sender.locator("#delete-share")).to_be_hidden()
    expect(sender.locator("#share-link")).to_be_hidden()  # a spent link is not offered again
    expect(sender.locator("#qr")).to_be_hidden()
    expect(sender.locator("#result-hint")).to_have_text(
        "This link has been used up: it opens nothing any more.")
    watch.assert_clean()


def test_the_recent_list_can_be_forgotten(open_page, watch):
    sender, _ = make_share(open_page)
    expect(sender.locator("#recent")).to_be_visible()
    sender.click("#forget-recent")
    expect(sender.locator("#confirm-title")).to_have_text("Forget this list?")
    sender.click("#confirm-ok")
    expect(sender.locator("#recent")).to_be_hidden()
    assert sender.evaluate(f"localStorage.getItem('{RECENT_KEY}')") is None
    sender.reload()
    expect(sender.locator("body.is-ready")).to_have_count(1)
    expect(sender.locator("#recent")).to_be_hidden()
    watch.assert_clean()


def test_the_heading_follows_the_tab(open_page, watch):
    sender = open_sender(open_page)
    expect(sender.locator("#intro-title")).to_have_text("Share a file once. Privately.")
    sender.click("#tab-note")
    expect(sender.locator("#intro-title")).to_have_text("Share a note once. Privately.")
    assert "note" in sender.title()
    sender.click("#tab-files")
    expect(sender.locator("#intro-title")).to_have_text("Share a file once. Privately.")
    watch.assert_clean()


def test_a_note_too_long_says_by_how_much(open_page, live_server, watch):
    sender = open_sender(open_page)
    limit = sender.evaluate("fetch('/api/v1/config').then(r => r.json())").get(
        "max_note_bytes", 1024 * 1024)
    sender.click("#tab-note")
    sender.fill("#note", "x" * (limit + 5))
    expect(sender.locator("#note-count")).to_have_text(
        "Too long by 5\u00a0bytes: a note may hold at most 1.0\u00a0MB. "
        "Share it as a file instead.")
    watch.assert_clean()


def test_a_name_with_direction_controls_is_shown_and_saved_as_it_is(open_page, watch):
    disguised = "invoice\u202efdp.exe"
    sender = open_sender(open_page)
    drop_files(sender, [(disguised, b"MZ not a pdf", "application/octet-stream")])
    expect(sender.locator("#file-list .file-name")).to_have_text("invoicefdp.exe")
    link = get_link(sender)
    expect(sender.locator("#result-what")).to_contain_text("invoicefdp.exe")
    recipient = open_offer(open_page, link)
    expect(recipient.locator("#offer-name")).to_have_text("invoicefdp.exe")
    assert "invoice" not in recipient.title()  # titles are kept in the history: no names there
    name, data = download(recipient)
    assert name == "invoicefdp.exe"
    assert data == b"MZ not a pdf"
    expect(recipient.locator("#done-text")).to_contain_text("“invoicefdp.exe”")
    watch.assert_clean()


def test_the_download_worker_never_forwards_a_named_download_url(open_page, live_server, watch):
    sender, link = make_share(open_page)
    recipient = open_offer(open_page, link)
    scope = recipient.evaluate(
        "navigator.serviceWorker.getRegistration('/dl/').then(r => r && r.scope)")
    assert scope == f"{live_server.url}/dl/"
    # A stale or repeated download URL (from the history, a reload) names the decrypted file.
    answer = recipient.goto("/dl/00000000-0000-4000-8000-000000000000/secret-plans.odt")
    assert answer.status == 404
    assert answer.from_service_worker
    assert answer.headers["referrer-policy"] == "no-referrer"
    recipient.wait_for_timeout(500)  # time for anything the page would fetch (an icon…)
    assert b"secret-plans" not in live_server.received()
    watch.assert_clean(expected_errors=["status of 404 () (http://127.0.0.1"])  # asked for


def test_a_used_up_link_loses_its_key_from_the_address_bar(open_page, watch):
    sender, link = make_share(open_page)
    recipient = open_offer(open_page, link)
    assert recipient.evaluate("location.hash")
    download(recipient)
    assert recipient.evaluate("location.hash") == ""
    assert recipient.url.endswith(path_of(link).split("#")[0])
    # A later visitor of the spent link is told so, and the key goes from their bar too.
    late = open_page(path_of(link))
    expect_problem(late, "This link was already opened")
    assert late.evaluate("location.hash") == ""
    watch.assert_clean()


def test_a_link_with_downloads_left_keeps_its_key(open_page, watch):
    sender, link = make_share(open_page, downloads=2)
    recipient = open_offer(open_page, link)
    download(recipient)
    expect(recipient.locator("#done-text")).to_contain_text("1 download left")
    assert recipient.evaluate("location.hash")
    watch.assert_clean()


SHARE_STUB = """
window.__shared = [];
navigator.share = (data) => { window.__shared.push(data); return Promise.resolve(); };
"""


def test_the_share_button_hands_the_link_to_the_system(open_page, watch):
    sender = open_page("/", init_script=SHARE_STUB)
    expect(sender.locator("#expiry option")).not_to_have_count(0)
    drop_files(sender, [("a.txt", b"a", "text/plain")])
    link = get_link(sender)
    sender.click("#share-native")
    assert sender.evaluate("window.__shared") == [{"url": link}]
    watch.assert_clean()


def test_without_web_share_there_is_no_share_button(open_page, watch):
    sender, _ = make_share(open_page)
    if sender.evaluate("typeof navigator.share") != "function":
        expect(sender.locator("#share-native")).to_be_hidden()
    watch.assert_clean()


PASTE = """({ files, text }) => {
  const transfer = new DataTransfer();
  for (const [name, body, type] of files) transfer.items.add(new File([body], name, { type }));
  if (text) transfer.setData('text/plain', text);
  const event = new ClipboardEvent('paste', {
    clipboardData: transfer, bubbles: true, cancelable: true });
  document.body.dispatchEvent(event);
  return event.defaultPrevented;
}"""


def test_pasting_files_or_text_starts_a_share(open_page, watch):
    sender = open_sender(open_page)
    sender.click("#tab-note")
    assert sender.evaluate(PASTE, {"files": [["image.png", "png bytes", "image/png"]], "text": ""})
    expect(sender.locator("#tab-files")).to_have_attribute("aria-selected", "true")
    expect(sender.locator("#file-list .file-name")).to_have_text([re.compile(r"^pasted-.*\.png$")])
    sender.click("#clear-files")
    assert sender.evaluate(PASTE, {"files": [], "text": "the wifi password"})
    expect(sender.locator("#tab-note")).to_have_attribute("aria-selected", "true")
    assert sender.input_value("#note") == "the wifi password"
    expect(sender.locator("#share-button")).to_have_attribute("aria-disabled", "false")
    watch.assert_clean()


NO_CLIPBOARD = """
Object.defineProperty(navigator, 'clipboard', {
  value: { writeText: () => Promise.reject(new DOMException('denied', 'NotAllowedError')) },
});
"""


def test_a_failed_copy_on_a_phone_selects_the_link_and_points_to_the_menu(open_page, watch):
    sender = open_page("/", init_script=NO_CLIPBOARD, **PHONE)
    expect(sender.locator("#expiry option")).not_to_have_count(0)
    drop_files(sender, [("a.txt", b"a", "text/plain")])
    link = get_link(sender)
    sender.locator("#copy-link").tap()
    expect(sender.locator("#copy-link .label")).to_have_text("Selected: copy it from the menu")
    assert sender.evaluate("window.getSelection().toString() || "
                           "document.activeElement.value.slice("
                           "document.activeElement.selectionStart, "
                           "document.activeElement.selectionEnd)") == link
    watch.assert_clean()


def test_the_recipient_can_show_the_password_typed(open_page, watch):
    sender, link = make_share(open_page, password="s3cret pass")
    recipient = open_page(path_of(link))
    expect(recipient.locator("#password-step")).to_be_visible()
    recipient.fill("#password", "s3cret pass")
    assert recipient.get_attribute("#password", "type") == "password"
    recipient.click("#toggle-password")
    assert recipient.get_attribute("#password", "type") == "text"
    expect(recipient.locator("#toggle-password")).to_have_attribute("aria-pressed", "true")
    expect(recipient.locator("#toggle-password")).to_have_text("Hide")
    recipient.click("#unlock")
    expect(recipient.locator("#offer")).to_be_visible()
    watch.assert_clean()


def test_the_progress_names_the_file_and_a_cancel_message_is_in_view(open_page, watch):
    sender = open_page("/", **PHONE)
    expect(sender.locator("#expiry option")).not_to_have_count(0)
    sender.route("**/chunks/1", lambda route: None)  # held, as on a slow network
    drop_files(sender, [("holiday.mov", os.urandom(3 * CHUNK_SIZE), "video/quicktime")])
    sender.locator("#share-button").tap()
    expect(sender.locator("#sending-what")).to_contain_text("holiday.mov")
    sender.locator("#cancel-upload").tap()
    message = sender.locator("#composer-error")
    expect(message).to_have_text("Upload cancelled. Nothing was kept on the server.")
    expect(message).to_be_in_viewport()
    watch.assert_clean()


def test_sizes_never_wrap_between_number_and_unit(open_page, watch):
    sender = open_sender(open_page)
    text = sender.locator("#max-size").inner_text()
    assert "\u00a0" in text and " " not in text, repr(text)
    watch.assert_clean()


SHARE_SHEET = """async ({ name, body }) => {
  const form = document.createElement('form');
  form.method = 'POST';
  form.enctype = 'multipart/form-data';
  form.action = '/dl/share-target';
  const input = document.createElement('input');
  input.type = 'file';
  input.name = 'files';
  const transfer = new DataTransfer();
  transfer.items.add(new File([body], name, { type: 'text/plain' }));
  input.files = transfer.files;
  form.append(input);
  document.body.append(form);
  form.submit();
}"""


def test_files_from_the_share_sheet_stay_in_the_browser(open_page, live_server, watch):
    sender = open_sender(open_page)
    sender.wait_for_function(
        "navigator.serviceWorker.getRegistration('/dl/').then(r => Boolean(r && r.active))")
    # What the system's share sheet does for the installed app: a multipart POST to the target.
    sender.evaluate(SHARE_SHEET, {"name": "shared-by-sheet.txt", "body": "sheet-secret-body"})
    expect(sender.locator("#file-list .file-name")).to_have_text("shared-by-sheet.txt")
    assert sender.evaluate("location.hash") == ""
    received = live_server.received()
    assert b"sheet-secret-body" not in received and b"shared-by-sheet" not in received
    watch.assert_clean()
