"""Every interval task's ``[intervals]`` key and its default, in seconds.

The ``[intervals]`` settings schema and its typed settings are generated from
this table (see :mod:`autosolve.config`), so an interval task adds one line
here (and one in the shipped ``settings.toml``); its registry line reads
``deps.settings.intervals.<key>``. Nothing here imports anything: the
settings layer reads it without loading a task.
"""

from __future__ import annotations

__all__ = ["TASK_INTERVALS"]

TASK_INTERVALS: dict[str, float] = {
    "issue_poller": 10.0,
    "issue_poller_max": 300.0,  # the slowest a quiet repository is polled (adaptive polling)
    "outbox_relay": 5.0,
    "issue_explainer": 2.0,
}
"""``[intervals]`` key → default seconds, in the order ``check`` and the docs show them."""
