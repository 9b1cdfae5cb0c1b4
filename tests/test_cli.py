"""Drive the real `onetimeshare` command, as a subprocess, against real gunicorn and Redis.

Every test goes through `python -m onetimeshare.cli` with private state and config directories,
checking what a user or a script sees: the bytes saved, stdout, and the documented exit codes
(docs/cli.md). The server runs with 256 KiB chunks so that a few MiB cross many chunk and record
boundaries.
"""

import io
import json
import os
import re
import stat
import zipfile

import httpx
import pytest

from devtools.processes import GunicornProcess
from onetimeshare.api import ShareApi
from onetimeshare.cli_common import Exit
from onetimeshare.cli_get import safe_name
from onetimeshare.ece import RECORD_SIZE, TAG_LENGTH
from onetimeshare.links import parse_link
from onetimeshare.zipper import Member, member_info, write_zip, zip_size
from tests.cli_helpers import Cli, CuttingRelay, FakeServer, corrupt_first_chunk
from tests.v1_shares import plant_v1

CHUNK_SIZE = 256 * 1024
DATA_PER_RECORD = RECORD_SIZE - TAG_LENGTH - 1  # 65,519
MIB = 1024 * 1024
# The plaintext that filled exactly one chunk before padding; padded (to 262,144 bytes, five
# records), its ciphertext now runs 106 bytes into a second chunk.
ONE_CHUNK = CHUNK_SIZE - 21 - 4 * (TAG_LENGTH + 1)
PROOF_FAILURES_MAX = 3


@pytest.fixture(scope="module")
def service(redis_server, tmp_path_factory):
    log = tmp_path_factory.mktemp("cli-gunicorn") / "gunicorn.log"
    # Rate limits off: this file creates shares faster than one address may in production.
    server = GunicornProcess(redis_server.url, workers=2, threads=4, log_path=log,
                             env={"CHUNK_SIZE": str(CHUNK_SIZE), "RATE_LIMITS_ENABLED": "0",
                                  "PROOF_FAILURES_MAX": str(PROOF_FAILURES_MAX)}).start()
    yield server
    server.stop()
    assert b"Traceback" not in log.read_bytes()


@pytest.fixture
def cli(tmp_path, service):
    return Cli(tmp_path, service.url)


def make_file(path, size):
    path.write_bytes(os.urandom(size))
    return path


def share_id(link):
    return parse_link(link).share_id


@pytest.mark.parametrize("size", [
    0, 1, DATA_PER_RECORD, DATA_PER_RECORD + 1, 2 * DATA_PER_RECORD, ONE_CHUNK, MIB + 7,
])
def test_round_trip_keeps_every_byte(cli, tmp_path, size):
    source = make_file(tmp_path / "data.bin", size)
    sent = json.loads(cli.ok("send", source, "--json").stdout)
    assert set(sent) == {"link", "id", "expires_at"}
    assert sent["id"] == share_id(sent["link"])
    (tmp_path / "out").mkdir()
    got = json.loads(cli.ok("get", sent["link"], "-o", tmp_path / "out", "--json").stdout)
    saved = tmp_path / "out" / "data.bin"
    assert got == {"name": "data.bin", "kind": "file", "type": "application/octet-stream",
                   "size": size, "path": str(saved)}
    assert saved.read_bytes() == source.read_bytes()
    assert os.listdir(tmp_path / "out") == ["data.bin"], "no temporary file is left"


def test_stdin_to_stdout_pipes_through(cli):
    data = os.urandom(MIB + 7)
    link = cli.send("-", input=data)
    got = cli.ok("get", link, "-o", "-")
    assert got.stdout == data
    assert "stdin" in got.stderr, "name and size are shown on stderr"


