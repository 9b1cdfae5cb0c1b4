"""Share in one browser, open in another: files, several files, a note, a password, N downloads.

Every test checks the bytes that arrive, that the link then says "already opened", and that the
server never received the link's secret (nor the file's name or a piece of its content).
Shares made by the page are protocol version 2: padded content, and for a password share a
status without metadata, a server-checked password and counted wrong attempts.
"""

import io
import os
import zipfile

from playwright.sync_api import expect

from tests.browser.actions import (
    download,
    drop_files,
    enter_password,
    expect_already_opened,
    get_link,
    open_offer,
    open_sender,
    path_of,
    secret_of,
    set_options,
    share_id_of,
)
from tests.browser.conftest import CHUNK_SIZE, PROOF_FAILURES_MAX

#: A short note's body: 21-byte header, 4096 padded bytes, one 17-byte tag and delimiter.
SHORT_CONTENT_BODY = 21 + 4096 + 17


def assert_server_never_saw(live_server, *secrets):
    received = live_server.received()
    for secret in secrets:
        data = secret if isinstance(secret, bytes) else secret.encode()
        assert data not in received, f"the server received {secret!r}"


def test_a_dropped_file_is_downloaded_once_byte_for_byte(open_page, live_server, watch):
    content = os.urandom(3 * CHUNK_SIZE + 12_345)  # several chunks and RFC 8188 records
    name = "quarterly report – final.pdf"
    sender = open_sender(open_page)
    drop_files(sender, [(name, content, "application/pdf")])
    expect(sender.locator("#file-list")).to_contain_text(name)
    link = get_link(sender)
    expect(sender.locator("#owner-status")).to_have_text("Not yet opened")
    status = live_server.api("GET", f"/shares/{share_id_of(link)}").json()
    assert status["version"] == 2 and status["password"] is None
    assert isinstance(status["metadata"], str)  # without a password, shown before any claim
    remembered = sender.evaluate("JSON.stringify(localStorage)")
    assert share_id_of(link) in remembered and secret_of(link) not in remembered

    recipient = open_offer(open_page, link)
    expect(recipient.locator("#offer-name")).to_have_text(name)
    expect(recipient.locator("#offer-type")).to_have_text("application/pdf")
    expect(recipient.locator("#offer-left")).to_contain_text("1")
    saved_name, data = download(recipient)
    assert saved_name == name
    assert data == content

    expect_already_opened(open_page, link)
    # The sender's page shows the share as opened once it looks again (here: a reload).
    sender.reload()
    expect(sender.locator("#recent-list")).to_contain_text("Opened")
    assert_server_never_saw(live_server, secret_of(link), name, content[1000:1064])
    watch.assert_clean()


def test_a_text_note_is_shown_in_the_page_once(open_page, live_server, watch):
    note = "Wi-Fi: “Ferme des Aulnes”\npassword: x7#Kq9!vR2 ☕\n"
    sender = open_sender(open_page)
    sender.click("#tab-note")
    sender.fill("#note", note)
    link = get_link(sender)
    # The server sees a size class, not the note's length: every short note looks the same.
    status = live_server.api("GET", f"/shares/{share_id_of(link)}").json()
    assert status["size"] == SHORT_CONTENT_BODY

    recipient = open_offer(open_page, link)
    expect(recipient.locator("#offer-kind")).to_have_text("Someone shared a note with you")
    recipient.click("#claim")
    expect(recipient.locator("#note-view")).to_be_visible()
    assert recipient.text_content("#note-text") == note

    expect_already_opened(open_page, link)
    assert_server_never_saw(live_server, secret_of(link), "Ferme des Aulnes", "x7#Kq9!vR2")
    watch.assert_clean()


def test_several_files_travel_as_one_zip(open_page, live_server, watch):
    files = [
        ("photo.jpg", os.urandom(300_000), "image/jpeg"),
        ("notes.txt", "Grüße aus Köln\n".encode() * 50, "text/plain"),
        ("empty.bin", b"", "application/octet-stream"),
    ]
    sender = open_sender(open_page)
    drop_files(sender, files[:2])
    drop_files(sender, files[2:])  # a second drop adds to the first
    expect(sender.locator("#file-list li")).to_have_count(3)
    expect(sender.locator("#selection-summary")).to_contain_text("one zip")
    link = get_link(sender)

    recipient = open_offer(open_page, link)
    expect(recipient.locator("#offer-files li")).to_have_count(3)
    expect(recipient.locator("#offer-files")).to_contain_text("notes.txt")
    saved_name, data = download(recipient)
    assert saved_name.endswith(".zip")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None  # every CRC matches
        assert {info.filename: archive.read(info) for info in archive.infolist()} == {
            name: content for name, content, _ in files}

    expect_already_opened(open_page, link)
    assert_server_never_saw(live_server, secret_of(link), "photo.jpg", "notes.txt")
    watch.assert_clean()


