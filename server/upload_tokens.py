"""Draw a named upload token and print it once, with the line UPLOAD_TOKENS_FILE needs.

    python -m server.upload_tokens alice                     # print the token and its line
    python -m server.upload_tokens alice --append tokens.txt # add the line to the file too

The token is printed once and never stored: the file (and the server) keep only its SHA-256.
To revoke a token, delete its line; the server notices the change without a restart.
"""

import argparse
import hashlib
import os
import secrets
import sys

from .config import ConfigError
from .upload_auth import NAME, parse

TOKEN_BYTES = 32


def new_line(name):
    """Return (token, file line) for a fresh token named `name`."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, f"{name} {hashlib.sha256(token.encode()).hexdigest()}"


def append(path, name, line):
    """Add `line` to the tokens file (created owner-only), refusing a name already there."""
    existing = ""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as file:
            existing = file.read()
    if name in parse(existing).values():
        raise ConfigError(f"{path} already has a token named {name!r}; delete its line first")
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "a", encoding="utf-8") as file:
        if existing and not existing.endswith("\n"):
            file.write("\n")
        file.write(line + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m server.upload_tokens",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("name", help="who the token is for (letters, digits, . _ @ + -)")
    parser.add_argument("--append", metavar="FILE",
                        help="also add the line to this UPLOAD_TOKENS_FILE")
    args = parser.parse_args(argv)
    if not NAME.fullmatch(args.name):
        parser.error("the name may hold letters, digits and . _ @ + - (64 at most)")
    token, line = new_line(args.name)
    if args.append:
        try:
            append(args.append, args.name, line)
        except (ConfigError, OSError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(f"Added to {args.append}: {line}", file=sys.stderr)
    else:
        print(f"Add this line to UPLOAD_TOKENS_FILE:\n{line}", file=sys.stderr)
    print(f"Upload token for {args.name} (shown once; hand it over privately):", file=sys.stderr)
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