def test_several_files_become_one_zip_with_identical_contents(cli, tmp_path):
    contents = {"a.txt": os.urandom(100_000), "é ü.bin": b"", "c": os.urandom(300_001)}
    for name, data in contents.items():
        (tmp_path / name).write_bytes(data)
    link = cli.send(*(tmp_path / name for name in contents))
    status = json.loads(cli.ok("status", link, "--json").stdout)
    assert status["kind"] == "files" and status["name"] == "files.zip"
    assert status["files"] == [{"name": name, "size": len(data)}
                               for name, data in contents.items()]
    out = tmp_path / "out"
    out.mkdir()
    got = json.loads(cli.ok("get", link, "-o", out, "--json").stdout)
    assert got["size"] == status["size"] == (out / "files.zip").stat().st_size
    with zipfile.ZipFile(out / "files.zip") as archive:
        assert archive.testzip() is None
        assert {name: archive.read(name) for name in archive.namelist()} == contents


def test_a_note_prints_to_stdout(cli):
    link = cli.send("--text", "the door code", "is 4711")
    got = cli.ok("get", link)
    assert got.stdout == b"the door code is 4711"
    note = "héllo\nsecond line\n"
    link = cli.send("--text", input=note.encode())
    got = json.loads(cli.ok("get", link, "--json").stdout)
    assert got["kind"] == "text" and got["text"] == note and got["path"] is None


def test_a_note_must_be_utf8(cli):
    result = cli.run("send", "--text", input=b"\xff\xfe binary")
    assert result.code == Exit.USAGE and "UTF-8" in result.stderr


def test_wrong_password_is_5_and_consumes_nothing(cli, tmp_path):
    source = make_file(tmp_path / "secret.pdf", 70_000)
    link = cli.send("--password", source, env={"ONETIMESHARE_PASSWORD": "right horse"})
    out = tmp_path / "out"
    out.mkdir()
    wrong = cli.run("get", link, "-o", out, env={"ONETIMESHARE_PASSWORD": "wrong horse"})
    assert wrong.code == Exit.PASSWORD and "wrong password" in wrong.stderr
    missing = cli.run("get", link, "-o", out)  # no terminal in a new session: cannot ask
    assert missing.code == Exit.PASSWORD and "ONETIMESHARE_PASSWORD" in missing.stderr
    status = json.loads(cli.ok("status", link, "--json").stdout)
    assert status["downloads_left"] == 1 and status["password"] is True
    assert "name" not in status, "the name stays hidden without the password"
    cli.ok("get", link, "-o", out, "--password-env", "MY_PW", env={"MY_PW": "right horse"})
    assert (out / "secret.pdf").read_bytes() == source.read_bytes()
    assert os.listdir(out) == ["secret.pdf"]


def test_wrong_proofs_from_someone_with_only_the_id_lock_nothing(cli, tmp_path, service):
    link = cli.send(make_file(tmp_path / "target.bin", 100))
    for _ in range(3 * PROOF_FAILURES_MAX):  # guessing at the server without the link's secret
        wrong = httpx.post(f"{service.url}/api/v1/shares/{share_id(link)}/claim",
                           headers={"Authorization": f"Bearer {'A' * 43}"})
        assert wrong.status_code == 403 and wrong.json()["code"] == "proof_invalid"
    cli.ok("get", link, "-o", tmp_path / "out.bin")
    assert (tmp_path / "out.bin").read_bytes() == (tmp_path / "target.bin").read_bytes()


def test_wrong_passwords_lock_the_share_with_5_and_consume_nothing(cli, tmp_path):
    source = make_file(tmp_path / "target.bin", 100)
    link = cli.send("--password", source, env={"ONETIMESHARE_PASSWORD": "right horse"})
    for left in range(PROOF_FAILURES_MAX - 1, -1, -1):
        wrong = cli.run("get", link, "-o", tmp_path / "out.bin",
                        env={"ONETIMESHARE_PASSWORD": "wrong horse"})
        assert wrong.code == Exit.PASSWORD and "wrong password" in wrong.stderr
        assert (f"{left} {'attempt' if left == 1 else 'attempts'} left" if left
                else "now locked") in wrong.stderr
    locked = cli.run("get", link, "-o", tmp_path / "out.bin",
                     env={"ONETIMESHARE_PASSWORD": "right horse"})
    assert locked.code == Exit.PASSWORD and "locked" in locked.stderr
    assert "try again in" in locked.stderr
    assert not (tmp_path / "out.bin").exists()
    assert json.loads(cli.ok("status", link, "--json").stdout)["downloads_left"] == 1


