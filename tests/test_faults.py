"""Break real processes under the service and check nothing is lost or leaked.

Each test owns a redis-server with an append-only file and a gunicorn in front of it, so it may
restart Redis, stop it, or kill a worker in the middle of a transfer.
"""

import io
import os
import signal
import time

import httpx
import psutil
import pytest

from devtools.processes import GunicornProcess, RedisProcess
from onetimeshare.api import ShareApi
from onetimeshare.errors import ServerUnavailable as Unavailable
from onetimeshare.transfer import open_share, receive, send
from tests.sharing import HttpClient, Sharing

MIB = 1024 * 1024


@pytest.fixture
def durable_redis(tmp_path):
    """A redis-server that keeps an append-only file, so a restart loses nothing."""
    server = RedisProcess(tmp_path / "redis", "--appendonly", "yes", "--appendfsync", "always")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def service(durable_redis, tmp_path):
    log = tmp_path / "gunicorn.log"
    server = GunicornProcess(durable_redis.url, workers=2, threads=4, log_path=log,
                             env={"CHUNK_SIZE": str(MIB), "REDIS_RETRY_AFTER": "3"}).start()
    yield server
    server.stop()
    assert b"Traceback" not in log.read_bytes()


def wait_for(condition, seconds=15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_share_survives_a_redis_restart(service, durable_redis):
    plaintext = os.urandom(3 * MIB + 5)
    with ShareApi(service.url) as api:
        sent = send(api, io.BytesIO(plaintext), len(plaintext), {"kind": "file", "name": "a"})
        durable_redis.stop()
        durable_redis.start()
        assert wait_for(lambda: httpx.get(f"{service.url}/readyz").status_code == 200)
        info = open_share(api, sent.link)
        sink = io.BytesIO()
        receive(api, info, sink)
    assert sink.getvalue() == plaintext


def test_redis_down_is_503_then_the_service_recovers_and_the_upload_resumes(service,
                                                                             durable_redis):
    with HttpClient(service.url) as http:
        sharing = Sharing(http)
        share = sharing.create(size=4 * MIB + 100)
        for index in (0, 1):
            assert sharing.put_chunk(share, index).status_code == 200
        durable_redis.stop()
        refused = sharing.put_chunk(share, 2)
        assert refused.status_code == 503
        assert refused.headers["Retry-After"] == "3"
        assert refused.get_json()["error"] == "Service Unavailable"
        ready = http.get("/readyz")
        assert ready.status_code == 503 and ready.headers["Retry-After"] == "3"
        assert http.get("/healthz").status_code == 200
        durable_redis.start()
        assert wait_for(lambda: http.get("/readyz").status_code == 200)
        owner = sharing.owner(share).get_json()
        assert owner["received_chunks"] == [0, 1]
        for index in owner["received_chunks"][-1:] + [2, 3, 4]:
            assert sharing.put_chunk(share, index).status_code == 200
        assert sharing.finalize(share).status_code == 200
        assert sharing.download(share) == share.ciphertext


def test_redis_down_during_a_download_resumes_within_the_claim(service, durable_redis):
    with HttpClient(service.url) as http:
        sharing = Sharing(http)
        share = sharing.ready(size=3 * MIB)
        ticket = sharing.claim(share).get_json()["ticket"]
        first = sharing.fetch(share.id, ticket, f"bytes=0-{MIB - 1}")
        durable_redis.stop()
        assert sharing.fetch(share.id, ticket, f"bytes={MIB}-").status_code == 503
        durable_redis.start()
        assert wait_for(lambda: http.get("/readyz").status_code == 200)
        rest = sharing.fetch(share.id, ticket, f"bytes={MIB}-")
        assert rest.status_code == 206
        assert first.get_data() + rest.get_data() == share.ciphertext


def serving_worker(service):
    """Return the worker process holding an established connection on the service's port."""
    for pid in service.worker_pids():
        worker = psutil.Process(pid)
        for connection in worker.net_connections(kind="tcp"):
            if (connection.status == psutil.CONN_ESTABLISHED and connection.laddr
                    and connection.laddr.port == service.port):
                return worker
    return None


def test_worker_killed_mid_download_the_claimant_resumes_with_identical_bytes(service):
    plaintext = os.urandom(24 * MIB)
    killed = []

    def kill_the_serving_worker(received):
        if not killed and received >= 2 * MIB:
            worker = serving_worker(service)
            assert worker is not None, "no worker is streaming"
            worker.send_signal(signal.SIGKILL)
            killed.append(worker.pid)

    with ShareApi(service.url) as api:
        sent = send(api, io.BytesIO(plaintext), len(plaintext), {"kind": "file", "name": "v"})
        info = open_share(api, sent.link)
        sink = io.BytesIO()
        receive(api, info, sink, progress=kill_the_serving_worker)
        assert killed, "the download finished before a worker could be killed"
        assert sink.getvalue() == plaintext
        assert wait_for(lambda: len(service.worker_pids()) == 2), "gunicorn replaced the worker"
        with pytest.raises(Exception) as second:
            receive(api, open_share(api, sent.link), io.BytesIO())
        assert getattr(second.value, "status", None) == 410


def test_unavailable_is_a_typed_error_for_clients(service, durable_redis):
    durable_redis.stop()
    with ShareApi(service.url) as api, pytest.raises(Unavailable) as refused:
        api.status("A" * 22)
    assert refused.value.status == 503
    durable_redis.start()
