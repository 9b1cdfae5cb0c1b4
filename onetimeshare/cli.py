"""Run the `onetimeshare` command.

`onetimeshare serve` starts the web service under gunicorn with the project's gunicorn config
(the same one the Dockerfile uses); with no REDIS_URL it runs the embedded redis-server too.
"""

import argparse
import os
import sys


def build_parser():
    """Describe the command line."""
    parser = argparse.ArgumentParser(
        prog="onetimeshare",
        description="Zero-knowledge, one-time sharing of files and notes.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the web service (gunicorn)")
    serve.add_argument("--bind", default=os.environ.get("BIND", "127.0.0.1:8000"),
                       help="address to listen on (default: %(default)s)")
    serve.add_argument("--workers", type=int, help="worker processes (default: CPU count, min 2)")
    serve.add_argument("--threads", type=int, help="threads per worker (default: 16)")
    serve.add_argument("--data-dir", help="where the embedded Redis keeps its data (DATA_DIR)")
    serve.add_argument("--redis-url", help="use this Redis instead of the embedded one")
    return parser


def serve(args):
    """Replace this process with gunicorn serving `server:create_app()`."""
    env = dict(os.environ, BIND=args.bind)
    for name, value in (("WEB_CONCURRENCY", args.workers), ("GUNICORN_THREADS", args.threads),
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


if __name__ == "__main__":
    sys.exit(main())
