"""`onetimeshare send`: encrypt files, stdin or a note, upload it, and print the link alone.

The plaintext size must be known before the share is created (the server is told the ciphertext
size), so: a file is measured, several files are zipped with a size computed in advance
(zipper.py), and a pipe is first spooled, encrypted, to a temporary file (spool.py).
"""

import codecs
import contextlib
import mimetypes
import os
import stat
import sys
from dataclasses import dataclass
from typing import Any

from . import PROTOCOL_VERSION
from .api import ShareApi
from .cli_common import (
    MESSAGES,
    CliError,
    Exit,
    load_config,
    parse_duration,
    password_from_env,
    prompt_password,
    resolve_server,
    resolve_upload_token,
    say,
    state_path,
)
from .cli_output import Progress, human_duration, human_size, print_json
from .ece import padded_size
from .errors import StateError
from .metadata import TEXT_TYPE, UNKNOWN_TYPE, encrypt_metadata
from .spool import EncryptedSpool, copy_exactly
from .state import ShareState
from .transfer import metadata_limit, start_send
from .zipper import Member, member_info, write_zip, zip_size


def add_parser(commands, common):
    """Add `send` to the subcommands; `common` holds --json and --quiet."""
    send = commands.add_parser(
        "send", parents=[common], help="send files, stdin or a note; print the link",
        description="Encrypt and upload; print only the link on stdout.")
    send.add_argument("files", nargs="*", metavar="FILE",
                      help="file(s) to send; several are sent as one zip; - reads stdin")
    send.add_argument("--text", action="store_true",
                      help="send a note: the words given as arguments, or else stdin")
    send.add_argument("--name", help="name the recipient sees (default: the file's name; "
                                     "'stdin', 'files.zip' or 'note.txt')")
    send.add_argument("--expires", metavar="DURATION",
                      help="expire after e.g. 30m, 1h, 1d, 7d (default: the server's, 1d)")
    send.add_argument("--downloads", type=int, metavar="N", help="allowed downloads (default 1)")
    password = send.add_mutually_exclusive_group()
    password.add_argument("--password", action="store_true",
                          help="protect with a password: $ONETIMESHARE_PASSWORD, or asked twice")
    password.add_argument("--password-env", metavar="NAME",
                          help="protect with the password in environment variable NAME")
    send.add_argument("--server", metavar="URL",
                      help="server to upload to (default: $ONETIMESHARE_SERVER, or config file)")
    send.set_defaults(run=run)


@dataclass
class Payload:
    """What is sent: its metadata, its exact plaintext size, and how to produce the bytes."""

    metadata: dict
    size: int
    feed: Any  # feed(write): push the plaintext through `write`


def run(args) -> Exit:
    """Send the files, stdin or note; print the link (or --json) on stdout."""
    config = load_config()
    server = resolve_server(args.server, config)
    expires = args.expires or config.get("expires")
    expires_in = parse_duration(expires) if expires else None
    downloads = args.downloads if args.downloads is not None else config.get("downloads", 1)
    if downloads < 1:
        raise CliError(Exit.USAGE, "--downloads must be at least 1")
    password = _password(args)
    upload_token = resolve_upload_token(config)
    with contextlib.ExitStack() as stack, ShareApi(server, upload_token=upload_token) as api:
        limits = api.config()  # before reading any input: an unreachable server fails fast
        if not isinstance(limits, dict) or "max_share_bytes" not in limits:
            raise CliError(Exit.NOT_A_SERVER, f"not a OneTimeShare server: {server} does not "
                                              "describe its limits at /api/v1/config")
        if limits.get("upload_token_required") and not upload_token:
            raise CliError(Exit.USAGE, MESSAGES["upload_token_required"])
        payload = _payload(args, stack)
        _check_limits(limits, payload, expires_in, downloads)
        # The bar counts plaintext bytes: padding is the client's business, not the user's.
        with Progress(payload.metadata["name"], payload.size,
                      enabled=False if args.quiet else None) as progress:
            upload = start_send(api, payload.size, payload.metadata, password=password,
                                expires_in=expires_in, downloads=downloads, progress=progress,
                                limits=limits)
            try:
                payload.feed(upload.write)
                sent = upload.close()
            except BaseException:
                upload.abort()
                raise
    try:
        ShareState(state_path()).add(sent.share_id, server=server, owner_token=sent.owner_token,
                                     expires_at=sent.expires_at, name=payload.metadata["name"],
                                     size=payload.size)
    except StateError as error:
        say(f"onetimeshare: warning: cannot keep the owner token ({error}); status and delete "
            "will not work for this share")
    if args.json:
        print_json({"link": sent.link, "id": sent.share_id, "expires_at": sent.expires_at})
    else:
        print(sent.link, flush=True)
    return Exit.OK


def _password(args) -> str | None:
    if args.password_env:
        return password_from_env(args.password_env)
    if args.password:
        return password_from_env(None) or prompt_password("Password for the share: ",
                                                          confirm=True)
    return None


def _payload(args, stack) -> Payload:
    if args.text:
        return _note(args, stack)
    if not args.files:
        raise CliError(Exit.USAGE, "name the file(s) to send, or - to read stdin, or use --text")
    if "-" in args.files and len(args.files) > 1:
        raise CliError(Exit.USAGE, "- (stdin) cannot be sent together with files")
    if args.files == ["-"]:
        source, size = _stdin(stack, args.quiet)
        return _single(args.name or "stdin", size, source, "stdin")
    members = [_member(path, stack) for path in args.files]
    if len(members) == 1:
        member = members[0]
        source = stack.enter_context(member.open())
        return _single(args.name or member.info.filename, member.info.file_size, source,
                       member.label)
    names = [member.info.filename for member in members]
    for name in names:
        if names.count(name) > 1:
            raise CliError(Exit.USAGE, f"two files are named {name!r}: a zip cannot hold both; "
                                       "rename one")
    infos = [member.info for member in members]
    metadata = {"kind": "files", "name": args.name or "files.zip", "type": "application/zip",
                "size": zip_size(infos),
                "files": [{"name": info.filename, "size": info.file_size} for info in infos]}
    return Payload(metadata, metadata["size"], lambda write: write_zip(members, write))


