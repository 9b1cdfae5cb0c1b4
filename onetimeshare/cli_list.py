"""`onetimeshare list` and `forget`: the shares this machine sent, with their live status.

The list comes from the state file of owner tokens (state.py): only shares sent from this
machine, by this user, are in it, with the name and size this machine knew when it sent them.
Each is looked up with its owner token on the server it was sent to (never elsewhere), so the
list says whether it was opened and when, the downloads left, the expiry, or that it was
deleted. A server that cannot be reached makes its shares' status "unknown", not the command
fail. `forget` drops entries (and their owner tokens) without touching the shares.
"""

from .api import ShareApi
from .cli_common import CliError, Exit, exit_for, say, state_path
from .cli_output import human_size, human_time, plural, print_json, printable
from .errors import ApiError, NotFound, ProofRejected
from .state import ShareState


def add_parsers(commands, common):
    """Add `list` and `forget` to the subcommands; `common` holds --json and --quiet."""
    shares = commands.add_parser(
        "list", parents=[common], help="list the shares sent from this machine",
        description="List the shares sent from this machine (kept until they expire) with "
                    "their live status from the server: whether and when they were opened, "
                    "downloads left, expiry, deleted. Consumes nothing.")
    shares.set_defaults(run=run_list)
    forget = commands.add_parser(
        "forget", parents=[common], help="drop shares from the list (they stay on the server)",
        description="Drop shares from this machine's list, with their owner tokens. The shares "
                    "themselves are not deleted (use delete for that), and cannot be watched "
                    "or deleted from here afterwards.")
    forget.add_argument("ids", nargs="*", metavar="ID",
                        help="share ids (as `list` shows them) or links")
    forget.add_argument("--all", action="store_true", help="forget every share")
    forget.add_argument("--done", action="store_true",
                        help="forget the shares that can no longer be opened (used up, deleted, "
                             "expired)")
    forget.set_defaults(run=run_forget)


def live_status(entries: dict) -> dict:
    """Return {id: report} for the state `entries`, asking each server once per share."""
    reports = {}
    by_server: dict[str, list] = {}
    for share_id, entry in entries.items():
        by_server.setdefault(entry.get("server"), []).append(share_id)
    for server, ids in by_server.items():
        with ShareApi(server) as api:  # one connection per server, reused for its shares
            for share_id in ids:
                reports[share_id] = _report(api, share_id, entries[share_id])
    return reports


def _report(api, share_id, entry) -> dict:
    report = {"id": share_id, "name": entry.get("name"), "size": entry.get("size"),
              "server": entry.get("server"), "sent_at": entry.get("created_at"),
              "expires_at": entry.get("expires_at")}
    try:
        view = api.owner(share_id, entry["owner_token"])
    except (NotFound, ProofRejected) as refused:
        if refused.code is None:  # a web server's 404 page: not the share's server any more
            return {**report, "state": "unknown", "available": None,
                    "error": exit_for(refused)[1]}
        return {**report, "state": "expired", "available": False}
    except (ApiError, ValueError) as error:  # unreachable, failing, or not answering JSON
        return {**report, "state": "unknown", "available": None, "error": exit_for(error)[1]}
    state = view.get("state")
    keys = ("downloads", "downloads_left", "claims", "completed_downloads", "first_claim_at",
            "last_claim_at", "deleted_at", "expires_at")
    return {**report, **{key: view.get(key) for key in keys}, "state": state,
            "opened": view.get("first_claim_at") is not None, "available": state == "ready"}


def run_list(args) -> Exit:
    """Print the shares sent from this machine, newest last, with their live status."""
    entries = ShareState(state_path()).all()
    reports = list(live_status(entries).values())
    if args.json:
        print_json(reports)
        return Exit.OK
    if not reports:
        say("No shares sent from this machine (or all have expired).", args.quiet)
        return Exit.OK
    for report in reports:
        name = report["name"] or "(name not kept)"
        size = f" ({human_size(report['size'])})" if isinstance(report["size"], int) else ""
        print(printable(f"{report['id']}  {name}{size}"))
        print(printable(f"    sent at {human_time(report['sent_at'])} to {report['server']}"))
        print(printable(f"    {describe(report)}"))
    return Exit.OK


def describe(report) -> str:
    """Say in words what became of one share."""
    state = report["state"]
    if state == "unknown":
        return f"status unknown: {report.get('error')}"
    if state == "expired":
        return "expired: the server no longer holds it"
    opened = (f"opened at {human_time(report['first_claim_at'])}" if report.get("opened")
              else "not opened yet")
    if state == "deleted":
        return f"deleted at {human_time(report.get('deleted_at'))}; {opened}"
    if state == "consumed":
        return f"used up: {opened}; {plural(report.get('claims'), 'download')} claimed"
    if state == "uploading":
        return "upload not finished; it cannot be opened"
    left = plural(report.get("downloads_left"), "download")
    return f"{opened}; {left} left of {report.get('downloads')}; expires " \
           f"{human_time(report.get('expires_at'))}"


def run_forget(args) -> Exit:
    """Drop the named shares (or all, or those done) from this machine's list."""
    if (bool(args.ids) + args.all + args.done) != 1:
        raise CliError(Exit.USAGE, "name the shares to forget (IDs), or --all, or --done")
    state = ShareState(state_path())
    entries = state.all()
    if args.all:
        ids = list(entries)
    elif args.done:
        ids = [share_id for share_id, report in live_status(entries).items()
               if report["state"] in ("consumed", "deleted", "expired")]
    else:
        ids = [_share_id(text) for text in args.ids]
        unknown = [share_id for share_id in ids if share_id not in entries]
        if unknown:
            raise CliError(Exit.USAGE, f"not in this machine's list: {', '.join(unknown)}")
    forgotten = state.remove(*ids) if ids else []
    if args.json:
        print_json({"forgotten": forgotten})
    else:
        say(f"Forgot {plural(len(forgotten), 'share')}.", args.quiet)
    return Exit.OK


def _share_id(text: str) -> str:
    """Return the share id of a bare id or a link (its key is not needed, nor kept)."""
    text = text.strip()
    _, marker, rest = text.partition("/s/")
    return rest.split("#")[0] if marker else text
