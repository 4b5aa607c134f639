"""The OS-thread backend: pykka's own ``ThreadingActor``."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pykka

__all__ = ["DaemonThreadingActor", "ThreadingBackend"]


class DaemonThreadingActor(pykka.ThreadingActor):
    """A threading actor that cannot keep a stopped process alive.

    Work that ignores cancellation past ``runtime.shutdown_timeout`` is
    abandoned; a daemon thread lets the process exit anyway.
    """

    use_daemon_thread = True


class _ConditionWakeup:
    def __init__(self) -> None:
        self.lock = threading.Condition()

    def wait(self, timeout: float | None) -> None:
        self.lock.wait(timeout)

    def notify(self) -> None:
        with self.lock:
            self.lock.notify()


class ThreadingBackend:
    name = "threading"
    actor_class = DaemonThreadingActor

    def make_event(self) -> threading.Event:
        return threading.Event()

    def make_wakeup(self) -> _ConditionWakeup:
        return _ConditionWakeup()

    def spawn_loop(self, target: Callable[[], None], name: str) -> None:
        threading.Thread(target=target, name=name, daemon=True).start()
