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
minimal asyncio responder in its own process) on the same loopback.

    python bench/bench_slow_clients.py [--slow 0,100,1000] [--requests 200] [--round-trips 20]
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

from tests.processes import free_port
from tests.slow_clients import (
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


def measure(server, baseline, count, slow, round_trips, requests):
    """Hold `count` slow connections and time the honest client; return one table row."""
    plan = attack_plan(ATTACKERS, count)
    workers = psutil.Process(server.process.pid).children()
    idle_rss = sum(worker.memory_info().rss for worker in workers)
    with honest_client(server.url, HONEST) as http, baseline as raw, \
            Trickler(server.port, plan, replace=True) as attack:
        opened = time.monotonic()
        drained = wait_accepted(server.port) - opened
        held_rss = sum(worker.memory_info().rss for worker in workers)
        healthz, raw_ms, trips = [], [], []
        for _ in range(requests):
            healthz.append(timed(lambda: http.get("/healthz").raise_for_status()))
            raw_ms.append(timed(lambda: raw.get("/").raise_for_status()))
        for _ in range(round_trips):
            trips.append(timed(lambda: round_trip(http, 64 * 1024)))
            raw_ms.append(timed(lambda: raw.get("/").raise_for_status()))
        still_open = attack.open_count()
        replaced = len(attack.connections) - count
    raw_p50 = h.percentile(raw_ms, 0.5)
    slow[count] = h.percentile(trips, 0.5)
    growth = (held_rss - idle_rss) / max(count, 1) / h.KIB if count else 0
    return [
        f"{count} ({still_open} open at the end, {replaced} replaced)",
        f"{drained:.1f}",
        f"{h.percentile(healthz, 0.5):.1f} / {h.percentile(healthz, 0.99):.1f}",
        f"{raw_p50:.2f} / {h.percentile(raw_ms, 0.99):.2f}",
        f"{h.percentile(healthz, 0.5) / raw_p50:.1f}x",
        f"{slow[count]:.1f} / {h.percentile(trips, 0.99):.1f}",
        f"{slow[count] / raw_p50:.0f}x",
        f"{slow[count] / slow[min(slow)]:.2f}x",
        f"{growth:.0f}" if count else "–",
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slow", default="0,100,1000",
                        help="numbers of slow connections to hold, comma-separated")
    parser.add_argument("--requests", type=int, default=200, help="/healthz requests per N")
    parser.add_argument("--round-trips", type=int, default=20, help="share round trips per N")
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
                slow, rows = {}, []
                for count in counts:
                    baseline = httpx.Client(base_url=baseline_url, timeout=h.HTTP_TIMEOUT,
                                            transport=httpx.HTTPTransport(local_address=HONEST))
                    rows.append(measure(server, baseline, count, slow, args.round_trips,
                                        args.requests))
                    time.sleep(1)  # the closed connections' greenlets finish
        finally:
            process.kill()
            process.wait()
    print(h.table([
        "slow connections held", "accept queue drained (s)", "/healthz p50 / p99 (ms)",
        "baseline p50 / p99 (ms)", "/healthz / baseline (p50)", "round trip p50 / p99 (ms)",
        "round trip / baseline (p50)", f"round trip / N={min(slow)} (p50)",
        "worker RSS per slow connection (KiB)",
    ], rows))
    print(f"\nload average at the end: {' '.join(f'{x:.1f}' for x in psutil.getloadavg())}")


if __name__ == "__main__":
    main()