def test_a_wrong_password_on_a_terminal_asks_again_then_opens(cli, tmp_path):
    source = make_file(tmp_path / "secret.pdf", 70_000)
    link = cli.send("--password", source, env={"ONETIMESHARE_PASSWORD": "right horse"})
    out = tmp_path / "out"
    out.mkdir()
    got = cli.run_on_terminal("get", link, "-o", out,
                              answers=["wrong horse", "also wrong", "right horse"])
    assert got.code == 0, got.stderr
    assert got.terminal.count("Password: ") == 3
    assert "(2 attempts left before the share locks)" in got.stderr
    assert "(1 attempt left before the share locks)" in got.stderr
    # What will be opened is shown once the password is right, before the claim.
    assert "secret.pdf (68.4 KiB" in got.stderr
    assert (out / "secret.pdf").read_bytes() == source.read_bytes()


def test_a_terminal_without_a_password_share_never_asks(cli, tmp_path):
    link = cli.send(make_file(tmp_path / "plain.bin", 10))
    got = cli.run_on_terminal("get", link, "-o", tmp_path / "out.bin", answers=[])
    assert got.code == 0 and "Password" not in got.terminal


def test_status_of_a_password_share_shows_the_public_status_only(cli, tmp_path):
    link = cli.send("--password", make_file(tmp_path / "hidden-name.txt", 10),
                    env={"ONETIMESHARE_PASSWORD": "right horse"})
    stranger = Cli(tmp_path / "elsewhere", None)
    report = json.loads(stranger.ok("status", link, "--json").stdout)
    assert report["password"] is True and report["version"] == 2
    assert report["encrypted_size"] == 21 + 4096 + 17, "a padded size, not the real one"
    assert "name" not in report and report["size"] is None
    human = stranger.ok("status", link).text
    assert "hidden-name" not in human and "encrypted and padded" in human
    named = json.loads(stranger.ok("status", link, "--json",
                                   env={"ONETIMESHARE_PASSWORD": "right horse"}).stdout)
    assert named["name"] == "hidden-name.txt" and named["size"] == 10


@pytest.mark.parametrize("password", [None, "old horse"], ids=["no password", "password"])
def test_a_v1_link_is_still_opened_read_only(cli, tmp_path, app, service, password):
    """Shares stored before protocol v2 keep opening until they expire; a v1 password is checked
    on this machine, as v1 did."""
    plaintext = os.urandom(300_000)
    with ShareApi(service.url) as api:
        link = plant_v1(app, api, plaintext, password)
    out = tmp_path / "out.txt"
    if password:
        wrong = cli.run("get", link, "-o", out, env={"ONETIMESHARE_PASSWORD": "wrong"})
        assert wrong.code == Exit.PASSWORD and not out.exists()
    got = json.loads(cli.ok("get", link, "-o", out, "--json",
                            env={"ONETIMESHARE_PASSWORD": password or ""}).stdout)
    assert got["name"] == "old.txt" and got["size"] == len(plaintext)
    assert out.read_bytes() == plaintext
    assert cli.run("get", link, "-o", tmp_path / "again.txt").code == Exit.GONE


def test_second_get_is_refused_with_4(cli, tmp_path):
    link = cli.send(make_file(tmp_path / "once.bin", 1000))
    cli.ok("get", link, "-o", tmp_path / "first.bin")
    again = cli.run("get", link, "-o", tmp_path / "second.bin")
    assert again.code == Exit.GONE and "already opened" in again.stderr
    assert again.stdout == b""
    assert not (tmp_path / "second.bin").exists()


