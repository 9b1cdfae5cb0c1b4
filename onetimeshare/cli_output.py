"""Show things to people: sizes, times, names from strangers, and a progress bar on stderr."""

import json
import shutil
import sys
import time
from datetime import UTC, datetime

from .cli_text import json_safe, terminal_safe

_UNITS = ("bytes", "KiB", "MiB", "GiB", "TiB")


def human_size(size: int) -> str:
    """Return '1 byte', '512 bytes', '1.5 MiB', ..."""
    if size == 1:
        return "1 byte"
    value, unit = float(size), 0
    while value >= 1024 and unit < len(_UNITS) - 1:
        value, unit = value / 1024, unit + 1
    return f"{size} bytes" if unit == 0 else f"{value:.1f} {_UNITS[unit]}"


def printable(text) -> str:
    """Return one line of `text` safe for a terminal (cli_text): for every string that came
    from a sender or a server, and for messages quoting one."""
    return terminal_safe(text)


def plural(count, word: str, words: str | None = None) -> str:
    """Return '1 download', '2 downloads', '0 attempts'."""
    return f"{count} {word if count == 1 else words or word + 's'}"


def human_wait(seconds: int) -> str:
    """Return a wait in words, for Retry-After: '45 seconds', '1 minute', '2 hours 5 minutes'."""
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, rest = divmod(rest, 60)
    parts = [plural(n, unit) for n, unit in ((days, "day"), (hours, "hour"), (minutes, "minute"),
                                              (rest, "second")) if n]
    return " ".join(parts[:2]) or "a moment"


def parse_time(stamp) -> datetime | None:
    """Parse the API's ISO 8601 UTC timestamps; None for null or garbage."""
    try:
        return datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return None


def human_duration(seconds: float) -> str:
    """Return the two largest units of a duration: '2 d 3 h', '5 min 10 s', '0 s'."""
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, rest = divmod(rest, 60)
    parts = [f"{n} {unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "min"),
                                            (rest, "s")) if n]
    return " ".join(parts[:2]) or "0 s"


def human_time(stamp) -> str:
    """Return '2025-01-31 12:00 UTC (in 23 h 59 min)' or '... (2 h ago)'."""
    when = parse_time(stamp)
    if when is None:
        return "unknown"
    delta = (when - datetime.now(UTC)).total_seconds()
    relative = f"in {human_duration(delta)}" if delta >= 0 else f"{human_duration(-delta)} ago"
    return f"{when:%Y-%m-%d %H:%M:%S} UTC ({relative})"


def print_json(value):
    """Write one JSON document on stdout, for scripts."""
    # Strings in it came from a sender or a server: escaped so they cannot drive a terminal.
    sys.stdout.write(json_safe(json.dumps(value, ensure_ascii=False, indent=2)))
    sys.stdout.write("\n")
    sys.stdout.flush()


class Progress:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal.

    Call it with the bytes done so far (it is the `progress` callback of send and receive); it
    redraws at most ten times a second, so it costs nothing on a fast transfer.
    """

    INTERVAL = 0.1

    def __init__(self, label: str, total: int, enabled: bool | None = None, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.label = printable(label)
        self.total = max(total, 1)
        self.started = time.monotonic()
        self.drawn_at = 0.0
        self.done = 0

    def __call__(self, done: int):
        self.done = done
        now = time.monotonic()
        if self.enabled and (now - self.drawn_at >= self.INTERVAL or done >= self.total):
            self.drawn_at = now
            self._draw(now)

    def _draw(self, now):
        fraction = min(self.done / self.total, 1.0)
        rate = self.done / max(now - self.started, 1e-3)
        # Fixed widths, so the bar does not jump as the numbers change length.
        numbers = (f" {fraction:4.0%} {human_size(self.done):>11} of {human_size(self.total)}"
                   f" {human_size(int(rate)):>11}/s")
        width = shutil.get_terminal_size((80, 24)).columns - 1
        label = self.label[: max(0, width - len(numbers) - 12)]
        bar_width = max(0, width - len(label) - len(numbers) - 3)
        filled = int(bar_width * fraction)
        bar = "#" * filled + "-" * (bar_width - filled)
        self.stream.write(f"\r{label} [{bar}]{numbers}"[: width + 1])
        self.stream.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self.enabled and self.drawn_at:
            self._draw(time.monotonic())
            self.stream.write("\n")
            self.stream.flush()
