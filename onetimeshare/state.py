"""Remember the owner tokens of shares this machine sent, so `status` and `delete` can use them.

One JSON file (`$XDG_STATE_HOME/onetimeshare/shares.json`, mode 0600, in a 0700 directory),
keyed by share id. It never holds a link's secret or a password: an owner token lets its holder
watch and delete a share, not read it. Each change rewrites a temporary file and renames it over
the old one, under an exclusive lock, so two commands running at once cannot lose each other's
entries and a crash never leaves half a file. Expired entries are dropped on every write.
"""

import contextlib
import fcntl
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from .errors import StateError

FORMAT_VERSION = 1


class ShareState:
    """The owner tokens kept in one state file."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def get(self, share_id: str) -> dict | None:
        """Return what is kept for `share_id` (server, owner_token, ...), or None."""
        return self._read().get(share_id)

    def all(self) -> dict:
        """Return every share kept, by id, oldest first (expired ones included until a write)."""
        shares = self._read()
        # The file is written with sorted keys and times to the second, so `seq` keeps the order
        # of shares sent within one second.
        return dict(sorted(shares.items(), key=lambda item: (str(item[1].get("created_at")),
                                                             item[1].get("seq", 0))))

    def add(self, share_id: str, *, server: str, owner_token: str, expires_at: str,
            name: str | None = None, size: int | None = None):
        """Keep a new share's owner token, and its name and size for `list` (this machine's
        own knowledge: the server never learns the name)."""
        entry = {"server": server, "owner_token": owner_token, "expires_at": expires_at,
                 "created_at": _now().isoformat(timespec="seconds"), "name": name, "size": size}
        with self._changing() as shares:
            entry["seq"] = 1 + max((kept.get("seq", 0) for kept in shares.values()), default=0)
            shares[share_id] = entry

    def mark_deleted(self, share_id: str):
        """Remember that this machine deleted the share: a second `delete` can say so, and
        `list` shows it, until the share's expiry drops the entry."""
        with self._changing() as shares:
            if share_id in shares:
                shares[share_id]["deleted_at"] = _now().isoformat(timespec="seconds")

    def remove(self, *share_ids: str) -> list:
        """Forget these shares (their owner tokens with them); return the ids that were kept."""
        known = self._read()
        if not any(share_id in known for share_id in share_ids):
            return []
        with self._changing() as shares:
            return [share_id for share_id in share_ids if shares.pop(share_id, None)]

    def _read(self) -> dict:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as error:
            raise StateError(f"{self.path}: {error.strerror}") from None
        try:
            shares = json.loads(text)["shares"]
            if not isinstance(shares, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise StateError(f"{self.path}: not a state file of this program; move it "
                             "away to start afresh") from None
        return shares

    @contextlib.contextmanager
    def _changing(self):
        """Yield the shares to change in place, then write them back atomically."""
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            lock = os.open(self.path.with_name(self.path.name + ".lock"),
                           os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as error:
            raise StateError(f"{error.filename}: {error.strerror}") from None
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            shares = self._read()
            yield shares
            self._write({key: value for key, value in shares.items() if not _expired(value)})
        finally:
            os.close(lock)  # closing releases the lock

    def _write(self, shares: dict):
        document = {"version": FORMAT_VERSION, "shares": shares}
        descriptor, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".shares-",
                                                 suffix=".tmp")  # mkstemp: mode 0600
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                json.dump(document, file, indent=2, sort_keys=True)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except OSError as error:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise StateError(f"{self.path}: {error.strerror}") from None


def _now() -> datetime:
    return datetime.now(UTC)


def _expired(entry) -> bool:
    try:
        return datetime.fromisoformat(entry["expires_at"]) < _now()
    except (TypeError, KeyError, ValueError):
        return False  # keep what cannot be judged rather than lose an owner token
