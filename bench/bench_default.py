"""Measure the default deployment against the fastest raw path to the same Redis server.

Starts `onetimeshare serve` as shipped (embedded Valkey with its append-only file, rate limits
and the access log on, gevent workers, CLAIM_DURABILITY as configured by default), in a
temporary DATA_DIR. Only UPLOAD_BYTES_PER_IP_PER_HOUR is raised: the benchmark's one address
uploads what many users would. Each repeat measures, interleaved:

- raw: a minimal RESP client on the server's unix socket (bench/raw.py) doing SET and GET of the
  same chunks, SET both with the append-only file on (as served) and off (CONFIG SET appendonly
  no, then back on), so persistence's own cost shows apart; a loopback TCP copy and a memcpy;
- the service through onetimeshare.api.ShareApi: create + PUT every chunk + finalize on one
  connection and on four, then claim + the streamed GET;
- with --cli, `onetimeshare send` and `onetimeshare get` of a file of the same size, and the
  fastest write of those bytes to a file in the same directory (bench/raw.py: disk_write), since
  `get` saves what it downloads and the API download keeps nothing; and `get -o -` into
  /dev/null, the CLI's own work without the file (a share sent for it, untimed).

Every figure gives MiB/s and CPU ms per MiB of each process (web workers, valkey, the client),
and its ratio to the same repeat's raw figure. The machine may be shared: CPU ms/MiB moves
less with a neighbour's load than wall time, so the ratios are given both ways.

    python bench/bench_default.py [--size-mib 128] [--repeat 2] [--cli]
"""

import argparse
import compileall
import functools
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from raw import HttpClient, RespClient, disk_write, loopback_copy, memcpy

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.default_deployment import (  # noqa: E402
    RAISED_LIMIT_NOTE,
    cpu_seconds,
    default_server,
    groups,
)
from onetimeshare.api import ShareApi  # noqa: E402
from onetimeshare.encoding import b64u_encode  # noqa: E402

MIB = 1024 * 1024
CHUNK = 4 * MIB
UPLOAD_RATIO, DOWNLOAD_RATIO, CLI_RATIO = 0.5, 0.8, 0.7


class Recorder:
    """Run named steps; keep MiB/s and CPU ms/MiB per process group for each repeat."""

    def __init__(self, groups_, nbytes):
        self.groups = groups_
        self.nbytes = nbytes
        self.speed = defaultdict(list)
        self.cpu = defaultdict(lambda: defaultdict(list))

    def step(self, name, action, nbytes=None, groups_=None, settle=None):
        """Time `action`. `settle` then runs, untimed (waiting out the AOF rewrites the step
        set off, so the next step has both cores): the rewrites' CPU is charged to this step."""
        nbytes = nbytes or self.nbytes
        labels = groups_ or self.groups
        before = {k: cpu_seconds(v) for k, v in labels.items()}
        start = time.perf_counter()
        result = action()
        seconds = time.perf_counter() - start
        after = {k: cpu_seconds(v) for k, v in labels.items()}
        if settle is not None:
            settle()
            if "rewrites" in labels:
                after["rewrites"] = cpu_seconds(labels["rewrites"])
        self.speed[name].append(nbytes / MIB / seconds)
        for label in labels:
            self.cpu[name][label].append(1000 * (after[label] - before[label]) / (nbytes / MIB))
        return result

    def total_cpu(self, name, index):
        return sum(values[index] for label, values in self.cpu[name].items()
                   if label != "rewrites")


def median(values):
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def new_share(api, size):
    auth = os.urandom(32)
    created = api.create(version=2, size=size, downloads=1, expires_in=3600,
                         verifier=b64u_encode(hashlib.sha256(auth).digest()),
                         metadata=b64u_encode(os.urandom(156)), password=None)
    return created, auth


def api_upload(api, chunks, connections):
    created, auth = new_share(api, sum(len(c) for c in chunks))
    sid, owner = created["id"], created["owner_token"]
    if connections == 1:
        for index, chunk in enumerate(chunks):
            api.put_chunk(sid, owner, index, chunk)
    else:
        with ThreadPoolExecutor(connections) as pool:
            list(pool.map(lambda i: api.put_chunk(sid, owner, i, chunks[i]),
                          range(len(chunks))))
    api.finalize(sid, owner)
    return sid, auth


