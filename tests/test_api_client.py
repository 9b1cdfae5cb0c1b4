"""The API client's error mapping: every stable code to its class, fallbacks, and proofs.

These answers are fed through httpx's MockTransport, because what is checked is the client's
reading of an answer, not the server: the server's own tests walk every code against Redis.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from onetimeshare import api, errors
from onetimeshare.api import PASSWORD_PROOF_HEADER, ShareApi, proof_headers
from onetimeshare.cli_common import EXIT_CODES, Exit, exit_for
from onetimeshare.encoding import b64u_encode

# The table of V2-SPEC / protocol.md, "Error codes": code, status, class.
CODES_TABLE = [
    ("invalid_request", 400, errors.BadRequest),
    ("unsupported_version", 400, errors.BadRequest),
    ("not_found", 404, errors.NotFound),
    ("consumed", 410, errors.Gone),
    ("deleted", 410, errors.Gone),
    ("not_ready", 409, errors.NotReady),
    ("upload_incomplete", 409, errors.NotReady),
    ("not_uploading", 409, errors.BadRequest),
    ("proof_invalid", 403, errors.ProofRejected),
    ("password_required", 403, errors.PasswordRequired),
    ("password_invalid", 403, errors.WrongPassword),
    ("locked", 429, errors.Locked),
    ("rate_limited", 429, errors.RateLimited),
    ("upload_budget", 429, errors.RateLimited),
    ("quota_exceeded", 429, errors.RateLimited),
    ("owner_token_invalid", 403, errors.ProofRejected),
    ("ticket_invalid", 403, errors.ProofRejected),
    ("upload_token_required", 401, errors.UploadTokenRequired),
    ("upload_token_invalid", 403, errors.UploadTokenRequired),
    ("metrics_token_required", 401, errors.BadRequest),
    ("metrics_token_invalid", 403, errors.BadRequest),
    ("metrics_forbidden", 403, errors.BadRequest),
    ("too_large", 413, errors.BadRequest),
    ("range_not_satisfiable", 416, errors.BadRequest),
    ("method_not_allowed", 405, errors.BadRequest),
    ("storage_full", 507, errors.StorageFull),
    ("unavailable", 503, errors.ServerUnavailable),
    ("not_durable", 503, errors.ServerUnavailable),
    ("internal", 500, errors.ServerUnavailable),
]


def answering(status, body=None, headers=None, seen=None):
    """A ShareApi whose every request gets this answer; `seen` collects the requests."""
    def handler(request):
        if seen is not None:
            seen.append(request)
        return httpx.Response(status, json=body, headers=headers)
    return ShareApi("http://share.test", transport=httpx.MockTransport(handler))


def test_the_table_holds_every_code_of_the_spec():
    assert set(errors.API_ERRORS) == {code for code, _, _ in CODES_TABLE}


@pytest.mark.parametrize(("code", "status", "cls"), CODES_TABLE,
                         ids=[code for code, _, _ in CODES_TABLE])
def test_every_code_raises_its_class(code, status, cls):
    body = {"error": "x", "code": code, "message": f"server words for {code}"}
    with answering(status, body) as api, pytest.raises(cls) as raised:
        api.status("A" * 22)
    assert raised.value.status == status and raised.value.code == code
    assert raised.value.message == f"server words for {code}"
    exit_code, message = exit_for(raised.value)
    assert exit_code in set(Exit) - {Exit.OK, Exit.FAILURE}, "every code has a deliberate exit"
    assert message


def test_the_code_decides_not_the_message_or_the_status():
    body = {"code": "deleted", "message": "Already opened."}
    with answering(410, body) as api, pytest.raises(errors.Gone) as raised:
        api.status("A" * 22)
    assert raised.value.reason == "deleted"
    assert "deleted by its sender" in exit_for(raised.value)[1]


@pytest.mark.parametrize(
    ("status", "cls"),
    [(401, errors.UploadTokenRequired), (403, errors.ProofRejected), (404, errors.NotFound),
     (409, errors.NotReady), (410, errors.Gone), (429, errors.RateLimited),
     (418, errors.BadRequest), (507, errors.StorageFull), (500, errors.ServerUnavailable),
     (502, errors.ServerUnavailable)],
)
def test_an_unknown_code_falls_back_by_status(status, cls):
    with answering(status, {"code": "from_the_future", "message": "m"}) as api:
        with pytest.raises(cls):
            api.status("A" * 22)


def test_a_body_that_is_not_json_still_gives_a_typed_error():
    def handler(request):
        return httpx.Response(502, text="<html>Bad Gateway</html>")
    with ShareApi("http://share.test", transport=httpx.MockTransport(handler)) as api:
        with pytest.raises(errors.ServerUnavailable) as raised:
            api.status("A" * 22)
    assert raised.value.code is None and "502" in raised.value.message


def test_wrong_password_carries_attempts_left_and_retry_after_is_read():
    body = {"code": "password_invalid", "message": "Wrong password.", "attempts_left": 3}
    with answering(403, body) as api, pytest.raises(errors.WrongPassword) as raised:
        api.unlock("A" * 22, bytes(32), bytes(32))
    assert raised.value.attempts_left == 3
    assert "3 attempts left" in exit_for(raised.value)[1]
    with answering(429, {"code": "locked", "message": "m"}, {"Retry-After": "42"}) as api:
        with pytest.raises(errors.Locked) as locked:
            api.claim("A" * 22, bytes(32), bytes(32))
    assert locked.value.retry_after == 42
    assert exit_for(locked.value) == (Exit.PASSWORD, "too many wrong passwords: this share is "
                                      "locked for now (nothing was consumed); try again in 42 "
                                      "seconds")


def test_a_network_failure_is_server_unavailable():
    with ShareApi("http://127.0.0.1:9") as api, pytest.raises(errors.ServerUnavailable) as raised:
        api.config()
    assert raised.value.status is None and raised.value.code == errors.NETWORK_CODE
    assert exit_for(raised.value)[0] == Exit.SERVER


def test_unlock_and_claim_send_both_proofs_in_headers_only():
    seen = []
    access, password = bytes(range(32)), bytes(range(32, 64))
    with answering(200, {"metadata": "x"}, seen=seen) as api:
        api.unlock("A" * 22, access, password)
        api.claim("A" * 22, access)
    unlock, claim = seen
    assert unlock.url.path == "/api/v1/shares/AAAAAAAAAAAAAAAAAAAAAA/unlock"
    assert unlock.headers["Authorization"] == f"Bearer {b64u_encode(access)}"
    assert unlock.headers[PASSWORD_PROOF_HEADER] == b64u_encode(password)
    assert PASSWORD_PROOF_HEADER not in claim.headers
    assert not unlock.url.query and not claim.url.query
    assert proof_headers(access) == {"Authorization": f"Bearer {b64u_encode(access)}"}


def test_the_upload_token_goes_with_create_only():
    seen = []
    with answering(200, {}, seen=seen) as api:
        api.upload_token = "operator-token"
        api.create(version=2)
        api.status("A" * 22)
    create, status = seen
    assert create.headers["Authorization"] == "Bearer operator-token"
    assert "Authorization" not in status.headers


@pytest.mark.parametrize("code", ["upload_token_required", "upload_token_invalid"])
def test_upload_token_refusals_say_how_to_set_it(code):
    error = errors.api_error(401 if code.endswith("required") else 403, code, "m")
    exit_code, message = exit_for(error)
    assert exit_code == Exit.USAGE and "ONETIMESHARE_UPLOAD_TOKEN" in message


def test_exit_table_names_only_classes_of_the_tree_or_codes_of_the_table():
    for key in EXIT_CODES:
        if isinstance(key, str):
            assert key in errors.API_ERRORS
        else:
            assert issubclass(key, errors.OneTimeShareError) or key is OSError


def test_every_error_class_is_in_the_docstring_tree():
    classes = [value for value in vars(errors).values()
               if isinstance(value, type) and issubclass(value, errors.OneTimeShareError)]
    for cls in classes:
        assert cls.__name__ in errors.__doc__, cls.__name__
    assert len(classes) == 20


def test_protocol_md_lists_every_code_the_server_and_the_client_know():
    """The document's table is the contract: the server's codes and the client's table agree."""
    from server.errors import CODES

    text = (Path(__file__).resolve().parent.parent / "docs" / "protocol.md").read_text()
    section = text[text.index("### 7.1 Error codes"):text.index("## 8. Storage")]
    documented = dict(re.findall(r"^\| `([a-z_]+)` \| (\d{3}) \|", section, re.MULTILINE))
    assert set(documented) == set(errors.API_ERRORS) == set(CODES)
    assert {code: int(status) for code, status in documented.items()} == CODES
    for code, _, cls in CODES_TABLE:
        assert f"| `{code}` |" in section and cls.__name__ in section


