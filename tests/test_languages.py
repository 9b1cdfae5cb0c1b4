"""The page's language: chosen from Accept-Language among the shipped catalogues, written into
<html lang dir>, offered in the switcher with every catalogue's integrity value, and used for
the script-free error pages too. Caches are told the answer depends on Accept-Language."""

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest

LOCALES = Path(__file__).resolve().parent.parent / "static" / "locales"
INDEX = json.loads((LOCALES / "index.json").read_text(encoding="utf-8"))
SHIPPED = [tag for tag in INDEX if (LOCALES / f"{tag}.json").is_file()]
SHARE = "/s/" + "A" * 22


def words(tag):
    return json.loads((LOCALES / f"{tag}.json").read_text(encoding="utf-8"))


def html_root(page):
    return re.search(r"<html [^>]*>", page.get_data(as_text=True)).group(0)


@pytest.mark.parametrize("path", ["/", SHARE])
@pytest.mark.parametrize("tag", SHIPPED)
def test_each_shipped_language_is_chosen_from_accept_language(client, path, tag):
    page = client.get(path, headers={"Accept-Language": f"{tag};q=1, en;q=0.5"})
    assert page.status_code == 200
    direction = INDEX[tag].get("dir", "ltr")
    assert html_root(page) == f'<html lang="{tag}" dir="{direction}">'
    body = page.get_data(as_text=True)
    assert f'data-lang="{tag}"' in body
    assert f'href="/static/locales/{tag}.json"' in body
    # Words the server fills in before the script runs are in that language already.
    assert f">{words(tag)['base.badge']}<" in body
    assert "Accept-Language" in page.headers["Vary"]


@pytest.mark.parametrize(("header", "expected"), [
    ("de-AT,de;q=0.9,en;q=0.8", "de"),  # a regional variant finds its language
    ("pt-BR", "pt"),
    ("fr-CA, en;q=0.3", "fr"),
    ("xx-YY, tlh", "en"),  # nothing shipped fits: English
    ("", "en"),
    ("en;q=0.2, nl;q=0.9", "nl"),  # quality values count, not order
])
def test_negotiation_prefers_the_best_shipped_match(client, header, expected):
    page = client.get("/", headers={"Accept-Language": header})
    assert f'lang="{expected}"' in html_root(page)


def test_chinese_asked_for_as_zh_gets_simplified_chinese_when_shipped(client):
    page = client.get("/", headers={"Accept-Language": "zh, en;q=0.1"})
    assert f'lang="{"zh-CN" if "zh-CN" in SHIPPED else "en"}"' in html_root(page)


def test_the_switcher_lists_every_shipped_language_in_its_own_name_with_integrity(client):
    body = client.get("/", headers={"Accept-Language": "de"}).get_data(as_text=True)
    option = r'<option value="([^"]+)"[^>]*data-integrity="([^"]+)"[^>]*>([^<]+)</option>'
    options = re.findall(option, body, flags=re.S)
    assert [tag for tag, _, _ in options] == SHIPPED
    for tag, integrity, name in options:
        assert name == INDEX[tag]["name"]
        digest = hashlib.sha384((LOCALES / f"{tag}.json").read_bytes()).digest()
        assert integrity == "sha384-" + base64.b64encode(digest).decode()
    assert re.search(r'<option value="de"[^>]*selected>', body, flags=re.S)


@pytest.mark.parametrize("tag", SHIPPED)
def test_error_pages_speak_the_negotiated_language(client, tag):
    page = client.get("/s/not-a-share-id", headers={"Accept-Language": tag, "Accept": "text/html"})
    assert page.status_code == 404
    body = page.get_data(as_text=True)
    catalogue = words(tag)
    direction = INDEX[tag].get("dir", "ltr")
    assert html_root(page) == f'<html lang="{tag}" dir="{direction}">'
    for key in ("errorpage.not-found.title", "errorpage.not-found.text", "errorpage.home"):
        assert catalogue[key] in body, key
    assert catalogue["errorpage.eyebrow"].replace("{status}", "404") in body
    assert "Accept-Language" in page.headers["Vary"]
    assert "<script" not in body  # the error page has no script, so no switcher either
    assert 'id="language-select"' not in body


def test_a_method_error_page_uses_the_generic_refusal_words(client):
    page = client.post("/", headers={"Accept-Language": "fr", "Accept": "text/html"})
    assert page.status_code == 405
    assert words("fr")["errorpage.client.title"] in page.get_data(as_text=True)


def test_the_api_keeps_its_english_json_whatever_the_language(client):
    answer = client.get("/api/v1/nowhere", headers={"Accept-Language": "de"})
    assert answer.status_code == 404
    assert answer.get_json()["code"] == "not_found"
    assert answer.get_json()["message"].isascii()