def test_status_shows_the_owner_view_and_consumes_nothing(cli, tmp_path):
    link = cli.send(make_file(tmp_path / "report.pdf", 5000), "--downloads", "2")
    for _ in range(2):
        before = json.loads(cli.ok("status", link, "--json").stdout)
    assert before["name"] == "report.pdf" and before["size"] == 5000
    assert before["downloads_left"] == 2 and before["available"] is True
    assert before["owner"]["opened"] is False and before["owner"]["state"] == "ready"
    human = cli.ok("status", link).text
    assert "report.pdf" in human and "not yet" in human
    cli.ok("get", link, "-o", tmp_path / "one.pdf")
    cli.ok("get", link, "-o", tmp_path / "two.pdf")
    after = cli.run("status", link, "--json")
    assert after.code == Exit.GONE
    report = json.loads(after.stdout)
    assert report["state"] == "consumed" and report["available"] is False
    assert report["owner"]["opened"] is True and report["owner"]["claims"] == 2
    stranger = Cli(tmp_path / "elsewhere", None).run("status", link)
    assert stranger.code == Exit.GONE and stranger.stdout == b""


def test_delete_then_get_is_4_and_the_state_file_keeps_no_secret(cli, tmp_path):
    link = cli.send(make_file(tmp_path / "oops.txt", 10))
    mode = stat.S_IMODE(cli.state_file.stat().st_mode)
    assert mode == 0o600
    state = cli.state_file.read_text()
    assert share_id(link) in state and link.split("#")[1] not in state
    deleted = json.loads(cli.ok("delete", link, "--json").stdout)
    assert deleted == {"id": share_id(link), "deleted": True, "already_deleted": False}
    got = cli.run("get", link, "-o", tmp_path / "out.txt")
    assert got.code == Exit.GONE and "deleted" in got.stderr
    assert cli.run("status", link).code == Exit.GONE
    again = cli.run("delete", link)
    assert again.code == Exit.OK and "already deleted" in again.stderr


def test_delete_needs_this_machines_owner_token(cli, tmp_path):
    link = cli.send(make_file(tmp_path / "mine.txt", 10))
    stranger = Cli(tmp_path / "elsewhere", None).run("delete", link)
    assert stranger.code == Exit.USAGE and "owner token" in stranger.stderr
    assert cli.ok("status", share_id(link)).code == Exit.OK, "a bare id works for the sender"


@pytest.mark.parametrize("link", [
    "not a link",
    "ftp://127.0.0.1/s/AAAAAAAAAAAAAAAAAAAAAA#AAAAAAAAAAAAAAAAAAAAAA",
    "http://127.0.0.1:1/s/short#AAAAAAAAAAAAAAAAAAAAAA",
    "http://127.0.0.1:1/s/AAAAAAAAAAAAAAAAAAAAAA",
    "http://127.0.0.1:1/s/AAAAAAAAAAAAAAAAAAAAAA#tooshort",
])
def test_malformed_link_is_2_before_any_request(cli, link):
    result = cli.run("get", link)
    assert result.code == Exit.USAGE and result.stderr.startswith("onetimeshare: error:")
    assert "Traceback" not in result.stderr


def test_unknown_share_is_3(cli, service):
    result = cli.run("get", f"{service.url}/s/{'A' * 22}#{'A' * 22}")
    assert result.code == Exit.NOT_FOUND and len(result.stderr.splitlines()) == 1


class UploadTokenServer:
    """Answer like a server that takes new shares only with the upload token "right-token"
    (the open-internet deployment): /config from the real service with the flag set, create
    refused with the codes of the spec, the Authorization header of every create recorded."""

    def __init__(self, service, announce):
        self.service, self.announce, self.seen = service, announce, []

    def __call__(self, request):
        if request.url.path == "/api/v1/config":
            config = httpx.get(f"{self.service.url}/api/v1/config").json()
            return httpx.Response(200, json={**config, "upload_token_required": self.announce})
        self.seen.append(request.headers.get("authorization"))
        if request.headers.get("authorization") is None:
            return httpx.Response(401, json={"error": "Unauthorized",
                                             "code": "upload_token_required", "message": "m"})
        return httpx.Response(403, json={"error": "Forbidden", "code": "upload_token_invalid",
                                         "message": "m"})


