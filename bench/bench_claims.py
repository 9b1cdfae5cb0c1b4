"""Measure 200 simultaneous claims on a one-download share, and check exactly one wins.

Each round: a fresh share (downloads = 1); 200 threads each open their own connection to
gunicorn (4 workers x 16 threads), wait on a barrier, then POST the claim with the right proof
at once. Exactly one must get 200 and every other 410 (asserted). The baseline, in the same
run: 200 threads on their own redis-py connections, released the same way, each running one
EVALSHA of a trivial script (INCR of a counter). Latency is taken from the barrier's release to
the last byte of the answer, so it includes waiting for a free server thread.

With --durability (e.g. `none,local,replica`) the same is measured once per CLAIM_DURABILITY
level, each on a Valkey keeping an append-only file (appendfsync everysec, as deployed; with a
replica for `replica`), its baseline on that same server: what waiting for the disk (WAITAOF)
and for a replica (WAIT) costs a claim.

    python bench/bench_claims.py [--clients 200] [--rounds 20] [--workers 4]
    python bench/bench_claims.py --durability none,local,replica --rounds 5
"""

import argparse
import http.client
import os
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
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
    headers = {"Authorization": f"Bearer {share.auth_token}", "Content-Length": "0"}

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


@contextmanager
def durable_redis(level, binary):
    """A Valkey with an append-only file (and a replica for `replica`); yield the primary."""
    with tempfile.TemporaryDirectory(prefix="ots-bench-durable-") as tmp, ExitStack() as stack:
        # As the embedded server and compose run it (hz 100: see server/embedded_redis.py).
        aof = ("--appendonly", "yes", "--appendfsync", "everysec", "--hz", "100")
        primary = h.RedisProcess(Path(tmp) / "primary", *aof, binary=binary).start()
        stack.callback(primary.stop)
        if level == "replica":
            replica = h.RedisProcess(Path(tmp) / "replica", *aof, "--replicaof", "127.0.0.1",
                                     str(primary.port), binary=binary).start()
            stack.callback(replica.stop)
            client = h.redis_client(primary)
            deadline = time.monotonic() + 30
            while int(client.info("replication")["connected_slaves"]) < 1:
                assert time.monotonic() < deadline, "the replica did not connect"
                time.sleep(0.05)
        yield primary


def measure(args, redis_srv, env):
    """Run the rounds against `redis_srv`; return the latencies, rounds and CPU figures."""
    with h.web_server(redis_srv.url, chunk_size=4 * h.MIB, workers=args.workers,
                      threads=args.threads, root=args.server_root, env=env) as web:
        h.warm_up(web.url, 4 * h.KIB, 4 * h.MIB, args.workers)
        api = h.Api(web.url)
        sha = h.redis_client(redis_srv).script_load(TRIVIAL_SCRIPT)
        payload = h.Payload(4 * h.KIB, 4 * h.MIB)

        # One claim at a time on a share with downloads to spare: the floor without contention.
        share = api.ready_share(payload, downloads=args.sequential)
        alone = []
        for _ in range(args.sequential):
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
    return {"claims": claims, "baseline": baseline, "alone": alone, "rounds": rounds,
            "cpu": cpu, "groups": list(groups)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200, help="claims per round (200)")
    parser.add_argument("--rounds", type=int, default=20, help="rounds (default 20)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--threads", type=int, default=16, help="threads per worker (16)")
    parser.add_argument("--sequential", type=int, default=50,
                        help="claims one at a time, without contention (default 50)")
    parser.add_argument("--durability", metavar="LEVELS",
                        help="comma-separated CLAIM_DURABILITY levels to compare, each on a "
                             "Valkey with an append-only file (default: none, no AOF)")
    h.add_common_options(parser)
    args = parser.parse_args()
    print(f"# Claims: {args.clients} simultaneous claims x {args.rounds} rounds, "
          f"{args.workers} workers x {args.threads} threads\n")

    results = {}
    if not args.durability:
        with h.redis_server(binary=args.redis_binary) as redis_srv:
            h.print_setup(redis_srv.url, args)
            results["none"] = measure(args, redis_srv, h.server_env(args))
    else:
        binary = args.redis_binary or h.valkey_binary()
        for level in args.durability.split(","):
            with durable_redis(level, binary) as redis_srv:
                if not results:
                    h.print_setup(redis_srv.url, args)
                env = {**h.server_env(args), "CLAIM_DURABILITY": level}
                results[level] = measure(args, redis_srv, env)

    fastest = min(stats(result["baseline"])[0] for result in results.values())
    fastest99 = min(stats(result["baseline"])[1] for result in results.values())
    rows = []
    for level, result in results.items():
        print(f"## Winners per round, CLAIM_DURABILITY={level} (each must be exactly 1; "
              "every other claim 410)\n")
        print(h.table(["round", "200 (won)", "410 (gone)", "other", "slowest claim ms"],
                      result["rounds"]))
        print()
        c50, c99, cmax = stats(result["claims"])
        b50, b99, bmax = stats(result["baseline"])
        a50, a99, amax = stats(result["alone"])
        rows += [
            (f"{level}: claim, {args.clients} at once (HTTP)", len(result["claims"]),
             f"{c50:.1f}", f"{c99:.1f}", f"{cmax:.1f}", f"{c50 / fastest:.1f}",
             f"{c99 / fastest99:.1f}"),
            (f"{level}: EVALSHA trivial, {args.clients} at once (baseline)",
             len(result["baseline"]), f"{b50:.1f}", f"{b99:.1f}", f"{bmax:.1f}",
             f"{b50 / fastest:.1f}", f"{b99 / fastest99:.1f}"),
            (f"{level}: claim, one at a time (no contention)", len(result["alone"]),
             f"{a50:.1f}", f"{a99:.1f}", f"{amax:.1f}", "", ""),
        ]
    print("## Latency (ms), all rounds pooled\n")
    print(h.table(["measurement", "requests", "p50", "p99", "max",
                   "p50 / fastest baseline p50", "p99 / fastest baseline p99"], rows))
    print(f"\nwinners: exactly 1 in each of {args.rounds} rounds at every level\n")
    total = args.rounds * args.clients
    print("## CPU milliseconds per request (whole rounds: connecting, threads, requests)\n")
    cpu_rows = []
    for level, result in results.items():
        groups, cpu = result["groups"], result["cpu"]
        for name, key in (("claims (HTTP)", "claims"), ("EVALSHA (baseline)", "baseline")):
            cpu_rows.append([f"{level}: {name}"]
                            + [f"{1000 * cpu[key][label] / total:.2f}" for label in groups]
                            + [f"{1000 * sum(cpu[key].values()) / total:.2f}"])
    print(h.table(["measurement", *next(iter(results.values()))["groups"], "total"], cpu_rows))


if __name__ == "__main__":
    main()
