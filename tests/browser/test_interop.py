"""The browser and the Python client agree: each opens what the other shared.

Both implement docs/protocol.md independently (static/js/crypto/ and onetimeshare/); the shared
vectors pin the primitives, and these tests pin the whole path: keys, metadata, RFC 8188 body,
chunked upload, claim and fetch.
"""

import io
import os

from playwright.sync_api import expect

from onetimeshare.api import ShareApi
from onetimeshare.transfer import open_share, receive, send
from tests.browser.actions import download, drop_files, get_link, open_sender, path_of, set_options
from tests.browser.conftest import CHUNK_SIZE


def test_the_python_client_opens_what_the_browser_shared(open_page, live_server, watch):
    content = os.urandom(2 * CHUNK_SIZE + 777)
    sender = open_sender(open_page)
    drop_files(sender, [("from-the-browser.tar", content, "application/x-tar")])
    set_options(sender, password="s3same")
    link = get_link(sender)
    with ShareApi(live_server.direct_url) as api:
        info = open_share(api, link, password="s3same")
        assert info.metadata["name"] == "from-the-browser.tar"
        assert info.metadata["kind"] == "file" and info.metadata["size"] == len(content)
        sink = io.BytesIO()
        receive(api, info, sink)
    assert sink.getvalue() == content
    watch.assert_clean()


def test_the_browser_opens_what_the_python_client_shared(open_page, live_server, watch):
    content = os.urandom(CHUNK_SIZE + 4321)
    metadata = {"kind": "file", "name": "from-python.csv", "type": "text/csv",
                "size": len(content)}
    with ShareApi(live_server.direct_url) as api:
        sent = send(api, io.BytesIO(content), len(content), metadata)
    # The link names the server the Python client talked to; the browser goes through the proxy.
    recipient = open_page(path_of(sent.link))
    expect(recipient.locator("#offer-name")).to_have_text("from-python.csv")
    assert download(recipient) == ("from-python.csv", content)
    watch.assert_clean()
