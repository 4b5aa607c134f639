"""Every interval task's ``[intervals]`` key and its default, in seconds.

:class:`TaskIntervals` is the ``[intervals]`` section: an interval task adds
one field here, made with :func:`interval` (then regenerates the shipped
``settings.toml`` and ``docs/configuration.md``); its registry line reads
``deps.settings.intervals.<key>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from autosolve.settings.declare import Check, Values, setting
from autosolve.settings.rules import seconds

__all__ = ["TaskIntervals", "interval"]

SLOWEST_POLL = 300.0
"""``issue_poller_max``'s default."""


def interval(default: float, doc: str, **more: Any) -> Any:
    """An interval task's key: seconds between its ticks, greater than 0, at most a week."""
    return setting(default, *seconds(), doc=doc, **more)


def _slowest_follows_fastest(values: Mapping[str, Any]) -> float:
    """Left out, the slowest poll follows a fastest set above its default, so an older
    settings file that polls slowly stays valid."""
    return max(float(values.get("issue_poller", SLOWEST_POLL)), SLOWEST_POLL)


def _slowest_not_below_fastest(values: Values) -> str | None:
    if values["issue_poller_max"] < values["issue_poller"]:
        return "must not be less than intervals.issue_poller"
    return None


@dataclass(frozen=True)
class TaskIntervals:
    """Seconds between ticks of each interval task."""

    issue_poller: float = interval(10.0, "the fastest a repository is polled (after a change)")
    issue_poller_max: float = interval(
        SLOWEST_POLL,
        "the slowest (quiet for long); at least issue_poller",
        fallback=_slowest_follows_fastest,
    )
    outbox_relay: float = interval(5.0, "how often outbox events move to the job queue")
    issue_explainer: float = interval(2.0, "how often the explainer looks for jobs")
    repository_discoverer: float = interval(
        300.0, "how often organisations and App installations are listed again"
    )

    checks: ClassVar[tuple[Check, ...]] = (
        Check(
            "issue_poller_max",
            ("issue_poller", "issue_poller_max"),
            _slowest_not_below_fastest,
            "`issue_poller_max` is at least `issue_poller` (left out, it follows an "
            f"`issue_poller` above {SLOWEST_POLL:g})",
        ),
    )
