"""What the sender's machine knows: `list`, `forget`, and `status`/`delete` on its own shares,
through the real command against the real service (gunicorn, Redis)."""

import json

import pytest

from onetimeshare.cli_common import Exit
from tests.cli_helpers import Cli
from tests.test_cli import make_file, service, share_id  # noqa: F401 - the module's gunicorn


@pytest.fixture
def cli(tmp_path, service):  # noqa: F811
    return Cli(tmp_path, service.url)


def test_status_of_my_consumed_share_says_i_sent_it_and_it_was_opened(cli, tmp_path):
    link = cli.send(make_file(tmp_path / "contract.pdf", 100))
    cli.ok("get", link, "-o", tmp_path / "copy.pdf")
    mine = cli.run("status", link)
    assert mine.code == Exit.GONE, "the link cannot be opened any more"
    lines = {line.split(":", 1)[0]: line.split(":", 1)[1].strip()
             for line in mine.text.splitlines()}
    assert lines["sent"].startswith("by you, from this machine, ")
    assert lines["opened"].startswith("yes, first ") and "1 download of 1 claimed" in mine.text
    assert "used up: it was opened as often as you allowed" in mine.text
    assert "already opened" not in mine.text, "not the words meant for a recipient"
    stranger = Cli(tmp_path / "elsewhere", None).run("status", link)
    assert stranger.code == Exit.GONE and "already opened" in stranger.stderr


def test_deleting_my_share_twice_says_it_is_already_deleted(cli, tmp_path):
    link = cli.send(make_file(tmp_path / "oops.txt", 10))
    first = cli.run("delete", link)
    assert first.code == Exit.OK and f"Deleted share {share_id(link)}." in first.stderr
    again = cli.run("delete", link)
    assert again.code == Exit.OK and f"Share {share_id(link)} was already deleted" in again.stderr
    assert "only the sender" not in again.stderr
    as_json = json.loads(cli.ok("delete", share_id(link), "--json").stdout)
    assert as_json == {"id": share_id(link), "deleted": True, "already_deleted": True}
    status = cli.run("status", link)
    assert status.code == Exit.GONE and "deleted by you" in status.text


def test_list_shows_each_share_sent_here_with_its_live_status(cli, tmp_path):
    fresh = cli.send(make_file(tmp_path / "fresh.txt", 10))
    half = cli.send(make_file(tmp_path / "half.txt", 10), "--downloads", "2")
    used = cli.send(make_file(tmp_path / "used.txt", 10))
    gone = cli.send(make_file(tmp_path / "gone.txt", 10))
    cli.ok("get", half, "-o", tmp_path / "h1")
    cli.ok("get", used, "-o", tmp_path / "u1")
    cli.ok("delete", gone)
    reports = json.loads(cli.ok("list", "--json").stdout)
    by_name = {report["name"]: report for report in reports}
    assert [report["name"] for report in reports] == ["fresh.txt", "half.txt", "used.txt",
                                                      "gone.txt"], "oldest first"
    assert by_name["fresh.txt"]["state"] == "ready" and not by_name["fresh.txt"]["opened"]
    assert by_name["half.txt"]["downloads_left"] == 1 and by_name["half.txt"]["opened"]
    assert by_name["used.txt"]["state"] == "consumed" and by_name["used.txt"]["available"] is False
    assert by_name["gone.txt"]["state"] == "deleted" and by_name["gone.txt"]["deleted_at"]
    assert {report["id"] for report in reports} == {share_id(link)
                                                   for link in (fresh, half, used, gone)}
    assert all("owner_token" not in report for report in reports), "no token on stdout"
    human = cli.ok("list").text
    assert "fresh.txt (10 bytes)" in human and "not opened yet; 1 download left of 1" in human
    assert "opened " in human and "1 download left of 2" in human
    assert "used up: opened " in human and "deleted " in human


def test_a_server_that_cannot_be_reached_leaves_the_rest_of_the_list(cli, tmp_path):
    cli.send(make_file(tmp_path / "here.txt", 10))
    state = json.loads(cli.state_file.read_text())
    entry = dict(next(iter(state["shares"].values())), server="http://127.0.0.1:9",
                 name="elsewhere.txt")
    state["shares"]["B" * 22] = entry
    cli.state_file.write_text(json.dumps(state))
    reports = {r["name"]: r for r in json.loads(cli.ok("list", "--json").stdout)}
    assert reports["here.txt"]["state"] == "ready"
    assert reports["elsewhere.txt"]["state"] == "unknown"
    assert "cannot talk to the server" in reports["elsewhere.txt"]["error"]


def test_forget_drops_entries_but_not_the_shares(cli, tmp_path):
    keep = cli.send(make_file(tmp_path / "keep.txt", 10))
    drop = cli.send(make_file(tmp_path / "drop.txt", 10))
    used = cli.send(make_file(tmp_path / "used.txt", 10))
    cli.ok("get", used, "-o", tmp_path / "u1")
    assert cli.run("forget").code == Exit.USAGE, "forget what? say it"
    unknown = cli.run("forget", "C" * 22)
    assert unknown.code == Exit.USAGE and "not in this machine's list" in unknown.stderr
    assert json.loads(cli.ok("forget", drop, "--json").stdout) == {
        "forgotten": [share_id(drop)]}
    assert json.loads(cli.ok("forget", "--done", "--json").stdout) == {
        "forgotten": [share_id(used)]}
    assert [r["name"] for r in json.loads(cli.ok("list", "--json").stdout)] == ["keep.txt"]
    assert cli.ok("get", drop, "-o", "-").stdout == (tmp_path / "drop.txt").read_bytes(), \
        "forgetting deleted nothing"
    refused = cli.run("delete", keep.split("#")[0].rsplit("/", 1)[1])
    assert refused.code == Exit.OK, "still known: delete by bare id works"
    assert "Forgot 1 share." in cli.run("forget", "--all").stderr
    assert cli.ok("list").stderr.startswith("No shares sent from this machine")
