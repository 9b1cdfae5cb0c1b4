"""Run the `onetimeshare` command: `send`, `get`, `status`, `delete`, `list`, `forget`
(clients), and `serve`.

`onetimeshare serve` starts the web service under gunicorn with the project's gunicorn config
(the same one the Dockerfile uses); with no REDIS_URL it runs the embedded redis-server too.
The client subcommands live in `cli_send`, `cli_get`, `cli_owner` and `cli_list`; here every
failure they raise becomes one line on stderr and a documented exit code (docs/cli.md), never a
traceback.
"""

import argparse
import os
import signal
import sys
import traceback

from . import cli_get, cli_list, cli_owner, cli_send
from .cli_common import Exit, exit_for
from .cli_output import printable

DEBUG_ENV = "ONETIMESHARE_DEBUG"


def build_parser():
    """Describe the command line."""
    parser = argparse.ArgumentParser(
        prog="onetimeshare",
        description="Zero-knowledge, one-time sharing of files and notes.",
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="show the version and exit")
    commands = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    common.add_argument("-q", "--quiet", action="store_true",
                        help="no progress bar or messages on stderr (errors still show)")
    cli_send.add_parser(commands, common)
    cli_get.add_parser(commands, common)
    cli_owner.add_parsers(commands, common)
    cli_list.add_parsers(commands, common)
    serve = commands.add_parser(
        "serve", help="run the web service (gunicorn)",
        description="Run the OneTimeShare web service under gunicorn, with the project's "
                    "gunicorn config. Without --redis-url (or REDIS_URL) it starts a private "
                    "redis-server that keeps its data under --data-dir (DATA_DIR, default "
                    "./data). Every other setting comes from the environment: see the README's "
                    "configuration table.")
    serve.add_argument("--bind", default=os.environ.get("BIND", "127.0.0.1:8000"),
                       help="address to listen on (default: %(default)s)")
    serve.add_argument("--workers", type=int, help="worker processes (default: CPU count, min 2)")
    serve.add_argument("--worker-connections", type=int,
                       help="connections each worker holds at most (default: 2048)")
    serve.add_argument("--data-dir", help="where the embedded Redis keeps its data (DATA_DIR)")
    serve.add_argument("--redis-url", help="use this Redis instead of the embedded one")
    return parser


def serve(args):
    """Replace this process with gunicorn serving `server:create_app()`."""
    env = dict(os.environ, BIND=args.bind)
    for name, value in (("WEB_CONCURRENCY", args.workers),
                        ("GUNICORN_WORKER_CONNECTIONS", args.worker_connections),
                        ("DATA_DIR", args.data_dir), ("REDIS_URL", args.redis_url)):
        if value is not None:
            env[name] = str(value)
    argv = [sys.executable, "-m", "gunicorn", "-c", "python:server.gunicorn_conf",
            "server:create_app()"]
    os.execve(sys.executable, argv, env)


def main(argv=None):
    """Entry point of the `onetimeshare` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        serve(args)
        return 0
    return run(args)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that temporary files are cleaned up on the way out."""


def _terminate(signum, frame):
    raise Terminated()


def run(args) -> int:
    """Run a client subcommand; turn any failure into one line on stderr and its exit code."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        return int(args.run(args))
    except KeyboardInterrupt as interrupt:
        _error("interrupted")
        return 128 + signal.SIGTERM if isinstance(interrupt, Terminated) else Exit.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`... -o - | head`); stop writing, including at interpreter exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        _error("the output was closed before the end")
        return Exit.LOCAL_IO
    except Exception as error:  # the one place that turns failures into exit codes
        if os.environ.get(DEBUG_ENV):
            traceback.print_exc()
        code, message = exit_for(error)
        _error(message)
        return code


def _error(message):
    # Messages may quote a server or a file name: never let them drive the terminal.
    print(f"onetimeshare: error: {printable(message)}", file=sys.stderr, flush=True)


class _Version(argparse.Action):
    """Print the installed version; looked up only when asked (importlib.metadata is slow)."""

    def __call__(self, parser, namespace, values, option_string=None):
        import importlib.metadata

        try:
            version = importlib.metadata.version("onetimeshare")
        except importlib.metadata.PackageNotFoundError:
            version = "unknown"
        parser.exit(message=f"{parser.prog} {version}\n")


if __name__ == "__main__":
    sys.exit(main())
