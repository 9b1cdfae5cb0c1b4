"""What every `onetimeshare` subcommand shares: exit codes, settings, passwords, durations.

Failures become a `CliError` with one of the documented exit codes (docs/cli.md) and a one-line
message; `exit_for` gives the code and message for the library's errors through one table,
`EXIT_CODES`, keyed by the server's stable code where it says more than the class, else by
the class of `errors.py`'s tree.
"""

import getpass
import json
import os
import re
import sys
import tomllib
from enum import IntEnum
from pathlib import Path
from urllib.parse import urlsplit

from .cli_output import human_wait, plural, printable
from .errors import (
    ApiError,
    BadRequest,
    ContentChanged,
    DecryptionError,
    Gone,
    LinkError,
    Locked,
    NotFound,
    NotReady,
    OneTimeShareError,
    PasswordRequired,
    ProofRejected,
    ProtocolError,
    RateLimited,
    ServerUnavailable,
    StateError,
    StorageFull,
    UnsupportedVersion,
    UploadTokenRequired,
    WrongPassword,
)
from .links import Link, parse_link
from .transfer import ShareInfo, open_share, password_params

PASSWORD_ENV = "ONETIMESHARE_PASSWORD"
LINK_ENV = "ONETIMESHARE_LINK"
SERVER_ENV = "ONETIMESHARE_SERVER"
UPLOAD_TOKEN_ENV = "ONETIMESHARE_UPLOAD_TOKEN"
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
    NOT_A_SERVER = 9  # the URL answers, but not as a OneTimeShare server does
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)


