"""When things go wrong in the browser: damaged data, wrong keys, lost links, flaky networks.

The page must say what happened in human words, never present a partial or altered file as the
file, and never consume a download it did not mean to.
"""

import json
import os

import pytest
from playwright.sync_api import expect

from tests.browser.actions import (
    download,
    drop_files,
    enter_password,
    expect_problem,
    get_link,
    open_offer,
    open_sender,
    path_of,
    set_options,
    share_id_of,
)
from tests.browser.conftest import CHUNK_SIZE, PROOF_FAILURES_MAX
from tests.sharing import b64u

DAMAGED = "The file is damaged or the key is wrong"


def make_share(open_page, content, name="data.bin"):
    sender = open_sender(open_page)
    drop_files(sender, [(name, content, "application/octet-stream")])
    return sender, get_link(sender)


def test_altered_ciphertext_is_refused_and_nothing_is_saved(open_page, live_server, watch):
    content = os.urandom(2 * CHUNK_SIZE)
    _, link = make_share(open_page, content)
    recipient = open_offer(open_page, link)

    def flip_a_byte(route):
        response = route.fetch()
        body = bytearray(response.body())
        body[len(body) // 2] ^= 0x01  # in the middle of a record: its tag no longer matches
        route.fulfill(response=response, body=bytes(body))

    recipient.route("**/api/v1/shares/*/content", flip_a_byte)
    downloads = []
    recipient.on("download", lambda started: downloads.append(started))
    recipient.click("#claim")
    expect_problem(recipient, DAMAGED, "nothing was saved")
    # Records before the altered one did decrypt and went on to the browser's download, which
    # must end failed (no file under the real name), not complete with what came before.
    assert downloads, "the download had started"
    for started in downloads:
        assert started.failure() is not None
    watch.assert_clean()


def test_a_link_with_the_wrong_key_consumes_nothing(open_page, live_server, watch):
    content = os.urandom(10_000)
    _, link = make_share(open_page, content)
    wrong = link.split("#")[0] + "#" + b64u(os.urandom(16))
    stranger = open_page(path_of(wrong))
    expect_problem(stranger, "The link is damaged or the key is wrong", "Nothing was used up")
    assert not [url for url in watch.requests if url.endswith("/claim")]
    assert live_server.api("GET", f"/shares/{share_id_of(link)}").json()["downloads_left"] == 1

    recipient = open_offer(open_page, link)  # the real link still works
    assert download(recipient) == ("data.bin", content)
    watch.assert_clean()


def test_a_cut_link_is_refused_before_asking_the_server(open_page, watch):
    share_id = b64u(os.urandom(16))
    page = open_page(f"/s/{share_id}")
    expect_problem(page, "This link is incomplete", "holds the key")
    assert not [url for url in watch.requests if "/api/" in url]
    page = open_page(f"/s/{share_id}#tooShort")
    expect_problem(page, "This link is incomplete")
    watch.assert_clean()


def test_an_unknown_or_expired_link_says_so(open_page, watch):
    page = open_page(f"/s/{b64u(os.urandom(16))}#{b64u(os.urandom(16))}")
    expect_problem(page, "No share at this link", "Ask the sender for a new link")
    watch.assert_clean()


def test_the_sender_can_delete_a_share_before_it_is_opened(open_page, live_server, watch):
    sender, link = make_share(open_page, os.urandom(1000))
    recipient = open_offer(open_page, link)
    sender.click("#delete-share")
    sender.click("#confirm-ok")  # deleting cannot be undone: the page asks first
    expect(sender.locator("#owner-status")).to_contain_text("Deleted")
    recipient.click("#claim")  # the offer was shown before the deletion: the claim is refused
    expect_problem(recipient, "This share was deleted", "The sender deleted it")
    expect_problem(open_page(path_of(link)), "This share was deleted")
    watch.assert_clean()


def test_cancelling_an_upload_deletes_the_half_made_share(open_page, live_server, watch):
    sender = open_sender(open_page)
    held = []
    # Hold the second chunk, as a slow network would, so the upload is still running.
    sender.route("**/chunks/1", lambda route: held.append(route))
    drop_files(sender, [("big.iso", os.urandom(3 * CHUNK_SIZE), "application/octet-stream")])
    with sender.expect_response("**/api/v1/shares") as created:
        sender.click("#share-button")
    share_id = created.value.json()["id"]
    expect(sender.locator("#sending")).to_be_visible()
    with sender.expect_request(lambda request: request.method == "DELETE") as deleted:
        sender.click("#cancel-upload")
    assert deleted.value.url.endswith(f"/api/v1/shares/{share_id}")
    expect(sender.locator("#composer-error")).to_have_text(
        "Upload cancelled. Nothing was kept on the server.")
    expect(sender.locator("#composer")).to_be_visible()
    assert held, "the held chunk was requested"
    status = live_server.api("GET", f"/shares/{share_id}")
    assert status.status_code == 410, status.text
    watch.assert_clean()


def test_a_refused_chunk_is_sent_again_and_the_upload_completes(open_page, live_server, watch):
    content = os.urandom(2 * CHUNK_SIZE + 1)
    sender = open_sender(open_page)
    refusals = []

    def busy_once(route):
        if refusals:
            route.continue_()
            return
        refusals.append(route.request.url)
        route.fulfill(status=503, headers={"Retry-After": "0"}, content_type="application/json",
                      body=json.dumps({"error": "Service Unavailable", "message": "busy"}))

    sender.route("**/chunks/1", busy_once)
    drop_files(sender, [("retry.bin", content, "application/octet-stream")])
    link = get_link(sender)
    assert len(refusals) == 1
    recipient = open_offer(open_page, link)
    assert download(recipient) == ("retry.bin", content)
    watch.assert_clean(expected_errors=["status of 503"])


def test_a_download_cut_short_resumes_from_where_it_stopped(open_page, live_server, watch):
    content = os.urandom(3 * CHUNK_SIZE)
    _, link = make_share(open_page, content)
    recipient = open_offer(open_page, link)
    ranges = []

    def drop_the_first_fetch(route):
        ranges.append(route.request.headers.get("range"))
        if len(ranges) > 1:
            route.continue_()
            return
        # The connection "drops" after a third: the server sent only that much, so its claim
        # is still alive, and the page gets a body that ends early.
        partial = route.fetch(headers={**route.request.headers, "range": f"bytes=0-{CHUNK_SIZE}"})
        assert partial.status == 206
        route.fulfill(status=200, body=partial.body(), content_type="application/octet-stream")

    recipient.route("**/api/v1/shares/*/content", drop_the_first_fetch)
    assert download(recipient) == ("data.bin", content)
    assert ranges == [None, f"bytes={CHUNK_SIZE + 1}-"]
    watch.assert_clean()


def test_without_a_service_worker_the_file_is_saved_from_memory(open_page, live_server, watch):
    content = os.urandom(CHUNK_SIZE + 99)
    _, link = make_share(open_page, content, name="fallback.bin")
    # A browser with neither service workers nor the File System Access API (e.g. a private
    # window of some browsers): the page must fall back to a Blob, and say so before the click.
    recipient = open_offer(open_page, link, init_script="""
        delete Navigator.prototype.serviceWorker;
        delete window.showSaveFilePicker;
    """)
    expect(recipient.locator("#memory-warning")).to_be_visible()
    expect(recipient.locator("#memory-warning")).to_contain_text("held in memory")
    assert download(recipient) == ("fallback.bin", content)
    watch.assert_clean()


@pytest.mark.parametrize(("status", "code", "title", "text"), [
    (429, "locked", "Too many attempts", "Try again in about 2 min"),
    (429, "rate_limited", "Too many requests", "Try again in about 2 min"),
    (429, None, "Too many requests", "Try again in about 2 min"),
    (503, "unavailable", "The server is busy", "Wait a moment"),
    (502, None, "The server is busy", "Wait a moment"),
    (507, "storage_full", "The server is full", "out of storage space"),
    (409, "not_ready", "Not ready yet", "still uploading"),
    (410, "consumed", "This link was already opened", "Someone opened this link before you"),
    (410, "deleted", "This share was deleted", "The sender deleted it"),
    (404, "a_code_from_a_newer_server", "No share at this link", "Ask the sender"),
])
def test_server_refusals_are_told_by_their_code(open_page, watch, status, code, title, text):
    # The English message says the opposite of the code: the page must follow the code.
    body = {"error": "Refused", "message": "This share was deleted by its sender. Locked."}
    if code:
        body["code"] = code

    def refuse(route):
        route.fulfill(status=status, headers={"Retry-After": "90"}, content_type="application/json",
                      body=json.dumps(body))

    share = f"/s/{b64u(os.urandom(16))}#{b64u(os.urandom(16))}"
    page = open_page()
    page.route("**/api/v1/shares/*", refuse)
    page.goto(share)
    expect_problem(page, title, text)
    watch.assert_clean(expected_errors=[f"status of {status}"])


def test_a_wrong_key_on_a_password_share_is_refused_and_not_counted(open_page, live_server,
                                                                     watch):
    sender = open_sender(open_page)
    content = os.urandom(5000)
    drop_files(sender, [("ledger.xlsx", content, "application/octet-stream")])
    set_options(sender, password="tulip")
    link = get_link(sender)
    wrong = link.split("#")[0] + "#" + b64u(os.urandom(16))
    stranger = open_page(path_of(wrong))
    enter_password(stranger, "tulip")
    # The access proof (the secret alone) is checked first: a stranger with the id cannot make
    # attempts count, so cannot lock the share.
    expect_problem(stranger, "The link is damaged or the key is wrong", "Nothing was used up")
    for _ in range(PROOF_FAILURES_MAX + 1):
        answer = live_server.api("POST", f"/shares/{share_id_of(link)}/unlock",
                                 headers={"Authorization": f"Bearer {b64u(os.urandom(32))}",
                                          "X-Password-Proof": b64u(os.urandom(32))})
        assert answer.status_code == 403 and answer.json()["code"] == "proof_invalid"

    recipient = open_page(path_of(link))
    enter_password(recipient, "not tulip")
    left = PROOF_FAILURES_MAX - 1
    expect(recipient.locator("#password-error")).to_contain_text(f"{left} attempt")
    enter_password(recipient, "tulip")
    assert download(recipient) == ("ledger.xlsx", content)
    watch.assert_clean()
