"""Run `onetimeshare serve` without REDIS_URL: one private, persistent Redis for all workers."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest
import redis

from devtools.processes import ROOT, free_port
from server import create_app, embedded_redis, redis_client, store
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


def test_embedded_server_returns_a_deleted_shares_memory(tmp_path):
    """Two shares one after the other need the memory of one, not of two (issue 14).

    Chunks are stored as the store stores them (4 MiB fields of one hash per share), read back,
    and the share deleted (lazily, in a background thread, as the server is configured). With
    glibc's adaptive mmap threshold the server kept ~45 % of each deleted share.
    """
    url, process = embedded_redis.start(tmp_path)
    try:
        client = redis.Redis.from_url(url)
        # What is measured is the allocator. With `appendfsync everysec` Valkey holds back its
        # AOF write while an fsync is still running (up to 2 s), and the chunks sent meanwhile
        # wait in its AOF buffer: on CI's busy disk the second peak held 32 MiB of them. Without
        # fsyncs nothing is held back; the AOF is still written. (Under a dd loop fsyncing 300 MB
        # files: second peak minus first -24, +36, -21 MiB with everysec; 0.1 in 6 runs without.)
        client.config_set("appendfsync", "no")
        server = psutil.Process(process.pid)
        chunk = os.urandom(4 * 1024 * 1024)
        share_mib = 64
        idle_rss = server.memory_info().rss
        peaks, after = [], []
        for share in range(2):
            key = f"share:{{s{share}}}:chunks"
            peak = 0
            for index in range(share_mib // 4):
                client.hset(key, f"n{index}", chunk)
                peak = max(peak, server.memory_info().rss)
            for index in range(share_mib // 4):
                assert client.hget(key, f"n{index}") == chunk
            client.delete(key)
            deadline = time.monotonic() + 5
            while client.info("memory")["lazyfree_pending_objects"] and \
                    time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.2)
            peaks.append(peak)
            after.append(server.memory_info().rss)
        mib = 1024 * 1024
        kept = [(rss - idle_rss) / mib for rss in after]
        assert max(kept) < share_mib / 8, f"kept {kept} MiB of each deleted {share_mib} MiB share"
        assert peaks[1] < peaks[0] + share_mib / 8 * mib, (peaks, idle_rss)
    finally:
        embedded_redis.stop(process)


def test_embedded_server_environment_holds_its_allocator_settings():
    # The fixed mmap threshold (memory goes back) and huge pages for those mappings (the CPU
    # that fresh 4 KiB pages would cost); an operator's own glibc tunables are kept. (The
    # running server cannot be asked: valkey-server writes its title over its environment.)
    environ = embedded_redis.server_environment({"PATH": "/usr/bin"})
    assert environ["MALLOC_MMAP_THRESHOLD_"] == str(128 * 1024)
    assert environ["GLIBC_TUNABLES"] == "glibc.malloc.hugetlb=1"
    merged = embedded_redis.server_environment({"GLIBC_TUNABLES": "glibc.malloc.arena_max=2"})
    assert merged["GLIBC_TUNABLES"] == "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1"
    kept = embedded_redis.server_environment({"GLIBC_TUNABLES": "glibc.malloc.hugetlb=0"})
    assert kept["GLIBC_TUNABLES"] == "glibc.malloc.hugetlb=0", "the operator's choice stands"


def test_a_large_share_is_written_to_disk_once(tmp_path):
    """A 96 MiB share arriving on a quiet server does not set off an AOF rewrite (issue 14).

    At Valkey's own `auto-aof-rewrite-min-size` (64 MiB) the file doubled over its small base
    halfway through, and the rewrite wrote the chunks already stored a second time.
    """
    url, process = embedded_redis.start(tmp_path)
    try:
        client = redis.Redis.from_url(url)
        chunk = os.urandom(4 * 1024 * 1024)
        for index in range(96 // 4):
            client.hset("ots:{s}:data", f"n{index}", chunk)
        time.sleep(0.3)  # the server looks every 1/hz s (10 ms)
        persistence = client.info("persistence")
        assert persistence["aof_rewrites"] == 0
        assert not persistence["aof_rewrite_in_progress"]
        assert persistence["aof_current_size"] > 96 * 1024 * 1024
        client.close()
    finally:
        embedded_redis.stop(process)


def test_a_chunk_fits_the_send_buffer_of_a_connection_to_the_embedded_server(tmp_path,
                                                                             app_config):
    # A unix socket's send buffer takes the whole chunk at once (as far as the kernel allows):
    # each piece more is one more wait under gevent.
    url, process = embedded_redis.start(tmp_path)
    try:
        app_config.update(REDIS_URL=None, DATA_DIR=str(tmp_path))
        app = create_app(app_config)
        with app.app_context():
            pool = store.client().connection_pool
            connection = pool.get_connection()
            try:
                sock = connection._sock
                assert sock.family == socket.AF_UNIX
                wmem_max = int(Path("/proc/sys/net/core/wmem_max").read_text())
                wanted = redis_client.UNIX_SEND_BUFFER
                # Linux doubles the size asked for (its bookkeeping), capped at wmem_max.
                assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) == \
                    2 * min(wanted, wmem_max)
            finally:
                pool.release(connection)
    finally:
        embedded_redis.stop(process)
