"""Measure how many small shares (a password, a short note) the default deployment carries a second.

Most one-time shares are a few hundred bytes: for them what counts is requests, not bytes. Each
simulated user runs a share's whole life against `onetimeshare serve` as shipped
(bench/default_deployment.py): the sender's create, one chunk, finalize; the recipient's status,
claim and content (the page's and the CLI's six requests; no password). CONCURRENCY users run at
once, each on its own keep-alive connection, with bench/raw.py's minimal HTTP client, so the
client costs as little as a client can.

Baselines in the same run, with the same connections and concurrency:

- the fastest request this server answers: `GET /healthz` (gunicorn, gevent and Flask; no
  Redis, no rate limit). A life is six requests, so six of those is what the server's framing
  alone would allow (`bare requests / 6`);
- a raw RESP round trip (`PING`) to the same Valkey over its unix socket, for scale.

One benchmark address acts as every user, so the request-rate limits and the per-sender share
cap are raised to values it cannot reach; the limiter still counts every request (its cost is
paid). The output says so.

    python bench/bench_small.py [--concurrency 16] [--seconds 10] [--repeat 3]
                                [--set CLAIM_DURABILITY=none]
"""

import argparse
import hashlib
import json
import os
import sys
import threading
import time
from pathlib import Path

from raw import HttpClient, RespClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_default import median  # noqa: E402
from bench.default_deployment import cpu_seconds, default_server, groups  # noqa: E402
from onetimeshare.encoding import b64u_encode  # noqa: E402

#: What one address may do here: far beyond what this benchmark reaches, limiter still on.
RAISED = {
    "RATE_LIMIT_DEFAULT": "100000000 per minute",
    "RATE_LIMIT_CREATE": "100000000 per minute",
    "RATE_LIMIT_CHUNK": "100000000 per minute",
    "RATE_LIMIT_CLAIM": "100000000 per minute",
    "STORED_SHARES_PER_SENDER": "0",
}
RAISED_NOTE = ("request-rate limits raised to 100,000,000 a minute and the per-sender share cap "
               "off: one benchmark address acts as every user (the limiter still counts each "
               "request)")
#: The ciphertext of a short note: an RFC 8188 header, one padded record (docs/protocol.md).
NOTE_BYTES = 1024
LIFE_REQUESTS = 6


def share_life(http, body):
    """Run one share's whole life on `http`; raise unless every step answered as it must."""
    access = os.urandom(32)
    created = json.dumps({
        "version": 2, "size": len(body), "downloads": 1, "expires_in": 3600,
        "verifier": b64u_encode(hashlib.sha256(access).digest()),
        "metadata": b64u_encode(os.urandom(156)), "password": None}).encode()
    share = _json(http, "POST", "/api/v1/shares", 201,
                  [("Content-Type", "application/json")], created)
    sid, owner = share["id"], [("Authorization", f"Bearer {share['owner_token']}")]
    _json(http, "PUT", f"/api/v1/shares/{sid}/chunks/0", 200,
          [*owner, ("Content-Type", "application/octet-stream")], body)
    _json(http, "POST", f"/api/v1/shares/{sid}/finalize", 200, owner)
    _json(http, "GET", f"/api/v1/shares/{sid}", 200)
    claim = _json(http, "POST", f"/api/v1/shares/{sid}/claim", 200,
                  [("Authorization", f"Bearer {b64u_encode(access)}")])
    status, received = http.call("GET", f"/api/v1/shares/{sid}/content",
                                 [("Authorization", f"Bearer {claim['ticket']}")])
    if status != 200 or received != body:
        raise AssertionError(f"content: {status}, {len(received)} bytes")


def _json(http, method, path, expected, headers=(), body=b""):
    status, answer = http.call(method, path, headers, body)
    if status != expected:
        raise AssertionError(f"{method} {path}: {status} {answer[:300]!r}")
    return json.loads(answer)


def healthz(http, _body):
    status, _ = http.call("GET", "/healthz")
    if status != 200:
        raise AssertionError(f"/healthz: {status}")


def ping(resp, _body):
    if resp.command(b"PING") != b"+PONG":
        raise AssertionError("PING")


