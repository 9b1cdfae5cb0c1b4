"""Measure encrypt-and-upload and download-and-decrypt throughput in headless Chromium.

A file of --size-mib is picked through the sender page's file input and shared; a second browser
context downloads it through the recipient page. The baseline is raw `crypto.subtle` AES-GCM
encryption of the same number of bytes, one call at a time, in 64 KiB and in 1 MiB buffers,
measured in the same browser in the same run. Also prints the peak JS heap of each tab.

    .venv/bin/python bench/bench_browser.py --size-mib 256
"""

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.browser.actions import path_of  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.browser.test_large_file import sha256_of, wait_sampling  # noqa: E402
from tests.processes import GunicornProcess, RedisProcess  # noqa: E402

MIB = 1024 * 1024

RAW_AES_GCM = """async ([total, size]) => {
  const key = await crypto.subtle.generateKey({name: 'AES-GCM', length: 128}, false, ['encrypt']);
  const data = new Uint8Array(size);
  crypto.getRandomValues(data.subarray(0, Math.min(size, 65536)));
  const iv = new Uint8Array(12);
  const started = performance.now();
  for (let done = 0, n = 0; done < total; done += size, n++) {
    new DataView(iv.buffer).setUint32(8, n);
    await crypto.subtle.encrypt({name: 'AES-GCM', iv}, key, data);
  }
  return (performance.now() - started) / 1000;
}"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256)
    args = parser.parse_args()
    size = args.size_mib * MIB
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "payload.bin"
        digest = hashlib.sha256()
        with open(path, "wb") as out:
            for _ in range(args.size_mib):
                block = os.urandom(MIB)
                digest.update(block)
                out.write(block)
        redis = RedisProcess(Path(tmp) / "redis").start()
        server = GunicornProcess(redis.url, workers=2, threads=8, env={
            "MAX_SHARE_BYTES": str(size + 64 * MIB), "RATE_LIMITS_ENABLED": "0",
            "ACCESS_LOG": "0"}).start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM if os.path.exists(CHROMIUM) else None,
                    args=CHROMIUM_ARGS, headless=True)
                rows = run(browser, server.url, path, size, digest.hexdigest())
                print(f"chromium {browser.version}, nproc {os.cpu_count()}, "
                      f"{args.size_mib} MiB, chunk size {4} MiB, record size 64 KiB\n")
                browser.close()
        finally:
            server.stop()
            redis.stop()
    print("| measurement | seconds | MiB/s | ratio to raw AES-GCM 64 KiB | peak JS heap MiB |")
    print("|---|--:|--:|--:|--:|")
    base = rows[0][2]
    for name, seconds, rate, heap in rows:
        heap_text = f"{heap / MIB:.1f}" if heap is not None else ""
        print(f"| {name} | {seconds:.2f} | {rate:.0f} | {rate / base:.2f} | {heap_text} |")


def run(browser, base_url, path, size, expected):
    sender = browser.new_context(base_url=base_url, accept_downloads=True)
    recipient = browser.new_context(base_url=base_url, accept_downloads=True)
    page = sender.new_page()
    cdp = sender.new_cdp_session(page)
    cdp.send("Performance.enable")
    page.goto("/")
    expect(page.locator("#expiry option")).not_to_have_count(0)
    rows = []
    for buffer in (64 * 1024, MIB):
        seconds = page.evaluate(RAW_AES_GCM, [size, buffer])
        rows.append((f"raw crypto.subtle AES-GCM, {buffer // 1024} KiB calls", seconds,
                     size / MIB / seconds, None))
    page.set_input_files("#file-input", str(path))
    samples = []
    started = time.perf_counter()
    page.click("#share-button")
    wait_sampling(page, cdp, "#result", samples)
    seconds = time.perf_counter() - started
    rows.append(("encrypt and upload (click to link)", seconds, size / MIB / seconds,
                 max(samples)))
    link = page.input_value("#share-link")
    offer = recipient.new_page()
    cdp2 = recipient.new_cdp_session(offer)
    cdp2.send("Performance.enable")
    offer.goto(path_of(link))
    expect(offer.locator("#offer")).to_be_visible()
    samples = []
    started = time.perf_counter()
    with offer.expect_download(timeout=600_000) as info:
        offer.click("#claim")
    wait_sampling(offer, cdp2, "#done", samples)
    saved = info.value
    saved.path()
    seconds = time.perf_counter() - started
    rows.append(("download and decrypt (click to saved)", seconds, size / MIB / seconds,
                 max(samples)))
    assert sha256_of(saved.path()) == expected, "downloaded bytes differ"
    sender.close()
    recipient.close()
    return rows


if __name__ == "__main__":
    main()
