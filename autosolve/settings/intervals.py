"""Every interval task's ``[intervals]`` key and its default, in seconds.

:class:`TaskIntervals` is the ``[intervals]`` section itself: the settings
schema is generated from its fields (see :mod:`autosolve.settings`), so an
interval task adds one field here (and one line in the shipped
``settings.toml``); its registry line reads ``deps.settings.intervals.<key>``.
Nothing here imports anything of autosolve: the settings layer reads it
without loading a task.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

__all__ = ["TASK_INTERVALS", "TaskIntervals"]


@dataclass(frozen=True)
class TaskIntervals:
    """Seconds between ticks of each interval task, in the order ``check`` and the docs show."""

    issue_poller: float = 10.0
    issue_poller_max: float = 300.0
    """The slowest a quiet repository is polled (adaptive polling)."""
    outbox_relay: float = 5.0
    issue_explainer: float = 2.0


TASK_INTERVALS: dict[str, float] = dataclasses.asdict(TaskIntervals())
"""``[intervals]`` key → default seconds, in field order."""
