"""The composer's upload token, for servers that accept shares only with an operator's credential.

The server side (UPLOAD_TOKENS, 401 upload_token_required / 403 upload_token_invalid) is built
elsewhere; these tests play that server with routes on /api/v1/config and POST /api/v1/shares,
so they pin what the page does with the answers the protocol defines.
"""

import json

from playwright.sync_api import expect

from tests.browser.actions import get_link, open_sender

TOKEN = "op-token-7f3a"
STORAGE_KEY = "onetimeshare.upload-token"
REFUSALS = ["status of 401", "status of 403"]


def requiring_token(page, *, announce=True):
    """Make the page's server need TOKEN: in /config (when `announce`) and on POST /shares."""
    def config(route):
        response = route.fetch()
        limits = {**response.json(), "upload_token_required": announce}
        route.fulfill(response=response, body=json.dumps(limits))

    def create(route):
        if route.request.method != "POST":
            route.continue_()
            return
        sent = route.request.headers.get("authorization")
        if sent == f"Bearer {TOKEN}":
            route.continue_()
            return
        missing = sent is None
        status, code = (401, "upload_token_required") if missing else (403, "upload_token_invalid")
        route.fulfill(status=status, content_type="application/json", body=json.dumps({
            "error": "Refused", "code": code, "message": "A sentence the page must not parse."}))

    page.route("**/api/v1/config", config)
    page.route("**/api/v1/shares", create)


def write_note(page, text="for the operator's server"):
    page.click("#tab-note")
    page.fill("#note", text)


def test_a_server_without_tokens_shows_no_token_field(open_page, watch):
    page = open_sender(open_page)
    expect(page.locator("#upload-token-field")).to_be_hidden()
    watch.assert_clean()


def test_the_token_is_asked_sent_in_a_header_remembered_and_forgotten(open_page, watch):
    page = open_page()
    requiring_token(page)
    page.goto("/")
    expect(page.locator("#upload-token-field")).to_be_visible()
    expect(page.locator("#upload-token-hint")).to_contain_text("upload token from its operator")
    expect(page.locator("#upload-token")).to_have_attribute("type", "password")
    write_note(page)

    page.click("#share-button")  # no token: the page asks before sending anything
    expect(page.locator("#composer-error")).to_contain_text("upload token")
    page.fill("#upload-token", "a guess")
    page.click("#share-button")
    expect(page.locator("#composer-error")).to_have_text(
        "The server refused the upload token. Enter the one its operator gave you, then try again.")
    expect(page.locator("#upload-token")).to_have_attribute("aria-invalid", "true")
    assert page.evaluate(f"localStorage.getItem('{STORAGE_KEY}')") is None

    page.fill("#upload-token", TOKEN)
    get_link(page)
    assert page.evaluate(f"localStorage.getItem('{STORAGE_KEY}')") == TOKEN
    assert not [url for url in watch.requests if TOKEN in url], "the token stays out of URLs"

    page.reload()  # the next visit: the token is filled in, with a way to forget it
    expect(page.locator("#upload-token")).to_have_value(TOKEN)
    page.click("#forget-upload-token")
    expect(page.locator("#upload-token")).to_have_value("")
    expect(page.locator("#forget-upload-token")).to_be_hidden()
    assert page.evaluate(f"localStorage.getItem('{STORAGE_KEY}')") is None
    watch.assert_clean(expected_errors=REFUSALS)


def test_a_401_the_config_did_not_announce_shows_the_field(open_page, watch):
    page = open_page()
    requiring_token(page, announce=False)
    page.goto("/")
    expect(page.locator("#expiry option")).not_to_have_count(0)
    expect(page.locator("#upload-token-field")).to_be_hidden()
    write_note(page)
    page.click("#share-button")
    expect(page.locator("#composer-error")).to_contain_text(
        "This server accepts shares only with an upload token from its operator.")
    expect(page.locator("#upload-token-field")).to_be_visible()
    expect(page.locator("#upload-token")).to_be_focused()
    page.fill("#upload-token", TOKEN)
    get_link(page)
    watch.assert_clean(expected_errors=REFUSALS)
