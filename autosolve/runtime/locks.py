"""The lock the runtime's hot paths take where actors run in parallel, and none elsewhere."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol

__all__ = ["Lock"]


class Lock(Protocol):
    """What the runtime uses of ``threading.Lock``.

    Where a lock guards what every tick updates, it is None on greenlets
    (they cannot interleave there; see ``ExecutionBackend.parallel``), and
    taken by calls, not ``with``, where there is one: ``with`` looks up two
    special methods each time, a quarter of a microsecond per tick on a
    small VM, twice what the calls cost.
    """

    def acquire(self, blocking: bool = ..., timeout: float = ...) -> bool: ...
    def release(self) -> None: ...
    def __enter__(self) -> bool: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...
