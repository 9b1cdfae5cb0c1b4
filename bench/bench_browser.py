"""Measure encrypt-and-upload and download-and-decrypt throughput in headless Chromium.

Runs against the default deployment (`onetimeshare serve` as shipped: embedded Valkey with its
append-only file, gevent workers, rate limits and the access log on; bench/default_deployment.py),
with only UPLOAD_BYTES_PER_IP_PER_HOUR raised, since the benchmark's one address uploads what
many users would. --bench-setup runs the older bench setup instead (the system redis-server
without persistence, so CLAIM_DURABILITY none; rate limits and the access log off), to compare.

A file of --size-mib is picked through the sender page's file input and shared (downloads = 1);
a second browser context opens the link and downloads it through the recipient page, and the
saved file's SHA-256 is checked. Timed from the click to the link shown, and from the click to
the download complete on disk.

Baselines, measured in the same browser in the same run (bench/browser_baselines.js):
raw `crypto.subtle` AES-GCM over the same number of bytes, one call at a time, in 64 KiB and in
1 MiB buffers; reading the same file to the end through `File.stream()`; the raw transport, the
same API calls with no crypto and no streams (PUT the bytes in chunk-size bodies two at a time,
just before the page's upload; GET them back, just before the page's download); and the page's
own way of saving (service worker and download manager) fed bytes already in memory. The page's
upload and download are given as a ratio of the raw fetch the same way (target >= 0.8); the
upload also against its three parts at their raw speeds, one after the other. Every step also
gives the CPU ms per MiB of the web workers, the Redis server (its AOF rewrites apart) and
Chromium (all its processes), and the page's steps each tab's peak JS heap. Chromium is driven
without Playwright: see bench/bare_chromium.py for why.

    .venv/bin/python bench/bench_browser.py --size-mib 256 [--bench-setup]
"""

import argparse
import json
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bare_chromium import BareChromium  # noqa: E402
from bench.default_deployment import (  # noqa: E402
    RAISED_LIMIT_NOTE,
    cpu_seconds,
    default_server,
    groups,
)
from devtools.files import sha256_of, write_random_file  # noqa: E402
from devtools.processes import GunicornProcess, RedisProcess  # noqa: E402

