"""Make a claim durable before its ticket is handed out (CLAIM_DURABILITY).

A claim that Redis acknowledged but then lost (a power cut before the append-only file was
synced, a failover to a replica the write had not reached) lets a one-time link open twice. So,
at the chosen level, the store sends a wait right behind the claim script, on the same
connection (WAIT and WAITAOF wait for that connection's last write), and hands the ticket out
only when the wait confirms it:

- `none`: no wait. A claim may be lost by a power cut in the second before the next fsync, or by
  a failover just after it.
- `local`: the claim is on the primary's disk (`WAITAOF 1 0`, Redis >= 7.2 or Valkey; on an
  older Redis only with `appendfsync always`, where every write is synced before its reply).
- `replica`: `local`, and at least one replica acknowledged it (`WAIT 1`), so a replica promoted
  after the primary died has it.

A server that cannot honour the level is refused, never silently downgraded: at start when it
answers then, else before the first claim (which then answers 503 until it can).
"""

import logging
import threading

import redis

from .config import ConfigError

log = logging.getLogger(__name__)

LEVELS = ("none", "local", "replica")


class NotHonoured(ConfigError):
    """The Redis cannot make claims as durable as CLAIM_DURABILITY asks."""


class Durability:
    """The resolved level and the wait commands that follow each claim script."""

    def __init__(self, config):
        self.requested = config["CLAIM_DURABILITY"]
        self.level = self.requested if self.requested != "auto" else None
        self.timeout_ms = config["CLAIM_DURABILITY_TIMEOUT"] * 1000
        self.embedded = not (config["REDIS_URL"] or config["REDIS_CLUSTER_NODES"])
        self._waitaof = None
        self._checked = self.requested == "none"
        self._lock = threading.Lock()

    def ensure_checked(self, primaries):
        """Check (once) that every primary can honour the level; raise NotHonoured if not.

        `primaries` is a callable returning {name: plain client}; it may raise a connection
        error, which is let through: the check is then tried again before the next claim.
        """
        if self._checked:
            return
        with self._lock:
            if not self._checked:
                self._check(primaries())
                self._checked = True

    def _check(self, clients):
        facts = {name: _facts(client) for name, client in clients.items()}
        if self.level is None:
            # auto: a Redis we started ourselves has no replica; one with replicas gets them
            # used, so a failover never loses a claim.
            with_replicas = all(f["replicas"] >= 1 for f in facts.values())
            self.level = "replica" if with_replicas and not self.embedded else "local"
        self._waitaof = all(f["waitaof"] for f in facts.values())
        for name, fact in facts.items():
            problem = _problem(self.level, fact)
            if problem:
                raise NotHonoured(
                    f"CLAIM_DURABILITY={self.level} cannot be honoured by Redis {name} "
                    f"({fact['version']}): {problem}. Fix the Redis, or set CLAIM_DURABILITY "
                    "to a level it can honour (none accepts that a claim made just before a "
                    "crash or failover may be lost, so the link could open once more)."
                )
        log.info("claim durability: %s%s", self.level,
                 " (chosen for this deployment)" if self.requested == "auto" else "")

    def wait_commands(self):
        """Return the commands to pipeline behind a claim script (empty at `none`)."""
        commands = []
        if self.level == "replica":
            commands.append(("WAIT", 1, self.timeout_ms))
        if self.level in ("local", "replica") and self._waitaof:
            commands.append(("WAITAOF", 1, 0, self.timeout_ms))
        return commands

    def confirmed(self, replies):
        """Tell whether the replies to `wait_commands()` confirm the claim."""
        for command, reply in zip(self.wait_commands(), replies, strict=True):
            if isinstance(reply, Exception):
                return False
            if command[0] == "WAIT" and int(reply) < 1:
                return False
            if command[0] == "WAITAOF" and int(reply[0]) < 1:
                return False
        return True


def _facts(client):
    """Read what the level depends on: WAITAOF, AOF, fsync policy, connected replicas."""
    persistence = client.info("persistence")
    replication = client.info("replication")
    version = client.info("server")
    try:
        client.execute_command("WAITAOF", 0, 0, 1)
        waitaof = True
    except redis.exceptions.ResponseError:
        waitaof = False  # unknown command: Redis < 7.2
    try:
        fsync = client.config_get("appendfsync").get("appendfsync")
    except redis.exceptions.ResponseError:
        fsync = None  # CONFIG refused (a managed Redis): unknown
    return {
        "version": f"{'Valkey' if 'valkey_version' in version else 'Redis'} "
                   f"{version.get('valkey_version', version.get('redis_version'))}",
        "waitaof": waitaof,
        "aof": int(persistence.get("aof_enabled", 0)) == 1,
        "fsync": fsync,
        "replicas": int(replication.get("connected_slaves", 0)),
        "role": replication.get("role"),
    }


def _problem(level, fact):
    if level == "none":
        return None
    if fact["role"] != "master":
        return "it is a replica, not a primary"
    if not fact["aof"]:
        return "its append-only file is off (appendonly no)"
    if not fact["waitaof"] and fact["fsync"] != "always":
        return ("it has no WAITAOF (Redis >= 7.2 or Valkey has it) and does not sync every write "
                "(appendfsync always)")
    if level == "replica" and fact["replicas"] < 1:
        return "it has no connected replica"
    return None
