"""Measure upload and download throughput through gunicorn + Redis against raw redis-py.

For each chunk size: a fresh gunicorn (4 workers x 16 threads) on one private redis-server.
Each repeat measures, back to back, the baseline (redis-py SET of the same chunks one after
another on one connection, then GET of each) and the service: a sequential upload, a
download, an upload with a small thread pool, a second download. Ratios pair each figure with
its own repeat's baseline, so a neighbour's load on the machine cancels out as far as it can.
Each share is read back whole and its SHA-256 checked. CPU seconds of the gunicorn workers,
redis-server and this client are recorded per step: they show where the time goes.

    python bench/bench_transfer.py [--size-mib 256] [--chunk-mib 1,4,8] [--repeat 3]
    python bench/bench_transfer.py --compare-root /tmp/copy   # A/B: also run that server code
    (--server-root DIR runs another checkout's server code in place of this one's)
"""

import argparse
import hashlib
import os
from collections import defaultdict
from contextlib import nullcontext

import harness as h

TARGET_RATIO = 0.5
UPLOADS = ("upload, sequential", "upload, {threads} threads")
#: The SET baseline again with redis-py's pure-Python command packer: hiredis's packer, the
#: default when hiredis is installed, copies each chunk slowly, and this shows by how much.
REFERENCE = "redis SET, pure-Python packer (reference)"


def check(data, digest, what):
    if hashlib.sha256(data).hexdigest() != digest:
        raise AssertionError(f"{what}: the bytes read back differ from those written")


class Run:
    """Collect wall seconds and CPU seconds per measurement, and ratios per repeat."""

    def __init__(self, size, cpu_groups):
        self.size = size
        self.cpu_groups = cpu_groups
        self.speeds = defaultdict(list)
        self.ratios = defaultdict(list)
        self.cpu = defaultdict(lambda: defaultdict(list))

    def measure(self, name, action, baseline_seconds=None):
        """Run `action()` timed; record MiB/s, CPU ms per MiB, and the ratio; return its result."""
        with h.CpuMeter(self.cpu_groups) as cpu, h.Stopwatch() as watch:
            result = action()
        self.speeds[name].append(h.mib_per_s(self.size, watch.seconds))
        for label, seconds in cpu.seconds.items():
            self.cpu[name][label].append(1000 * seconds / (self.size / h.MIB))
        if baseline_seconds is not None:
            self.ratios[name].append(baseline_seconds / watch.seconds)
        return watch.seconds, result


def raw_set(client, keys, chunks):
    for key, chunk in zip(keys, chunks, strict=True):
        client.set(key, chunk)


def raw_get(client, keys):
    received = bytearray()
    for key in keys:
        received += client.get(key)
    return received


def http_upload(api, size, chunks, threads):
    """Create, PUT every chunk, finalize: the whole upload as a client does it."""
    share = api.create(size)
    api.upload(share, chunks, threads)
    api.finalize(share)
    return share


def http_download(api, share):
    """Claim, then read the content in one streamed GET."""
    received = bytearray()
    count = api.download(share, api.claim(share), received.extend)
    assert count == share.size, (count, share.size)
    return received


