"""The browser and the Python client agree: each opens what the other shared, in protocol v2.

Both implement docs/protocol.md independently (static/js/crypto/ and onetimeshare/); the shared
vectors pin the primitives, and these tests pin the whole path: keys and proofs, padded RFC 8188
body, metadata, chunked upload, unlock with a password, claim and fetch; with and without one.
"""

import io
import os

import pytest
from playwright.sync_api import expect

from onetimeshare.api import ShareApi
from onetimeshare.transfer import open_share, receive, send
from tests.browser.actions import (
    download,
    drop_files,
    enter_password,
    get_link,
    open_sender,
    path_of,
    set_options,
    share_id_of,
)
from tests.browser.conftest import CHUNK_SIZE

PASSWORDS = [None, "s3same – ünïcode"]


@pytest.mark.parametrize("password", PASSWORDS, ids=["no password", "password"])
def test_the_python_client_opens_what_the_browser_shared(open_page, live_server, watch, password):
    content = os.urandom(2 * CHUNK_SIZE + 777)
    sender = open_sender(open_page)
    drop_files(sender, [("from-the-browser.tar", content, "application/x-tar")])
    if password:
        set_options(sender, password=password)
    link = get_link(sender)
    status = live_server.api("GET", f"/shares/{share_id_of(link)}").json()
    assert status["version"] == 2
    assert (status["metadata"] is None) == bool(password)
    with ShareApi(live_server.direct_url) as api:
        info = open_share(api, link, password=password)
        assert info.metadata == {"kind": "file", "name": "from-the-browser.tar",
                                 "type": "application/x-tar", "size": len(content)}
        sink = io.BytesIO()
        receive(api, info, sink)
    assert sink.getvalue() == content
    watch.assert_clean()


@pytest.mark.parametrize("password", PASSWORDS, ids=["no password", "password"])
def test_the_browser_opens_what_the_python_client_shared(open_page, live_server, watch, password):
    content = os.urandom(CHUNK_SIZE + 4321)
    metadata = {"kind": "file", "name": "from-python.csv", "type": "text/csv",
                "size": len(content)}
    with ShareApi(live_server.direct_url) as api:
        sent = send(api, io.BytesIO(content), len(content), metadata, password=password)
    assert live_server.api("GET", f"/shares/{share_id_of(sent.link)}").json()["version"] == 2
    # The link names the server the Python client talked to; the browser goes through the proxy.
    recipient = open_page(path_of(sent.link))
    if password:
        enter_password(recipient, "a wrong guess")
        expect(recipient.locator("#password-error")).to_contain_text("Wrong password.")
        enter_password(recipient, password)
    expect(recipient.locator("#offer-name")).to_have_text("from-python.csv")
    assert download(recipient) == ("from-python.csv", content)
    watch.assert_clean()
