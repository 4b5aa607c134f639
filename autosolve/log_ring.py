"""The latest log records, kept in memory: per child and for the whole daemon (``ctl logs``).

A :class:`LogRing` is a logging handler. Each record it sees is formatted
(masked, as the stream's lines are) and kept twice: in the daemon's ring,
which holds the latest :data:`DAEMON_RECORDS` of every record, and in the
ring of the child it names (the ``child`` the runtime's context gives it,
see :mod:`autosolve.logs`), which holds that child's latest
:data:`CHILD_RECORDS`. Children's rings hold :data:`CHILDREN_RECORDS` at
most together: past it, the ring written to least recently goes first, so a
chatty child never costs more than its own ring and quiet ones keep theirs
while the memory stays bounded whatever the number of children.

Every record gets a sequence number: a reader asks for the records after
the last one it saw (``ctl logs --follow``) and merges several rings in the
order the records were written.
"""

from __future__ import annotations

import fnmatch
import logging
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from marshmallow import fields, validate

from autosolve.control.commands import Command, CommandError

__all__ = [
    "CHILDREN_RECORDS",
    "CHILD_RECORDS",
    "DAEMON_RECORDS",
    "LogEntry",
    "LogRing",
    "logs_command",
]

DAEMON_RECORDS = 2000
"""Records the daemon's ring keeps (every child's and the daemon's own)."""

CHILD_RECORDS = 200
"""Records one child's ring keeps."""

CHILDREN_RECORDS = 20000
"""Records all children's rings keep together (the least recently written ring goes first)."""

DAEMON = "-"
"""The ``child`` of a record no child logged (the daemon's own)."""


@dataclass(frozen=True)
class LogEntry:
    """One kept record."""

    seq: int
    """Its place in the order records were written (1, 2, ...)."""
    child: str
    """The child that logged it, ``-`` for the daemon itself."""
    text: str
    """The formatted, masked line (a traceback's lines included)."""


class LogRing(logging.Handler):
    """A logging handler keeping the latest records per child and for the daemon.

    Give it the formatter the stream uses (text, masked); records below the
    root logger's level never reach it.
    """

    def __init__(
        self,
        daemon_records: int = DAEMON_RECORDS,
        child_records: int = CHILD_RECORDS,
        children_records: int = CHILDREN_RECORDS,
    ) -> None:
        super().__init__()
        self._daemon: deque[LogEntry] = deque(maxlen=daemon_records)
        self._children: OrderedDict[str, deque[LogEntry]] = OrderedDict()
        self._child_records = child_records
        self._children_records = children_records
        self._kept = 0
        """Records in the children's rings, together."""
        self._seq = 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:
            self.handleError(record)
            return
        child = str(getattr(record, "child", "") or DAEMON)
        self._keep(child, text)

    def _keep(self, child: str, text: str) -> None:
        with self._reading():
            self._seq += 1
            entry = LogEntry(self._seq, child, text)
            self._daemon.append(entry)
            if child != DAEMON:
                self._keep_for_child(entry)

    def _keep_for_child(self, entry: LogEntry) -> None:
        ring = self._children.get(entry.child)
        if ring is None:
            ring = self._children[entry.child] = deque(maxlen=self._child_records)
        self._children.move_to_end(entry.child)
        self._kept += len(ring) < self._child_records
        ring.append(entry)
        while self._kept > self._children_records:
            _child, oldest = self._children.popitem(last=False)
            self._kept -= len(oldest)

    def _reading(self) -> Any:
        """The handler's own lock (``emit`` runs under it already; it is reentrant)."""
        assert self.lock is not None
        return self.lock

    @property
    def children(self) -> list[str]:
        """The children that have records kept, least recently written first."""
        with self._reading():
            return list(self._children)

    def records(
        self, pattern: str | None = None, *, limit: int, after: int = 0
    ) -> tuple[list[LogEntry], int]:
        """The latest records of the children matching ``pattern`` (None: the daemon's ring),
        and the number of the latest record written (for the next ``after``).

        Args:
            pattern: a child's name or a shell-style pattern.
            limit: at most this many, the latest.
            after: only records written after this sequence number (for a follower).
        """
        with self._reading():
            if pattern is None:
                rings: Iterable[deque[LogEntry]] = [self._daemon]
            else:
                rings = [ring for name, ring in self._children.items()
                         if fnmatch.fnmatchcase(name, pattern)]  # fmt: skip
            found = [entry for ring in rings for entry in ring if entry.seq > after]
            last = self._seq
        return sorted(found, key=_seq)[-limit:], last


def _seq(entry: LogEntry) -> int:
    return entry.seq


MAX_LINES = 10000
"""The most records one ``logs`` request may ask for."""


def logs_command(ring: LogRing, children: Callable[[], Iterable[str]]) -> Command:
    """``logs``: the latest records of a child (name or pattern), or of the daemon.

    ``{"command": "logs", "name": "worker:*", "lines": 50, "after": 120}`` →
    ``{"ok": true, "records": [{"seq", "child", "text"}...], "last": 187}``:
    ``last`` is the latest record's number, for the next ``after``. A name
    that matches no child (running or with records kept) is refused.

    Args:
        children: the names of the running children.
    """

    def logs(arguments: dict[str, Any]) -> dict[str, Any]:
        pattern = arguments.get("name")
        if pattern is not None and not _matches(pattern, [*children(), *ring.children]):
            raise CommandError(f"no child matches {pattern!r}")
        entries, last = ring.records(
            pattern, limit=arguments["lines"], after=arguments.get("after", 0)
        )
        records = [{"seq": e.seq, "child": e.child, "text": e.text} for e in entries]
        return {"records": records, "last": last}

    at_least_one = validate.Range(min=1, max=MAX_LINES, error="must be 1 to {max}")
    return Command(
        "logs",
        logs,
        {
            "name": fields.String(validate=validate.Length(min=1, max=1024)),
            "lines": fields.Integer(strict=True, required=True, validate=at_least_one),
            "after": fields.Integer(strict=True, validate=validate.Range(min=0)),
        },
        help="the latest log records of a child (name or pattern), or of the daemon",
    )


def _matches(pattern: str, names: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for name in names)
