"""Planning again when discovery changes the repositories, off the discoverer's tick.

A discoverer records what it found in the daemon's directory; when that
changes what is watched, the repository groups must be added or removed.
That is the reload's machinery (:meth:`~autosolve.daemon.reload.Reloader.replan`),
which asks the supervisor to add and remove children: it runs on a thread of
its own, so a discoverer's tick never waits for the supervisor (which may be
stopping that very tick). Requests that come while a replan runs are
coalesced into one more.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from autosolve.runtime import ControlError

__all__ = ["Replanner"]

logger = logging.getLogger("autosolve")


class Replanner:
    """Runs ``replan()`` after each :meth:`request`, one at a time, on its own thread."""

    def __init__(self, replan: Callable[[], object]) -> None:
        self._replan = replan
        self._wanted = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.idle = threading.Event()
        """Set while no replan is wanted or running (tests wait on it)."""
        self.idle.set()

    def request(self) -> None:
        """Plan again soon (once more if a replan is running now)."""
        with self._lock:
            if self._closed:
                return
            self.idle.clear()
            self._wanted.set()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="autosolve-replan", daemon=True
                )
                self._thread.start()

    def close(self) -> None:
        """No more replans (the run is stopping)."""
        with self._lock:
            self._closed = True
            self._wanted.set()

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            with self._lock:
                if self._closed:
                    self.idle.set()
                    return
                self._wanted.clear()
            try:
                self._replan()
            except ControlError:  # the run ended: nothing left to plan for
                self.close()
            except Exception:
                logger.exception("planning the discovered repositories failed")
            with self._lock:
                if not self._wanted.is_set():
                    self.idle.set()
