"""Drive the `onetimeshare` command as a user would: a subprocess with its own state and config.

`Cli.run` starts `python -m onetimeshare.cli` in a new session (so it has no terminal to ask a
password on) with XDG_STATE_HOME and XDG_CONFIG_HOME in the test's directory, and returns its
exit code, stdout and stderr, and its peak memory. `CuttingRelay` is a loopback TCP relay that
cuts the first connection carrying more than N bytes to the client, once: a dropped download.
`Cli.run_on_terminal` gives the command a pseudo-terminal and types answers to its prompts;
`Cli.run_in_terminal` makes the pseudo-terminal its stdout and stderr too, to see what a person
at a terminal would see.
"""

import contextlib
import fcntl
import os
import re
import select
import socket
import subprocess
import sys
import termios
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from devtools.processes import ROOT
from tests.recording import RecordingProxy

LINK = re.compile(r"^http://127\.0\.0\.1:\d+/s/[A-Za-z0-9_-]{22}#[A-Za-z0-9_-]{22}$")


@dataclass
class Result:
    code: int
    stdout: bytes
    stderr: str
    max_rss_kib: int  # ru_maxrss: never below the RSS of the test process when it forked
    peak_rss_kib: int = 0  # the command's own high-water mark (VmHWM), see _HighWater

    @property
    def text(self):
        return self.stdout.decode()


class Cli:
    """The command, run with a private home for its state and config files."""

    def __init__(self, home: Path, server: str | None):
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        self.env = {key: value for key, value in os.environ.items()
                    if not key.startswith("ONETIMESHARE_")}
        # PYTHONPATH: the checkout's package, whatever the state of the venv's editable install.
        self.env.update(XDG_STATE_HOME=str(home / "state"), XDG_CONFIG_HOME=str(home / "config"),
                        PYTHONPATH=str(ROOT))
        if server:
            self.env["ONETIMESHARE_SERVER"] = server

    @property
    def state_file(self):
        return self.home / "state" / "onetimeshare" / "shares.json"

    def run(self, *args, input=b"", env=None, cwd=None) -> Result:
        """Run `onetimeshare ARGS`; stdin is `input` (bytes) or an open file."""
        stdin = subprocess.PIPE if isinstance(input, bytes) else input
        process = subprocess.Popen(
            [sys.executable, "-m", "onetimeshare.cli", *map(str, args)],
            cwd=cwd or self.home, env={**self.env, **(env or {})}, stdin=stdin,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        )
        watcher = _HighWater(process.pid)
        stdout, stderr = _communicate(process, input if isinstance(input, bytes) else None)
        # wait4 gives this child's own peak RSS (ru_maxrss, KiB on Linux), not a sum of children.
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        return Result(process.returncode, stdout, stderr.decode(errors="replace"),
                      usage.ru_maxrss, watcher.join())

    def run_on_terminal(self, *args, answers, env=None, prompt=b"Password: ") -> "TerminalResult":
        """Run `onetimeshare ARGS` with a pseudo-terminal as its controlling terminal and stdin,
        typing one line of `answers` after each `prompt` it shows there (as a person would:
        getpass flushes what was typed before the prompt)."""
        master, slave = os.openpty()
        process = subprocess.Popen(
            [sys.executable, "-m", "onetimeshare.cli", *map(str, args)],
            cwd=self.home, env={**self.env, **(env or {})}, stdin=slave,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
            preexec_fn=_take_terminal,
        )
        os.close(slave)
        shown = bytearray()
        typer = threading.Thread(target=_type_answers, args=(master, answers, prompt, shown),
                                 daemon=True)
        typer.start()
        stdout, stderr = _communicate(process, None)
        _, status, _ = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        typer.join(10)
        os.close(master)
        return TerminalResult(process.returncode, stdout,
                              stderr.decode(errors="replace"),
                              bytes(shown).decode(errors="replace"))

    def run_in_terminal(self, *args, script=(), env=None, cwd=None, timeout=60) -> "Screen":
        """Run `onetimeshare ARGS` with a pseudo-terminal as stdin, stdout and stderr, as in an
        interactive shell; `script` is (wait_for, keys) pairs: type `keys` once `wait_for`
        (bytes) has appeared on the screen since the previous step. Returns the exit code and
        everything the terminal received (output, prompts and the echo of what was typed)."""
        master, slave = os.openpty()
        process = subprocess.Popen(
            [sys.executable, "-m", "onetimeshare.cli", *map(str, args)],
            cwd=cwd or self.home, env={**self.env, "COLUMNS": "100", **(env or {})},
            stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
            preexec_fn=_take_terminal,
        )
        os.close(slave)
        screen, steps, seen_until = bytearray(), list(script), 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    data = os.read(master, 1 << 16)
                except OSError:  # EIO: every holder of the terminal closed it, the child ended
                    break
                if not data:
                    break
                screen += data
            if steps and steps[0][0] in screen[seen_until:]:
                seen_until = screen.index(steps[0][0], seen_until) + len(steps[0][0])
                os.write(master, steps.pop(0)[1])
        else:
            process.kill()
        os.close(master)
        code = process.wait(10)
        return Screen(code, bytes(screen), not steps)

    def ok(self, *args, **kwargs) -> Result:
        result = self.run(*args, **kwargs)
        assert result.code == 0, result.stderr
        return result

    def send(self, *args, **kwargs) -> str:
        """Send and return the link, checking stdout holds the link and nothing else."""
        link = self.ok("send", *args, **kwargs).text
        assert link.endswith("\n") and LINK.match(link.strip()), link
        return link.strip()


