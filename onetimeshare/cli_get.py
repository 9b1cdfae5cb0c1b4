"""`onetimeshare get`: show what a link holds, claim it, stream, decrypt and save it atomically.

Everything that can fail locally (the output path, free space, the password) is checked before
the claim, which is what spends a download. Content goes to a temporary file next to the target
and is renamed into place only after the last record authenticated; a failure removes it. A note
is held (encrypted) until it authenticated, then printed. Only `-o -` streams to stdout as records
authenticate, so stdout may have received part of the content before a failure (exit code != 0).
"""

import codecs
import contextlib
import errno
import json
import os
import shutil
import sys
import tempfile
import unicodedata
from pathlib import Path

from .api import ShareApi
from .cli_common import CliError, Exit, link_text, parse_link_argument, say, unlock
from .cli_output import Progress, human_size, plural, print_json, printable
from .cli_text import SafeTextWriter, is_unsafe, json_safe, json_string_body
from .spool import EncryptedSpool
from .transfer import receive

MAX_NAME_BYTES = 200  # below the usual 255-byte limit, leaving room for " (9)" and ".part"
DEFAULT_NAME = "download"


def add_parser(commands, common):
    """Add `get` to the subcommands; `common` holds --json and --quiet."""
    get = commands.add_parser(
        "get", parents=[common], help="download and decrypt a share",
        description="Claim one download of the share, decrypt it and save it.")
    get.add_argument("link", metavar="LINK", nargs="?",
                     help="the link; - or none reads it from stdin (or $ONETIMESHARE_LINK), "
                          "so the key stays out of the process list and shell history")
    get.add_argument("-o", "--output", metavar="PATH",
                     help="file or directory to save to, or - for stdout (default: the "
                          "sender's file name in the current directory; a note is printed)")
    get.add_argument("--force", action="store_true", help="overwrite an existing file")
    get.add_argument("--raw", action="store_true",
                     help="print a note to the terminal exactly as sent, escape sequences and "
                          "all (by default they are shown as \\x1b etc.; a pipe or file always "
                          "gets the note as sent)")
    get.add_argument("--password-env", metavar="NAME",
                     help="read the password from environment variable NAME")
    get.set_defaults(run=run)


def run(args) -> Exit:
    """Check everything local, claim, stream, decrypt and save (or print) the share."""
    if args.json and args.output == "-":
        raise CliError(Exit.USAGE, "--json and -o - both want stdout; choose one")
    link = parse_link_argument(link_text(args.link, args.quiet))
    with ShareApi(link.base_url) as api:
        status = api.status(link.share_id)
        if status.get("password"):
            say("This share is protected by a password; its name and size show once the "
                "password is right. Nothing is consumed until then.", args.quiet)
        info = unlock(api, link, status, args.password_env, quiet=args.quiet)
        metadata = info.metadata
        name = metadata.get("name") if isinstance(metadata.get("name"), str) else DEFAULT_NAME
        say(_describe(name, metadata, status), args.quiet)
        sink = _sink(args, name, metadata, status)
        # Plaintext bytes where the metadata says how many (always in v2), else ciphertext.
        size = metadata.get("size")
        total = size if isinstance(size, int) and not isinstance(size, bool) else status["size"]
        try:
            with Progress(name, total, enabled=False if args.quiet else None) as progress:
                size = receive(api, info, sink, progress)
            result = sink.commit(raw=args.raw)
        except BaseException:
            sink.discard()
            raise
    result = {"name": name, "kind": metadata.get("kind"), "type": metadata.get("type"),
              "size": size, **result}
    if args.json and isinstance(sink, _Note):
        sink.print_json(result)
    elif args.json:
        print_json(result)
    elif result.get("path") not in (None, "-"):
        say(f"Saved {printable(result['path'])} ({human_size(size)})", args.quiet)
    return Exit.OK


def _describe(name, metadata, status) -> str:
    size = metadata.get("size")
    size = human_size(size) if isinstance(size, int) else "size unknown"
    files = metadata.get("files")
    count = f", {len(files)} files" if isinstance(files, list) else ""
    kind = ", a note" if metadata.get("kind") == "text" else ""
    left = status.get("downloads_left")
    left = plural(left, "download") if isinstance(left, int) else f"{left} downloads"
    return f"{printable(name)} ({size}{count}{kind}; {left} left)"


