"""Measure the CLI end to end against magic-wormhole, the one encrypted-transfer peer run here.

An engineer choosing a tool asks how long a file takes from one person to the other. This times
that for `onetimeshare send` then `onetimeshare get` (through `onetimeshare serve` as shipped,
bench/default_deployment.py), and for `wormhole send` and `wormhole receive` through their own
mailbox server and transit relay, all on this machine. Neither Firefox Send, PrivateBin nor
Yopass is packaged for it (Debian, PyPI or npm), so the page has no peer to be set beside;
magic-wormhole, its servers included, is in Debian:

    apt-get install magic-wormhole python3-magic-wormhole-mailbox-server \\
        magic-wormhole-transit-relay

The two do not promise the same thing, and the table says so rather than hiding it:

- wormhole needs both people online at once and streams sender to recipient; onetimeshare stores
  the ciphertext, so the recipient may come days later. Its end to end is the `send`, then the
  `get` (any gap between them left out).
- wormhole runs with `--no-listen` on both sides, so its bytes go through its transit relay on
  127.0.0.1 (one hop, like the service), never over a direct connection to another interface.
- `get` fsyncs the file before it reports success (the share is spent: the file is the only copy
  left); wormhole renames its file into place without an fsync. `get -o -` into /dev/null is
  timed too, to show the CLI's cost without the file.

Each repeat runs both, alternating which goes first; the same random file, checked by SHA-256 at
the other end. MiB/s is the file's size over the wall time from the first command's start to the
last one's exit; CPU ms/MiB is summed per side (the two CLI processes; the servers).

    python bench/bench_peer.py [--size-mib 128] [--repeat 3]
"""

import argparse
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_default import cli_send, median, run_cli_get  # noqa: E402
from bench.default_deployment import (  # noqa: E402
    RAISED_LIMIT_NOTE,
    cpu_seconds,
    default_server,
    groups,
)
from devtools.files import sha256_of  # noqa: E402
from devtools.processes import free_port, stop  # noqa: E402

MIB = 1024 * 1024
#: Debian's python3, which holds the mailbox server's and the relay's twisted plugins.
SYSTEM_PYTHON = "/usr/bin/python3"
WORMHOLE = shutil.which("wormhole") or "/usr/bin/wormhole"


def children_cpu():
    """CPU seconds of this process's reaped children: the CLI processes of one step."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def start_wormhole_servers(work):
    """Start magic-wormhole's mailbox server and transit relay on loopback; return
    (mailbox url, relay hint, [processes])."""
    mailbox_port, relay_port = free_port(), free_port()
    log = open(Path(work) / "wormhole-servers.log", "wb")
    plugins = [
        ["wormhole-mailbox", "--port", f"tcp:{mailbox_port}:interface=127.0.0.1",
         "--channel-db", str(Path(work) / "mailbox.sqlite")],
        ["transitrelay", "--port", f"tcp:{relay_port}:interface=127.0.0.1"],
    ]
    processes = [subprocess.Popen([SYSTEM_PYTHON, "-m", "twisted", *plugin], cwd=work,
                                  stdout=log, stderr=log, stdin=subprocess.DEVNULL)
                 for plugin in plugins]
    for port in (mailbox_port, relay_port):
        wait_for_port(port, processes)
    return (f"ws://127.0.0.1:{mailbox_port}/v1", f"tcp:127.0.0.1:{relay_port}", processes)


def wait_for_port(port, processes, timeout=30):
    """Wait until 127.0.0.1:`port` accepts connections (a server of `processes` is up)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                raise RuntimeError(f"a wormhole server did not start on port {port}") from None
            time.sleep(0.1)


