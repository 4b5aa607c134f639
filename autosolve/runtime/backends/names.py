"""The backends by name: what ``runtime.backend`` chooses, compared everywhere as one enum."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Backend"]


class Backend(StrEnum):
    """Where actors, timers and waits live (a ``str``: ``Backend.GEVENT == "gevent"``)."""

    THREADING = "threading"
    """OS threads: the default."""
    GEVENT = "gevent"
    """Greenlets, so the runtime can live inside a gevent service."""