def test_starting_the_client_does_not_import_httpx_own_command_line_tool():
    # httpx imports its CLI (click, pygments, rich) whenever they are installed: ~110 ms of
    # every `onetimeshare` start for nothing (docs/performance.md, what limits it, item 4).
    probe = ("import sys, onetimeshare.cli; "
             "print(sorted(m for m in ('click', 'pygments', 'rich') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == "[]"


def test_responses_are_read_in_large_pieces():
    # httpcore reads 64 KiB per call by default: 64 reads, each through h11's buffer, for every
    # 4 MiB chunk of a download (docs/performance.md, what limits it, item 4).
    import http.server
    import threading

    body = os.urandom(3 * 1024 * 1024)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with httpx.Client() as http, http.stream(
                "GET", f"http://127.0.0.1:{server.server_port}/") as response:
            pieces = list(response.iter_raw())
    finally:
        server.shutdown()
        server.server_close()
    assert b"".join(pieces) == body
    assert api.RESPONSE_READ_BYTES >= 1024 * 1024
    assert max(len(piece) for piece in pieces) > 64 * 1024


def _trust_store_loads(monkeypatch):
    """Count the trust-store loads of every TLS context made from now on."""
    import ssl

    loads = []
    for name in ("load_verify_locations", "load_default_certs", "set_default_verify_paths"):
        original = getattr(ssl.SSLContext, name)

        def counted(self, *args, _original=original, _name=name, **kwargs):
            loads.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(ssl.SSLContext, name, counted)
    return loads


def test_a_client_of_a_plain_http_server_loads_no_trust_store(monkeypatch):
    # Loading ~120 CA certificates cost 20-35 ms of every command's start, for a server the
    # client never reaches over TLS (docs/performance.md).
    loads = _trust_store_loads(monkeypatch)
    ShareApi("http://127.0.0.1:9").close()
    ShareApi("HTTP://127.0.0.1:9/").close()
    assert loads == []
    ShareApi("https://share.test").close()
    assert loads, "an https server must still be verified against the trust store"


def test_the_plain_http_clients_tls_context_refuses_every_certificate():
    # Were it ever used for TLS, the context must fail closed: verification on, nothing trusted.
    import ssl

    context = api.tls_options("http://share.test")["verify"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 0
    assert api.tls_options("https://share.test") == {}