def _single(name, size, source, label) -> Payload:
    _check_name(name)
    kind_type = mimetypes.guess_type(name)[0] or UNKNOWN_TYPE
    metadata = {"kind": "file", "name": name, "type": kind_type, "size": size}
    return Payload(metadata, size, lambda write: copy_exactly(source, write, size, label))


def _note(args, stack) -> Payload:
    words = [word for word in args.files if word != "-"]
    if words:
        try:
            text = " ".join(words).encode("utf-8")
        except UnicodeEncodeError:
            raise CliError(Exit.USAGE, "the note is not valid UTF-8 text") from None
        size, source, written = len(text), _Bytes(text), bool(text.strip())
    else:
        if sys.stdin.isatty():
            say("Type the note, then press Ctrl-D at the start of a line to send it "
                "(Ctrl-C to cancel).", args.quiet)
        check = _NoteCheck()
        try:
            source = stack.enter_context(EncryptedSpool.of(sys.stdin.buffer, check))
            check.end()
        except UnicodeDecodeError:
            raise CliError(Exit.USAGE, "a note must be UTF-8 text; send other data as a file "
                                       "(without --text)") from None
        size, written = source.size, check.written
    if not written:  # as the page does: an empty note is a mistake, not a message
        raise CliError(Exit.USAGE, "the note is empty: write something (nothing was sent)")
    name = args.name or "note.txt"
    _check_name(name)
    metadata = {"kind": "text", "name": name, "type": TEXT_TYPE, "size": size}
    return Payload(metadata, size, lambda write: copy_exactly(source, write, size, "the note"))


class _NoteCheck:
    """Check, piece by piece, that a note is UTF-8 and holds more than white space."""

    def __init__(self):
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.written = False

    def __call__(self, data):
        text = self.decoder.decode(data)
        self.written = self.written or bool(text.strip())

    def end(self):
        self.decoder.decode(b"", final=True)


class _Bytes:
    def __init__(self, data):
        self.data, self.offset = data, 0

    def read(self, size):
        piece = self.data[self.offset:self.offset + size]
        self.offset += len(piece)
        return piece


def _stdin(stack, quiet):
    """Return stdin and its length: measured when it is a regular file, else spooled."""
    stream = sys.stdin.buffer
    info = os.fstat(stream.fileno())
    if stat.S_ISREG(info.st_mode):
        return stream, info.st_size - stream.tell()
    if stream.isatty():
        say("Reading from the terminal: press Ctrl-D at the start of a line to end "
            "(Ctrl-C to cancel).", quiet)
    spool = stack.enter_context(EncryptedSpool.of(stream))
    return spool, spool.size


def _member(path, stack) -> Member:
    """Measure one input file; a pipe or device (e.g. <(command)) is spooled to learn its size."""
    info = os.stat(path)
    name = os.path.basename(os.path.normpath(path))
    _check_name(name)
    if stat.S_ISDIR(info.st_mode):
        raise CliError(Exit.USAGE, f"{path} is a directory: send the files in it, or an archive")
    if stat.S_ISREG(info.st_mode):
        with open(path, "rb"):  # fail now, before anything is uploaded, if it is unreadable
            pass
        return Member(member_info(name, info.st_size, info.st_mtime, info.st_mode),
                      lambda: open(path, "rb"), path)
    with open(path, "rb") as stream:
        spool = stack.enter_context(EncryptedSpool.of(stream))
    return Member(member_info(name, spool.size), lambda: spool, path)


def _check_name(name):
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise CliError(Exit.USAGE, f"the name {name.encode('utf-8', 'replace')!r} is not valid "
                                   "UTF-8; rename the file or pass --name") from None


def _check_limits(limits, payload, expires_in, downloads):
    """Refuse locally what the server would refuse, with the server's limits in the message."""
    if PROTOCOL_VERSION not in limits.get("protocol_versions", [PROTOCOL_VERSION]):
        raise CliError(Exit.SERVER, f"the server does not accept protocol version "
                                    f"{PROTOCOL_VERSION}")
    low, high = limits["min_expiry_seconds"], limits["max_expiry_seconds"]
    if expires_in is not None and not low <= expires_in <= high:
        raise CliError(Exit.USAGE, f"--expires must be between {human_duration(low)} and "
                                   f"{human_duration(high)} on this server")
    if downloads > limits["max_downloads"]:
        raise CliError(Exit.USAGE, f"--downloads must be at most {limits['max_downloads']} "
                                   "on this server")
    if padded_size(payload.size) > limits["max_share_bytes"]:
        raise CliError(Exit.USAGE, f"{human_size(payload.size)} is more than this server takes "
                                   f"({human_size(limits['max_share_bytes'])} encrypted)")
    try:
        # Only the blob's length matters here: it must fit what the server stores.
        encrypt_metadata(payload.metadata, bytes(32), max_chars=metadata_limit(limits))
    except ValueError:
        raise CliError(Exit.USAGE, "too many files or too long names to list in the share: "
                                   "send one archive of them instead") from None