MIB = 1024 * 1024
BASELINES = (Path(__file__).parent / "browser_baselines.js").read_text()
TIMEOUT = 600
SETTLE_SECONDS = 2
PAGE_RATIO = 0.8
RAW_PUT = "raw fetch PUT, chunk-size bodies, 2 in flight"
RAW_READ = "raw file read, File.stream() to the end"
RAW_SLICES = "raw file read, Blob.slice().arrayBuffer() per chunk"
RAW_GET = "raw fetch GET, body read to the end"
RAW_GET_SAVED = "raw fetch GET saved through the service worker"
UPLOAD = "encrypt and upload (click to link)"
DOWNLOAD = "download and decrypt (click to saved)"
CPU_LABELS = {"web": "web ms/MiB", "valkey": "Redis ms/MiB", "rewrites": "AOF rewrites ms/MiB",
              "chromium": "Chromium ms/MiB"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--bench-setup", action="store_true",
                        help="run against the older bench setup (no persistence, rate limits "
                             "and access log off) instead of the default deployment")
    args = parser.parse_args(argv)
    size = args.size_mib * MIB
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path, expected = write_random_file(tmp / "payload.bin", args.size_mib)
        serve = bench_setup(tmp, size) if args.bench_setup else default_deployment()
        with serve as (url, processes, described):
            browser = None
            try:
                browser = BareChromium()
                processes["chromium"] = [("tree", psutil.Process(browser.process.pid))]
                rows, chunk_size = run(browser, url, processes, path, size, expected,
                                       tmp / "downloads")
                print(f"{browser.version}, nproc {os.cpu_count()}, load average "
                      f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at start (a shared "
                      f"machine: MiB/s moves with the neighbours' load, CPU ms/MiB less), "
                      f"{args.size_mib} MiB, chunk size {chunk_size // MIB} MiB, "
                      f"record size 64 KiB\n\nServer: {described}\n")
            finally:
                if browser is not None:
                    browser.close()
    print_table(rows, size)


@contextmanager
def default_deployment():
    """Yield (url, process groups, description) of `onetimeshare serve` as shipped."""
    with default_server() as (url, _, master):
        processes = groups(master)
        del processes["client"]  # this process only drives Chromium
        yield url, processes, f"the default deployment, `onetimeshare serve`; {RAISED_LIMIT_NOTE}"


@contextmanager
def bench_setup(tmp, size):
    """Yield (url, process groups, description) of the older bench setup, to compare."""
    redis = RedisProcess(tmp / "redis").start()
    server = None
    try:
        server = GunicornProcess(redis.url, workers=2, env={
            "MAX_SHARE_BYTES": str(size + 64 * MIB), "RATE_LIMITS_ENABLED": "0",
            "ACCESS_LOG": "0", "CLAIM_DURABILITY": "none"}).start()  # nothing to persist to
        master = psutil.Process(server.process.pid)
        redis_process = psutil.Process(redis.process.pid)
        yield server.url, {
            "web": master.children(), "valkey": [redis_process],
            "rewrites": [("children", redis_process)],
        }, ("the bench setup: the system redis-server without persistence (CLAIM_DURABILITY "
            "none), 2 gunicorn workers, rate limits and the access log off")
    finally:
        if server is not None:
            server.stop()
        redis.stop()


def run(browser, base_url, processes, path, size, expected, download_dir):
    """Return the rows [(name, seconds, baseline name, CPU ms/MiB by label, peak heap or None)]
    and the chunk size."""
    download_dir.mkdir()
    sender = browser.new_page(f"{base_url}/")
    sender.wait_for("document.querySelectorAll('#expiry option').length > 0")
    sender.evaluate(f"window.baselines = {BASELINES}")
    rows = []

    def step(name, action, baseline=None, heap=None):
        """Run `action` (returning seconds, or None to be timed here) and keep its row."""
        settle()
        before = cpu_by_label(processes)
        started = time.perf_counter()
        seconds = action() or time.perf_counter() - started
        after = cpu_by_label(processes)
        cpu = {label: 1000 * (after[label] - before[label]) / (size / MIB) for label in after}
        rows.append((name, seconds, baseline, cpu, max(heap, default=None) if heap else None))

    # Warm-up, untimed: every web worker imports, loads its scripts, opens its connections.
    for _ in range(2):
        sender.evaluate("baselines.rawUpload(16 * 1024 * 1024).then(() => baselines.rawDownload())")
    for buffer in (64 * 1024, MIB):
        step(f"raw crypto.subtle AES-GCM, {buffer // 1024} KiB calls",
             lambda b=buffer: sender.evaluate(f"baselines.aesGcm({size}, {b})"))
    chunk_size = sender.evaluate("fetch('/api/v1/config').then((r) => r.json())")["chunk_size"]

    # The same file through an input of its own, so the page's state is left alone.
    sender.evaluate("document.body.append(Object.assign(document.createElement('input'), "
                    "{type: 'file', id: 'bench-file', hidden: true}))")
    sender.set_input_file("#bench-file", path)
    step(RAW_READ, lambda: sender.evaluate("baselines.fileRead('#bench-file')"))
    step(RAW_SLICES,
         lambda: sender.evaluate(f"baselines.fileSlices('#bench-file', {chunk_size})"))
    step(RAW_PUT, lambda: sender.evaluate(f"baselines.rawUpload({size})"))
    sender.set_input_file("#file-input", path)
    sender.wait_for(sender.visible("#selection"))
    heap = []

    def upload():
        sender.click("#share-button")
        sender.wait_for(sender.visible("#result"), TIMEOUT,
                        during=lambda: heap.append(sender.heap_used()))

    step(UPLOAD, upload, RAW_PUT, heap)
    link = sender.evaluate("document.querySelector('#share-link').value")
    step(RAW_GET, lambda: sender.evaluate("baselines.rawDownload()"))

    recipient = browser.new_page(link, download_dir=download_dir)
    recipient.wait_for(recipient.visible("#offer"))
    recipient.evaluate(f"window.baselines = {BASELINES}")

    def save_from_memory():
        recipient.evaluate(f"baselines.serviceWorkerSave({size})")
        wait_for_downloads(browser, 1)

    step("raw service worker save, bytes already in memory", save_from_memory)
    recipient.evaluate(f"baselines.rawUpload({size})")  # untimed: a share to fetch

    def fetch_and_save():
        recipient.evaluate("baselines.rawDownloadSaved()")
        wait_for_downloads(browser, 2)

    step(RAW_GET_SAVED, fetch_and_save)

    heap = []

    def download():
        recipient.click("#claim")
        recipient.wait_for(f"{recipient.visible('#done')} || {recipient.visible('#problem')}",
                           TIMEOUT, during=lambda: heap.append(recipient.heap_used()))
        problem = recipient.evaluate("document.querySelector('#problem').checkVisibility() && "
                                     "document.querySelector('#problem').innerText")
        assert not problem, f"the download failed: {problem}"
        wait_for_downloads(browser, 3)

    step(DOWNLOAD, download, RAW_GET, heap)
    saved = browser.completed_downloads()[2]
    assert sha256_of(download_dir / saved) == expected, "the saved file differs"
    return rows, chunk_size


def cpu_by_label(processes):
    """CPU seconds so far of each process group; ("tree", p) counts p and its live descendants
    (Chromium's browser, GPU, network and renderer processes)."""
    totals = {}
    for label, members in processes.items():
        plain = [m for m in members if not (isinstance(m, tuple) and m[0] == "tree")]
        total = cpu_seconds(plain)
        for _, root in (m for m in members if isinstance(m, tuple) and m[0] == "tree"):
            for proc in [root, *root.children(recursive=True)]:
                seconds = cpu_seconds([proc])
                total += seconds
                kind = f"{label}: {process_kind(proc)}"
                totals[kind] = totals.get(kind, 0.0) + seconds
        totals[label] = total
    return totals


def process_kind(proc):
    """Name a Chromium process by its --type (renderer, gpu-process, utility: network, ...)."""
    try:
        args = proc.cmdline()
    except psutil.NoSuchProcess:
        return "gone"
    kind = next((a.split("=", 1)[1] for a in args if a.startswith("--type=")), "browser")
    sub = next((a.split("=", 1)[1] for a in args if a.startswith("--utility-sub-type=")), "")
    return f"{kind} {sub.rsplit('.', 1)[-1]}".strip() if sub else kind


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
    rates = {name: size / MIB / seconds for name, seconds, *_ in rows}
    crypto = rates[rows[0][0]]
    labels = [label for label in CPU_LABELS if label in rows[0][3]]  # not the split by kind
    print("| measurement | seconds | MiB/s | ratio to raw AES-GCM 64 KiB "
          "| ratio to raw fetch, same way | " + " | ".join(CPU_LABELS[k] for k in labels)
          + " | peak JS heap MiB |")
    print("|---|--:|--:|--:|--:|" + "--:|" * len(labels) + "--:|")
    for name, seconds, transport, cpu, heap in rows:
        rate = rates[name]
        print(f"| {name} | {seconds:.3f} | {rate:.0f} | {rate / crypto:.2f} | "
              f"{f'{rate / rates[transport]:.2f}' if transport else ''} | "
              + "".join(f"{cpu[label]:.2f} | " for label in labels)
              + f"{f'{heap / MIB:.1f}' if heap is not None else ''} |")
    print()
    for name, transport, way in ((UPLOAD, RAW_PUT, "upload"), (DOWNLOAD, RAW_GET, "download")):
        ratio = rates[name] / rates[transport]
        print(f"page {way}: {rates[name]:.0f} MiB/s, raw fetch {rates[transport]:.0f} MiB/s, "
              f"ratio {ratio:.2f} (target >= {PAGE_RATIO}: "
              f"{'met' if ratio >= PAGE_RATIO else 'NOT met'})")
    # The upload's three parts, each at its raw speed, one after the other: the page overlaps
    # them, but on two cores shared with the server they mostly take turns.
    parts = rates[RAW_READ], crypto, rates[RAW_PUT]
    bound = 1 / sum(1 / rate for rate in parts)
    print(f"page upload against reading the file, raw AES-GCM and the raw PUT one after the "
          f"other (computed: {bound:.0f} MiB/s): {rates[UPLOAD] / bound:.2f}")
    print(f"page download against a raw fetch GET saved the page's way: "
          f"{rates[DOWNLOAD] / rates[RAW_GET_SAVED]:.2f}")
    kinds = sorted({k for row in rows for k in row[3] if ": " in k})
    print("\nChromium CPU ms/MiB by process (--type):\n")
    print("| measurement | " + " | ".join(k.split(": ", 1)[1] for k in kinds) + " |")
    print("|---|" + "--:|" * len(kinds))
    for name, _, _, cpu, _ in rows:
        print(f"| {name} | " + " | ".join(f"{cpu.get(k, 0):.2f}" for k in kinds) + " |")
    print()
    print(json.dumps({name: round(rate, 1) for name, rate in rates.items()}))


if __name__ == "__main__":
    main()
