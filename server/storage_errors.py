"""Turn redis-py's errors into the storage's own, in this one place.

Every module that sends Redis commands (`store`, `redis_client`, `limits`, `quota`) runs them
under `translated()` or `@guarded`, so what reaches a view or an error handler is one of:

    StoreError            a share operation refused by the store (`kind` names why) -> 4xx
    StorageUnavailable    Redis cannot serve now: node down, timeout, slot uncovered,
                          failover, still loading its data -> 503 with Retry-After

and, left as they are, redis-py's refusals that the error handlers answer themselves
(`OutOfMemoryError` -> 507 `storage_full`) or that are bugs (`ResponseError`, `DataError`
-> 500). `StorageUnavailable` is a redis-py `ConnectionError`, so code that catches redis-py's
connection errors (flask-limiter's storage, the quota's fail-open paths) still catches it.

Which redis-py class goes where is written once, in `UNAVAILABLE` and `PASSED_THROUGH`;
tests/test_storage_errors.py walks `redis.exceptions` and fails on a class in neither, so a
new redis-py release cannot add an error that slips past as a 500 unnoticed.
"""

import contextlib
import functools

import redis
from redis import exceptions as e


class StoreError(Exception):
    """A share operation refused by the store; `kind` names why, `detail` adds a value."""

    def __init__(self, kind, detail=None):
        super().__init__(kind)
        self.kind = kind
        self.detail = detail


class StorageUnavailable(redis.exceptions.ConnectionError):
    """Redis cannot serve this request now (node down, slot uncovered, failover, timeout)."""


#: Redis cannot serve now; worth a retry after Retry-After seconds. ClusterError covers
#: ClusterDownError and MasterDownError; RedisClusterException covers "cannot be connected" and
#: SlotNotCoveredError; TryAgainError is a slot caught mid-migration, Ask/MovedError one that
#: moved under a pipeline sent to a single node.
UNAVAILABLE = (
    e.ConnectionError,  # AuthenticationError, BusyLoadingError, MaxConnectionsError, ...
    e.TimeoutError,
    e.ClusterError,
    e.RedisClusterException,
    e.TryAgainError,
    e.AskError,  # MovedError too
)

#: Not translated, and why: the error handlers answer them (server/errors.py), or they mean a
#: bug or a misconfiguration that must show as one (500, logged), or the store never meets them.
PASSED_THROUGH = {
    e.OutOfMemoryError: "noeviction refusing a write: 507 storage_full (server/errors.py)",
    e.ReadOnlyError: "a write sent to a replica: misconfiguration, 500",
    e.NoScriptError: "handled where scripts run (store._run loads the script and retries)",
    e.ResponseError: "a command refused: a bug, 500 (an OOM inside Lua is answered 507)",
    e.ClusterCrossSlotError: "keys in two slots: a bug, every share key carries its hash tag",
    e.DataError: "a value redis-py cannot send: a bug, 500",
    e.InvalidResponse: "a protocol error: a bug, 500",
    e.ExecAbortError: "a transaction refused as a whole: a bug, 500",
    e.NoPermissionError: "ACL refuses a command: misconfiguration, 500",
    e.AuthenticationWrongNumberOfArgsError: "misconfigured credentials: 500",
    e.ModuleError: "Redis modules are never used",
    e.NoSuchFieldsetError: "Redis modules are never used",
    e.PubSubError: "pub/sub is never used",
    e.WatchError: "WATCH is never used",
    e.LockError: "redis-py locks are never used",
    e.LockNotOwnedError: "redis-py locks are never used",
    e.ChildDeadlockedError: "a pool used across fork: gunicorn forks before the first command",
    e.IncorrectPolicyType: "no command policies are configured",
    e.RedisError: "the base class: only its subclasses are ever raised",
}


def translate(error):
    """Return the storage error that stands for a redis-py `error` (the error itself when none
    does)."""
    if isinstance(error, UNAVAILABLE) and not isinstance(error, StorageUnavailable):
        return StorageUnavailable(f"{type(error).__name__}: {error}")
    return error


@contextlib.contextmanager
def translated():
    """Run the block's Redis commands; raise their errors translated."""
    try:
        yield
    except StorageUnavailable:
        raise
    except UNAVAILABLE as error:
        raise translate(error) from error


def guarded(function):
    """Decorate a function that sends Redis commands: its errors leave it translated."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with translated():
            return function(*args, **kwargs)

    return wrapper