@pytest.mark.parametrize("announce", [False, True], ids=["found on create", "announced"])
def test_a_server_that_wants_an_upload_token_says_how_to_set_it(cli, tmp_path, service,
                                                               announce):
    fake = UploadTokenServer(service, announce)
    source = make_file(tmp_path / "x", 1)
    with FakeServer(fake) as server:
        missing = cli.run("send", source, "--server", server.url)
        wrong = cli.run("send", source, "--server", server.url,
                        env={"ONETIMESHARE_UPLOAD_TOKEN": "wrong-token"})
        config = cli.home / "config" / "onetimeshare" / "config.toml"
        config.parent.mkdir(parents=True)
        config.write_text('upload_token = "from-the-file"\n')
        from_file = cli.run("send", source, "--server", server.url)
    assert missing.code == Exit.USAGE and "ONETIMESHARE_UPLOAD_TOKEN" in missing.stderr
    assert "upload token" in missing.stderr and missing.stdout == b""
    assert wrong.code == Exit.USAGE and "refused the upload token" in wrong.stderr
    assert from_file.code == Exit.USAGE and "refused the upload token" in from_file.stderr
    # Announced: refused before anything is read or created; else the create says so.
    expected = [] if announce else [None]
    assert fake.seen == expected + ["Bearer wrong-token", "Bearer from-the-file"]


def test_unreachable_server_is_7(cli, tmp_path):
    result = cli.run("send", make_file(tmp_path / "x", 1), "--server", "http://127.0.0.1:9")
    assert result.code == Exit.SERVER and result.stdout == b""


def test_tampered_download_is_6_and_leaves_no_file(cli, tmp_path, redis_client):
    link = cli.send(make_file(tmp_path / "data.bin", 200_000))
    corrupt_first_chunk(redis_client, share_id(link))
    out = tmp_path / "out"
    out.mkdir()
    result = cli.run("get", link, "-o", out)
    assert result.code == Exit.INTEGRITY and "does not authenticate" in result.stderr
    assert os.listdir(out) == []


def test_interrupted_download_resumes_with_identical_bytes(cli, tmp_path, service):
    # Larger than what loopback socket buffers hold: the server must still be writing when the
    # relay cuts, or it would have handed every byte to the kernel and counted the fetch done.
    source = make_file(tmp_path / "big.bin", 24 * MIB + 3)
    link = cli.send(source)
    relay = CuttingRelay(service.port, cut_after=700_000)
    try:
        through_relay = link.replace(service.url, relay.url)
        cli.ok("get", through_relay, "-o", tmp_path / "copy.bin")
    finally:
        relay.close()
    fetches = bytes(relay.received).count(b"/content HTTP/1.1")
    assert relay.cuts == 1 and fetches == 2, "one cut, one resumed fetch"
    assert re.search(rb"Range: bytes=[1-9]\d*-", relay.received), "resumed past the start"
    assert (tmp_path / "copy.bin").read_bytes() == source.read_bytes()


def test_existing_file_is_kept_unless_forced(cli, tmp_path):
    source = make_file(tmp_path / "new.bin", 3000)
    link = cli.send(source)
    target = tmp_path / "target.bin"
    target.write_bytes(b"precious")
    refused = cli.run("get", link, "-o", target)
    assert refused.code == Exit.LOCAL_IO and "--force" in refused.stderr
    assert target.read_bytes() == b"precious"
    assert json.loads(cli.ok("status", link, "--json").stdout)["downloads_left"] == 1
    cli.ok("get", link, "-o", target, "--force")
    assert target.read_bytes() == source.read_bytes()


