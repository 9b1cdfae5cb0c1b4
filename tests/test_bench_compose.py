"""bench/compose_stack.py runs what compose.yaml and the Dockerfile say, not a copy that drifts:
Valkey with the `redis` service's flags, the app with the `app` service's environment."""

import redis

from bench import compose_stack
from tests.deployment_files import compose, image_env


def test_the_benchmark_reads_compose_yaml_as_the_deployment_tests_do():
    services = compose()["services"]
    assert compose_stack.valkey_flags() == services["redis"]["command"][1:]
    assert compose_stack.app_environment() == services["app"]["environment"]
    assert "2gb" in compose_stack.valkey_flags()  # ${REDIS_MAXMEMORY:-2gb} at its default


def test_the_app_gets_the_images_runtime_environment():
    image = image_env()
    assert {name: image[name] for name in compose_stack.IMAGE_RUNTIME_ENV} == \
        compose_stack.IMAGE_RUNTIME_ENV


def test_valkey_runs_with_exactly_compose_yamls_flags_on_loopback_tcp(tmp_path):
    flags = compose_stack.valkey_flags()
    argv = compose_stack.valkey_argv(6379, tmp_path)
    assert argv[1:1 + len(flags)] == flags
    # What follows says only where it listens and keeps its files.
    assert [word for word in argv[1 + len(flags):] if word.startswith("--")] == \
        ["--port", "--bind", "--dir", "--logfile"]
    # The running server has them (valkey-server rewrites its command line: ask it instead).
    with compose_stack.valkey_server(tmp_path) as (port, _):
        client = redis.Redis(port=port)
        try:
            config = {}
            for name in ("appendonly", "appendfsync", "hz", "save", "maxmemory",
                         "maxmemory-policy", "auto-aof-rewrite-min-size", "bind", "unixsocket"):
                config.update(client.config_get(name))
        finally:
            client.close()
    assert config == {"appendonly": "yes", "appendfsync": "everysec", "hz": "100", "save": "",
                      "maxmemory": str(2 * 1024 ** 3), "maxmemory-policy": "noeviction",
                      "auto-aof-rewrite-min-size": str(1024 ** 3),
                      "bind": "127.0.0.1", "unixsocket": ""}
