"""axe-core for the browser tests: fetched once by npm into a cache directory, never shipped.

axe-core is a test dependency only: it is installed with npm (pinned below) into
`$XDG_CACHE_HOME/onetimeshare-tests/` (or `~/.cache/…`), and evaluated in the page by Playwright,
which is not subject to the page's Content Security Policy, so the page stays as strict as it is.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

AXE_VERSION = "4.11.0"
#: What fails a test: axe's two highest impacts. Moderate and minor findings are reported only.
FAILING_IMPACTS = ("serious", "critical")


def cache_dir():
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "onetimeshare-tests" / f"axe-core-{AXE_VERSION}"


def axe_source(missing_part):
    """Return axe.min.js, installing axe-core with npm on first use."""
    prefix = cache_dir()
    script = prefix / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        if npm is None:
            missing_part("npm is not installed, so axe-core cannot be fetched")
        prefix.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--no-save",
             f"axe-core@{AXE_VERSION}"], capture_output=True, text=True, timeout=300)
        if result.returncode != 0 or not script.exists():
            missing_part(f"npm could not install axe-core: {result.stderr[-500:]}")
    return script.read_text(encoding="utf-8")


def violations(page, source):
    """Run axe on the page as it is now; return the serious and critical violations, readable."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(source + "\n;true")
    results = page.evaluate("""() => axe.run(document, {
        resultTypes: ['violations'],
        runOnly: { type: 'tag',
                   values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
    })""")
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"],
         "nodes": [{"target": n["target"], "summary": n.get("failureSummary", "")[:300]}
                   for n in v["nodes"][:5]]}
        for v in results["violations"] if v["impact"] in FAILING_IMPACTS
    ]


def describe(found):
    return json.dumps(found, indent=1, ensure_ascii=False)
