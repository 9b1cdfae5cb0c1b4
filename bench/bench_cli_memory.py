"""Measure the peak RSS of the `onetimeshare get` command for a large note, as JSON and raw.

The CLI runs as a real process against gunicorn and a private redis-server. Each measured run
gets a fresh share (a share opens once) holding the same note of --size-mib MiB of UTF-8 text.
The command's peak RSS is its own VmHWM (the kernel's high-water mark, reset at exec), read
from /proc every 5 ms until it exits, with psutil's RSS samples beside it as a check. The
baseline is the leanest path for the same bytes: `get -o FILE` (stream, decrypt, write). The
target is that `get --json` grows no more than 16 MiB over that baseline.

    python bench/bench_cli_memory.py [--size-mib 64] [--runs 2]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time

import harness as h

TARGET_GROWTH = 16 * h.MIB
LINE = "0123456789abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ é€\n".encode()


def cli(args, env, stdin=None, stdout=subprocess.PIPE):
    """Run the command; return (exit code, stdout, peak VmHWM bytes, peak sampled RSS bytes)."""
    process = subprocess.Popen([sys.executable, "-m", "onetimeshare.cli", *args], env=env,
                               stdin=stdin, stdout=stdout, stderr=subprocess.PIPE)
    peaks = {"hwm": 0, "rss": 0}
    watcher = threading.Thread(target=follow, args=(process.pid, peaks), daemon=True)
    watcher.start()
    out, err = process.communicate()
    watcher.join(5)
    if process.returncode:
        raise SystemExit(f"onetimeshare {args[0]} failed: {err.decode()}")
    return out, peaks["hwm"], peaks["rss"]


def follow(pid, peaks):
    proc = h.psutil.Process(pid)
    while True:
        try:
            with open(f"/proc/{pid}/status") as status:
                hwm = [line for line in status if line.startswith("VmHWM:")]
            rss = proc.memory_info().rss
        except (OSError, h.psutil.Error):
            return
        if not hwm:
            return
        peaks["hwm"] = max(peaks["hwm"], int(hwm[0].split()[1]) * 1024)
        peaks["rss"] = max(peaks["rss"], rss)
        time.sleep(0.005)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=64, help="note size (default 64)")
    parser.add_argument("--runs", type=int, default=2, help="runs of each (default 2)")
    h.add_common_options(parser)
    args = parser.parse_args()
    note = LINE * (args.size_mib * h.MIB // len(LINE))
    with h.redis_server(binary=args.redis_binary) as redis_srv, \
            h.web_server(redis_srv.url, chunk_size=4 * h.MIB, workers=2, root=args.server_root,
                         env={"RATE_LIMITS_ENABLED": "0", **h.server_env(args)}) as web, \
            tempfile.TemporaryDirectory(prefix="ots-bench-cli-") as tmp:
        print(f"# CLI memory: a {len(note) / h.MIB:.0f} MiB note, {args.runs} runs each\n")
        h.print_setup(redis_srv.url, args)
        env = {**os.environ, "ONETIMESHARE_SERVER": web.url, "XDG_STATE_HOME": tmp,
               "XDG_CONFIG_HOME": tmp, "PYTHONPATH": str(h.ROOT)}
        source = os.path.join(tmp, "note.txt")
        with open(source, "wb") as file:
            file.write(note)

        def fresh_link():
            with open(source, "rb") as stdin:
                return cli(["send", "--text", "-q"], env, stdin=stdin)[0].decode().strip()

        rows = {}
        for _ in range(args.runs):
            for name, extra in (("get -o FILE (baseline)", ["-o", os.path.join(tmp, "out")]),
                                ("get --json", ["--json"])):
                target = os.path.join(tmp, "out")
                if os.path.exists(target):
                    os.unlink(target)
                with open(os.devnull, "wb") as sink:
                    _, hwm, rss = cli(["get", fresh_link(), "-q", *extra], env, stdout=sink)
                best = rows.get(name, (0, 0))
                rows[name] = (max(best[0], hwm), max(best[1], rss))
        baseline = rows["get -o FILE (baseline)"][0]
        print("| command | peak RSS (VmHWM), MiB | sampled RSS, MiB | ratio to baseline |")
        print("|---|---|---|---|")
        for name, (hwm, rss) in rows.items():
            print(f"| `{name}` | {hwm / h.MIB:.1f} | {rss / h.MIB:.1f} | {hwm / baseline:.2f} |")
        growth = rows["get --json"][0] - baseline
        verdict = "meets" if growth <= TARGET_GROWTH else "MISSES"
        print(f"\n`get --json` grows {growth / h.MIB:.1f} MiB over the baseline: {verdict} the "
              f"target of <= {TARGET_GROWTH / h.MIB:.0f} MiB")


if __name__ == "__main__":
    main()
