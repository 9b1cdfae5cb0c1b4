"""`onetimeshare get`: show what a link holds, claim it, stream, decrypt and save it atomically.

Everything that can fail locally (the output path, free space, the password) is checked before
the claim, which is what spends a download. Content goes to a temporary file next to the target
and is renamed into place only after the last record authenticated; a failure removes it. A note
is held (encrypted) until it authenticated, then printed. Only `-o -` streams to stdout as records
authenticate, so stdout may have received part of the content before a failure (exit code != 0).
"""

import contextlib
import os
import shutil
import sys
import tempfile
import unicodedata
from pathlib import Path

from .api import ShareApi
from .cli_common import CliError, Exit, parse_link_argument, say, unlock
from .cli_output import Progress, human_size, print_json, printable
from .spool import EncryptedSpool
from .transfer import receive

MAX_NAME_BYTES = 200  # below the usual 255-byte limit, leaving room for " (9)" and ".part"
DEFAULT_NAME = "download"


def add_parser(commands, common):
    """Add `get` to the subcommands; `common` holds --json and --quiet."""
    get = commands.add_parser(
        "get", parents=[common], help="download and decrypt a share",
        description="Claim one download of the share, decrypt it and save it.")
    get.add_argument("link", metavar="LINK")
    get.add_argument("-o", "--output", metavar="PATH",
                     help="file or directory to save to, or - for stdout (default: the "
                          "sender's file name in the current directory; a note is printed)")
    get.add_argument("--force", action="store_true", help="overwrite an existing file")
    get.add_argument("--password-env", metavar="NAME",
                     help="read the password from environment variable NAME")
    get.set_defaults(run=run)


def run(args) -> Exit:
    """Check everything local, claim, stream, decrypt and save (or print) the share."""
    if args.json and args.output == "-":
        raise CliError(Exit.USAGE, "--json and -o - both want stdout; choose one")
    link = parse_link_argument(args.link)
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
            result = sink.commit()
        except BaseException:
            sink.discard()
            raise
    result = {"name": name, "kind": metadata.get("kind"), "type": metadata.get("type"),
              "size": size, **result}
    if args.json:
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
    return f"{printable(name)} ({size}{count}{kind}; {left} download(s) left)"


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
    return AtomicFile(path, args.force)


def safe_name(name) -> str:
    """Return a file name that stays in the chosen directory and is neither hidden nor special.

    The name comes from the sender: path separators, control and format characters (including
    bidirectional overrides that disguise an extension) become '_', leading dots go, and the
    length is capped, keeping the extension.
    """
    name = unicodedata.normalize("NFC", str(name)).encode("utf-8", "replace").decode("utf-8")
    name = "".join("_" if c in "/\\" or unicodedata.category(c) in ("Cc", "Cf") else c
                   for c in name)
    name = name.strip().lstrip(".").strip()
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
    """A temporary file beside `path` (mode 0600), renamed to `path` only by `commit`."""

    def __init__(self, path: Path, force: bool):
        self.path, self.force = path, force
        descriptor, self.temporary = tempfile.mkstemp(dir=path.parent, prefix=".onetimeshare-",
                                                      suffix=".part")
        self.file = os.fdopen(descriptor, "wb")

    def write(self, data):
        self.file.write(data)

    def commit(self) -> dict:
        self.file.flush()
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

    def commit(self) -> dict:
        self.stream.flush()
        return {"path": "-"}

    def discard(self):
        with contextlib.suppress(OSError):
            self.stream.flush()


class _Note:
    """Hold a note (encrypted) until all of it authenticated, then print it or return it."""

    def __init__(self, as_json: bool):
        self.as_json = as_json
        self.spool = EncryptedSpool()

    def write(self, data):
        self.spool.write(data)

    def commit(self) -> dict:
        self.spool.rewind()
        with self.spool:
            if self.as_json:
                return {"path": None, "text": self.spool.read().decode("utf-8", "replace")}
            last = b""
            while data := self.spool.read(1 << 20):
                sys.stdout.buffer.write(data)
                last = data[-1:]
        if last != b"\n" and sys.stdout.isatty():
            sys.stdout.buffer.write(b"\n")
        sys.stdout.buffer.flush()
        return {"path": None}

    def discard(self):
        self.spool.close()
