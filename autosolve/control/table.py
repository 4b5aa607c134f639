"""The status document (as ``ctl status --json`` prints it) as a table to read at a glance."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

__all__ = ["format_cluster", "format_page", "format_status"]

ERROR_WIDTH = 60
"""Characters of ``last_error`` shown; the full text is in ``status --json``."""

_COLUMNS = ("NAME", "STATE", "RUNS", "FAILURES", "RESTARTS", "NEXT RUN", "LAST ERROR")
_NUMERIC = {"RUNS", "FAILURES", "RESTARTS", "NEXT RUN"}


def format_status(document: dict[str, Any], now: float | None = None) -> str:
    """Render ``document`` as ``phase: ...`` and one aligned row per child.

    Args:
        document: the status document.
        now: epoch seconds to count "next run" from (default: the wall clock).
    """
    now = time.time() if now is None else now
    rows = [
        (
            child["name"],
            child["state"],
            str(child["runs"]),
            str(child["failures"]),
            str(child["restarts"]),
            _seconds_until(child.get("next_run_at"), now),
            _shorten(child.get("last_error")),
        )
        for child in document.get("children", [])
    ]
    lines = [f"phase: {document.get('phase', '?')}"]
    if not rows:
        lines.append("(no children)")
        return "\n".join(lines)
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(_COLUMNS)]
    for row in (_COLUMNS, *rows):
        cells = [
            cell.rjust(width) if _COLUMNS[i] in _NUMERIC else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def format_page(document: dict[str, Any]) -> str:
    """Where a page of the status stands, when it shows only part of what matched.

    ``children 101-200 of 1,000,000 (idle 999,990, failed 10); more: --offset 200``;
    "" for a page showing all (or for the whole document, which is no page).
    """
    if "counts" not in document:
        return ""
    shown, offset, total = len(document["children"]), document["offset"], document["total"]
    if not document["more"] and not offset:
        return ""
    first, last = (offset + 1, offset + shown) if shown else (offset, offset)
    of = f" of {total:,}" if total is not None else ""
    counts = ", ".join(f"{state} {count:,}" for state, count in document["counts"].items() if count)
    more = f"; more: --offset {offset + shown}" if document["more"] else ""
    return f"children {first:,}-{last:,}{of} ({counts}){more}"


def format_cluster(document: dict[str, Any]) -> str:
    """The ``cluster`` answer as ``node: ...`` and one row per lease (``status --cluster``)."""
    node = document.get("node", {})
    alive = [n["name"] for n in document.get("nodes", []) if n.get("alive")]
    lines = [
        f"node: {node.get('name', '?')} ({node.get('id', '?')})",
        f"live nodes: {len(alive)} ({', '.join(alive)}); lease ttl {document.get('lease_ttl')}s",
    ]
    rows = [
        (
            lease["repository"],
            (lease.get("node") or lease.get("node_id", "?"))
            + (" (this node)" if lease["mine"] else ""),
            f"{lease['expires_in']:.1f}s" if lease["expires_in"] > 0 else "expired",
        )
        for lease in document.get("leases", [])
    ]
    if not rows:
        lines.append("(no leases)")
        return "\n".join(lines)
    header = ("REPOSITORY", "NODE", "EXPIRES IN")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    for row in (header, *rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def _seconds_until(moment: str | None, now: float) -> str:
    if not moment:
        return "-"
    try:
        at = datetime.strptime(moment, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return moment
    return f"{max(0, round(at - now))}s"


def _shorten(error: str | None) -> str:
    if not error:
        return "-"
    text = re.sub(r"\s+", " ", error).strip()
    return text if len(text) <= ERROR_WIDTH else text[: ERROR_WIDTH - 3] + "..."