def _sink(args, name, metadata, status):
    if args.output == "-":
        return _Stdout()
    if args.output is None and metadata.get("kind") == "text":
        return _Note(args.json)
    path = target_path(args.output, name, args.force)
    needed = metadata.get("size") if isinstance(metadata.get("size"), int) else status["size"]
    free = shutil.disk_usage(path.parent).free
    if needed > free:
        raise CliError(Exit.LOCAL_IO, f"not enough space in {path.parent}: "
                                      f"{human_size(needed)} needed, {human_size(free)} free")
    # Plaintext is never larger than the ciphertext the server holds: a sender's metadata cannot
    # make this reserve more than that.
    return AtomicFile(path, args.force, reserve=min(needed, status["size"]))


def safe_name(name) -> str:
    """Return a file name that stays in the chosen directory and is neither hidden nor special.

    The name comes from the sender: path separators, and every character unsafe on a terminal
    (cli_text: controls, bidirectional overrides that disguise an extension) become '_'; leading
    dots go (no hidden file, no `.` or `..`); a leading '-' or '~' becomes '_', so that the name
    is never read as an option (`-rf`) or a home directory by a command it is later given to;
    and the length is capped, keeping the extension.
    """
    name = unicodedata.normalize("NFC", str(name)).encode("utf-8", "replace").decode("utf-8")
    name = "".join("_" if c in "/\\" or is_unsafe(c) else c for c in name)
    name = name.strip().lstrip(".").strip()
    if name[:1] in ("-", "~"):
        name = "_" + name[1:]
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        stem, extension = os.path.splitext(name)
        extension = extension[:16]
        room = MAX_NAME_BYTES - len(extension.encode("utf-8"))
        name = stem.encode("utf-8")[:room].decode("utf-8", "ignore") + extension
    return name or DEFAULT_NAME


def target_path(output, name, force) -> Path:
    """Return where to save: -o PATH, or a sanitized `name` in -o DIR or the current directory."""
    if output is None:
        path = Path.cwd() / safe_name(name)
    elif os.path.isdir(output):
        path = Path(output) / safe_name(name)
    else:
        path = Path(output)
    if not path.parent.is_dir():
        raise CliError(Exit.LOCAL_IO, f"{path.parent}: no such directory")
    if path.is_dir():
        raise CliError(Exit.LOCAL_IO, f"{path} is a directory")
    if (path.exists() or path.is_symlink()) and not force:
        raise CliError(Exit.LOCAL_IO, f"{path} already exists: pass --force to overwrite it, "
                                      "or -o to save elsewhere")
    return path.absolute()


