"""Each setting has one source: server/config.py reads and validates it, gunicorn's included."""

import re
from pathlib import Path

import pytest

from server.config import DEFAULT_BIND, DEFAULTS, ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent


def test_gunicorn_reads_no_setting_from_the_environment_itself():
    text = (ROOT / "server" / "gunicorn_conf.py").read_text()
    assert not re.search(r"int\(os\.environ", text)
    read = set(re.findall(r"os\.environ(?:\.get\(|\[)\"(\w+)\"", text))
    # Only what gunicorn's process itself manages, never a setting of the service (GUNICORN_PID
    # marks a re-executed master, LISTEN_FDS systemd's socket activation).
    assert read <= {"PROMETHEUS_MULTIPROC_DIR", "MALLOC_ARENA_MAX", "REDIS_URL", "GUNICORN_PID",
                    "LISTEN_FDS"}, read
    for name in ("BIND", "WEB_CONCURRENCY", "GUNICORN_WORKER_CONNECTIONS", "GUNICORN_TIMEOUT",
                 "LOG_LEVEL"):
        assert f'_settings["{name}"]' in text, name


def test_the_default_address_is_written_once_in_the_server():
    places = [path for path in (ROOT / "server").glob("*.py")
              if DEFAULT_BIND in path.read_text()]
    assert places == [ROOT / "server" / "config.py"]
    assert DEFAULTS["BIND"] == DEFAULT_BIND == "127.0.0.1:8000"


@pytest.mark.parametrize(("name", "value"), [
    ("WEB_CONCURRENCY", "many"), ("WEB_CONCURRENCY", "-1"),
    ("GUNICORN_WORKER_CONNECTIONS", "0"), ("GUNICORN_TIMEOUT", "2m"),
    ("LOG_LEVEL", "verbose"), ("BIND", " "),
])
def test_a_bad_gunicorn_setting_stops_the_start(name, value):
    with pytest.raises(ConfigError, match=name):
        load_config(environ={name: value})


def test_gunicorn_settings_come_validated():
    config = load_config(environ={"WEB_CONCURRENCY": "3", "LOG_LEVEL": "WARNING",
                                  "GUNICORN_TIMEOUT": "30"})
    assert (config["WEB_CONCURRENCY"], config["LOG_LEVEL"], config["GUNICORN_TIMEOUT"]) == (
        3, "warning", 30)
    assert load_config(environ={})["WEB_CONCURRENCY"] == 0  # the CPU count, at least 2
