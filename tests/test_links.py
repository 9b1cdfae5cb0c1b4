"""Share links and the strict base64url they carry."""

import pytest

from onetimeshare.encoding import b64u_decode, b64u_encode
from onetimeshare.errors import LinkError, ProtocolError
from onetimeshare.links import Link, build_link, parse_link

SECRET = bytes(range(16))
SECRET_TEXT = "AAECAwQFBgcICQoLDA0ODw"
SHARE_ID = "q83vEjRWeJCrze8SNFZ4kA"
LINK = f"https://share.example/s/{SHARE_ID}#{SECRET_TEXT}"


# --- base64url ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"", ""),
        (b"\xfb", "-w"),
        (b"\xff\xff", "__8"),
        (b"\xfb\xff\xbf", "-_-_"),
        (SECRET, SECRET_TEXT),
    ],
)
def test_b64u_round_trip(data, text):
    assert b64u_encode(data) == text
    assert b64u_decode(text) == data


@pytest.mark.parametrize(
    "text",
    ["AA==", "AAA=", "A", "AAAAA", "AA AA", "AA\n", "+/8", "AB", "AAB", "é", b"AAAA", None],
    ids=[
        "padding", "one pad", "one char", "five chars", "space", "newline", "standard alphabet",
        "non-canonical 1 byte", "non-canonical 2 bytes", "non-ASCII", "bytes", "None",
    ],
)
def test_b64u_decode_is_strict(text):
    with pytest.raises(ProtocolError):
        b64u_decode(text)


# --- links -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base_url", "expected_base"),
    [
        ("https://share.example", "https://share.example"),
        ("https://share.example/", "https://share.example"),
        ("http://localhost:8000", "http://localhost:8000"),
        ("https://example.org/tools/share/", "https://example.org/tools/share"),
    ],
)
def test_build_and_parse_round_trip(base_url, expected_base):
    link = build_link(base_url, SHARE_ID, SECRET)
    assert link == f"{expected_base}/s/{SHARE_ID}#{SECRET_TEXT}"
    assert parse_link(link) == Link(base_url=expected_base, share_id=SHARE_ID, secret=SECRET)


def test_parse_ignores_surrounding_white_space():
    assert parse_link(f"  {LINK}\n").secret == SECRET


def test_parse_accepts_upper_case_scheme():
    assert parse_link(LINK.replace("https", "HTTPS", 1)).share_id == SHARE_ID


@pytest.mark.parametrize(
    "link",
    [
        "",
        SHARE_ID,
        f"ftp://share.example/s/{SHARE_ID}#{SECRET_TEXT}",
        f"share.example/s/{SHARE_ID}#{SECRET_TEXT}",
        f"https:///s/{SHARE_ID}#{SECRET_TEXT}",
        f"https://share.example/x/{SHARE_ID}#{SECRET_TEXT}",
        f"https://share.example/s/{SHARE_ID}/#{SECRET_TEXT}",
        f"https://share.example/s/{SHARE_ID[:-1]}#{SECRET_TEXT}",
        f"https://share.example/s/{SHARE_ID}A#{SECRET_TEXT}",
        f"https://share.example/s/{SHARE_ID[:-1]}+#{SECRET_TEXT}",
        f"https://share.example/s/{SHARE_ID}?x=1#{SECRET_TEXT}",
        f"https://share.example/s/{SHARE_ID}",
        f"https://share.example/s/{SHARE_ID}#",
        f"https://share.example/s/{SHARE_ID}#{SECRET_TEXT[:-1]}",
        f"https://share.example/s/{SHARE_ID}#{SECRET_TEXT}A",
        f"https://share.example/s/{SHARE_ID}#{SECRET_TEXT}==",
        f"https://share.example/s/{SHARE_ID}#{SECRET_TEXT[:-1]}x",
        f"https://share.example/s/{SHARE_ID}#{SECRET_TEXT[:-1]}.",
        b"https://share.example/s/x#y",
    ],
    ids=[
        "empty", "bare id", "ftp", "no scheme", "no host", "wrong path", "trailing slash",
        "short id", "long id", "bad id character", "query string", "no fragment",
        "empty fragment", "short secret", "long secret", "padded secret",
        "non-canonical secret", "bad secret character", "bytes",
    ],
)
def test_parse_refuses_malformed_links(link):
    with pytest.raises(LinkError):
        parse_link(link)


@pytest.mark.parametrize(
    ("link", "base"),
    [(f"https://host.example/share/s/{SHARE_ID}#{SECRET_TEXT}", "https://host.example/share"),
     (f"https://host.example/a/s/b/s/{SHARE_ID}#{SECRET_TEXT}", "https://host.example/a/s/b"),
     (f"http://127.0.0.1:8000/s/{SHARE_ID}#{SECRET_TEXT}", "http://127.0.0.1:8000")],
    ids=["prefix", "last /s/ wins", "port"],
)
def test_the_api_base_is_everything_before_the_last_s(link, base):
    assert parse_link(link).base_url == base


@pytest.mark.parametrize(
    ("base_url", "share_id", "secret", "error"),
    [
        ("ftp://share.example", SHARE_ID, SECRET, ValueError),
        ("share.example", SHARE_ID, SECRET, ValueError),
        ("https://share.example?x=1", SHARE_ID, SECRET, ValueError),
        ("https://share.example", SHARE_ID[:-1], SECRET, ProtocolError),
        ("https://share.example", SHARE_ID[:-1] + "/", SECRET, ProtocolError),
        ("https://share.example", SHARE_ID, SECRET[:-1], ValueError),
    ],
    ids=["ftp", "no scheme", "query", "short id", "bad id", "short secret"],
)
def test_build_refuses_bad_parts(base_url, share_id, secret, error):
    with pytest.raises(error):
        build_link(base_url, share_id, secret)


def test_secret_stays_out_of_repr():
    assert SECRET_TEXT not in repr(parse_link(LINK))
    assert repr(SECRET) not in repr(parse_link(LINK))
