"""What every `onetimeshare` subcommand shares: exit codes, settings, passwords, durations.

Failures become a `CliError` with one of the documented exit codes (docs/cli.md) and a one-line
message; `exit_for` gives the code and message for the library's and httpx's exceptions.
"""

import getpass
import os
import re
import sys
import tomllib
from enum import IntEnum
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from .api import ApiError, ClaimsLocked, Forbidden, Gone, NotFound
from .errors import IntegrityError, OneTimeShareError, ProtocolError, UnsupportedVersion
from .links import Link, parse_link
from .transfer import ClaimLost, DownloadFailed, ShareInfo, unlock_share

PASSWORD_ENV = "ONETIMESHARE_PASSWORD"
SERVER_ENV = "ONETIMESHARE_SERVER"
APP_DIR = "onetimeshare"


class Exit(IntEnum):
    """The exit codes of the command, documented in docs/cli.md."""

    OK = 0
    FAILURE = 1  # an unexpected error: a bug
    USAGE = 2  # bad arguments, malformed link, a limit of the server, nothing to act on
    NOT_FOUND = 3  # no such share, it expired, or it is still being uploaded
    GONE = 4  # already opened, or deleted by its sender
    PASSWORD = 5  # wrong or missing password, or claims locked after wrong attempts
    INTEGRITY = 6  # the content or metadata does not authenticate
    SERVER = 7  # the server is unreachable, failing, or broke the protocol
    LOCAL_IO = 8  # a local file cannot be read or written, or would be overwritten
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)


class CliError(Exception):
    """Stop the command with `code` and a one-line `message` for people."""

    def __init__(self, code: Exit, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def exit_for(error: BaseException) -> tuple[Exit, str]:
    """Return the exit code and message for a failure the command did not handle itself."""
    if isinstance(error, CliError):
        return error.code, error.message
    if isinstance(error, ApiError):
        later = f" (try again in {error.retry_after} s)" if error.retry_after else ""
        return _api_exit(error), error.message + later
    if isinstance(error, httpx.TimeoutException):
        return Exit.SERVER, f"the server did not answer in time ({error})"
    if isinstance(error, httpx.HTTPError):
        return Exit.SERVER, f"cannot talk to the server: {error or type(error).__name__}"
    if isinstance(error, IntegrityError):
        return Exit.INTEGRITY, f"{error}; nothing was kept"
    if isinstance(error, UnsupportedVersion | DownloadFailed):
        return Exit.SERVER, str(error)
    if isinstance(error, ProtocolError):
        return Exit.INTEGRITY, f"malformed content: {error}"
    if isinstance(error, OSError):
        where = f"{error.filename}: " if error.filename else ""
        return Exit.LOCAL_IO, f"{where}{error.strerror or error}"
    if isinstance(error, OneTimeShareError):
        return Exit.FAILURE, str(error)
    return Exit.FAILURE, f"unexpected {type(error).__name__}: {error}"


def _api_exit(error: ApiError) -> Exit:
    if isinstance(error, ClaimLost):
        return Exit.SERVER  # the claim lapsed mid-download: a transfer failure, not a password
    if isinstance(error, NotFound) or error.status == 409:
        return Exit.NOT_FOUND
    if isinstance(error, Gone):
        return Exit.GONE
    if isinstance(error, Forbidden | ClaimsLocked):
        return Exit.PASSWORD
    return Exit.SERVER  # Unavailable, a rate limit (429 elsewhere than a claim), any other


# Settings: XDG directories, the config file, the server to send to.

def xdg_dir(variable: str, fallback: str) -> Path:
    """Return $variable/onetimeshare, or ~/fallback/onetimeshare (XDG: relative values ignored)."""
    base = os.environ.get(variable, "")
    root = Path(base) if os.path.isabs(base) else Path.home() / fallback
    return root / APP_DIR


def config_path() -> Path:
    return xdg_dir("XDG_CONFIG_HOME", ".config") / "config.toml"


def state_path() -> Path:
    return xdg_dir("XDG_STATE_HOME", ".local/state") / "shares.json"


_CONFIG_KEYS = {"server": str, "expires": str, "downloads": int}


def load_config() -> dict:
    """Read the optional config file; CliError(USAGE) when it is malformed."""
    path = config_path()
    try:
        with open(path, "rb") as file:
            config = tomllib.load(file)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as error:
        raise CliError(Exit.USAGE, f"{path}: not valid TOML: {error}") from None
    except OSError as error:
        raise CliError(Exit.LOCAL_IO, f"{path}: {error.strerror}") from None
    for key, value in config.items():
        expected = _CONFIG_KEYS.get(key)
        if expected is None:
            raise CliError(Exit.USAGE, f"{path}: unknown setting {key!r} "
                                       f"(known: {', '.join(_CONFIG_KEYS)})")
        if not isinstance(value, expected) or isinstance(value, bool):
            raise CliError(Exit.USAGE, f"{path}: {key} must be a {expected.__name__}")
    return config


def resolve_server(option: str | None, config: dict) -> str:
    """Return the server to send to: --server, then $ONETIMESHARE_SERVER, then the config file."""
    server = option or os.environ.get(SERVER_ENV) or config.get("server")
    if not server:
        raise CliError(Exit.USAGE, f"no server to send to: pass --server URL, set {SERVER_ENV}, "
                                   f"or put server = \"https://...\" in {config_path()}")
    parts = urlsplit(server)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise CliError(Exit.USAGE, f"the server must be an http:// or https:// URL: {server!r}")
    return server.rstrip("/")


_DURATION = re.compile(r"(\d+)([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> int:
    """Return seconds for '90', '90s', '5m', '1h', '1d', '7d', '1w' or sums like '1h30m'."""
    text = text.strip().lower()
    if text.isdigit():
        seconds = int(text)
    elif text and _DURATION.sub("", text) == "":
        seconds = sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION.findall(text))
    else:
        raise CliError(Exit.USAGE, f"cannot read the duration {text!r}: "
                                   "use e.g. 30m, 1h, 1d, 7d or 1h30m")
    if seconds <= 0:
        raise CliError(Exit.USAGE, "a duration must be longer than zero")
    return seconds


# Passwords: never from the command line, where other users and shell history can read them.

def password_from_env(name: str | None) -> str | None:
    """Return the password from --password-env NAME, else $ONETIMESHARE_PASSWORD, else None."""
    if name:
        value = os.environ.get(name)
        if not value:
            raise CliError(Exit.USAGE, f"--password-env: ${name} is not set or empty")
        return value
    return os.environ.get(PASSWORD_ENV) or None


def can_prompt() -> bool:
    """Tell whether a terminal is there to ask for a password (stdin may be carrying data)."""
    try:
        os.close(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY))
        return True
    except OSError:
        return False