def test_the_senders_name_cannot_escape_or_hide(cli, tmp_path):
    name = "../../.evil\x1b[2J\u202etxt.exe"
    link = cli.send(make_file(tmp_path / "payload", 10), "--name", name)
    out = tmp_path / "out"
    out.mkdir()
    got = cli.ok("get", link, cwd=out)
    assert os.listdir(out) == [safe_name(name)]
    assert "\x1b" not in got.stderr and "\u202e" not in got.stderr


@pytest.mark.parametrize("name, safe", [
    ("report.pdf", "report.pdf"),
    ("../../etc/passwd", "_.._etc_passwd"),
    (".bashrc", "bashrc"),
    ("..", "download"),
    ("", "download"),
    ("a\\b\x00c\u202e.txt", "a_b_c_.txt"),
    ("x" * 300 + ".tar.gz", "x" * 197 + ".gz"),
])
def test_safe_name(name, safe):
    assert safe_name(name) == safe


def test_server_comes_from_the_config_file_and_is_required(tmp_path, service):
    cli = Cli(tmp_path, None)
    source = make_file(tmp_path / "x.bin", 10)
    missing = cli.run("send", source)
    assert missing.code == Exit.USAGE and "--server" in missing.stderr
    config = tmp_path / "config" / "onetimeshare" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'server = "{service.url}"\nexpires = "1h"\n')
    sent = json.loads(cli.ok("send", source, "--json").stdout)
    assert sent["link"].startswith(service.url + "/s/")
    config.write_text("server = [")
    assert cli.run("send", source).code == Exit.USAGE


@pytest.mark.parametrize("args", [
    ["--expires", "soon"], ["--expires", "30s"], ["--expires", "8d"], ["--downloads", "0"],
])
def test_limits_are_checked_before_uploading(cli, tmp_path, args):
    result = cli.run("send", make_file(tmp_path / "x.bin", 10), *args)
    assert result.code == Exit.USAGE and result.stdout == b""


def test_zip_size_is_computed_exactly(monkeypatch):
    """`zip_size` must match what zipfile writes, including where it switches to ZIP64."""
    cases = [[], [0], [1, 0, 1000], [5000, 10, 999, 1001]]
    for limit in (zipfile.ZIP64_LIMIT, 1000):
        monkeypatch.setattr(zipfile, "ZIP64_LIMIT", limit)
        for sizes in cases:
            datas = [os.urandom(size) for size in sizes]
            members = [Member(member_info(f"f{i}-é", len(data), 0), lambda d=data: io.BytesIO(d),
                              f"f{i}") for i, data in enumerate(datas)]
            written = bytearray()
            write_zip(members, written.extend)
            assert len(written) == zip_size([member.info for member in members]), (limit, sizes)
            with zipfile.ZipFile(io.BytesIO(bytes(written))) as archive:
                assert [archive.read(name) for name in archive.namelist()] == datas


def test_memory_stays_flat_for_a_64_mib_file(cli, tmp_path):
    """Peak RSS of send and get must not grow with the file: both stream in constant memory."""
    small = make_file(tmp_path / "small.bin", 1)
    big = make_file(tmp_path / "big.bin", 64 * MIB)
    peaks = {}
    for source in (small, big):
        sent = cli.run("send", source)
        assert sent.code == 0, sent.stderr
        got = cli.run("get", sent.text.strip(), "-o", tmp_path / f"copy-{source.name}")
        assert got.code == 0, got.stderr
        # VmHWM, not ru_maxrss: that one starts at the test process's RSS when it forked.
        peaks[source.name] = (sent.peak_rss_kib, got.peak_rss_kib)
    assert (tmp_path / "copy-big.bin").read_bytes() == big.read_bytes()
    for index, command in enumerate(("send", "get")):
        growth = (peaks["big.bin"][index] - peaks["small.bin"][index]) * 1024
        print(f"{command}: peak RSS {peaks['small.bin'][index] / 1024:.1f} MiB for 1 byte, "
              f"{peaks['big.bin'][index] / 1024:.1f} MiB for 64 MiB")
        assert growth < 48 * MIB, f"{command} grew by {growth / MIB:.1f} MiB for 64 MiB"
