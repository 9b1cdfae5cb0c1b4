"""Start a real Redis Cluster for the tests: N cluster-enabled primaries on free loopback ports.

No redis-cli: the slots are assigned and the nodes introduced from Python, the way `redis-cli
--cluster create` does it (ADDSLOTSRANGE, SET-CONFIG-EPOCH, MEET), and the cluster counts as up
only when every node says `cluster_state:ok` and sees all 16384 slots served by a known node.
Each node keeps an append-only file in its own directory, so `restart` loses nothing, and runs
with `cluster-require-full-coverage no`, as docs/cluster.md recommends: a stopped node then takes
only its own slots down.
"""

import random
import socket
import time
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.retry import Retry

from devtools.processes import RedisProcess

SLOTS = 16384
BUS_PORT_OFFSET = 10000  # redis-server 6.2 has no --cluster-port: its bus is always port + 10000
START_ATTEMPTS = 5
FORM_TIMEOUT_SECONDS = 60


def _bindable(port):
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port_pair():
    """Return a port that is free, and whose cluster bus port (port + 10000) is free too."""
    # Below the kernel's ephemeral range (32768 and up), so client sockets rarely take them.
    for _ in range(200):
        port = random.randint(12000, 22000)
        if _bindable(port) and _bindable(port + BUS_PORT_OFFSET):
            return port
    raise RuntimeError("no free pair of ports for a cluster node")


class ClusterNodeProcess(RedisProcess):
    """One cluster-enabled redis-server, restartable on the same port with the same data."""

    def __init__(self, directory, *extra_args, binary=None):
        super().__init__(
            directory,
            "--cluster-enabled", "yes",
            "--cluster-config-file", "nodes.conf",
            # Generous: the machine may be busy, and no test waits for failure detection.
            "--cluster-node-timeout", "5000",
            "--cluster-require-full-coverage", "no",
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--repl-diskless-sync-delay", "0",  # a new replica syncs at once, not after 5 s
            *extra_args,
            binary=binary,
        )

    def start(self):
        """Start on a free port pair, trying others if another process takes one first."""
        if self.process is not None:  # a restart: the cluster knows this node by its port
            return super().start()
        for attempt in range(START_ATTEMPTS):
            self.port = free_port_pair()
            try:
                return super().start()
            except RuntimeError:
                if attempt == START_ATTEMPTS - 1:
                    raise
        return self

    def restart(self):
        self.stop()
        return self.start()

    def client(self):
        """A plain (non-cluster) client on this node only; it fails at once when the node is
        down, where redis-py's default would retry for seconds."""
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=10,
                           socket_connect_timeout=2, retry=Retry(NoBackoff(), 0))


