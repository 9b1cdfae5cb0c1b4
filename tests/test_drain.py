"""A request refused before its body was read must not break its keep-alive connection."""

import http.client

import pytest

from devtools.processes import GunicornProcess
from tests.sharing import b64u


@pytest.fixture(scope="module")
def service(redis_server):
    server = GunicornProcess(redis_server.url, workers=1, threads=2,
                             env={"CHUNK_SIZE": str(1024 * 1024), "RATE_LIMITS_ENABLED": "0"})
    yield server.start()
    server.stop()


@pytest.mark.parametrize("path, headers, status", [
    ("/api/v1/shares/AAAAAAAAAAAAAAAAAAAAAA/chunks/0", {}, 403),
    ("/api/v1/shares/AAAAAAAAAAAAAAAAAAAAAA/chunks/0",
     {"Authorization": "Bearer not-a-token"}, 400),
    ("/api/v1/shares/bad-id/chunks/0", {"Authorization": f"Bearer {b64u(b'o' * 32)}"}, 404),
])
def test_refused_chunk_leaves_the_connection_usable(service, path, headers, status):
    connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=30)
    try:
        connection.request("PUT", path, body=b"x" * (1024 * 1024), headers=headers)
        refused = connection.getresponse()
        refused.read()
        assert refused.status == status
        connection.request("GET", "/healthz")  # the same connection, reused
        follow_up = connection.getresponse()
        assert follow_up.status == 200 and b'"ok"' in follow_up.read()
    finally:
        connection.close()
