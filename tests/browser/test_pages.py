"""The pages themselves: static shells that touch no Redis, strict CSP, SRI on every module.

The first tests use Flask's test client against an app whose Redis cannot be reached: the
pages must render anyway, which proves they never ask it. The last ones load the pages in
Chromium and compare what it fetched with what the page declared.
"""

import base64
import hashlib
import os
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from devtools.processes import ROOT
from server import create_app, pages
from tests.sharing import b64u

STATIC = ROOT / "static"
SHARE_ID = b64u(os.urandom(16))
VERIFIED_LINKS = ("modulepreload", "stylesheet")
VENDORED = [("client-zip", "2.5.", "LICENSE.txt"), ("uqr", "0.1.", "LICENSE")]


@pytest.fixture
def offline_client():
    """An app pointed at a Redis that does not exist: any page that asks it would fail."""
    app = create_app({"REDIS_URL": "redis://127.0.0.1:9/0", "TESTING": True,
                      "RATE_LIMITS_ENABLED": 0})
    return app.test_client()


class Tags(HTMLParser):
    """Collect start tags with their attributes, and the text inside <script> and <style>."""

    def __init__(self):
        super().__init__()
        self.tags = []
        self.inline = []
        self._inside = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._inside = tag if tag in ("script", "style") else None

    def handle_data(self, data):
        if self._inside and data.strip():
            self.inline.append((self._inside, data.strip()[:80]))

    def handle_endtag(self, tag):
        self._inside = None


def parse(html):
    tags = Tags()
    tags.feed(html)
    return tags


def integrity_of(static_path):
    digest = hashlib.sha384((STATIC / static_path).read_bytes()).digest()
    return "sha384-" + base64.b64encode(digest).decode()


@pytest.mark.parametrize("path", ["/", f"/s/{SHARE_ID}"])
def test_pages_render_without_redis_and_without_inline_code(offline_client, path):
    response = offline_client.get(path)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.headers["Cache-Control"] == "no-store"
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    tags = parse(response.get_data(as_text=True))
    assert not tags.inline, tags.inline
    assert not [tag for tag, attrs in tags.tags if "style" in attrs or tag == "style"]
    assert not [attrs for tag, attrs in tags.tags if any(name.startswith("on") for name in attrs)]
    assert not [attrs["src"] for tag, attrs in tags.tags if tag == "script" and "src" not in attrs]


@pytest.mark.parametrize(("path", "entry"), [
    ("/", "js/pages/send.js"), (f"/s/{SHARE_ID}", "js/pages/receive.js"),
])
def test_every_script_module_and_stylesheet_carries_its_integrity(offline_client, path, entry):
    tags = parse(offline_client.get(path).get_data(as_text=True)).tags
    checked = {}
    for tag, attrs in tags:
        url = attrs.get("src") if tag == "script" else attrs.get("href")
        if tag == "script" or (tag == "link" and attrs.get("rel") in VERIFIED_LINKS):
            static_path = urlsplit(url).path.removeprefix("/static/")
            assert attrs.get("integrity") == integrity_of(static_path), url
            checked.setdefault(attrs.get("rel", "script"), []).append(static_path)
    assert checked["stylesheet"] == ["css/app.css"]
    assert checked["script"] == [entry]
    preloaded = checked["modulepreload"]
    assert preloaded[-1] == entry and len(set(preloaded)) == len(preloaded)
    # The graph reaches the crypto modules and the vendored libraries it imports.
    assert "js/crypto/ece.js" in preloaded and "js/crypto/encoding.js" in preloaded
    if entry.endswith("send.js"):
        assert {"js/vendor/client-zip/index.js", "js/vendor/uqr/index.js"} <= set(preloaded)


def test_the_import_graph_lists_dependencies_first():
    with create_app({"REDIS_URL": "redis://127.0.0.1:9/0", "TESTING": True}).app_context():
        order = pages.modules("js/pages/send.js")
    position = {name: index for index, name in enumerate(order)}
    for name in order:
        source = (STATIC / name).read_text()
        for specifier in re.findall(r"""^import .*? from '(\.[^']+)';""", source, re.MULTILINE):
            target = os.path.normpath(os.path.join(os.path.dirname(name), specifier))
            assert position[target] < position[name], (name, target)


def test_a_malformed_share_id_is_a_friendly_404_page(offline_client):
    response = offline_client.get("/s/not-a-share")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "check that it was copied whole" in html
    assert 'rel="stylesheet"' in html  # the error page wears the app's look


def test_the_service_worker_is_served_from_the_root(offline_client):
    response = offline_client.get("/sw.js")
    body = response.get_data()
    response.close()  # a file response: close it, as a server would
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert "Content-Disposition" not in response.headers
    assert body == (STATIC / "js" / "sw.js").read_bytes()


