"""A primary with a real replica, and the failover an operator performs when the primary dies.

The replica reaches its primary through `SlowLink`, a loopback relay that holds every byte the
primary sends for `delay` seconds (the replica's answers pass at once). It stands for the network
between two machines: without it, a SIGKILLed primary on the same host still has its last bytes
delivered by the kernel, and the replica never misses anything. `cut()` is the primary's machine
going away: whatever is still in the link is lost, as it would be on a wire. Everything else is
real: two valkey-server (or redis-server) processes, real replication, SIGKILL, REPLICAOF NO ONE.
"""

import socket
import threading
import time

import redis

from devtools.processes import RedisProcess, free_port

SYNC_TIMEOUT_SECONDS = 20


class SlowLink:
    """Relay loopback TCP to `target_port`, delaying the target's bytes by `delay` seconds."""

    def __init__(self, target_port, delay):
        self.target_port = target_port
        self.delay = delay
        self.port = free_port()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._sockets = [self._listener]
        self._cut = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self._cut.is_set():
            try:
                downstream, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:  # the primary is gone: the replica will retry, and fail again
                downstream.close()
                continue
            self._sockets += [downstream, upstream]
            threading.Thread(target=self._pump, args=(downstream, upstream, 0),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, downstream, self.delay),
                             daemon=True).start()

    def _pump(self, source, sink, delay):
        pending = []  # (due time, bytes): sent in order once due
        lock = threading.Condition()

        def send():
            while True:
                with lock:
                    while not pending and not self._cut.is_set():
                        lock.wait(0.05)
                    if self._cut.is_set():
                        return
                    due, data = pending[0]
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                    continue
                with lock:
                    pending.pop(0)
                if self._cut.is_set():
                    return
                try:
                    sink.sendall(data)
                except OSError:
                    return

        threading.Thread(target=send, daemon=True).start()
        while not self._cut.is_set():
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            with lock:
                pending.append((time.monotonic() + delay, data))
                lock.notify()

    def cut(self):
        """Drop everything in flight and close both ends, as a dead machine's link would."""
        self._cut.set()
        for sock in self._sockets:
            try:
                sock.close()
            except OSError:
                pass


class Node(RedisProcess):
    """A server with an append-only file, as a primary or a replica in a failover test."""

    def __init__(self, directory, binary=None, fsync="everysec"):
        # No wait for more replicas before a full sync (Redis waits 5 s by default).
        super().__init__(directory, "--appendonly", "yes", "--appendfsync", fsync,
                         "--repl-diskless-sync-delay", "0", binary=binary)

    def client(self):
        return redis.Redis.from_url(self.url, socket_timeout=10)

    def kill(self):
        """SIGKILL: no shutdown, no last flush."""
        self.process.kill()
        self.process.wait()


class ReplicatedPair:
    """A primary and one replica behind a SlowLink; `fail_over()` promotes the replica.

    After a failover the promoted replica is the primary and a fresh replica follows it, so one
    pair serves many rounds with one new process each.
    """

    def __init__(self, directory, binary=None, fsync="everysec", delay=0.15):
        self.directory = directory
        self.binary = binary
        self.fsync = fsync
        self.delay = delay
        self.generation = 0
        self.primary = self._node().start()
        self.link = self.replica = None
        self._add_replica()

    def _node(self):
        self.generation += 1
        return Node(self.directory / f"node{self.generation}", self.binary, self.fsync)

    def _add_replica(self):
        self.link = SlowLink(self.primary.port, self.delay)
        self.replica = self._node().start()
        with self.replica.client() as client:
            client.replicaof("127.0.0.1", self.link.port)
        self.wait_until_in_sync()

    def wait_until_in_sync(self):
        """Wait until the replica is linked and has everything the primary has written."""
        deadline = time.monotonic() + SYNC_TIMEOUT_SECONDS
        with self.primary.client() as primary, self.replica.client() as replica:
            while time.monotonic() < deadline:
                ours = primary.info("replication")
                theirs = replica.info("replication")
                if (theirs.get("master_link_status") == "up"
                        and ours.get("connected_slaves", 0) >= 1
                        and int(theirs.get("slave_repl_offset", -1))
                        >= int(ours["master_repl_offset"])):
                    return
                time.sleep(0.02)
        raise RuntimeError("the replica did not catch up in time")

    def fail_over(self):
        """Kill the primary (SIGKILL, link cut), promote the replica, give it a new replica."""
        self.primary.kill()
        self.link.cut()
        with self.replica.client() as client:
            client.replicaof("NO", "ONE")
        self.primary = self.replica
        self._add_replica()

    def stop(self):
        if self.link:
            self.link.cut()
        for node in (self.primary, self.replica):
            if node:
                node.stop()