def run_chunk_size(redis_srv, args, chunk_size):
    size = args.size_mib * h.MIB
    payload = h.Payload(size, chunk_size)
    chunks = list(payload)
    digest = payload.sha256()
    client = h.redis_client(redis_srv)
    python_packer = h.redis_client(redis_srv, python_packer=True)
    keys = [f"bench:raw:{i}" for i in range(len(chunks))]
    tags = ["", " [B]"] if args.compare_root else [""]

    env = h.server_env(args)
    with h.web_server(redis_srv.url, chunk_size=chunk_size, root=args.server_root,
                      env=env) as web_a, \
            (h.web_server(redis_srv.url, chunk_size=chunk_size, root=args.compare_root, env=env)
             if args.compare_root else nullcontext()) as web_b:
        webs = {"": web_a, " [B]": web_b}
        workers = [pid for web in webs.values() if web for pid in web.worker_pids()]
        run = Run(size, {"web": workers, "redis": [redis_srv.process.pid],
                         "client": [os.getpid()]})
        apis = {tag: h.Api(webs[tag].url, connections=max(args.threads, 2)) for tag in tags}
        try:
            for tag in tags:
                h.warm_up(webs[tag].url, 3 * chunk_size, chunk_size, workers=4, rounds=2)
            for _ in range(args.repeat):
                set_s, _ = run.measure("redis SET (baseline up)",
                                       lambda: raw_set(client, keys, chunks))
                get_s, data = run.measure("redis GET (baseline down)",
                                          lambda: raw_get(client, keys))
                check(data, digest, "redis GET")
                client.delete(*keys)
                del data
                run.measure(REFERENCE, lambda: raw_set(python_packer, keys, chunks))
                client.delete(*keys)
                for tag, api in apis.items():
                    for template, threads in zip(UPLOADS, (1, args.threads), strict=True):
                        name = template.format(threads=threads) + tag
                        _, share = run.measure(
                            name, lambda a=api, t=threads: http_upload(a, size, chunks, t),
                            set_s)
                        _, data = run.measure("download" + tag,
                                              lambda a=api, s=share: http_download(a, s), get_s)
                        check(data, digest, "download" + tag)
                        del data
        finally:
            for api in apis.values():
                api.close()
    client.close()
    python_packer.close()
    return run


def report(run, chunk_mib, size, summary):
    rows, cpu_rows = [], []
    for name, values in run.speeds.items():
        cells = [name, f"{h.median(values):.0f}", f"{min(values):.0f}–{max(values):.0f}"]
        ratio = run.ratios.get(name)
        if ratio:
            met = "yes" if h.median(ratio) >= TARGET_RATIO else "NO"
            cells += [f"{h.median(ratio):.2f}", f"{min(ratio):.2f}–{max(ratio):.2f}",
                      f">= {TARGET_RATIO}", met]
            summary.append((f"{chunk_mib:g}", name, cells[1], cells[3], met))
        else:
            cells += ["(reference)" if name == REFERENCE else "1 (baseline)", "", "", ""]
        rows.append(cells)
        cpu = run.cpu[name]
        cpu_rows.append([name] + [f"{h.median(cpu[label]):.2f}" for label in cpu]
                        + [f"{sum(h.median(v) for v in cpu.values()):.2f}"])
    print(f"## Chunk size {chunk_mib:g} MiB ({-(-size // int(chunk_mib * h.MIB))} chunks)\n")
    print(h.table(["measurement", "MiB/s (median)", "MiB/s (min–max)", "ratio (median)",
                   "ratio (min–max)", "target", "met"], rows))
    print(f"\nCPU milliseconds per MiB moved (median), chunk size {chunk_mib:g} MiB:\n")
    labels = list(next(iter(run.cpu.values())))
    print(h.table(["measurement"] + [f"{label}" for label in labels] + ["total"], cpu_rows))
    print()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256, help="share size (default 256)")
    parser.add_argument("--chunk-mib", default="4",
                        help="chunk size(s) in MiB, comma-separated (default 4, the server's)")
    parser.add_argument("--repeat", type=int, default=3, help="repeats per chunk size (3)")
    parser.add_argument("--threads", type=int, default=4, help="concurrent upload threads (4)")
    parser.add_argument("--compare-root", metavar="DIR",
                        help="also measure the server code of this checkout, interleaved ([B])")
    h.add_common_options(parser)
    args = parser.parse_args()
    size = args.size_mib * h.MIB

    summary = []
    with h.redis_server(binary=args.redis_binary) as redis_srv:
        print(f"# Transfer: {args.size_mib} MiB share, loopback, {args.repeat} repeat(s)\n")
        h.print_setup(redis_srv.url, args)
        if args.compare_root:
            print(f"[B] = server code of {args.compare_root}\n")
        for chunk_mib in (float(c) for c in args.chunk_mib.split(",")):
            run = run_chunk_size(redis_srv, args, int(chunk_mib * h.MIB))
            report(run, chunk_mib, size, summary)
    print("## Summary (ratio: median over repeats of figure / same repeat's baseline)\n")
    print(h.table(["chunk MiB", "measurement", "MiB/s", "ratio", f">= {TARGET_RATIO}"], summary))


if __name__ == "__main__":
    main()