class LocalCluster:
    """A Redis Cluster of `primaries` nodes in `directory`, each with `replicas` replicas."""

    def __init__(self, directory, primaries=3, replicas=0, binary=None):
        self.directory = Path(directory)
        self.primaries = primaries
        self.nodes = [ClusterNodeProcess(self.directory / f"node{index}", binary=binary)
                      for index in range(primaries * (1 + replicas))]

    @property
    def seeds(self):
        """The value for REDIS_CLUSTER_NODES."""
        return ",".join(f"127.0.0.1:{node.port}" for node in self.nodes)

    def start(self):
        try:
            for node in self.nodes:
                node.start()
            self._form()
            self.wait_until_ok()
            self._attach_replicas()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        for node in self.nodes:
            node.stop()

    def _form(self):
        """Give each primary an equal range of slots and its own epoch, then introduce all."""
        share = SLOTS // self.primaries
        for index, node in enumerate(self.nodes[:self.primaries]):
            first = index * share
            last = SLOTS - 1 if index == self.primaries - 1 else first + share - 1
            with node.client() as client:
                try:
                    client.execute_command("CLUSTER", "ADDSLOTSRANGE", first, last)
                except redis.exceptions.ResponseError:  # redis-server 6.2: no ADDSLOTSRANGE
                    client.execute_command("CLUSTER", "ADDSLOTS", *range(first, last + 1))
                # Distinct epochs up front spare the nodes resolving a collision among themselves.
                client.execute_command("CLUSTER", "SET-CONFIG-EPOCH", index + 1)
        with self.nodes[0].client() as client:
            for node in self.nodes[1:]:
                client.execute_command("CLUSTER", "MEET", "127.0.0.1", node.port)

    def _attach_replicas(self):
        """Make the nodes past the primaries replicas of them, in turn; wait until synced."""
        for index, node in enumerate(self.nodes[self.primaries:]):
            primary = self.nodes[index % self.primaries]
            with primary.client() as client:
                primary_id = client.execute_command("CLUSTER", "MYID")
            with node.client() as client:
                client.execute_command("CLUSTER", "REPLICATE", primary_id)
        if len(self.nodes) > self.primaries:
            for node in self.nodes[:self.primaries]:
                self.wait_for_replica(node)

    def wait_for_replica(self, primary, seconds=FORM_TIMEOUT_SECONDS):
        """Wait until `primary` has a replica linked that has all it had written when asked."""
        deadline = time.monotonic() + seconds
        with primary.client() as client:
            target = int(client.info("replication")["master_repl_offset"])
        while time.monotonic() < deadline:
            with primary.client() as client:
                info = client.info("replication")
            replicas = [value for key, value in info.items() if key.startswith("slave")
                        and isinstance(value, dict)]
            if any(r.get("state") == "online" and int(r.get("offset", -1)) >= target
                   for r in replicas):
                return
            time.sleep(0.05)
        raise RuntimeError(f"no replica of {primary.port} caught up within {seconds} s")

    def replica_of(self, primary):
        """Return the node that replicates `primary`."""
        with primary.client() as client:
            info = client.info("replication")
        ports = {int(value["port"]) for key, value in info.items()
                 if key.startswith("slave") and isinstance(value, dict)}
        return next(node for node in self.nodes if node.port in ports)

    def wait_until_ok(self, seconds=FORM_TIMEOUT_SECONDS):
        """Wait until every node agrees the cluster is whole; raise RuntimeError if it is not."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if all(self._node_is_ok(node) for node in self.nodes):
                return
            time.sleep(0.1)
        raise RuntimeError(f"the cluster did not form within {seconds} s: {self.states()}")

    def _node_is_ok(self, node):
        try:
            with node.client() as client:
                info = client.execute_command("CLUSTER", "INFO")
                slots = client.execute_command("CLUSTER", "SLOTS")
        except redis.exceptions.RedisError:
            return False
        info = _parse_info(info)
        served = sum(int(entry[1]) - int(entry[0]) + 1 for entry in slots
                     if entry[2][0] in (b"127.0.0.1", "127.0.0.1"))
        return (info.get("cluster_state") == "ok"
                and info.get("cluster_slots_ok") == str(SLOTS)
                and info.get("cluster_known_nodes") == str(len(self.nodes))
                and served == SLOTS)

    def states(self):
        """Each node's cluster_state, for error messages."""
        states = {}
        for node in self.nodes:
            try:
                with node.client() as client:
                    info = _parse_info(client.execute_command("CLUSTER", "INFO"))
                states[node.port] = info.get("cluster_state")
            except redis.exceptions.RedisError as error:
                states[node.port] = type(error).__name__
        return states

    def client(self):
        """A redis-py cluster client, as the service builds it."""
        return RedisCluster(startup_nodes=[ClusterNode("127.0.0.1", node.port)
                                           for node in self.nodes])

    def node_for_slot(self, slot):
        """Return the node that serves `slot`, according to the nodes themselves."""
        for first, last, primary, *_ in self.ask("CLUSTER", "SLOTS"):
            if int(first) <= slot <= int(last):
                return next(node for node in self.nodes if node.port == int(primary[1]))
        raise LookupError(f"no node serves slot {slot}")

    def node_for_key(self, key):
        return self.node_for_slot(int(self.ask("CLUSTER", "KEYSLOT", key)))

    def ask(self, *command):
        """Send a keyless command to the first node that answers (some test has one down)."""
        for node in self.nodes:
            try:
                with node.client() as client:
                    return client.execute_command(*command)
            except redis.exceptions.ConnectionError:
                continue
        raise RuntimeError("no node of the cluster answers")

    def flushall(self):
        for node in self.nodes:
            with node.client() as client:
                client.flushall()


def _parse_info(raw):
    text = raw.decode() if isinstance(raw, bytes) else raw
    if isinstance(text, dict):  # some redis-py versions parse CLUSTER INFO themselves
        return {key: str(value) for key, value in text.items()}
    return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)
