"""A worker told to stop while it boots stops, instead of serving on until it is killed.

Between its fork and its own handlers a gunicorn worker runs the master's signal handler, which
only queues the signal (server/serving.py, Worker.init_signals). A SIGTERM in that window was
lost: the worker served until the master killed it at the graceful timeout, 30 s later (seen in
CI as `onetimeshare serve` taking over 30 s to stop right after it became ready). Run in a child
process, since installing a worker's handlers would replace pytest's.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BOOT = """
import os, queue, signal, sys
from gunicorn.config import Config
from server.serving import Worker

worker = Worker(1, os.getpid(), [], None, 30, Config(), None)
worker.PIPE = os.pipe()
for end in worker.PIPE:
    os.set_blocking(end, False)
worker.signals_before_init = queue.SimpleQueue()
for name in sys.argv[1:]:
    worker.signals_before_init.put_nowait(getattr(signal, name))
worker.init_signals()
print(worker.alive, signal.getsignal(signal.SIGTERM) == worker.handle_exit)
"""


def boot_after(*signals):
    """Return what a worker's init_signals leaves, given the signals queued before it."""
    done = subprocess.run([sys.executable, "-c", BOOT, *signals], cwd=ROOT, check=True,
                          capture_output=True, text=True, timeout=60)
    return done.stdout.split()


def test_a_stop_queued_before_the_workers_handlers_stops_it():
    assert boot_after("SIGCHLD", "SIGTERM") == ["False", "True"]
    assert boot_after("SIGQUIT") == ["False", "True"]
    assert boot_after("SIGINT") == ["False", "True"]


def test_the_masters_own_signals_in_the_inherited_queue_leave_the_worker_running():
    assert boot_after() == ["True", "True"]
    assert boot_after("SIGCHLD", "SIGHUP", "SIGWINCH") == ["True", "True"]
