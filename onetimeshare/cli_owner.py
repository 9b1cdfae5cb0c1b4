"""`onetimeshare status` and `delete`: look at a share without consuming it; take it back.

Anyone with the link sees the public status (and, with the key, the name). For shares this
machine sent, the owner token in the state file adds the sender's view: whether and when the
share was opened. That token is only ever sent to the server the share was created on, never
to whatever host a pasted link names.
"""

import re

from .api import ShareApi
from .cli_common import (
    CliError,
    Exit,
    exit_for,
    link_text,
    parse_link_argument,
    say,
    state_path,
    unlock,
)
from .cli_output import human_size, human_time, plural, print_json, printable
from .errors import ApiError, NotFound, ProofRejected
from .state import ShareState

_SHARE_ID = re.compile(r"[A-Za-z0-9_-]{22}")


def add_parsers(commands, common):
    """Add `status` and `delete` to the subcommands; `common` holds --json and --quiet."""
    status = commands.add_parser(
        "status", parents=[common], help="show a share's status; consumes nothing",
        description="Show name, size, expiry and downloads left, and for shares this machine "
                    "sent, whether and when they were opened. The exit code says whether the "
                    "link can still be opened (0), or not (3 or 4).")
    status.add_argument("link", metavar="LINK", nargs="?",
                        help="the link, or the id of a share sent here; - or none reads it "
                             "from stdin (or $ONETIMESHARE_LINK)")
    password = status.add_mutually_exclusive_group()
    password.add_argument("--password", action="store_true",
                          help="ask for the password to show the name of a protected share")
    password.add_argument("--password-env", metavar="NAME",
                          help="read the password from environment variable NAME")
    status.set_defaults(run=run_status)
    delete = commands.add_parser(
        "delete", parents=[common], help="delete a share this machine sent",
        description="Delete the content now; the link then answers 'deleted by its sender'.")
    delete.add_argument("link", metavar="LINK", help="the link, or the id of a share sent here")
    delete.set_defaults(run=run_delete)


def _target(argument: str | None, state: ShareState, quiet: bool = False):
    """Return (share id, parsed link or None, state entry or None) for a link or a bare id."""
    text = link_text(argument, quiet).strip()
    if _SHARE_ID.fullmatch(text):
        entry = state.get(text)
        if entry is None:
            raise CliError(Exit.USAGE, f"no share {text} was sent from this machine; give the "
                                       "whole link")
        return text, None, entry
    link = parse_link_argument(text)
    return link.share_id, link, state.get(link.share_id)


def run_status(args) -> Exit:
    """Print the public status and, for shares sent here, the owner's view; exit 0, 3 or 4."""
    state = ShareState(state_path())
    share_id, link, entry = _target(args.link, state, args.quiet)
    report = {"id": share_id, "state": None, "available": False}
    code = Exit.OK
    with ShareApi(link.base_url if link else entry["server"]) as api:
        try:
            public = api.status(share_id)
        except ApiError as refused:
            code, message = exit_for(refused)
            if code not in (Exit.NOT_FOUND, Exit.GONE) or (entry is None and not args.json):
                raise
            report.update(state="gone" if code == Exit.GONE else "not_found", message=message)
        else:
            report.update(_public_report(api, public, link, args))
    if entry is not None:
        report["owner"] = _owner_report(entry, share_id)
        if report["owner"].get("state"):
            report["state"] = report["owner"]["state"]
    if args.json:
        print_json(report)
    else:
        _print_status(report)
    return code


def _public_report(api, public, link, args) -> dict:
    """Report what the public status shows; with the link (and password), what the share is.

    For a v2 password share the status holds no metadata: name, kind and size come only from
    the unlock step, with the password (a wrong one is counted by the server).
    """
    report = {"state": public.get("state"), "available": True, "size": None,
              "version": public.get("version"), "expires_at": public.get("expires_at"),
              "downloads": public.get("downloads"), "downloads_left": public.get("downloads_left"),
              "password": bool(public.get("password")), "encrypted_size": public.get("size")}
    if link is None:
        return report
    info = unlock(api, link, public, args.password_env, ask=args.password, quiet=args.quiet)
    if info is not None:
        metadata = info.metadata
        report.update({key: metadata.get(key) for key in ("name", "kind", "type", "size")})
        if isinstance(metadata.get("files"), list):
            report["files"] = metadata["files"]
    return report


def _owner_report(entry, share_id) -> dict:
    """Return the server's owner view, with what this machine knows: when it sent the share."""
    local = {"sent_here": True, "sent_at": entry.get("created_at")}
    with ShareApi(entry["server"]) as api:
        try:
            view = api.owner(share_id, entry["owner_token"])
        except (NotFound, ProofRejected) as refused:
            return {**local, "state": None, "message": refused.message}
    view.pop("id", None)
    view["opened"] = view.get("first_claim_at") is not None
    return {**local, **view}


