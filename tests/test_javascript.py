"""Run the browser modules' unit tests (tests/js/*.test.mjs) in Node's test runner.

They check the JavaScript protocol implementation against the same vectors as the Python one,
with Node's WebCrypto. With CI=true a missing Node fails the run instead of skipping it.
"""

import shutil
import subprocess

from devtools.processes import ROOT
from tests.support import missing_part

MIN_NODE_MAJOR = 20


def node_binary():
    node = shutil.which("node")
    if node is None:
        missing_part("node is not installed")
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout
    if int(version.lstrip("v").split(".")[0]) < MIN_NODE_MAJOR:
        missing_part(f"node {version.strip()} is older than {MIN_NODE_MAJOR}")
    return node


def test_javascript_unit_tests_pass():
    tests = sorted(str(path) for path in (ROOT / "tests" / "js").glob("*.test.mjs"))
    assert tests, "no JavaScript tests found in tests/js"
    result = subprocess.run([node_binary(), "--test", *tests], cwd=ROOT, capture_output=True,
                            text=True, timeout=600)
    summary = [line for line in result.stdout.splitlines() if line.startswith("# ")]
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    assert any(line.startswith("# pass") and int(line.split()[-1]) > 0 for line in summary), summary
    assert "# fail 0" in summary, summary