class CliError(Exception):
    """Stop the command with `code` and a one-line `message` for people."""

    def __init__(self, code: Exit, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# The one table from failures to exit codes: a server code first (where it says more than its
# class), then the class or its nearest ancestor in errors.py's tree, then OSError.
EXIT_CODES: dict[str | type, Exit] = {
    "ticket_invalid": Exit.SERVER,  # the claim lapsed mid-download: a transfer failure
    "proof_invalid": Exit.INTEGRITY,  # the link's secret is not this share's: a damaged link
    LinkError: Exit.USAGE,
    NotFound: Exit.NOT_FOUND,
    NotReady: Exit.NOT_FOUND,
    Gone: Exit.GONE,
    PasswordRequired: Exit.PASSWORD,
    WrongPassword: Exit.PASSWORD,
    Locked: Exit.PASSWORD,
    ProofRejected: Exit.PASSWORD,
    UploadTokenRequired: Exit.USAGE,
    RateLimited: Exit.SERVER,
    StorageFull: Exit.SERVER,
    ServerUnavailable: Exit.SERVER,
    BadRequest: Exit.SERVER,
    ApiError: Exit.SERVER,
    DecryptionError: Exit.INTEGRITY,
    UnsupportedVersion: Exit.SERVER,
    ProtocolError: Exit.SERVER,
    ContentChanged: Exit.LOCAL_IO,
    StateError: Exit.LOCAL_IO,
    OneTimeShareError: Exit.FAILURE,
    OSError: Exit.LOCAL_IO,
}
# Before the table: an answer no OneTimeShare server gives (`_foreign_answer`) is NOT_A_SERVER.

# Longest server-chosen sentence shown: the text is the server's, so is its length.
MAX_SERVER_MESSAGE = 300

# What to tell people for a server code, instead of the server's English sentence.
MESSAGES = {
    "not_found": "no such share: the link is wrong, or the share expired",
    "consumed": "this link was already opened (all its downloads are used)",
    "deleted": "this share was deleted by its sender",
    "not_ready": "this share is still being uploaded; try again in a moment",
    "not_uploading": "this share no longer takes uploads: it was finalized, opened or deleted",
    "proof_invalid": "the server does not accept this link's key: the link is damaged "
                     "(nothing was consumed)",
    "password_required": "this share is protected by a password and none was given",
    "password_invalid": "wrong password (nothing was consumed)",
    "locked": "too many wrong passwords: this share is locked for now (nothing was consumed)",
    "ticket_invalid": "the claim lapsed before the download finished",
    "upload_token_required": f"this server takes new shares only with an upload token from its "
                             f"operator: set {UPLOAD_TOKEN_ENV}, or upload_token in the config "
                             f"file",
    "upload_token_invalid": f"the server refused the upload token ({UPLOAD_TOKEN_ENV} or "
                            f"upload_token in the config file): ask its operator for a valid one",
    "storage_full": "the server's storage is full; try later or ask its operator",
    "rate_limited": "the server is limiting requests from this address",
    "upload_budget": "this address has used up its upload allowance on the server for now",
    "quota_exceeded": "this address (or upload token) stores as much as the server allows; "
                      "delete a share or wait until one expires",
    "unavailable": "the server cannot reach its storage right now",
}


def exit_for(error: BaseException) -> tuple[Exit, str]:
    """Return the exit code and message for a failure the command did not handle itself."""
    if isinstance(error, CliError):
        return error.code, error.message
    if _foreign_answer(error):
        return Exit.NOT_A_SERVER, _not_a_server(error)
    code = EXIT_CODES.get(getattr(error, "code", None)) if isinstance(error, ApiError) else None
    if code is None:
        ancestor = next((cls for cls in type(error).__mro__ if cls in EXIT_CODES), None)
        code = EXIT_CODES[ancestor] if ancestor else Exit.FAILURE
    return code, _message(error, code)


def _foreign_answer(error) -> bool:
    """Tell whether the answer cannot be a OneTimeShare server's: not JSON where JSON is due,
    or a refusal (4xx) without the API's error body, e.g. a web server's HTML 404 page.
    A 5xx without one is left to ServerUnavailable: a proxy in front of a server that is down."""
    if isinstance(error, json.JSONDecodeError):
        return True
    return (isinstance(error, ApiError) and error.code is None and error.status is not None
            and error.status < 500)


def _not_a_server(error) -> str:
    answer = (f"HTTP {error.status} without the API's error body" if isinstance(error, ApiError)
              else "an answer that is not JSON")
    return (f"not a OneTimeShare server: it gave {answer}; check the link or the server URL "
            "(--server, $ONETIMESHARE_SERVER, the config file)")


def _message(error: BaseException, code: Exit) -> str:
    if isinstance(error, ApiError):
        message = MESSAGES.get(error.code) or printable(error.message)[:MAX_SERVER_MESSAGE]
        if isinstance(error, WrongPassword) and error.attempts_left == 0:
            message += "; the share is now locked for a while"
        elif isinstance(error, WrongPassword) and error.attempts_left is not None:
            message += f"; {plural(error.attempts_left, 'attempt')} left before the share locks"
        if error.retry_after:
            message += f"; try again in {human_wait(error.retry_after)}"
        elif isinstance(error, (RateLimited, Locked)):
            message += "; try again later"
        return message
    if isinstance(error, DecryptionError):
        return f"{error}; nothing was kept"
    if isinstance(error, ProtocolError) and not isinstance(error, UnsupportedVersion):
        return f"the server broke the protocol: {error}"
    if isinstance(error, OSError) and not isinstance(error, OneTimeShareError):
        where = f"{error.filename}: " if error.filename else ""
        return f"{where}{error.strerror or error}"
    if code == Exit.FAILURE and not isinstance(error, OneTimeShareError):
        return f"unexpected {type(error).__name__}: {error}"
    return str(error)


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


_CONFIG_KEYS = {"server": str, "expires": str, "downloads": int, "upload_token": str}


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


def resolve_upload_token(config: dict) -> str | None:
    """Return the upload token: $ONETIMESHARE_UPLOAD_TOKEN, then the config file, else None."""
    return os.environ.get(UPLOAD_TOKEN_ENV) or config.get("upload_token") or None


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


PROMPT_TRIES = 3


def prompt_password(prompt: str = "Password: ", confirm: bool = False) -> str:
    """Ask on the terminal without echo (twice to confirm a new one); CliError when impossible."""
    if not can_prompt():
        raise CliError(Exit.PASSWORD, f"a password is needed and there is no terminal to ask: "
                                      f"set {PASSWORD_ENV} or use --password-env NAME")
    try:
        for _ in range(PROMPT_TRIES):
            password = getpass.getpass(prompt)
            if not password:
                say("The password must not be empty; try again.")
            elif not confirm or getpass.getpass("Repeat the password: ") == password:
                return password
            else:
                say("The two passwords differ; try again.")
    except EOFError:
        raise CliError(Exit.USAGE, "no password given") from None
    raise CliError(Exit.USAGE, f"no password after {PROMPT_TRIES} tries")


MAX_LINK_CHARS = 4096


def link_text(argument: str | None, quiet: bool = False) -> str:
    """Return the link as given: the argument, or with `-` (or no argument and no
    $ONETIMESHARE_LINK) read from stdin, so the key need be in neither argv (visible in
    /proc/PID/cmdline to every user) nor shell history. On a terminal it is asked without echo.
    """
    if argument is None:
        argument = os.environ.get(LINK_ENV) or "-"
    if argument != "-":
        return argument
    if sys.stdin.isatty():
        try:
            text = getpass.getpass("Paste the link (it is not shown): ")
        except EOFError:
            text = ""
    else:
        text = sys.stdin.readline(MAX_LINK_CHARS)
    if not text.strip():
        raise CliError(Exit.USAGE, f"no link given: pass it as an argument, on stdin (-), or in "
                                   f"${LINK_ENV}")
    return text.strip()


def parse_link_argument(text: str) -> Link:
    """Parse a share link given on the command line; CliError(USAGE) when it is malformed."""
    try:
        return parse_link(text)
    except LinkError as error:
        raise CliError(Exit.USAGE, f"not a share link: {error}") from None


def unlock(api, link: Link, status: dict, password_env: str | None = None, *, ask: bool = True,
           quiet: bool = False) -> ShareInfo | None:
    """Open the share (decrypt what it is), getting the password if it has one; claim nothing.

    The password comes from --password-env, then $ONETIMESHARE_PASSWORD, then (when `ask`) the
    terminal. For a v2 share the server checks it (unlock step) and counts a wrong one: on a
    terminal we ask again, showing the attempts left, until it is right or the share locks. A
    v1 share is checked on this machine (three tries). Returns None when a password is needed
    but none is at hand and `ask` is false.
    """
    if password_params(status) is None:
        return _open(api, link, status, None)
    given = password_from_env(password_env)
    if given is None and not ask:
        return None
    tries = 3 if status.get("version") == 1 else None  # v2: the server's count decides
    attempt = 0
    while True:
        attempt += 1
        password = given if given is not None else prompt_password("Password: ")
        try:
            return _open(api, link, status, password)
        except WrongPassword as wrong:
            if given is not None or wrong.attempts_left == 0:
                raise
            left = wrong.attempts_left
            more = f" ({plural(left, 'attempt')} left before the share locks)" if left else ""
            say(f"Wrong password; nothing was consumed{more}. Try again.", quiet)
        except CliError as error:
            if error.code != Exit.PASSWORD or given is not None or not tries or attempt >= tries:
                raise
            say("Wrong password; try again.", quiet)


def _open(api, link, status, password) -> ShareInfo:
    try:
        return open_share(api, link, password, status=status)
    except DecryptionError:
        if password is not None and status.get("version") == 1:
            raise CliError(Exit.PASSWORD, "wrong password (nothing was consumed)") from None
        raise CliError(Exit.INTEGRITY, "the link's key does not open this share: the link "
                                       "is damaged, or the share was altered") from None


def say(message: str, quiet: bool = False):
    """Write an informational line on stderr (stdout carries only results), terminal-safe:
    messages quote names and states that came from a sender or a server."""
    if not quiet:
        print(printable(message), file=sys.stderr, flush=True)
