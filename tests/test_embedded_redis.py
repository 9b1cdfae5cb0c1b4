"""Run `onetimeshare serve` without REDIS_URL: one private, persistent Redis for all workers."""

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
import redis

from server import embedded_redis
from tests.processes import ROOT, free_port
from tests.sharing import HttpClient, Sharing


def start_serve(data_dir, port):
    env = {key: value for key, value in os.environ.items()
           if key not in ("REDIS_URL", "CLAIM_DURABILITY")}  # the defaults, as deployed
    env.update(DATA_DIR=str(data_dir), WEB_CONCURRENCY="2", CHUNK_SIZE=str(64 * 1024))
    process = subprocess.Popen(
        [sys.executable, "-m", "onetimeshare.cli", "serve", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "onetimeshare serve exited"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    pytest.fail("onetimeshare serve did not become ready")


def stop_serve(process):
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


def test_serve_runs_a_private_persistent_redis(tmp_path):
    port = free_port()
    server = start_serve(tmp_path, port)
    adapter = HttpClient(f"http://127.0.0.1:{port}")
    try:
        sharing = Sharing(adapter)
        opened = sharing.ready(size=150_000)
        kept = sharing.ready(size=150_000)
        assert sharing.download(opened) == opened.ciphertext
        local = redis.Redis.from_url(embedded_redis.url_for(tmp_path))
        assert local.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
        assert local.config_get("appendonly") == {"appendonly": "yes"}
        assert local.info("server")["valkey_version"].startswith("8."), "a maintained line"
        local.close()
    finally:
        stop_serve(server)
    with pytest.raises(redis.exceptions.ConnectionError):
        redis.Redis.from_url(embedded_redis.url_for(tmp_path)).ping()

    server = start_serve(tmp_path, port)
    try:
        assert sharing.status(opened.id).status_code == 410
        assert sharing.download(kept) == kept.ciphertext, "the share survived the restart"
    finally:
        stop_serve(server)
        adapter.close()
