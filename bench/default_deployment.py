"""Start the default deployment for a benchmark and count the CPU its processes spend.

`onetimeshare serve` as shipped (embedded Valkey with its append-only file, gevent workers,
rate limits and the access log on), in a temporary DATA_DIR. Shared by bench/bench_default.py
(the API and the CLI against raw RESP) and bench/bench_browser.py (the page against raw fetch),
so both measure the same server. With `redis_url` it runs against that Redis instead of the
embedded one, as compose runs it (bench/compose_stack.py).
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil

from devtools.processes import ROOT, free_port, stop

#: The one setting raised from the defaults, in bytes: the benchmark's one address uploads
#: what many users would in an hour. Benchmarks say so in their output (RAISED_LIMIT_NOTE).
UPLOAD_BYTES_PER_IP_PER_HOUR = 1024 ** 4
RAISED_LIMIT_NOTE = ("only UPLOAD_BYTES_PER_IP_PER_HOUR raised (to 1 TiB): one benchmark "
                     "address uploads what many users would")


@contextmanager
def default_server(extra_env=None, redis_url=None):
    """Run `onetimeshare serve` with its defaults; yield (base url, data dir, process tree).

    `redis_url`: the Redis to use (REDIS_URL); None starts the embedded one in the data dir.
    """
    data_dir = tempfile.mkdtemp(prefix="ots-bench-default-")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CLAIM_DURABILITY")}
    env["UPLOAD_BYTES_PER_IP_PER_HOUR"] = str(UPLOAD_BYTES_PER_IP_PER_HOUR)
    if redis_url is not None:
        env["REDIS_URL"] = redis_url
    env.update(extra_env or {})
    log = open(Path(data_dir) / "serve.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "onetimeshare.cli", "serve", "--bind", f"127.0.0.1:{port}",
         "--data-dir", data_dir], cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
        stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("onetimeshare serve did not start: "
                                   + (Path(data_dir) / "serve.log").read_text()[-2000:])
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        time.sleep(1)  # every worker booted
        yield url, data_dir, psutil.Process(process.pid)
    finally:
        stop(process)
        log.close()
        shutil.rmtree(data_dir, ignore_errors=True)


def groups(master):
    """Return label -> processes: gunicorn's workers, the Valkey server, this client."""
    children = master.children()
    valkey = [p for p in children if "valkey" in p.name()]
    workers = [p for p in children if p not in valkey]
    return {"web": workers, "valkey": valkey, "rewrites": [("children", p) for p in valkey],
            "client": [("children", psutil.Process())]}


def cpu_seconds(processes):
    """CPU seconds of `processes`; ("children", p) counts p and its reaped children.

    The CLI runs as a child of this process. Valkey's reaped children are its AOF rewrites
    (its own, and the purge's, `server/aof_purge.py`): reported apart ("rewrites") and left
    out of the ratios, since one lands on whichever step happens to be running.
    """
    total = 0.0
    for proc in processes:
        try:
            if isinstance(proc, tuple):
                times = proc[1].cpu_times()
                total += times.children_user + times.children_system
                if proc[1].pid == os.getpid():
                    total += times.user + times.system
                continue
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total
