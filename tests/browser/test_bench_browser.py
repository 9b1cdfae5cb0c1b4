"""The browser benchmark runs end to end on a small file, so it cannot rot between measurements.

It drives its own Chromium without Playwright (bench/bare_chromium.py); here it must still pick
the file, share it, download it in a second context and find the saved bytes identical, which
bench_browser asserts itself. The figures are not checked: performance lives in the benchmark.
"""

import re

from bench import bench_browser
from bench.bare_chromium import DevToolsError
from tests.support import missing_part

ROWS = ("raw crypto.subtle AES-GCM, 64 KiB calls", "raw file read", "raw fetch PUT",
        "raw fetch GET", "raw service worker save", "raw fetch GET saved", "encrypt and upload",
        "download and decrypt")


def test_the_browser_benchmark_round_trips_a_file_and_prints_every_row(capsys, monkeypatch):
    monkeypatch.setattr(bench_browser, "SETTLE_SECONDS", 0)
    try:
        bench_browser.main(["--size-mib", "8"])
    except (DevToolsError, FileNotFoundError) as error:
        if "did not open" in str(error) or isinstance(error, FileNotFoundError):
            missing_part(f"Chromium cannot start for the benchmark: {error}")
        raise
    out = capsys.readouterr().out
    table, by_process = out.split("Chromium CPU ms/MiB by process")
    assert "Server: the default deployment" in table
    for way in ("upload", "download"):
        assert re.search(rf"^page {way}: \d+ MiB/s, raw fetch \d+ MiB/s, ratio [\d.]+", table, re.M)
    assert re.search(r"^page upload against reading the file, .* \(computed: \d+ MiB/s\): [\d.]+$",
                     table, re.M)
    assert "renderer" in by_process
    for row in ROWS:
        match = re.search(rf"^\| {re.escape(row)}[^|]* \| ([\d.]+) \| (\d+) \|", table, re.M)
        assert match, f"no row for {row!r} in:\n{table}"
        # Seconds can print as 0.000 for the fastest row on a fast machine; the rate cannot.
        assert float(match.group(1)) >= 0 and int(match.group(2)) > 0
    heaps = re.findall(r"^\| (?:encrypt and upload|download and decrypt).* \| ([\d.]+) \|$",
                       table, re.M)
    assert len(heaps) == 2, table
