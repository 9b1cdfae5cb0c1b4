"""Links made before protocol v2 still open in the page, read-only.

The server no longer creates v1 shares, so the test stores one as the server used to, with real
v1 cryptography from the Python library (v1 labels, no padding, one auth token that binds secret
and password). The page must derive v1 keys for it, check a password locally as v1 did (no
unlock request, nothing counted) and claim with the v1 auth token.
"""

import os

import pytest
from playwright.sync_api import expect

from onetimeshare.api import ShareApi
from server import create_app
from tests.browser.actions import download, enter_password, expect_already_opened, path_of
from tests.browser.conftest import CHUNK_SIZE
from tests.v1_shares import V1_METADATA, plant_v1


def plant(redis_server, live_server, plaintext, password=None):
    """Store and upload a v1 share on the live server's Redis; return its link."""
    app = create_app({"REDIS_URL": redis_server.url, "TESTING": True, "CHUNK_SIZE": CHUNK_SIZE})
    with ShareApi(live_server.direct_url) as api:
        return plant_v1(app, api, plaintext, password)


@pytest.mark.parametrize("password", [None, "old but gold"], ids=["no password", "password"])
def test_a_v1_link_opens_read_only_in_the_page(open_page, redis_server, live_server, watch,
                                               password):
    content = os.urandom(CHUNK_SIZE + 999)
    link = plant(redis_server, live_server, content, password)
    name = V1_METADATA["name"]
    share_id = link.rsplit("/", 1)[1].split("#")[0]
    assert live_server.api("GET", f"/shares/{share_id}").json()["version"] == 1
    recipient = open_page(path_of(link))
    if password:
        expect(recipient.locator("#password-lead")).to_contain_text("checked here in your browser")
        enter_password(recipient, "not it")
        expect(recipient.locator("#password-error")).to_have_text(
            "Wrong password. Nothing was used up: try again.")
        assert not [url for url in watch.requests if url.endswith("/unlock")]
        enter_password(recipient, password)
    expect(recipient.locator("#offer-name")).to_have_text(name)
    assert download(recipient) == (name, content)
    expect_already_opened(open_page, link)
    watch.assert_clean()