def test_a_wrong_password_is_counted_by_the_server_and_consumes_nothing(
        open_page, live_server, watch):
    content = os.urandom(CHUNK_SIZE + 1)
    password = "correct horse battery staple"
    sender = open_sender(open_page)
    drop_files(sender, [("secret-plans.odt", content, "application/octet-stream")])
    set_options(sender, password=password)
    link = get_link(sender)
    expect(sender.locator("#result-password")).to_contain_text("Yes")
    share_id = share_id_of(link)
    # The status holds nothing that tests a password guess offline: no metadata blob.
    status = live_server.api("GET", f"/shares/{share_id}").json()
    assert status["version"] == 2 and status["metadata"] is None
    assert set(status["password"]) == {"salt", "iterations"}

    recipient = open_page(path_of(link))
    expect(recipient.locator("#password-step")).to_be_visible()
    # What is known before the password: a size class, the expiry, the downloads left.
    # 262,145 bytes pad to 270,336 (Padmé): the page can say no more before the password.
    expect(recipient.locator("#locked-size")).to_contain_text("Up to 270 KB")
    expect(recipient.locator("#locked-left")).to_have_text("1")
    expect(recipient.locator("#locked-expiry")).not_to_be_empty()
    expect(recipient.locator("#password-step")).not_to_contain_text("secret-plans")
    enter_password(recipient, "Tr0ub4dor&3")
    left = PROOF_FAILURES_MAX - 1
    expect(recipient.locator("#password-error")).to_have_text(
        f"Wrong password. Nothing was used up: {left} attempt{'s' * (left != 1)} left "
        "before the share is locked for a while.")
    assert [url for url in watch.requests if url.endswith(f"/{share_id}/unlock")]
    assert not [url for url in watch.requests if url.endswith("/claim")]
    assert live_server.api("GET", f"/shares/{share_id}").json()["downloads_left"] == 1

    enter_password(recipient, password)
    expect(recipient.locator("#offer")).to_be_visible()
    expect(recipient.locator("#offer-name")).to_have_text("secret-plans.odt")
    expect(recipient.locator("#offer-size")).to_contain_text("262 KB")
    assert not [url for url in watch.requests if url.endswith("/claim")]
    assert download(recipient) == ("secret-plans.odt", content)

    expect_already_opened(open_page, link)
    assert_server_never_saw(live_server, secret_of(link), password, "Tr0ub4dor&3")
    watch.assert_clean()


def test_too_many_wrong_passwords_lock_the_share_for_a_while(open_page, live_server, watch):
    sender = open_sender(open_page)
    sender.click("#tab-note")
    sender.fill("#note", "the vault code")
    set_options(sender, password="right")
    link = get_link(sender)
    share_id = share_id_of(link)

    recipient = open_page(path_of(link))
    for attempt in range(PROOF_FAILURES_MAX):
        enter_password(recipient, f"wrong {attempt}")
        expect(recipient.locator("#password-error")).to_contain_text("Wrong password.")
    expect(recipient.locator("#password-error")).to_contain_text("now locked")
    # Now even the right password waits: the page says so, and when to come back.
    enter_password(recipient, "right")
    expect(recipient.locator("#password-error")).to_contain_text(
        "Too many wrong passwords: this share is locked for a while.")
    expect(recipient.locator("#password-error")).to_contain_text("Try again in about")
    expect(recipient.locator("#offer")).to_be_hidden()
    assert live_server.api("GET", f"/shares/{share_id}").json()["downloads_left"] == 1
    assert not [url for url in watch.requests if url.endswith("/claim")]
    watch.assert_clean()


def test_two_downloads_serve_two_people_then_the_link_is_used_up(open_page, live_server, watch):
    content = os.urandom(50_000)
    sender = open_sender(open_page)
    drop_files(sender, [("slides.key", content, "application/octet-stream")])
    set_options(sender, downloads=2)
    link = get_link(sender)
    expect(sender.locator("#result-downloads")).to_have_text("2 times")

    first = open_offer(open_page, link)
    second = open_offer(open_page, link)  # both see the offer: reading the status is free
    expect(first.locator("#offer-left")).to_contain_text("2")
    assert download(first) == ("slides.key", content)
    expect(first.locator("#done-text")).to_contain_text("1 download left")
    assert download(second) == ("slides.key", content)
    expect(second.locator("#done-text")).to_contain_text("last download")

    expect_already_opened(open_page, link)
    assert_server_never_saw(live_server, secret_of(link))
    watch.assert_clean()
