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
from onetimeshare.ece import Encryptor
from onetimeshare.encoding import b64u_encode
from onetimeshare.keys import derive_keys, new_password_params, new_secret
from onetimeshare.links import build_link
from onetimeshare.metadata import encrypt_metadata
from server import create_app, store
from tests.browser.actions import download, enter_password, expect_already_opened, path_of
from tests.browser.conftest import CHUNK_SIZE


def plant_v1(redis_server, live_server, plaintext, name, password=None):
    """Store and upload a v1 share the way the server created them before v2; return its link."""
    secret = new_secret()
    params = new_password_params() if password else None
    keys = derive_keys(secret, password, params, version=1)
    encryptor = Encryptor(keys.content_ikm)  # v1 writers padded nothing
    body = encryptor.update(plaintext) + encryptor.finalize()
    metadata = {"kind": "file", "name": name, "type": "text/plain", "size": len(plaintext)}
    fields = {
        "v": 1, "size": len(body), "chunk_size": CHUNK_SIZE,
        "chunks": -(-len(body) // CHUNK_SIZE), "downloads": 1, "left": 1,
        "verifier": store.digest_verifier(b64u_encode(keys.access_verifier)),
        "meta": encrypt_metadata(metadata, keys.metadata_key),
    }
    if params:
        fields["pw_salt"], fields["pw_iter"] = b64u_encode(params.salt), params.iterations
    app = create_app({"REDIS_URL": redis_server.url, "TESTING": True, "CHUNK_SIZE": CHUNK_SIZE})
    with app.app_context():
        share_id, owner_token, _ = store.create_share(
            fields, 3600, app.config["UPLOAD_IDLE_SECONDS"])
    with ShareApi(live_server.direct_url) as api:
        for index in range(fields["chunks"]):
            api.put_chunk(share_id, owner_token, index,
                          body[index * CHUNK_SIZE:(index + 1) * CHUNK_SIZE])
        api.finalize(share_id, owner_token)
    return build_link(live_server.direct_url, share_id, secret)


@pytest.mark.parametrize("password", [None, "old but gold"], ids=["no password", "password"])
def test_a_v1_link_opens_read_only_in_the_page(open_page, redis_server, live_server, watch,
                                               password):
    content = os.urandom(CHUNK_SIZE + 999)
    link = plant_v1(redis_server, live_server, content, "made-before-v2.txt", password)
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
    expect(recipient.locator("#offer-name")).to_have_text("made-before-v2.txt")
    assert download(recipient) == ("made-before-v2.txt", content)
    expect_already_opened(open_page, link)
    watch.assert_clean()
