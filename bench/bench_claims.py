"""Measure 200 simultaneous claims on a one-download share, and check exactly one wins.

Each round: a fresh share (downloads = 1); 200 threads each open their own connection to
gunicorn (4 workers x 16 threads), wait on a barrier, then POST the claim with the right proof
at once. Exactly one must get 200 and every other 410 (asserted). The baseline, in the same
run: 200 threads on their own redis-py connections, released the same way, each running one
EVALSHA of a trivial script (INCR of a counter). Latency is taken from the barrier's release to
the last byte of the answer, so it includes waiting for a free server thread.

    python bench/bench_claims.py [--clients 200] [--rounds 20] [--workers 4]
"""

import argparse
import http.client
import os
import threading
import time
from urllib.parse import urlsplit

import harness as h

TRIVIAL_SCRIPT = "return redis.call('INCR', KEYS[1])"


def release_together(count, prepare, act):
    """Run `prepare(i)` in `count` threads, release them at once, time `act(state)` in each.

    Return a list of (seconds, result) in thread order.
    """
    barrier = threading.Barrier(count)
    results = [None] * count
    errors = []

    def worker(i):
        try:
            state = prepare(i)
            barrier.wait(timeout=60)
            start = time.perf_counter()
            outcome = act(state)
            results[i] = (time.perf_counter() - start, outcome)
        except Exception as error:  # reported after the round
            errors.append(error)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
    if any(thread.is_alive() for thread in threads) or None in results:
        raise RuntimeError("a client thread did not finish within 120 s")
    return results


def claim_round(base_url, share, count):
    """Send `count` simultaneous claims for `share`; return [(seconds, status)]."""
    address = urlsplit(base_url)
    path = f"{h.API}/shares/{share.id}/claim"
    headers = {**h.bearer(share.auth_token), "Content-Length": "0"}

    def prepare(_):
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
        connection.connect()
        return connection

    def act(connection):
        try:
            connection.request("POST", path, headers=headers)
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()

    return release_together(count, prepare, act)


def redis_round(redis_url, sha, count):
    """Run `count` simultaneous EVALSHA calls, each on its own connection."""

    def prepare(_):
        client = h.redis.Redis.from_url(redis_url, single_connection_client=True,
                                        socket_timeout=60)
        client.ping()
        return client

    def act(client):
        try:
            return client.evalsha(sha, 1, "bench:claims:counter")
        finally:
            client.close()

    return release_together(count, prepare, act)


def add(totals, seconds):
    for label, value in seconds.items():
        totals[label] += value


def stats(latencies):
    ms = [1000 * value for value in latencies]
    return h.percentile(ms, 0.5), h.percentile(ms, 0.99), max(ms)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200, help="claims per round (200)")
    parser.add_argument("--rounds", type=int, default=20, help="rounds (default 20)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--threads", type=int, default=16, help="threads per worker (16)")
    h.add_common_options(parser)
    args = parser.parse_args()

    with h.redis_server(binary=args.redis_binary) as redis_srv, \
            h.web_server(redis_srv.url, chunk_size=4 * h.MIB, workers=args.workers,
                         threads=args.threads, root=args.server_root,
                         env=h.server_env(args)) as web:
        print(f"# Claims: {args.clients} simultaneous claims x {args.rounds} rounds, "
              f"{args.workers} workers x {args.threads} threads\n")
        h.print_setup(redis_srv.url, args)
        h.warm_up(web.url, 4 * h.KIB, 4 * h.MIB, args.workers)
        api = h.Api(web.url)
        sha = h.redis_client(redis_srv).script_load(TRIVIAL_SCRIPT)
        payload = h.Payload(4 * h.KIB, 4 * h.MIB)

        # One claim at a time on a share with downloads to spare: the floor without contention.
        share = api.ready_share(payload, downloads=args.rounds)
        alone = []
        for _ in range(args.rounds):
            with h.Stopwatch() as watch:
                api.claim(share)
            alone.append(watch.seconds)

        claims, baseline, rounds = [], [], []
        groups = {"web": web.worker_pids(), "redis": [redis_srv.process.pid],
                  "client": [os.getpid()]}
        cpu = {"claims": dict.fromkeys(groups, 0.0), "baseline": dict.fromkeys(groups, 0.0)}
        for number in range(1, args.rounds + 1):
            with h.CpuMeter(groups) as meter:
                outcome = redis_round(redis_srv.url, sha, args.clients)
            baseline += [seconds for seconds, _ in outcome]
            add(cpu["baseline"], meter.seconds)
            share = api.ready_share(payload, downloads=1)
            with h.CpuMeter(groups) as meter:
                outcome = claim_round(web.url, share, args.clients)
            add(cpu["claims"], meter.seconds)
            statuses = [status for _, status in outcome]
            winners = statuses.count(200)
            losers = statuses.count(410)
            slowest = max(seconds for seconds, _ in outcome)
            rounds.append((number, winners, losers, len(statuses) - winners - losers,
                           f"{1000 * slowest:.0f}"))
            assert winners == 1, f"round {number}: {winners} claims won, statuses {statuses}"
            assert losers == args.clients - 1, f"round {number}: statuses {sorted(statuses)}"
            claims += [seconds for seconds, _ in outcome]
        api.close()
        counter = int(h.redis_client(redis_srv).get("bench:claims:counter"))
        assert counter == args.rounds * args.clients, counter

    print("## Winners per round (each must be exactly 1; every other claim 410)\n")
    print(h.table(["round", "200 (won)", "410 (gone)", "other", "slowest claim ms"], rounds))
    print()
    c50, c99, cmax = stats(claims)
    b50, b99, bmax = stats(baseline)
    a50, a99, amax = stats(alone)
    rows = [
        (f"claim, {args.clients} at once (HTTP)", len(claims), f"{c50:.1f}", f"{c99:.1f}",
         f"{cmax:.1f}", f"{c50 / b50:.1f}", f"{c99 / b99:.1f}"),
        (f"EVALSHA trivial, {args.clients} at once (baseline)", len(baseline), f"{b50:.1f}",
         f"{b99:.1f}", f"{bmax:.1f}", "1", "1"),
        ("claim, one at a time (no contention)", len(alone), f"{a50:.1f}", f"{a99:.1f}",
         f"{amax:.1f}", "", ""),
    ]
    print("## Latency (ms), all rounds pooled\n")
    print(h.table(["measurement", "requests", "p50", "p99", "max", "p50 / baseline p50",
                   "p99 / baseline p99"], rows))
    print(f"\nwinners: exactly 1 in each of {args.rounds} rounds\n")
    total = args.rounds * args.clients
    print("## CPU milliseconds per request (whole rounds: connecting, threads, requests)\n")
    print(h.table(["measurement"] + list(groups) + ["total"], [
        [name] + [f"{1000 * cpu[key][label] / total:.2f}" for label in groups]
        + [f"{1000 * sum(cpu[key].values()) / total:.2f}"]
        for name, key in (("claims (HTTP)", "claims"), ("EVALSHA (baseline)", "baseline"))]))


if __name__ == "__main__":
    main()
