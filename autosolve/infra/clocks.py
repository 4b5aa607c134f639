"""The process's clocks as infra's clients read them: looked up on every call.

A client takes its clocks as parameters so a test can drive them; these are
the defaults. Each one reads the ``time`` module at call time rather than
binding ``time.monotonic`` once, so gevent's monkey-patching and a test
tool's patch of the module apply to clients made before them.
"""

from __future__ import annotations

import time

__all__ = ["monotonic", "sleep", "wall_time"]


def monotonic() -> float:
    """Seconds on a clock that never goes back: what waits and intervals are counted on."""
    return time.monotonic()


def wall_time() -> float:
    """Seconds since the epoch: for GitHub's reset times and anything shown to people."""
    return time.time()


def sleep(seconds: float) -> None:
    """Block this thread (or greenlet, under gevent) for ``seconds``."""
    time.sleep(seconds)