def _print_status(report):
    owner = report.get("owner")
    lines = []
    if "name" in report:
        lines.append(("name", report["name"]))
    elif report.get("password"):
        lines.append(("name", "(protected by a password: use --password to see it)"))
    if report.get("kind"):
        lines.append(("kind", report["kind"]))
    if isinstance(report.get("size"), int):
        exact = plural(report["size"], "byte")
        shown = human_size(report["size"])
        lines.append(("size", shown if shown == exact else f"{shown} ({exact})"))
    elif isinstance(report.get("encrypted_size"), int):
        # Padded in v2: this says roughly how big, never the exact length.
        lines.append(("size", f"{human_size(report['encrypted_size'])} encrypted and padded"))
    if isinstance(report.get("files"), list):
        names = ", ".join(str(item.get("name")) for item in report["files"][:5]
                          if isinstance(item, dict))
        more = ", ..." if len(report["files"]) > 5 else ""
        lines.append(("files", f"{len(report['files'])}: {names}{more}"))
    if "password" in report:
        lines.append(("password", "yes" if report["password"] else "no"))
    if report.get("available"):
        lines.append(("expires", human_time(report["expires_at"])))
        lines.append(("downloads", _left(report.get("downloads_left"), report.get("downloads"))))
    elif report.get("message") and not owner:
        lines.append(("link", report["message"]))
    if owner:
        lines += _owner_lines(owner, show_expiry=not report.get("available"))
    width = max(len(label) for label, _ in lines)
    for label, value in lines:
        # Every value may hold a sender's or a server's string: one line each, terminal-safe.
        print(f"{label + ':':<{width + 2}}{printable(value)}")


def _left(left, total) -> str:
    if not isinstance(left, int):
        return f"{left} left"
    of = f" of {total}" if isinstance(total, int) else ""
    return f"{left}{of} {'download' if (total or left) == 1 else 'downloads'} left"


def _owner_lines(owner, show_expiry) -> list:
    """Tell the sender, in words, what became of the share this machine sent."""
    sent = f"by you, from this machine, {human_time(owner.get('sent_at'))}"
    if owner.get("state") is None:
        return [("sent", sent),
                ("server", owner.get("message") or "the server no longer knows this share")]
    lines = [("sent", sent)]
    state = owner["state"]
    if owner["opened"]:
        claims = plural(owner.get("claims"), "download")
        lines.append(("opened", f"yes, first at {human_time(owner['first_claim_at'])}; {claims} "
                                f"of {owner.get('downloads')} claimed, "
                                f"{owner.get('completed_downloads')} completed"))
    else:
        lines.append(("opened", "not yet"))
    if state == "consumed":
        lines.append(("link", "used up: it was opened as often as you allowed, so it no longer "
                              "works"))
    elif state == "deleted":
        lines.append(("link", f"deleted by you at {human_time(owner.get('deleted_at'))}; it no "
                              "longer works"))
    elif state == "uploading":
        lines.append(("link", "not usable yet: the upload did not finish"))
    if show_expiry:
        lines.append(("expires", human_time(owner.get("expires_at"))))
    return lines


def run_delete(args) -> Exit:
    """Delete a share sent from this machine; a second delete says it was already deleted.

    The entry stays in the state file, marked deleted, until the share's expiry, so that
    `list` shows it and a repeated `delete` can tell what happened rather than disown it.
    """
    state = ShareState(state_path())
    share_id, _, entry = _target(args.link, state, args.quiet)
    if entry is None:
        raise CliError(Exit.USAGE, f"this machine holds no owner token for share {share_id} "
                                   f"(in {state.path}); only the sender can delete it")
    with ShareApi(entry["server"]) as api:
        try:
            before = api.owner(share_id, entry["owner_token"])
            if before.get("state") != "deleted":
                api.delete(share_id, entry["owner_token"])
        except NotFound:
            state.remove(share_id)  # expired: the token is of no use any more
            raise CliError(Exit.NOT_FOUND, f"share {share_id} has expired; the server no longer "
                                           "holds it (forgotten here too)") from None
        except ProofRejected:
            raise CliError(Exit.NOT_FOUND, f"the server does not accept this machine's owner "
                                           f"token for share {share_id}") from None
    state.mark_deleted(share_id)
    already = before.get("state") == "deleted"
    if args.json:
        print_json({"id": share_id, "deleted": True, "already_deleted": already})
    elif already:
        say(f"Share {share_id} was already deleted, at "
            f"{human_time(before.get('deleted_at'))}.", args.quiet)
    elif before.get("state") == "consumed":
        say(f"Deleted share {share_id}; it had already been opened, at "
            f"{human_time(before.get('first_claim_at'))}.", args.quiet)
    else:
        say(f"Deleted share {share_id}.", args.quiet)
    return Exit.OK
