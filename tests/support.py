"""What the tests share that is not a fixture: the repository root, the test settings, and the
rule that a missing part fails in CI (conftest.py holds the fixtures and imports these)."""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"

#: The settings every in-process app and test gunicorn starts from.
TEST_CONFIG = {
    "CHUNK_SIZE": 64 * 1024,
    "MAX_SHARE_BYTES": 8 * 1024 * 1024,
    "MAX_DOWNLOADS": 10,
    "CLAIM_IDLE_SECONDS": 30,
    "PROOF_FAILURES_MAX": 5,
    "PROOF_FAILURE_WINDOW": 60,
    # Every test client shares one address; tests/test_limits.py turns the limits on itself.
    "RATE_LIMITS_ENABLED": 0,
}


#: The address the in-process client (`share_api`) talks to: httpx's WSGITransport hands every
#: request to the app in this process, so no name is looked up and no socket is opened.
IN_PROCESS_URL = "http://share.test"


def missing_part(reason):
    """Fail in CI, skip elsewhere: a missing part must never pass silently in CI."""
    if IN_CI:
        pytest.fail(f"CI=true and a required part is missing: {reason}")
    pytest.skip(reason)