def api_download(api, sid, auth, size):
    ticket = api.claim(sid, auth)["ticket"]
    received = 0
    with api.content(sid, ticket) as (_, pieces):
        for piece in pieces:
            received += len(piece)
    if received != size:
        raise AssertionError(f"downloaded {received} of {size} bytes")


def payload(size):
    """Return (chunks, raw keys): `size` bytes as 4 MiB chunks of random bytes, each a different
    slice of one block (no two alike, without drawing `size` random bytes), and a raw key each."""
    block = os.urandom(CHUNK + 65536)
    chunks = [block[(i * 7919) % 65536:][:CHUNK] for i in range(size // CHUNK)]
    return chunks, [b"bench:raw:%d" % i for i in range(len(chunks))]


def http_upload(api, port, chunks):
    """Upload through the service with the minimal HTTP client (bench/raw.py); the share is
    created and finalized through `api`, so only the chunk bodies go the fast way."""
    created, auth = new_share(api, sum(len(c) for c in chunks))
    sid, owner = created["id"], created["owner_token"]
    http = HttpClient(port)
    headers = [("Authorization", f"Bearer {owner}"),
               ("Content-Type", "application/octet-stream")]
    for index, chunk in enumerate(chunks):
        status, answer = http.call("PUT", f"/api/v1/shares/{sid}/chunks/{index}", headers,
                                   chunk)
        if status != 200:
            raise RuntimeError(f"chunk {index}: {status} {answer[:200]!r}")
    http.close()
    api.finalize(sid, owner)
    return sid, auth


def http_download(api, port, sid, auth, size):
    """Claim through `api`, then fetch the content with the minimal HTTP client."""
    ticket = api.claim(sid, auth)["ticket"]
    http = HttpClient(port)
    buffer = memoryview(bytearray(CHUNK))
    received = http.get_into(f"/api/v1/shares/{sid}/content",
                             [("Authorization", f"Bearer {ticket}")], buffer)
    http.close()
    if received != size:
        raise AssertionError(f"downloaded {received} of {size} bytes")


def raw_set(client, keys, chunks):
    for key, chunk in zip(keys, chunks, strict=True):
        client.set(key, chunk)


def raw_get(client, keys, size):
    buffer = memoryview(bytearray(size + 2))
    for key in keys:
        client.get_into(key, buffer)


def wait_rewrite(client):
    """Wait until the append-only file switched back on has been rewritten."""
    while True:
        fields = info(client)
        if fields.get("aof_rewrite_in_progress") == "0" and \
                fields.get("aof_rewrite_scheduled") == "0":
            return
        time.sleep(0.05)


def info(client):
    """Return INFO persistence, read with the raw client (a bulk reply)."""
    rows = client.bulk(b"INFO", b"persistence").decode().splitlines()
    return dict(row.split(":", 1) for row in rows if ":" in row)


def cli_send(url, path):
    """Run `onetimeshare send FILE`; return the link it prints."""
    out = subprocess.run([sys.executable, "-m", "onetimeshare.cli", "send", str(path),
                          "--server", url, "--json", "-q"], cwd=ROOT, check=True,
                         capture_output=True, env=cli_env(), text=True).stdout
    import json

    return json.loads(out)["link"]


def run_cli_get(link, output):
    """Run `onetimeshare get LINK -o OUTPUT --force -q`; with `-` the content goes to
    /dev/null."""
    subprocess.run([sys.executable, "-m", "onetimeshare.cli", "get", link, "-o", str(output),
                    "--force", "-q"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE, env=cli_env())


def cli_get(link, out_dir):
    target = Path(out_dir) / "received"
    run_cli_get(link, target)
    size = target.stat().st_size
    target.unlink()
    return size


def cli_get_stdout(link):
    """Run `onetimeshare get LINK -o -` into /dev/null: the CLI's own work (claim, download,
    decryption, authentication), without a file to keep, as the API download keeps none."""
    run_cli_get(link, "-")


@functools.cache
def compile_client():
    """Byte-compile the client's modules once, as installing it does (pip compiles every module
    it installs). Where PYTHONDONTWRITEBYTECODE is set (this machine sets it) a checkout's
    modules would otherwise be compiled from source at every command's start: 10-15 ms of it."""
    compileall.compile_dir(ROOT / "onetimeshare", quiet=1)


def cli_env():
    compile_client()
    # A private state directory, so the benchmark leaves nothing in the user's.
    return {**os.environ, "XDG_STATE_HOME": tempfile.gettempdir() + "/ots-bench-state",
            "XDG_CONFIG_HOME": tempfile.gettempdir() + "/ots-bench-config"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=128, help="share size (default 128)")
    parser.add_argument("--repeat", type=int, default=2, help="interleaved repeats (default 2)")
    parser.add_argument("--connections", type=int, default=4,
                        help="upload connections for the parallel upload (default 4)")
    parser.add_argument("--cli", action="store_true", help="also time onetimeshare send / get")
    args = parser.parse_args()
    size = args.size_mib * MIB
    chunks, keys = payload(size)
    load = os.getloadavg()
    print(f"# Default deployment: {args.size_mib} MiB in 4 MiB chunks, {args.repeat} repeat(s)\n")
    print(f"nproc {os.cpu_count()}, load average {load[0]:.1f} at start (a shared machine: "
          "wall-time figures move with the neighbours' load; CPU ms/MiB much less); "
          f"{RAISED_LIMIT_NOTE}\n")
    with default_server() as (url, data_dir, master), \
            tempfile.TemporaryDirectory(prefix="ots-bench-file-") as file_dir:
        procs = groups(master)
        raw = RespClient(str(Path(data_dir) / "redis.sock"))
        raw_groups = {k: procs[k] for k in ("valkey", "rewrites", "client")}
        rec = Recorder(procs, size)
        api = ShareApi(url)
        port = int(url.rsplit(":", 1)[1])
        source = Path(file_dir) / "payload.bin"
        if args.cli:
            with open(source, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
        # Warm-up: every worker imports, loads its scripts and opens its Redis connections.
        for _ in range(4):
            sid, auth = api_upload(api, chunks[:2], 2)
            api_download(api, sid, auth, 2 * CHUNK)
        for _ in range(args.repeat):
            rec.step("memcpy", lambda: memcpy(chunks), groups_={"client": procs["client"]})
            rec.step("loopback TCP", lambda: loopback_copy(chunks),
                     groups_={"client": procs["client"]})
            rec.step("raw SET (AOF on)", lambda: raw_set(raw, keys, chunks), groups_=raw_groups)
            rec.step("raw GET", lambda: raw_get(raw, keys, CHUNK), groups_=raw_groups)
            raw.command(b"DEL", *keys)
            raw.command(b"CONFIG", b"SET", b"appendonly", b"no")
            rec.step("raw SET (AOF off)", lambda: raw_set(raw, keys, chunks),
                     groups_=raw_groups)
            raw.command(b"DEL", *keys)
            raw.command(b"CONFIG", b"SET", b"appendonly", b"yes")
            # No step starts while an AOF rewrite runs (one set off by the step before would
            # take a core from it); the rewrites a step sets off are reported apart.
            settle = partial(wait_rewrite, raw)
            settle()
            sid, auth = rec.step("service upload, minimal HTTP client",
                                 lambda: http_upload(api, port, chunks), settle=settle)
            rec.step("service download, minimal HTTP client",
                     lambda s=sid, a=auth: http_download(api, port, s, a, size), settle=settle)
            sid, auth = rec.step("API upload, 1 connection", lambda: api_upload(api, chunks, 1),
                                 settle=settle)
            rec.step("API download", lambda s=sid, a=auth: api_download(api, s, a, size),
                     settle=settle)
            sid, auth = rec.step(f"API upload, {args.connections} connections",
                                 lambda: api_upload(api, chunks, args.connections),
                                 settle=settle)
            api_download(api, sid, auth, size)
            settle()
            if args.cli:
                rec.step(DISK, lambda: disk_write(chunks, file_dir),
                         groups_={"client": procs["client"]})
                link = rec.step("CLI send", lambda: cli_send(url, source), settle=settle)
                rec.step("CLI get", lambda lk=link: cli_get(lk, file_dir), settle=settle)
                link = cli_send(url, source)
                settle()
                rec.step(CLI_GET_STDOUT, lambda lk=link: cli_get_stdout(lk), settle=settle)
        api.close()
        raw.close()
    # Any service in front of the same Redis moves each byte out of Redis (raw GET), then over
    # one more loopback TCP connection: a zero-cost web worker would stop there.
    add_bound(rec, HOP_BOUND, "raw GET", "loopback TCP",
              AGAINST_HOP, "service download, minimal HTTP client")
    if args.cli:
        # `get` also saves what it downloads; the API download keeps nothing.
        add_bound(rec, DISK_BOUND, "API download", DISK, AGAINST_DISK, "CLI get")
    report(rec, args)


HOP_BOUND = "raw GET, then one loopback TCP hop (computed)"
AGAINST_HOP = "service download, minimal HTTP client, against that"
DISK = "file write and fsync"
CLI_GET_STDOUT = "CLI get -o - (to /dev/null)"
DISK_BOUND = "API download, then the file write (computed)"
AGAINST_DISK = "CLI get, against that"


def add_bound(rec, bound, first, second, against, measured):
    """Add `bound`: `first`, then `second`, one after the other in each repeat (times and CPU
    add up), what a zero-cost version of the work between them would reach; and `measured`
    again as `against`, held to that bound, so its ratio can be read against what is
    reachable at all."""
    rec.speed[bound] = [1 / (1 / a + 1 / b)
                        for a, b in zip(rec.speed[first], rec.speed[second], strict=True)]
    labels = set(rec.cpu[first]) | set(rec.cpu[second])
    for label in labels:
        ones = rec.cpu[first].get(label) or [0.0] * len(rec.speed[first])
        twos = rec.cpu[second].get(label) or [0.0] * len(rec.speed[second])
        rec.cpu[bound][label] = [a + b for a, b in zip(ones, twos, strict=True)]
    rec.speed[against] = rec.speed[measured]
    rec.cpu[against] = rec.cpu[measured]


BASELINES = {
    "raw SET (AOF off)": ("raw SET (AOF on)", None),
    "service upload, minimal HTTP client": ("raw SET (AOF on)", UPLOAD_RATIO),
    "service download, minimal HTTP client": ("raw GET", DOWNLOAD_RATIO),
    "API upload, 1 connection": ("raw SET (AOF on)", UPLOAD_RATIO),
    "API download": ("raw GET", DOWNLOAD_RATIO),
    HOP_BOUND: ("raw GET", None),
    AGAINST_HOP: (HOP_BOUND, None),
    DISK_BOUND: ("API download", None),
    AGAINST_DISK: (DISK_BOUND, None),
    "CLI send": ("API upload, 1 connection", CLI_RATIO),
    "CLI get": ("API download", CLI_RATIO),
    CLI_GET_STDOUT: ("API download", CLI_RATIO),
}


def report(rec, args):
    labels = ["web", "valkey", "client", "rewrites"]
    rows = []
    for name in rec.speed:
        base, target = BASELINES.get(name, (None, None))
        if name.startswith("API upload, ") and name != "API upload, 1 connection":
            base, target = "raw SET (AOF on)", UPLOAD_RATIO
        cpu = rec.cpu[name]
        cells = [name, f"{median(rec.speed[name]):.0f}"]
        cells += [f"{median(cpu[label]):.2f}" if label in cpu else "" for label in labels]
        total = [rec.total_cpu(name, i) for i in range(len(rec.speed[name]))]
        cells.append(f"{median(total):.2f}")
        if base:
            by_speed = median([a / b for a, b in zip(rec.speed[name], rec.speed[base],
                                                     strict=True)])
            base_total = [rec.total_cpu(base, i) for i in range(len(rec.speed[base]))]
            by_cpu = median([b / a for a, b in zip(total, base_total, strict=True)])
            met = "" if target is None else (
                "yes" if min(by_speed, by_cpu) >= target else "NO")
            cells += [base, f"{by_speed:.2f}", f"{by_cpu:.2f}",
                      "" if target is None else f">= {target}", met]
        else:
            cells += ["", "", "", "", ""]
        rows.append(cells)
    headers = ["measurement", "MiB/s", "web ms/MiB", "valkey ms/MiB", "client ms/MiB",
               "AOF rewrites ms/MiB", "total ms/MiB (without rewrites)",
               "baseline (same repeat)", "ratio MiB/s", "ratio CPU", "target",
               "met"]
    print("| " + " | ".join(headers) + " |")
    print("|---" + "|--:" * (len(headers) - 1) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print("\nratio MiB/s = figure / baseline; ratio CPU = baseline ms/MiB / figure ms/MiB "
          "(medians over repeats of the per-repeat ratio). The parallel upload is held to the "
          "same raw SET and should be at least as fast as one connection.")


if __name__ == "__main__":
    main()