def prompt_password(prompt: str = "Password: ", confirm: bool = False) -> str:
    """Ask on the terminal without echo (twice to confirm a new one); CliError when impossible."""
    if not can_prompt():
        raise CliError(Exit.PASSWORD, f"a password is needed and there is no terminal to ask: "
                                      f"set {PASSWORD_ENV} or use --password-env NAME")
    try:
        password = getpass.getpass(prompt)
        if not password:
            raise CliError(Exit.USAGE, "the password must not be empty")
        if confirm and getpass.getpass("Repeat the password: ") != password:
            raise CliError(Exit.USAGE, "the two passwords differ")
    except EOFError:
        raise CliError(Exit.USAGE, "no password given") from None
    return password


def parse_link_argument(text: str) -> Link:
    """Parse a share link given on the command line; CliError(USAGE) when it is malformed."""
    try:
        return parse_link(text)
    except ProtocolError as error:
        raise CliError(Exit.USAGE, f"not a share link: {error}") from None


def unlock(link: Link, status: dict, password_env: str | None = None, *, ask: bool = True,
           quiet: bool = False) -> ShareInfo | None:
    """Derive the keys and decrypt the metadata, getting the password if the share has one.

    The password comes from --password-env, then $ONETIMESHARE_PASSWORD, then (when `ask`) the
    terminal, with three tries: a wrong one fails locally, on the metadata, so guessing costs no
    download and no server attempt. Returns None when a password is needed but none is at hand
    and `ask` is false.
    """
    if not status.get("password"):
        try:
            return unlock_share(link, status)
        except IntegrityError:
            raise CliError(Exit.INTEGRITY, "the link's key does not open this share: the link "
                                           "is damaged, or the share was altered") from None
    given = password_from_env(password_env)
    if given is None and not ask:
        return None
    tries = 1 if given is not None else 3
    for attempt in range(1, tries + 1):
        password = given if given is not None else prompt_password("Password: ")
        try:
            return unlock_share(link, status, password)
        except IntegrityError:
            if attempt < tries:
                say("Wrong password; try again.", quiet)
    raise CliError(Exit.PASSWORD, "wrong password (nothing was consumed)")


def say(message: str, quiet: bool = False):
    """Write an informational line on stderr (stdout carries only results)."""
    if not quiet:
        print(message, file=sys.stderr, flush=True)