class AtomicFile:
    """A temporary file beside `path` (mode 0600), renamed to `path` only by `commit`.

    With `reserve`, the file's blocks are allocated up front (`posix_fallocate`): before the
    claim, so the disk cannot fill up under the download (a refusal fails the command while the
    share can still be downloaded), and writes then land in allocated blocks. Written data is
    handed to the kernel's writeback as the download goes (`posix_fadvise` DONTNEED on what
    lies WRITEBACK_LAG behind), so the fsync in `commit` waits for the last few MiB, not for all
    of it: 256 MiB written and fsynced in 0.28 against 0.42 ms per MiB (docs/performance.md).
    """

    WRITEBACK_LAG = 16 * 1024 * 1024
    #: posix_fadvise is POSIX but not everywhere (macOS): without it, commit's fsync does it all.
    CAN_ADVISE = hasattr(os, "posix_fadvise")

    def __init__(self, path: Path, force: bool, reserve: int = 0):
        self.path, self.force = path, force
        descriptor, self.temporary = tempfile.mkstemp(dir=path.parent, prefix=".onetimeshare-",
                                                      suffix=".part")
        self.file = os.fdopen(descriptor, "wb")
        self.written = self._handed_over = 0
        self.reserved = False
        if reserve > 0 and hasattr(os, "posix_fallocate"):
            try:
                os.posix_fallocate(descriptor, 0, reserve)
                self.reserved = True
            except OSError as error:
                if error.errno == errno.ENOSPC:
                    self.discard()
                    raise CliError(Exit.LOCAL_IO, f"not enough space in {path.parent} for "
                                                  f"{human_size(reserve)}") from None
                # Any other refusal (a file system without it): write without a reservation.

    def write(self, data):
        self.file.write(data)
        self.written += len(data)
        behind = self.written - self.WRITEBACK_LAG
        if self.CAN_ADVISE and behind - self._handed_over >= self.WRITEBACK_LAG:
            # Bytes that far back have left the file object's buffer for the kernel.
            os.posix_fadvise(self.file.fileno(), self._handed_over, behind - self._handed_over,
                             os.POSIX_FADV_DONTNEED)
            self._handed_over = behind

    def commit(self, raw=False) -> dict:
        self.file.flush()
        if self.reserved:
            os.ftruncate(self.file.fileno(), self.written)  # the reservation may exceed it
        os.fsync(self.file.fileno())
        self.file.close()
        if self.force:
            os.replace(self.temporary, self.path)
        else:
            self.path = self._link_without_overwriting()
        with contextlib.suppress(OSError):  # make the rename durable where the OS allows it
            directory = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        return {"path": str(self.path)}

    def _link_without_overwriting(self) -> Path:
        """Give the file its name unless one appeared meanwhile: then 'name (1).ext', ...

        The download is spent by now, so it is kept under another name rather than lost.
        """
        stem, extension = os.path.splitext(self.path.name)
        candidates = [self.path] + [self.path.with_name(f"{stem} ({n}){extension}")
                                    for n in range(1, 100)]
        for candidate in candidates:
            try:
                os.link(self.temporary, candidate)  # fails if it exists: no overwrite, no race
            except FileExistsError:
                continue
            except OSError:  # a file system without hard links
                if candidate.exists():
                    continue
                os.replace(self.temporary, candidate)
                return candidate
            os.unlink(self.temporary)
            return candidate
        raise CliError(Exit.LOCAL_IO, f"{self.path} and its alternatives exist; the download "
                                      f"is kept in {self.temporary}")

    def discard(self):
        self.file.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.temporary)


class _Stdout:
    """Stream authenticated records to stdout; a later failure cannot take them back."""

    def __init__(self):
        self.stream = sys.stdout.buffer

    def write(self, data):
        self.stream.write(data)

    def commit(self, raw=False) -> dict:
        self.stream.flush()
        return {"path": "-"}

    def discard(self):
        with contextlib.suppress(OSError):
            self.stream.flush()


class _Note:
    """Hold a note (encrypted) until all of it authenticated, then print it, piece by piece.

    On a terminal the note is shown terminal-safe (cli_text), unless --raw; a pipe or a file
    gets it as sent. With --json it is streamed into the document's "text" string, so even a
    note of many MiB is never held whole in memory (let alone as bytes, str and JSON at once).
    """

    PIECE = 1 << 20

    def __init__(self, as_json: bool):
        self.as_json = as_json
        self.spool = EncryptedSpool()

    def write(self, data):
        self.spool.write(data)

    def commit(self, raw=False) -> dict:
        self.spool.rewind()
        if self.as_json:
            return {"path": None}  # printed by print_json, once the caller has the result
        out = sys.stdout.buffer
        with self.spool:
            if sys.stdout.isatty() and not raw:
                writer = SafeTextWriter(_Utf8(out))
                self._pieces(writer.write)
                writer.close()
                last = writer.last.encode()
            else:
                last = self._pieces(out.write)
        if last != b"\n" and sys.stdout.isatty():
            out.write(b"\n")
        out.flush()
        return {"path": None}

    def print_json(self, result: dict):
        """Print `result` as print_json would, with the note streamed in as "text"."""
        head = json_safe(json.dumps(result, ensure_ascii=False, indent=2))
        out = sys.stdout
        out.write(head[:-2] + ',\n  "text": "')  # head ends with "\n}"
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        with self.spool:
            self._pieces(lambda data: out.write(json_string_body(decoder.decode(data))))
        out.write(json_string_body(decoder.decode(b"", final=True)) + '"\n}\n')
        out.flush()

    def _pieces(self, write) -> bytes:
        last = b""
        while data := self.spool.read(self.PIECE):
            write(data)
            last = data[-1:]
        return last

    def discard(self):
        self.spool.close()


class _Utf8:
    """Write text to a binary stream as UTF-8."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text):
        self.stream.write(text.encode("utf-8"))
