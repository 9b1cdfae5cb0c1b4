"""Build the Redis client the store talks through: one Redis server, or a Redis Cluster.

With REDIS_CLUSTER_NODES set, redis-py's `RedisCluster` routes every command and every script by
the slot of its keys; a share's keys all carry the hash tag `{<id>}`, so they share one slot and
one node, and nothing the store does ever spans two nodes. Otherwise a plain `Redis` client talks
to REDIS_URL, or to the embedded redis-server.

The store asks this module which node holds a key (for that node's memory, and to load a script
there). A cluster that cannot be reached while the client is built is reported as
`StorageUnavailable` (server/storage_errors.py), which the API answers with 503 and Retry-After.
"""

import socket
import threading

import redis
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.connection import parse_url
from redis.retry import Retry

from . import embedded_redis
from .storage_errors import translated

CLIENT_OPTIONS = {
    "socket_connect_timeout": 2,
    "socket_timeout": 30,
    "health_check_interval": 10,
    "retry_on_timeout": False,
    # With hiredis installed redis-py packs commands with it, copying a 4 MiB chunk at about
    # 500 MB/s; the pure-Python packer hands large arguments to the socket as they are.
    "command_packer": redis.connection.PythonRespSerializer(
        6000, redis.connection.Encoder("utf-8", "strict", False).encode),
    # A chunk's reply is read in pieces of this size (redis-py's default, 64 KiB, means 64
    # reads and parser feeds per 4 MiB chunk; 256 KiB cut the reader's CPU by a fifth).
    # Each pooled connection holds one such buffer.
    "socket_read_size": 256 * 1024,
}
#: A command hitting a dead node is retried this often (each retry re-reads the slot map).
#: Few: a failover takes seconds, during which clients are better told 503 and Retry-After.
CLUSTER_RETRIES = 3
#: A single Redis gets one quick retry, enough to replace a pooled connection that went stale
#: when Redis restarted. redis-py's default (many retries, up to a second apart) would hold a
#: request for seconds before its 503. A retry after a reply was lost can at worst run a claim
#: twice: one download lost, never one too many handed out.
SINGLE_RETRY = Retry(NoBackoff(), 1)
#: The send buffer asked for on a unix-socket connection (the embedded server's). Linux's
#: default, 208 KiB, takes a 4 MiB chunk in some twenty pieces, and under gevent each piece is
#: one more wait for the socket to turn writable: the chunk's HSET cost the worker 0.45-0.50 ms
#: of CPU per MiB sent, 0.29-0.33 with this (docs/performance.md). The kernel caps the size at
#: net.core.wmem_max without an error. TCP connections keep the kernel's own sizing, which
#: grows with the connection and which an explicit size would turn off.
UNIX_SEND_BUFFER = 4 * 1024 * 1024


class UnixConnection(redis.UnixDomainSocketConnection):
    """A unix-socket connection whose send buffer holds a whole chunk (UNIX_SEND_BUFFER)."""

    def _connect(self):
        sock = super()._connect()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, UNIX_SEND_BUFFER)
        return sock


class Connection:
    """The client and the registered scripts; a cluster client is built on first use.

    `RedisCluster` reads the slot map from the seeds as soon as it is created. Building it on
    first use, not at start-up, lets the app start while the cluster is down and recover by
    itself when it returns, exactly as a plain `Redis` client (which connects lazily) does.
    """

    def __init__(self, config, script_texts):
        self.seeds = config["REDIS_CLUSTER_NODES"]
        self.cluster = bool(self.seeds)
        self._script_texts = script_texts
        self._lock = threading.Lock()
        self._client = self._scripts = None
        if not self.cluster:
            url = config["REDIS_URL"] or embedded_redis.start(
                config["DATA_DIR"], config["EMBEDDED_REDIS_MAXMEMORY"]
            )[0]  # an app never stops it: whoever started it first (gunicorn's master) does
            unix = {"connection_class": UnixConnection} if url.startswith("unix:") else {}
            self._register(redis.Redis.from_url(url, retry=SINGLE_RETRY, **unix,
                                                **CLIENT_OPTIONS))

    @property
    def client(self):
        """Return the redis-py client (`Redis` or `RedisCluster`), building it if need be."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._register(self._new_cluster_client())
        return self._client

    @property
    def scripts(self):
        """Return the registered scripts by name."""
        self.client  # noqa: B018 - the scripts are registered with the client
        return self._scripts

    def _register(self, client):
        self._scripts = {name: client.register_script(text)
                         for name, text in self._script_texts.items()}
        self._client = client

    def _new_cluster_client(self):
        first, *others = self.seeds
        with translated():
            # The first seed's URL carries the options (credentials, TLS) for every node.
            return RedisCluster(
                url=first,
                startup_nodes=[_node(seed) for seed in others],
                retry=Retry(NoBackoff(), CLUSTER_RETRIES),
                # Serve the slots that are served: a node down takes only its own shares down.
                require_full_coverage=False,
                **CLIENT_OPTIONS,
            )

    def node_client(self, key):
        """Return a plain client on the node that holds `key` (the client itself without a
        cluster)."""
        client = self.client
        if not self.cluster:
            return client
        return client.get_redis_connection(client.get_node_from_key(key))

    def primary_clients(self):
        """Return {node name: plain client} for every primary (one entry without a cluster)."""
        client = self.client
        if not self.cluster:
            return {"redis": client}
        return {node.name: client.get_redis_connection(node) for node in client.get_primaries()}

    def cluster_state(self):
        """Return the cluster's state as one of its nodes sees it ("ok" or "fail")."""
        return self.client.cluster_info()["cluster_state"]


def _node(seed):
    parts = parse_url(seed)
    return ClusterNode(parts["host"], parts.get("port", 6379))
