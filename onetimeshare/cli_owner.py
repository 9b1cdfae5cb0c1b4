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
    parse_link_argument,
    say,
    state_path,
    unlock,
)
from .cli_output import human_size, human_time, print_json, printable
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
    status.add_argument("link", metavar="LINK", help="the link, or the id of a share sent here")
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


def _target(text: str, state: ShareState):
    """Return (share id, parsed link or None, state entry or None) for a link or a bare id."""
    text = text.strip()
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
    share_id, link, entry = _target(args.link, state)
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
    with ShareApi(entry["server"]) as api:
        try:
            view = api.owner(share_id, entry["owner_token"])
        except (NotFound, ProofRejected) as refused:
            return {"state": None, "message": refused.message}
    view.pop("id", None)
    view["opened"] = view.get("first_claim_at") is not None
    return view


def _print_status(report):
    lines = []
    if "name" in report:
        lines.append(("name", printable(report["name"])))
    elif report.get("password"):
        lines.append(("name", "(protected by a password: use --password to see it)"))
    if report.get("kind"):
        lines.append(("kind", report["kind"]))
    if isinstance(report.get("size"), int):
        lines.append(("size", f"{human_size(report['size'])} ({report['size']} bytes)"))
    elif report.get("encrypted_size"):
        # Padded in v2: this says roughly how big, never the exact length.
        lines.append(("size", f"{human_size(report['encrypted_size'])} encrypted and padded"))
    if isinstance(report.get("files"), list):
        names = ", ".join(printable(item.get("name")) for item in report["files"][:5])
        more = ", ..." if len(report["files"]) > 5 else ""
        lines.append(("files", f"{len(report['files'])}: {names}{more}"))
    if "password" in report:
        lines.append(("password", "yes" if report["password"] else "no"))
    if report.get("available"):
        lines.append(("expires", human_time(report["expires_at"])))
        total = f" of {report['downloads']}" if report.get("downloads") else ""
        lines.append(("downloads", f"{report['downloads_left']}{total} left"))
    elif report.get("message"):
        lines.append(("link", report["message"]))
    owner = report.get("owner")
    if owner:
        lines += _owner_lines(owner, show_expiry=not report.get("available"))
    width = max(len(label) for label, _ in lines)
    for label, value in lines:
        print(f"{label + ':':<{width + 2}}{value}")


def _owner_lines(owner, show_expiry) -> list:
    if owner.get("state") is None:
        return [("sent here", owner.get("message", "the server no longer knows this share"))]
    lines = [("state", owner["state"])]
    if owner["opened"]:
        lines.append(("opened", f"yes, first at {human_time(owner['first_claim_at'])}; "
                                f"{owner['claims']} of {owner['downloads']} download(s) claimed, "
                                f"{owner['completed_downloads']} completed"))
    else:
        lines.append(("opened", "not yet"))
    if owner.get("deleted_at"):
        lines.append(("deleted", human_time(owner["deleted_at"])))
    if show_expiry:
        lines.append(("expires", human_time(owner["expires_at"])))
    return lines


def run_delete(args) -> Exit:
    """Delete a share sent from this machine and forget its owner token."""
    state = ShareState(state_path())
    share_id, _, entry = _target(args.link, state)
    if entry is None:
        raise CliError(Exit.USAGE, f"this machine holds no owner token for share {share_id} "
                                   f"(in {state.path}); only the sender can delete it")
    with ShareApi(entry["server"]) as api:
        try:
            api.delete(share_id, entry["owner_token"])
        except NotFound:
            state.remove(share_id)  # expired: the token is of no use any more
            raise
        except ProofRejected:
            raise CliError(Exit.NOT_FOUND, f"the server does not accept this machine's owner "
                                           f"token for share {share_id}") from None
    state.remove(share_id)
    if args.json:
        print_json({"id": share_id, "deleted": True})
    else:
        say(f"Deleted share {share_id}.", args.quiet)
    return Exit.OK