@dataclass
class TerminalResult:
    code: int
    stdout: bytes
    stderr: str
    terminal: str  # what the command wrote on the terminal: its prompts


@dataclass
class Screen:
    code: int
    raw: bytes  # all the terminal received, escape sequences included
    typed_all: bool  # every step of the script found its cue

    @property
    def text(self):
        return self.raw.decode(errors="replace")


def _take_terminal():
    """In the child, after setsid: make stdin (the pseudo-terminal) the controlling terminal."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _type_answers(master, answers, prompt, shown, timeout=60):
    """Type each answer after the next prompt appears; keep reading so the child never blocks."""
    typed = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                data = os.read(master, 1024)
            except OSError:  # the child closed the terminal: it has ended
                return
            if not data:
                return
            shown += data
        if typed < len(answers) and shown.count(prompt) > typed:
            os.write(master, answers[typed].encode() + b"\n")
            typed += 1


class _HighWater:
    """Follow a child's VmHWM (its own peak RSS since exec) in /proc until it ends.

    ru_maxrss cannot tell a small child's peak: Linux carries the forking process's RSS into
    it, so every child of a test that holds 64 MiB "peaks" at that. VmHWM starts afresh at
    exec and only grows, so the last value read before the child exits is its peak, short of
    whatever it allocates in its last few milliseconds.
    """

    def __init__(self, pid, interval=0.005):
        self.path, self.interval, self.peak = f"/proc/{pid}/status", interval, 0
        self.thread = threading.Thread(target=self._follow, daemon=True)
        self.thread.start()

    def _follow(self):
        while True:
            try:
                with open(self.path) as status:
                    lines = [line for line in status if line.startswith("VmHWM:")]
            except OSError:
                return
            if not lines:  # a zombie has no memory left to report
                return
            self.peak = max(self.peak, int(lines[0].split()[1]))
            time.sleep(self.interval)

    def join(self) -> int:
        self.thread.join(5)
        return self.peak


def _communicate(process, data, timeout=120):
    """Like Popen.communicate, but without reaping the child, so wait4 can read its usage."""
    out, err = bytearray(), bytearray()
    readers = [threading.Thread(target=_drain, args=(process.stdout, out), daemon=True),
               threading.Thread(target=_drain, args=(process.stderr, err), daemon=True)]
    for reader in readers:
        reader.start()
    if process.stdin:
        try:
            process.stdin.write(data)
        except BrokenPipeError:
            pass
        process.stdin.close()
    for reader in readers:
        reader.join(timeout)
    return bytes(out), bytes(err)


def _drain(stream, into):
    while data := stream.read(1 << 16):
        into += data
    stream.close()


class CuttingRelay(RecordingProxy):
    """Relay to `target_port` like RecordingProxy (which keeps what clients send, to see their
    Range headers), but cut the first connection that carries more than `cut_after` bytes to
    the client, right there, once."""

    def __init__(self, target_port, cut_after):
        self.cut_after = cut_after
        self.cuts = 0
        super().__init__(target_port)

    def _pump(self, source, sink, record):
        if record:  # client to server: recorded by RecordingProxy
            return super()._pump(source, sink, record)
        relayed = 0
        try:
            while data := source.recv(1 << 16):
                if relayed + len(data) > self.cut_after and self._take_the_cut():
                    sink.sendall(data[: self.cut_after - relayed])
                    break
                relayed += len(data)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            # Closing both ends the connection for the client and for the other direction's pump.
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def _take_the_cut(self):
        with self.lock:
            if self.cuts:
                return False
            self.cuts = 1
            return True


def corrupt_first_chunk(redis_client, share_id):
    """Flip one bit in the middle of the first stored ciphertext chunk, keeping its length."""
    key = f"ots:{{{share_id}}}:data"
    field = redis_client.hget(key, "n0")  # the field that holds chunk 0
    chunk = bytearray(redis_client.hget(key, field))
    chunk[len(chunk) // 2] ^= 0x01
    redis_client.hset(key, field, bytes(chunk))




class FakeServer:
    """A loopback HTTP server answering each request with `handler(httpx.Request)`.

    For answers the real server of this checkout does not give (yet), e.g. a server that
    requires an upload token; everything else should run against the real service.
    """

    def __init__(self, handler):
        import http.server

        import httpx

        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                request = httpx.Request(self.command, f"http://127.0.0.1{self.path}",
                                        headers=dict(self.headers), content=self.rfile.read(length))
                response = outer.handler(request)
                body = response.content
                self.send_response(response.status_code)
                for name, value in response.headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, *args):
                pass

        self.handler = handler
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
