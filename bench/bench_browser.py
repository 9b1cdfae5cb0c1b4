"""Measure encrypt-and-upload and download-and-decrypt throughput in headless Chromium.

A file of --size-mib is picked through the sender page's file input and shared (downloads = 1);
a second browser context opens the link and downloads it through the recipient page, and the
saved file's SHA-256 is checked. Timed from the click to the link shown, and from the click to
the download complete on disk.

Baselines, measured in the same browser in the same run (bench/browser_baselines.js):
raw `crypto.subtle` AES-GCM over the same number of bytes, one call at a time, in 64 KiB and in
1 MiB buffers; and the raw transport, the same API calls with no crypto and no streams (PUT the
bytes in chunk-size bodies two at a time, then GET them back); and the page's own way of
saving (service worker and download manager) fed bytes already in memory. Also prints each
tab's peak JS heap. Chromium is driven without Playwright: see bench/bare_chromium.py for why.

    .venv/bin/python bench/bench_browser.py --size-mib 256
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bare_chromium import BareChromium  # noqa: E402
from devtools.files import sha256_of, write_random_file  # noqa: E402
from devtools.processes import GunicornProcess, RedisProcess  # noqa: E402

MIB = 1024 * 1024
BASELINES = (Path(__file__).parent / "browser_baselines.js").read_text()
TIMEOUT = 600
SETTLE_SECONDS = 2


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256)
    args = parser.parse_args(argv)
    size = args.size_mib * MIB
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path, expected = write_random_file(tmp / "payload.bin", args.size_mib)
        redis = RedisProcess(tmp / "redis").start()
        server = GunicornProcess(redis.url, workers=2, threads=8, env={
            "MAX_SHARE_BYTES": str(size + 64 * MIB), "RATE_LIMITS_ENABLED": "0",
            "ACCESS_LOG": "0"}).start()
        browser = None
        try:
            browser = BareChromium()
            rows, chunk_size = run(browser, server.url, path, size, expected, tmp / "downloads")
            print(f"{browser.version}, nproc {os.cpu_count()}, {args.size_mib} MiB, "
                  f"chunk size {chunk_size // MIB} MiB, record size 64 KiB\n")
        finally:
            if browser is not None:
                browser.close()
            server.stop()
            redis.stop()
    print_table(rows, size)


def run(browser, base_url, path, size, expected, download_dir):
    """Return the rows [(name, seconds, baseline name, peak heap or None)] and the chunk size."""
    download_dir.mkdir()
    sender = browser.new_page(f"{base_url}/")
    sender.wait_for("document.querySelectorAll('#expiry option').length > 0")
    sender.evaluate(f"window.baselines = {BASELINES}")
    rows = []
    for buffer in (64 * 1024, MIB):
        seconds = sender.evaluate(f"baselines.aesGcm({size}, {buffer})")
        rows.append((f"raw crypto.subtle AES-GCM, {buffer // 1024} KiB calls", seconds, None, None))
    transport = sender.evaluate(f"baselines.transport({size})")
    rows.append(("raw fetch PUT, chunk-size bodies, 2 in flight", transport["up"], None, None))
    rows.append(("raw fetch GET, body read to the end", transport["down"], None, None))
    chunk_size = sender.evaluate("fetch('/api/v1/config').then((r) => r.json())")["chunk_size"]

    sender.set_input_file("#file-input", path)
    sender.wait_for(sender.visible("#selection"))
    heap = []
    settle()
    started = time.perf_counter()
    sender.click("#share-button")
    sender.wait_for(sender.visible("#result"), TIMEOUT,
                    during=lambda: heap.append(sender.heap_used()))
    rows.append(("encrypt and upload (click to link)", time.perf_counter() - started,
                 "raw fetch PUT, chunk-size bodies, 2 in flight", max(heap, default=None)))
    link = sender.evaluate("document.querySelector('#share-link').value")

    recipient = browser.new_page(link, download_dir=download_dir)
    recipient.wait_for(recipient.visible("#offer"))
    recipient.evaluate(f"window.baselines = {BASELINES}")
    settle()
    started = time.perf_counter()
    recipient.evaluate(f"baselines.serviceWorkerSave({size})")
    wait_for_downloads(browser, 1)
    rows.append(("raw service worker save, bytes already in memory", time.perf_counter() - started,
                 None, None))

    heap = []
    settle()
    started = time.perf_counter()
    recipient.click("#claim")
    recipient.wait_for(f"{recipient.visible('#done')} || {recipient.visible('#problem')}", TIMEOUT,
                       during=lambda: heap.append(recipient.heap_used()))
    problem = recipient.evaluate("document.querySelector('#problem').checkVisibility() && "
                                 "document.querySelector('#problem').innerText")
    assert not problem, f"the download failed: {problem}"
    saved = wait_for_downloads(browser, 2)[1]
    rows.append(("download and decrypt (click to saved)", time.perf_counter() - started,
                 "raw fetch GET, body read to the end", max(heap, default=None)))
    assert sha256_of(download_dir / saved) == expected, "the saved file differs"
    return rows, chunk_size


def settle():
    """Pause before a timed phase: right after a page loads or a transfer ends, Chromium still
    works for a moment (page start, freeing the last transfer), and a phase started at once ran
    up to half as fast."""
    time.sleep(SETTLE_SECONDS)


def wait_for_downloads(browser, count):
    """Wait until `count` downloads have completed; return their guids (file names), in order."""
    deadline = time.monotonic() + TIMEOUT
    while len(done := browser.completed_downloads()) < count:
        assert time.monotonic() < deadline, "the download did not complete"
        time.sleep(0.02)
    return done


def print_table(rows, size):
    rates = {name: size / MIB / seconds for name, seconds, _, _ in rows}
    crypto = rates[rows[0][0]]
    print("| measurement | seconds | MiB/s | ratio to raw AES-GCM 64 KiB "
          "| ratio to raw fetch, same way | peak JS heap MiB |")
    print("|---|--:|--:|--:|--:|--:|")
    for name, seconds, transport, heap in rows:
        rate = rates[name]
        print(f"| {name} | {seconds:.2f} | {rate:.0f} | {rate / crypto:.2f} | "
              f"{f'{rate / rates[transport]:.2f}' if transport else ''} | "
              f"{f'{heap / MIB:.1f}' if heap is not None else ''} |")
    print()
    print(json.dumps({name: round(rate, 1) for name, rate in rates.items()}))


if __name__ == "__main__":
    main()
