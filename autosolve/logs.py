"""Log set-up: text or JSON lines on stderr, each record naming its child actor.

Secrets are masked in the formatted output, after every argument has been
interpolated, so a token that sneaks into an exception text is masked too, in
each form it may take there (see :mod:`autosolve.masking`). One record may
leave a secret readable on purpose: the start banner's dashboard URL (its
``reveal`` extra names the secret); every other secret in it is masked.

A warning or error that repeats (the same message template from the same
logger, say a client sending the same malformed request in a loop) is
written :data:`REPEATS` times per :data:`REPEAT_WINDOW`; the rest are counted
and one line then says how many were left out.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING

from autosolve.masking import MASK, Secrets
from autosolve.runtime import CURRENT_UNIT

if TYPE_CHECKING:
    from autosolve.log_ring import LogRing

__all__ = ["MASK", "REPEATS", "REPEAT_WINDOW", "RepeatFilter", "configure_logging"]

REPEATS = 10
"""Lines of one template written per window; more are suppressed and counted."""

REPEAT_WINDOW = 60.0
"""Seconds of the window in which :data:`REPEATS` lines of a template are written."""

_TEMPLATES = 1024
"""Templates counted at once, at most (past it, the oldest window ends early)."""


class _ChildFilter(logging.Filter):
    """Give every record a ``child``: the explicit extra, else the running unit."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "child", None):
            record.child = CURRENT_UNIT.get() or "-"
        return True


_CHILD = _ChildFilter()
"""One instance: adding it to a handler twice (a reload configures again) adds it once."""


@dataclass
class _Repeats:
    key: tuple[str, int, str]
    window_start: float
    written: int = 0
    suppressed: int = 0


class RepeatFilter(logging.Filter):
    """Writes a warning or error template at most ``repeats`` times per ``window`` seconds.

    A template is the logger, the level and the message before its
    arguments are filled in. Once a template's window has passed, the next
    record through the handler is preceded by a line saying how many of it
    were suppressed. Records below WARNING are never held back. Each record
    costs a dictionary look-up: windows end in the order they began.

    Args:
        emit: handles a record (the handler's ``handle``), for the summary lines.
        clock: seconds, monotonic (tests pass their own).
    """

    def __init__(
        self,
        emit: Callable[[logging.LogRecord], object],
        repeats: int = REPEATS,
        window: float = REPEAT_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._emit = emit
        self._repeats = repeats
        self._window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._templates: dict[tuple[str, int, str], _Repeats] = {}
        self._windows: deque[_Repeats] = deque()
        """The templates' windows, oldest first."""

    def filter(self, record: logging.LogRecord) -> bool:
        now = self._clock()
        with self._lock:
            summaries = self._expired(now)
            passes = record.levelno < logging.WARNING or self._count(record, now, summaries)
        for summary in summaries:
            self._emit(summary)
        return passes

    def _count(
        self, record: logging.LogRecord, now: float, summaries: list[logging.LogRecord]
    ) -> bool:
        key = (record.name, record.levelno, str(record.msg))
        repeats = self._templates.get(key)
        if repeats is None:
            if len(self._windows) >= _TEMPLATES and (early := self._end(self._windows[0])):
                summaries.append(early)
            repeats = self._templates[key] = _Repeats(key, now)
            self._windows.append(repeats)
        if repeats.written < self._repeats:
            repeats.written += 1
            return True
        repeats.suppressed += 1
        return False

    def _expired(self, now: float) -> list[logging.LogRecord]:
        """Summary records for the windows that are over; their templates start again."""
        summaries = []
        while self._windows and now - self._windows[0].window_start >= self._window:
            summary = self._end(self._windows[0])
            if summary is not None:
                summaries.append(summary)
        return summaries

    def _end(self, repeats: _Repeats) -> logging.LogRecord | None:
        self._windows.popleft()
        del self._templates[repeats.key]
        return self._summary(repeats) if repeats.suppressed else None

    def _summary(self, repeats: _Repeats) -> logging.LogRecord:
        name, level, template = repeats.key
        summary = logging.LogRecord(
            name, level, __file__, 0,
            "suppressed %d more lines like %r in %g s (written %d times per window)",
            (repeats.suppressed, template, self._window, self._repeats), None,
        )  # fmt: skip
        summary.child = "-"
        return summary


class _MaskingFormatter(logging.Formatter):
    def __init__(self, secrets: Secrets, json_lines: bool) -> None:
        super().__init__("%(asctime)s %(levelname)-7s [%(child)s] %(name)s: %(message)s")
        self._secrets = secrets
        self._json = json_lines

    def format(self, record: logging.LogRecord) -> str:
        reveal = _revealed(record)
        if not self._json:
            return self._secrets.mask(super().format(record), reveal)
        document = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "child": getattr(record, "child", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            document["stack"] = self.formatStack(record.stack_info)
        # The free texts masked before encoding too (a secret cut short at a field's end),
        # then the encoded line, for the escaped forms.
        masked = {
            key: self._secrets.mask(str(value), reveal) if key in _FREE_TEXT else value
            for key, value in document.items()
        }
        return self._secrets.mask(json.dumps(masked, ensure_ascii=False), reveal)


_FREE_TEXT = frozenset({"child", "message", "exception", "stack"})
"""The fields of a JSON log line whose text comes from outside (the rest are ours)."""


def _revealed(record: logging.LogRecord) -> tuple[str, ...]:
    reveal = getattr(record, "reveal", None)
    return (reveal,) if isinstance(reveal, str) and reveal else ()


def configure_logging(
    level: str = "INFO",
    fmt: str = "text",
    secrets: Iterable[str] | Secrets = (),
    stream: IO[str] | None = None,
    ring: LogRing | None = None,
) -> None:
    """Send autosolve's (and pykka's) logs to ``stream`` (stderr) in ``fmt``.

    ``secrets`` (best: the daemon's :class:`Secrets`, which later additions
    reach) are masked in every line. ``ring`` also keeps the latest records
    in memory, as text lines masked alike (``ctl logs``); configured again
    (a reload), it keeps what it holds.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(_CHILD)
    handler.addFilter(RepeatFilter(handler.handle))
    masking = secrets if isinstance(secrets, Secrets) else Secrets(secrets)
    handler.setFormatter(_MaskingFormatter(masking, json_lines=fmt == "json"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    if ring is not None:
        ring.addFilter(_CHILD)
        ring.setFormatter(_MaskingFormatter(masking, json_lines=False))
        root.addHandler(ring)
    root.setLevel(level)
    # urllib3 logs every URL at DEBUG; keep it at WARNING unless asked.
    logging.getLogger("urllib3").setLevel(max(logging.WARNING, root.level))
