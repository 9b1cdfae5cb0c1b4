"""Measure an honest client's latency while N slow clients hold connections to the service.

The service runs as shipped (`onetimeshare serve`, its default serving settings and worker
count) on a private redis-server; only the rate limits are raised, as in every benchmark, so one
honest address can make all its round trips. For each N (default 0, 100, 1,000), N connections
from 50 loopback addresses (half trickling a header block, half a chunk body, one byte a second
each, as tests/test_slow_clients.py does; each one the server closes is replaced at once, as a
determined attacker would) are opened together. Once the server has accepted them all, an
honest client on another address measures `/healthz` and whole share round trips (config,
create, one 64 KiB chunk, finalize, claim, download: six requests), each alternating with the
baseline measured in the same run: the same httpx client's GET to a trivial HTTP server (a
minimal asyncio responder in its own process) on the same loopback; a round trip's baseline is
six such requests in a row. Every figure is the median over `--repeat` sweeps, every ratio the
median of the ratios measured within each sweep, so a neighbour's load cancels out as far as it
can.

    python bench/bench_slow_clients.py [--slow 0,100,1000] [--requests 200] [--round-trips 20]
                                       [--repeat 3]
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import harness as h
import httpx
import psutil

from devtools.processes import free_port
from devtools.slow_clients import (
    Trickler,
    attack_plan,
    honest_client,
    round_trip,
    served,
    wait_accepted,
)

ATTACKERS = [f"127.0.0.{i}" for i in range(1, 51)]
HONEST = "127.0.0.200"
#: The fastest raw baseline: a fixed 200 answer over keep-alive, no framework behind it.
TRIVIAL_SERVER = """
import asyncio, sys
ANSWER = b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\nContent-Type: text/plain\\r\\n\\r\\nok"
async def serve(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\\r\\n\\r\\n")
            writer.write(ANSWER)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()
async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", int(sys.argv[1]))
    async with server:
        await server.serve_forever()
asyncio.run(main())
"""


def trivial_server():
    """Start the baseline responder in its own process; return (process, url)."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", TRIVIAL_SERVER, str(port)],
                               stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while True:
        try:
            httpx.get(url, timeout=1)
            return process, url
        except httpx.TransportError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.05)


def timed(call):
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def measure(server, baseline, count, round_trips, requests):
    """Hold `count` slow connections and time the honest client; return the figures."""
    workers = psutil.Process(server.process.pid).children()
    idle_rss = sum(worker.memory_info().rss for worker in workers)
    with honest_client(server.url, HONEST) as http, baseline as raw, \
            Trickler(server.port, attack_plan(ATTACKERS, count), replace=True) as attack:
        opened = time.monotonic()
        drained = wait_accepted(server.port) - opened
        held_rss = sum(worker.memory_info().rss for worker in workers)
        healthz, raw_single, trips, raw_six = [], [], [], []
        for _ in range(requests):
            healthz.append(timed(lambda: http.get("/healthz").raise_for_status()))
            raw_single.append(timed(lambda: raw.get("/").raise_for_status()))
        for _ in range(round_trips):
            trips.append(timed(lambda: round_trip(http, 64 * 1024)))
            # A round trip is six requests: its baseline is six trivial ones in a row.
            raw_six.append(timed(lambda: [raw.get("/").raise_for_status() for _ in range(6)]))
        still_open, replaced = attack.open_count(), len(attack.connections) - count
    return {
        "drained": drained, "open": still_open, "replaced": replaced,
        "healthz": healthz, "raw": raw_single, "trips": trips, "raw_six": raw_six,
        "rss_kib": (held_rss - idle_rss) / count / h.KIB if count else None,
    }


def summarize(count, runs, reference):
    """One table row: medians over the repeats of each figure and of each same-run ratio."""
    def med(key, fraction):
        return h.median([h.percentile(run[key], fraction) for run in runs])

    def ratio(run, key, base):
        return h.percentile(run[key], 0.5) / h.percentile(run[base], 0.5)

    healthz_ratio = h.median([ratio(run, "healthz", "raw") for run in runs])
    trip_ratio = h.median([ratio(run, "trips", "raw_six") for run in runs])
    reference.setdefault("trip_ratio", trip_ratio)
    rss = [run["rss_kib"] for run in runs if run["rss_kib"] is not None]
    return [
        f"{count} ({min(run['open'] for run in runs)}+ open at the end, "
        f"{max(run['replaced'] for run in runs)} replaced at most)",
        f"{h.median([run['drained'] for run in runs]):.1f}",
        f"{med('healthz', 0.5):.1f} / {med('healthz', 0.99):.1f}",
        f"{med('raw', 0.5):.2f} / {med('raw', 0.99):.2f}",
        f"{healthz_ratio:.1f}x",
        f"{med('trips', 0.5):.1f} / {med('trips', 0.99):.1f}",
        f"{med('raw_six', 0.5):.1f}",
        f"{trip_ratio:.1f}x",
        f"{trip_ratio / reference['trip_ratio']:.2f}",
        f"{max(rss):.0f}" if rss else "–",  # later sweeps reuse memory the first one grew
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slow", default="0,100,1000",
                        help="numbers of slow connections to hold, comma-separated")
    parser.add_argument("--requests", type=int, default=200, help="/healthz requests per N")
    parser.add_argument("--round-trips", type=int, default=20, help="share round trips per N")
    parser.add_argument("--repeat", type=int, default=3, help="sweeps over every N (3)")
    h.add_common_options(parser)
    args = parser.parse_args()
    counts = [int(value) for value in args.slow.split(",")]
    env = {name: "1000000 per minute" for name in h.RATE_LIMIT_SETTINGS}
    env.update(h.server_env(args))
    with h.redis_server(binary=args.redis_binary) as redis, \
            tempfile.TemporaryDirectory(prefix="ots-bench-slow-") as tmp:
        h.print_setup(redis.url, args)
        process, baseline_url = trivial_server()
        try:
            with served(redis.url, Path(tmp) / "gunicorn.log", workers=None, env=env) as server:
                workers = len(psutil.Process(server.process.pid).children())
                print(f"`onetimeshare serve` as shipped: {workers} workers, default serving "
                      "settings\n")
                with honest_client(server.url, HONEST) as http:
                    for _ in range(5):  # every worker loads its scripts, pools fill
                        round_trip(http, 64 * 1024)
                runs = {count: [] for count in counts}
                for _ in range(args.repeat):
                    for count in counts:
                        baseline = httpx.Client(
                            base_url=baseline_url, timeout=h.HTTP_TIMEOUT,
                            transport=httpx.HTTPTransport(local_address=HONEST))
                        runs[count].append(measure(server, baseline, count, args.round_trips,
                                                   args.requests))
                        time.sleep(1)  # the closed connections' greenlets finish
        finally:
            process.kill()
            process.wait()
    reference = {}
    print(h.table([
        "slow connections held", "accept queue drained (s)", "/healthz p50 / p99 (ms)",
        "baseline p50 / p99 (ms)", "/healthz / baseline (p50)", "round trip p50 / p99 (ms)",
        "baseline, 6 requests p50 (ms)", "round trip / baseline (p50)",
        f"that ratio / at N={counts[0]}",
        "worker RSS growth per slow connection (KiB, largest sweep)",
    ], [summarize(count, runs[count], reference) for count in counts]))
    print(f"\nload average at the end: {' '.join(f'{x:.1f}' for x in psutil.getloadavg())}")


if __name__ == "__main__":
    main()
