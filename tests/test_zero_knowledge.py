"""Prove the server learns nothing: no plaintext, name, password or key reaches it anywhere.

A file with a known canary content and name is sent with a password through real gunicorn and
downloaded again. Then every byte clients sent the server, every command the server sent Redis,
every key left in Redis, and every log line are searched for the canary, the name, the password,
the fragment secret and the derived keys.
"""

import io
import subprocess
import sys
import time

import pytest

from onetimeshare.api import ShareApi
from onetimeshare.ece import RECORD_SIZE
from onetimeshare.encoding import b64u_encode
from onetimeshare.links import parse_link
from onetimeshare.transfer import open_share, receive, send
from tests.processes import ROOT, GunicornProcess
from tests.recording import RecordingProxy, RedisMonitor

CANARY = b"CANARY-7f3e9c1d-the-plaintext-must-never-reach-the-server"
NAME = "canary-contract-9a1b2c.pdf"
PASSWORD = "canary password 5e6f7a"


@pytest.fixture
def observed(redis_server, redis_client, tmp_path):
    """A gunicorn service behind a recording proxy, with Redis monitored and debug logs on."""
    log = tmp_path / "gunicorn.log"
    service = GunicornProcess(redis_server.url, workers=2, threads=4, log_path=log,
                              env={"LOG_LEVEL": "debug", "CHUNK_SIZE": str(64 * 1024)}).start()
    proxy = RecordingProxy(service.port)
    monitor = RedisMonitor(redis_server.port)
    yield proxy, monitor, log
    monitor.close()
    proxy.close()
    service.stop()


def forbidden_strings(link, info):
    parsed = parse_link(link)
    keys = info.keys
    values = [CANARY, NAME.encode(), PASSWORD.encode(), link.split("#")[1].encode(),
              parsed.secret, parsed.secret.hex().encode()]
    for key in (keys.content_ikm, keys.metadata_key):
        values += [key, key.hex().encode(), b64u_encode(key).encode()]
    return values


def test_server_sees_no_plaintext_name_password_or_key(observed, redis_server, redis_client):
    proxy, monitor, log = observed
    plaintext = (CANARY + b"\n") * (3 * RECORD_SIZE // len(CANARY))
    metadata = {"kind": "file", "name": NAME, "type": "application/pdf", "size": len(plaintext)}
    with ShareApi(proxy.url) as api:
        sent = send(api, io.BytesIO(plaintext), len(plaintext), metadata, password=PASSWORD)
        stored = b"".join(redis_client.dump(key) or b"" for key in redis_client.keys("*"))
        info = open_share(api, sent.link, password=PASSWORD)
        assert info.metadata["name"] == NAME
        sink = io.BytesIO()
        receive(api, info, sink)
        assert sink.getvalue() == plaintext
    time.sleep(0.3)  # let the last relayed bytes and MONITOR lines arrive
    redis_log = (redis_server.directory / "redis.log").read_bytes()
    places = {
        "requests the server received": bytes(proxy.received),
        "commands the server sent Redis": bytes(monitor.output),
        "keys stored in Redis": stored,
        "gunicorn log": log.read_bytes(),
        "redis log": redis_log,
    }
    assert len(proxy.received) > len(plaintext), "the proxy saw the upload"
    assert b"ots:{" in monitor.output, "MONITOR saw the server's commands"
    for value in forbidden_strings(sent.link, info):
        for place, seen in places.items():
            assert value not in seen, f"{value[:40]!r} leaked into the {place}"


def test_server_never_imports_anything_that_can_decrypt(redis_server):
    # redis-py imports the bare `cryptography` package to see whether it is installed; the
    # ciphers live under cryptography.hazmat, which must stay out.
    probe = (
        "import sys; from server import create_app; "
        f"app = create_app({{'REDIS_URL': {redis_server.url!r}}}); "
        "app.test_client().get('/readyz'); "
        "bad = sorted(m for m in sys.modules if m.startswith(('onetimeshare', "
        "'cryptography.hazmat', 'Crypto', 'nacl'))); print(bad); "
        "sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
