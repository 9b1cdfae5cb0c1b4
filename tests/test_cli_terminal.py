"""The `onetimeshare` command as a person at a terminal meets it, and as a hostile sender or
server would try to abuse it: a real process on a pseudo-terminal (stdin, stdout and stderr),
against the real service (gunicorn, Redis), or against a loopback stand-in where the point is a
server that is not a OneTimeShare server."""

import json
import os

import httpx
import pytest

from onetimeshare.api import ShareApi
from onetimeshare.cli_common import Exit
from onetimeshare.transfer import send
from tests.cli_helpers import LINK, Cli, FakeServer
from tests.test_cli import make_file, service  # noqa: F401 - the module's gunicorn

ESC = b"\x1b"
OSC52 = "\x1b]52;c;cm0gLXJmIH4K\x07"
HOSTILE_NAME = f"invoice\u202efdp.exe{OSC52}\x9b2J"


@pytest.fixture
def cli(tmp_path, service):  # noqa: F811
    return Cli(tmp_path, service.url)


def links_on(screen):
    return [line.strip() for line in screen.text.splitlines() if LINK.match(line.strip())]


def assert_terminal_safe(raw: bytes):
    """Nothing that can drive a terminal reached it: no ESC, no C1 control, no bidi override."""
    assert ESC not in raw and b"\x07" not in raw
    text = raw.decode()
    assert not any("\x80" <= char <= "\x9f" for char in text)
    assert not any(char in text for char in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068")


# Typed input: one Ctrl-D ends it.

@pytest.mark.parametrize("args", [["--text"], ["-"]], ids=["send --text", "send -"])
def test_typed_input_ends_with_one_ctrl_d_and_says_so(cli, args):
    screen = cli.run_in_terminal("send", *args, script=[
        (b"Ctrl-D at the start of a line", b"first line\nsecond line\n"),
        (b"second line\r\n", b"\x04"),  # the echo of the typing, then one Ctrl-D
    ], timeout=30)
    assert screen.typed_all and screen.code == 0, screen.text
    [link] = links_on(screen)
    assert cli.ok("get", link, "-o", "-").stdout == b"first line\nsecond line\n"


@pytest.mark.parametrize("args, stdin", [
    (["--text"], b""), (["--text"], b"  \n\t\n"), (["--text", ""], b""), (["--text", " "], b""),
], ids=["empty stdin", "white space", "empty word", "blank word"])
def test_an_empty_note_is_refused_like_the_page_does(cli, args, stdin):
    result = cli.run("send", *args, input=stdin)
    assert result.code == Exit.USAGE and "the note is empty" in result.stderr
    assert result.stdout == b"" and not cli.state_file.exists(), "nothing was sent"


def test_a_password_mismatch_on_send_asks_again(cli, tmp_path):
    source = make_file(tmp_path / "secret.txt", 20)
    screen = cli.run_in_terminal("send", "--password", source, script=[
        (b"Password for the share: ", b"one horse\n"),
        (b"Repeat the password: ", b"other horse\n"),
        (b"differ; try again.", b""),
        (b"Password for the share: ", b"same horse\n"),
        (b"Repeat the password: ", b"same horse\n"),
    ])
    assert screen.typed_all and screen.code == 0, screen.text
    assert b"horse" not in screen.raw, "no echo"
    [link] = links_on(screen)
    got = cli.ok("get", link, "-o", "-", env={"ONETIMESHARE_PASSWORD": "same horse"})
    assert got.stdout == source.read_bytes()


def test_progress_counts_plaintext_bytes_both_ways(cli, tmp_path):
    source = tmp_path / "note.txt"
    source.write_bytes(b"fifteen bytes!\n")
    sent = cli.run_in_terminal("send", source)
    assert sent.code == 0 and "15 bytes of 15 bytes" in sent.text, sent.text
    [link] = links_on(sent)
    got = cli.run_in_terminal("get", link, "-o", tmp_path / "copy.txt")
    assert got.code == 0 and "15 bytes of 15 bytes" in got.text, got.text
    assert "1 download left" in got.text and "download(s)" not in got.text


def test_serve_help_describes_the_command(cli):
    result = cli.ok("serve", "--help")
    assert "Run the OneTimeShare web service under gunicorn" in result.text
    assert "DATA_DIR" in result.text


# What came from the network never drives the terminal.

def test_a_hostile_name_and_type_reach_the_terminal_escaped(cli, tmp_path, service):  # noqa: F811
    with ShareApi(service.url) as api, open(make_file(tmp_path / "x", 10), "rb") as source:
        sent = send(api, source, 10,
                    {"kind": "file", "name": HOSTILE_NAME, "type": f"text/plain{OSC52}"})
    as_json = cli.run("status", sent.link, "--json")
    assert json.loads(as_json.stdout)["name"] == HOSTILE_NAME, "JSON keeps the value..."
    assert_terminal_safe(as_json.stdout), "... escaped"
    status = cli.run_in_terminal("status", sent.link)
    assert status.code == 0 and "invoice\\u202efdp.exe\\x1b]52;c;" in status.text, status.text
    assert_terminal_safe(status.raw)
    out = tmp_path / "out"
    out.mkdir()
    got = cli.run_in_terminal("get", sent.link, cwd=out)
    assert got.code == 0, got.text
    assert_terminal_safe(got.raw)
    [saved] = os.listdir(out)
    assert saved.isprintable() and not saved.startswith(("-", "."))


NOTE = f"dear friend,\n\tthe code is 4711{OSC52}\x1b]0;title\x07\x1b[8mhidden\u202e\n"


def test_a_note_on_a_terminal_is_shown_escaped_unless_raw(cli):
    link = cli.send("--text", input=NOTE.encode())
    shown = cli.run_in_terminal("get", link)
    assert shown.code == 0, shown.text
    assert_terminal_safe(shown.raw)
    assert "dear friend,\r\n\tthe code is 4711\\x1b]52;c;cm0gLXJmIH4K\\x07" in shown.text
    link = cli.send("--text", input=NOTE.encode())
    raw = cli.run_in_terminal("get", link, "--raw")
    assert raw.code == 0 and OSC52.encode() in raw.raw, "asked for explicitly"


def test_a_note_to_a_pipe_is_written_as_sent(cli):
    link = cli.send("--text", input=NOTE.encode())
    assert cli.ok("get", link).stdout == NOTE.encode()


@pytest.mark.parametrize("status, body, headers", [
    (404, "<html><body><h1>404 Not Found</h1></body></html>", {"Content-Type": "text/html"}),
    (403, '{"detail": "forbidden"}', {"Content-Type": "application/json"}),
    (200, "<html>a blog</html>", {"Content-Type": "text/html"}),
], ids=["html 404", "json without code", "html 200"])
def test_a_server_that_is_not_a_onetimeshare_server_says_so(cli, tmp_path, status, body,
                                                            headers):
    with FakeServer(lambda request: httpx.Response(status, text=body, headers=headers)) as web:
        got = cli.run("get", f"{web.url}/s/{'A' * 22}#{'A' * 22}")
        sent = cli.run("send", make_file(tmp_path / "x", 1), "--server", web.url)
    for result in (got, sent):
        assert result.code == Exit.NOT_A_SERVER, result.stderr
        assert "not a OneTimeShare server" in result.stderr
        assert "no such share" not in result.stderr and result.stdout == b""


def test_server_messages_and_retry_after_read_naturally_and_safely(cli):
    def rate_limited(request):
        return httpx.Response(429, headers={"Retry-After": "45"}, json={
            "code": "rate_limited", "message": "Try again after Retry-After seconds."})

    def hostile(request):
        return httpx.Response(400, json={"code": "from_the_future",
                                         "message": f"bad{OSC52}\u202eword\nforged line"})
    link = f"/s/{'A' * 22}#{'A' * 22}"
    with FakeServer(rate_limited) as limited, FakeServer(hostile) as evil:
        slow = cli.run_in_terminal("get", limited.url + link)
        bad = cli.run_in_terminal("get", evil.url + link)
    assert slow.code == Exit.SERVER
    assert ("onetimeshare: error: the server is limiting requests from this address; try again "
            "in 45 seconds") in slow.text
    assert "Retry-After" not in slow.text
    assert bad.code == Exit.SERVER and "bad\\x1b]52;c;" in bad.text
    assert_terminal_safe(bad.raw)
    assert len(bad.text.strip().splitlines()) == 1, "a newline cannot forge a second line"


# The link need be neither in argv nor in shell history.

def test_the_link_can_come_from_stdin_or_the_environment(cli, tmp_path):
    links = [cli.send("--text", f"note {n}") for n in range(4)]
    assert cli.ok("get", "-", input=f"{links[0]}\n".encode()).stdout == b"note 0"
    assert cli.ok("get", input=f"  {links[1]}\n".encode()).stdout == b"note 1"
    assert cli.ok("get", env={"ONETIMESHARE_LINK": links[2]}).stdout == b"note 2"
    assert cli.ok("status", "-", input=links[3].encode()).code == 0
    typed = cli.run_in_terminal("get", script=[(b"Paste the link", links[3].encode() + b"\n")])
    assert typed.code == 0 and "note 3" in typed.text, typed.text
    assert links[3].split("#")[1] not in typed.text, "the key is not echoed"
    empty = cli.run("get", input=b"")
    assert empty.code == Exit.USAGE and "ONETIMESHARE_LINK" in empty.stderr


@pytest.mark.parametrize("name, saved", [("-rf", "_rf"), ("../x", "_x"), (".", "download"),
                                         ("--x", "_-x"), ("a/b", "a_b")])
def test_a_senders_name_is_saved_as_a_plain_file_name(cli, tmp_path, name, saved):
    link = cli.send(make_file(tmp_path / "payload", 10), f"--name={name}")
    out = tmp_path / "out"
    out.mkdir()
    cli.ok("get", link, cwd=out)
    assert os.listdir(out) == [saved]
    assert not (tmp_path / "x").exists()


# A large note as JSON is streamed.

MIB = 1024 * 1024


def test_get_json_streams_a_large_note(cli):
    """Peak RSS (the command's own VmHWM) of `get --json` for a 64 MiB note against a
    one-line note: it must not hold the note (let alone several copies of it)."""
    line = b"0123456789abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ \xc3\xa9\xe2\x82\xac\n"
    big = line * (64 * MIB // len(line))
    peaks = {}
    for name, note in (("small", line), ("big", big)):
        link = cli.send("--text", input=note)
        got = cli.run("get", link, "--json")
        assert got.code == 0, got.stderr
        document = json.loads(got.stdout)
        assert document["text"] == note.decode() and document["size"] == len(note)
        peaks[name] = got.peak_rss_kib
    growth_mib = (peaks["big"] - peaks["small"]) / 1024
    print(f"get --json peak RSS: {peaks['small'] / 1024:.1f} MiB for a one-line note, "
          f"{peaks['big'] / 1024:.1f} MiB for {len(big) / MIB:.0f} MiB")
    assert growth_mib < 16, f"grew by {growth_mib:.1f} MiB"