def run_users(connect, action, concurrency, seconds, body):
    """Run `action` in a loop on `concurrency` connections for `seconds`; return
    (completed actions, wall seconds, per-action latencies in seconds)."""
    stop_at = time.perf_counter() + seconds
    latencies = [[] for _ in range(concurrency)]
    errors = []
    connections = [connect() for _ in range(concurrency)]

    def user(index):
        try:
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                action(connections[index], body)
                latencies[index].append(time.perf_counter() - started)
        except Exception as error:  # reported below, after every user has stopped
            errors.append(error)

    started = time.perf_counter()
    threads = [threading.Thread(target=user, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    for connection in connections:
        connection.close()
    if errors:
        raise errors[0]
    merged = sorted(value for values in latencies for value in values)
    return len(merged), wall, merged


def percentile(ordered, fraction):
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=16,
                        help="users at once, one connection each (default 16)")
    parser.add_argument("--seconds", type=float, default=10, help="per step (default 10)")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved repeats (default 3)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting for the server (e.g. CLAIM_DURABILITY=none), repeatable")
    args = parser.parse_args()
    body = os.urandom(NOTE_BYTES)
    load = os.getloadavg()
    print(f"# Small shares: {NOTE_BYTES}-byte notes, {args.concurrency} users at once, "
          f"{args.seconds:g} s a step, {args.repeat} repeat(s)\n")
    print(f"nproc {os.cpu_count()}, load average {load[0]:.1f} at start; {RAISED_NOTE}\n")
    rows = {}
    extra = dict(setting.split("=", 1) for setting in args.set)
    if extra:
        print(f"also set: {', '.join(f'{k}={v}' for k, v in extra.items())}\n")
    with default_server({**RAISED, **extra}) as (url, data_dir, master):
        procs = groups(master)
        port = int(url.rsplit(":", 1)[1])
        socket_path = str(Path(data_dir) / "redis.sock")
        steps = {
            "share lives (6 requests each)": (lambda: HttpClient(port), share_life),
            "bare requests (GET /healthz)": (lambda: HttpClient(port), healthz),
            "raw RESP round trips (PING)": (lambda: RespClient(socket_path), ping),
        }
        run_users(lambda: HttpClient(port), share_life, args.concurrency, 1, body)  # warm-up
        for repeat in range(args.repeat):
            order = list(steps) if repeat % 2 == 0 else list(reversed(steps))
            for name in order:
                connect, action = steps[name]
                workers = [cpu_seconds([worker]) for worker in procs["web"]]
                valkey, client = cpu_seconds(procs["valkey"]), time.process_time()
                count, wall, latencies = run_users(connect, action, args.concurrency,
                                                   args.seconds, body)
                workers = [cpu_seconds([worker]) - before
                           for worker, before in zip(procs["web"], workers, strict=True)]
                cpu = {"web": sum(workers), "valkey": cpu_seconds(procs["valkey"]) - valkey,
                       "client": time.process_time() - client}
                busiest = max(workers) / (cpu["web"] or 1)
                rows.setdefault(name, []).append({
                    "rate": count / wall, "p50": percentile(latencies, 0.5),
                    "p99": percentile(latencies, 0.99), "busiest": busiest,
                    **{label: seconds * 1000 / count for label, seconds in cpu.items()}})
    report(rows)


def report(rows):
    lives, bare = "share lives (6 requests each)", "bare requests (GET /healthz)"
    headers = ["what", "per second", "p50 ms", "p99 ms", "CPU ms each: web", "valkey",
               "client", "busiest worker's share of web CPU",
               "ratio to bare requests / 6 (same repeat)"]
    print("| " + " | ".join(headers) + " |")
    print("|---" + "|--:" * (len(headers) - 1) + "|")
    for name, repeats in rows.items():
        cells = [name, f"{median([r['rate'] for r in repeats]):,.0f}"]
        cells += [f"{median([r[key] for r in repeats]) * 1000:.1f}" for key in ("p50", "p99")]
        cells += [f"{median([r[key] for r in repeats]):.3f}" for key in ("web", "valkey",
                                                                           "client")]
        cells.append(f"{median([r['busiest'] for r in repeats]):.0%}")
        if name == lives:
            ratios = [life["rate"] / (base["rate"] / LIFE_REQUESTS)
                      for life, base in zip(repeats, rows[bare], strict=True)]
            cells.append(f"{median(ratios):.2f}")
        else:
            cells.append("")
        print("| " + " | ".join(cells) + " |")
    print("\nper second: completed share lives, requests or round trips a second, median over "
          "repeats; p50/p99: latency of one (a whole life for the first row); CPU per one, "
          "per process group; the busiest worker's share of the web CPU is 1/workers when "
          "the load is spread evenly.")


if __name__ == "__main__":
    main()