def wormhole_transfer(mailbox, relay, source, out_dir, code):
    """`wormhole send` and `wormhole receive` at once, relay only; return the received path."""
    base = [WORMHOLE, "--relay-url", mailbox, "--transit-helper", relay]
    sender = subprocess.Popen([*base, "send", "--no-listen", "--code", code, str(source)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL)
    received = subprocess.run([*base, "receive", "--no-listen", "--accept-file", code],
                              cwd=out_dir, capture_output=True, stdin=subprocess.DEVNULL)
    _, sender_err = sender.communicate(timeout=120)
    if received.returncode or sender.returncode:
        raise RuntimeError(f"wormhole failed: {received.stderr[-500:]!r} {sender_err[-500:]!r}")
    return Path(out_dir) / source.name


def onetimeshare_transfer(url, source, out_dir, to_stdout=False):
    """`onetimeshare send`, then `onetimeshare get` (to a file, or `-o -` into /dev/null);
    return the received path (None for stdout)."""
    target = None if to_stdout else Path(out_dir) / "received"
    run_cli_get(cli_send(url, source), "-" if to_stdout else target)
    return target


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=128, help="file size (default 128)")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved repeats (default 3)")
    args = parser.parse_args()
    if not Path(WORMHOLE).exists():
        sys.exit("magic-wormhole is not installed: see this script's docstring")
    size = args.size_mib * MIB
    load = os.getloadavg()
    print(f"# End to end against magic-wormhole: {args.size_mib} MiB, {args.repeat} repeat(s)\n")
    print(f"nproc {os.cpu_count()}, load average {load[0]:.1f} at start; {RAISED_LIMIT_NOTE}\n")
    work = tempfile.mkdtemp(prefix="ots-bench-peer-")
    wormhole_servers = []
    try:
        mailbox, relay, wormhole_servers = start_wormhole_servers(work)
        source = Path(work) / "payload.bin"
        with open(source, "wb") as out:
            for _ in range(args.size_mib):
                out.write(os.urandom(MIB))
        expected = sha256_of(source)
        results = {}
        with default_server() as (url, _, master):
            procs = groups(master)
            service = procs["web"] + procs["valkey"]
            peers = [psutil.Process(p.pid) for p in wormhole_servers]
            codes = iter(range(2, 10_000))  # a fresh wormhole code for each transfer
            steps = {
                "onetimeshare send, then get (file, fsync)":
                    (service, lambda out: onetimeshare_transfer(url, source, out)),
                "onetimeshare send, then get -o - (to /dev/null)":
                    (service, lambda out: onetimeshare_transfer(url, source, out, True)),
                "wormhole send and receive (relay, no fsync)":
                    (peers, lambda out: wormhole_transfer(
                        mailbox, relay, source, out, f"{next(codes)}-bench-peer")),
            }
            onetimeshare_transfer(url, source, work, True)  # warm-up: workers import, connect
            for repeat in range(args.repeat):
                order = list(steps) if repeat % 2 == 0 else list(reversed(steps))
                for name in order:
                    servers, transfer = steps[name]
                    out_dir = tempfile.mkdtemp(dir=work)
                    clients0, servers0 = children_cpu(), cpu_seconds(servers)
                    started = time.perf_counter()
                    received = transfer(out_dir)
                    wall = time.perf_counter() - started
                    clients, server_cpu = children_cpu() - clients0, cpu_seconds(servers) - servers0
                    if received is not None and sha256_of(received) != expected:
                        raise AssertionError(f"{name}: the received file differs")
                    shutil.rmtree(out_dir)
                    results.setdefault(name, []).append(
                        (size / MIB / wall, clients * 1000 / args.size_mib,
                         server_cpu * 1000 / args.size_mib))
    finally:
        for process in wormhole_servers:
            stop(process)
        shutil.rmtree(work, ignore_errors=True)
    report(results)


def report(results):
    peer = "wormhole send and receive (relay, no fsync)"
    headers = ["end to end", "MiB/s", "CPU ms/MiB: the two CLIs", "the servers",
               "ratio to wormhole, MiB/s (same repeat)", "ratio, CPU"]
    print("| " + " | ".join(headers) + " |")
    print("|---" + "|--:" * (len(headers) - 1) + "|")
    for name, rows in results.items():
        speed = median([row[0] for row in rows])
        cells = [name, f"{speed:.0f}", f"{median([r[1] for r in rows]):.2f}",
                 f"{median([r[2] for r in rows]):.2f}"]
        if name == peer:
            cells += ["", ""]
        else:
            pairs = list(zip(rows, results[peer], strict=True))
            cells.append(f"{median([a[0] / b[0] for a, b in pairs]):.2f}")
            cells.append(f"{median([(b[1] + b[2]) / (a[1] + a[2]) for a, b in pairs]):.2f}")
        print("| " + " | ".join(cells) + " |")
    print("\nMiB/s: the file's size over the wall time from the first command's start to the "
          "last one's exit (start-up included). Ratios are medians of the per-repeat ratio; "
          "CPU compares the sums of both columns.")


if __name__ == "__main__":
    main()