def test_vendored_libraries_ship_with_their_licence_and_version():
    readme = (STATIC / "js" / "vendor" / "README.md").read_text()
    for name, version, licence in VENDORED:
        assert (STATIC / "js" / "vendor" / name / licence).is_file()
        row = rf"\|\s*`?{name}`?\s*\|\s*{re.escape(version)}\d+\s*\|\s*MIT"
        assert re.search(row, readme), name


@pytest.mark.parametrize("path", ["/", f"/s/{SHARE_ID}#{b64u(os.urandom(16))}"])
def test_the_browser_fetches_each_module_once_all_preloaded(open_page, watch, path):
    page = open_page(path)
    expect(page.locator("body.is-ready")).to_have_count(1)
    preloads = page.eval_on_selector_all(
        "link[rel=modulepreload]", "links => links.map(link => link.href)")
    scripts = [url for url in watch.requests if "/static/" in url and url.endswith(".js")]
    assert sorted(scripts) == sorted(preloads), "every module fetched is preloaded, once"
    assert len(set(scripts)) == len(scripts)
    watch.assert_clean()


def test_only_api_js_calls_fetch_and_only_crypto_modules_touch_subtle():
    sources = {path.relative_to(STATIC).as_posix(): path.read_text()
               for path in (STATIC / "js").rglob("*.js") if "vendor" not in path.parts}
    assert [name for name, text in sources.items() if re.search(r"\bfetch\(", text)] == [
        "js/api.js"]
    assert {name for name, text in sources.items() if "crypto.subtle" in text} <= {
        name for name in sources if name.startswith("js/crypto/")}


def test_no_module_reads_the_servers_english_to_decide():
    """Errors are told apart by class and `code` (static/js/errors.js), never by their wording."""
    sources = {path.relative_to(STATIC).as_posix(): path.read_text()
               for path in (STATIC / "js").rglob("*.js") if "vendor" not in path.parts}
    reads_message = re.compile(
        r"\.test\([^)]*\.message|\.message\)?\s*\.(match|search|includes|startsWith)\(|\.message\s*[!=]==")
    assert [name for name, text in sources.items() if reads_message.search(text)] == []
    assert "ERROR_CLASSES" in sources["js/errors.js"]
    assert [name for name, text in sources.items() if "ERROR_CLASSES" in text] == ["js/errors.js"]


def test_the_manifest_is_served_with_its_type_and_icons(offline_client):
    with offline_client.get("/manifest.webmanifest") as response:
        manifest = response.get_json(force=True)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/manifest+json"
    assert "Content-Disposition" not in response.headers
    assert [manifest[key] for key in ("start_url", "scope", "display")] == ["/", "/", "standalone"]
    sizes = {icon["sizes"] for icon in manifest["icons"] if icon["type"] == "image/png"}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        with offline_client.get(icon["src"]) as answer:
            assert answer.status_code == 200, icon
            assert answer.headers["Content-Type"].split(";")[0] == icon["type"], icon
    # No share target: a share sheet's post would reach the server with the files in clear
    # whenever the browser has lost the service worker that should catch it.
    assert "share_target" not in manifest
    page = parse(offline_client.get("/").get_data(as_text=True))
    assert ("link", {"rel": "manifest", "href": "/manifest.webmanifest"}) in page.tags


def test_no_route_takes_a_share_sheet_post(offline_client):
    response = offline_client.post("/dl/share-target", data=b"x" * 100,
                                   content_type="multipart/form-data; boundary=x")
    assert response.status_code in (404, 405)
    assert b"x" * 100 not in response.get_data()


def test_chromium_reads_the_manifest_without_errors(open_page, watch):
    page = open_page("/")
    expect(page.locator("body.is-ready")).to_have_count(1)
    session = page.context.new_cdp_session(page)
    manifest = session.send("Page.getAppManifest")
    assert manifest["errors"] == [], manifest["errors"]
    assert manifest["url"].endswith("/manifest.webmanifest")
    watch.assert_clean()


def test_the_locale_catalogue_is_fetched_once_with_its_integrity(open_page, watch):
    page = open_page("/")
    expect(page.locator("body.is-ready")).to_have_count(1)
    catalogue = page.get_attribute("#locale-catalogue", "integrity")
    assert catalogue == integrity_of("locales/en.json")
    assert len([url for url in watch.requests if url.endswith("/static/locales/en.json")]) == 1
    expect(page.locator("#intro-title")).to_have_text("Share a file once. Privately.")
    watch.assert_clean()
