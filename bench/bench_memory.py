"""Measure the gunicorn workers' resident memory while a 1 GiB share goes up and comes down.

A thread samples every worker's RSS (psutil) every 20 ms. After a warm-up, the idle RSS of each
worker is taken; then each phase (upload one chunk at a time, download, upload with a thread
pool, download) records every worker's peak. Growth is peak minus idle, per worker; the target
is that no worker grows by more than 64 MiB. The baseline for noise is the idle phase itself:
the same sampler running for a few seconds with no traffic.

    python bench/bench_memory.py [--size-mib 1024] [--chunk-mib 4] [--upload-threads 4]
"""

import argparse
import hashlib
import time

import harness as h

TARGET_GROWTH = 64 * h.MIB


def mib(nbytes):
    return f"{nbytes / h.MIB:.1f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="share size (default 1024)")
    parser.add_argument("--chunk-mib", type=float, default=4, help="chunk size (default 4)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--upload-threads", type=int, default=4,
                        help="threads for the concurrent upload phase (default 4; 0 skips it)")
    h.add_common_options(parser)
    args = parser.parse_args()
    size = args.size_mib * h.MIB
    chunk_size = int(args.chunk_mib * h.MIB)
    payload = h.Payload(size, chunk_size)
    digest = payload.sha256()

    with h.redis_server(binary=args.redis_binary) as redis_srv, \
            h.web_server(redis_srv.url, chunk_size=chunk_size, workers=args.workers,
                         root=args.server_root, env=h.server_env(args)) as web:
        print(f"# Memory: {args.size_mib} MiB share, {args.chunk_mib:g} MiB chunks, "
              f"{args.workers} workers x 16 threads\n")
        h.print_setup(redis_srv.url, args)
        api = h.Api(web.url, connections=max(args.upload_threads, 2))
        pids = sorted(web.worker_pids())
        cpu = {pid: sum(h.psutil.Process(pid).cpu_times()[:2]) for pid in pids}
        # Warm up with tiny shares: code and scripts load on every worker, no big buffers do,
        # so the growth measured below is what the large transfer costs.
        h.warm_up(web.url, 4 * h.KIB, chunk_size, args.workers)
        for pid in pids:
            if sum(h.psutil.Process(pid).cpu_times()[:2]) - cpu[pid] < 0.05:
                print(f"warning: worker {pid} served (almost) nothing during the warm-up\n")
        time.sleep(0.5)

        durations = {}
        with h.RssSampler(pids) as sampler:
            sampler.phase("idle")
            idle = sampler.rss()
            time.sleep(3)
            durations["idle"] = 3.0
            plan = [("upload, 1 thread", 1)]
            if args.upload_threads > 1:
                plan.append((f"upload, {args.upload_threads} threads", args.upload_threads))
            for name, threads in plan:
                sampler.phase(name)
                with h.Stopwatch() as watch:
                    share = api.ready_share(payload, threads=threads)
                durations[name] = watch.seconds
                download_name = f"download (after {name})"
                sampler.phase(download_name)
                hasher = hashlib.sha256()
                with h.Stopwatch() as watch:
                    count = api.download(share, api.claim(share), hasher.update)
                durations[download_name] = watch.seconds
                assert count == size and hasher.hexdigest() == digest, "download differs"
            sampler.phase("after")
            time.sleep(0.5)
            after = sampler.rss()
        api.close()
        redis_info = h.redis_client(redis_srv).info("memory")

    phases = [name for name in sampler.peaks if name != "after"]
    rows = []
    for pid in pids:
        rows.append([str(pid), mib(idle[pid])]
                    + [mib(sampler.peaks[name][pid] - idle[pid]) for name in phases]
                    + [mib(after[pid])])
    print("## Per worker: idle RSS, growth of peak RSS over idle per phase, RSS after (MiB)\n")
    print(h.table(["worker pid", "idle RSS"] + [f"growth: {name}" for name in phases]
                  + ["RSS after"], rows))
    print()
    summary = []
    for name in phases:
        peaks, starts = sampler.peaks[name], sampler.starts[name]
        growth = max(peaks[pid] - idle[pid] for pid in pids)
        own = max(peaks[pid] - starts[pid] for pid in pids)
        speed = "" if name == "idle" else f"{h.mib_per_s(size, durations[name]):.0f}"
        summary.append([name, f"{durations[name]:.1f}", speed, mib(max(peaks.values())),
                        mib(growth), mib(own), f"<= {mib(TARGET_GROWTH)}",
                        "yes" if growth <= TARGET_GROWTH else "NO"])
    print("## Summary: worst worker per phase (the idle phase is the no-traffic baseline)\n")
    print(h.table(["phase", "seconds", "MiB/s", "peak RSS", "growth over idle",
                   "growth within phase", "target (over idle)", "met"], summary))
    print(f"\n{sampler.samples} samples; redis used_memory_peak "
          f"{redis_info['used_memory_peak'] / h.MIB:.0f} MiB, "
          f"used_memory_lua {redis_info.get('used_memory_lua', 0) / h.MIB:.1f} MiB")


if __name__ == "__main__":
    main()
