"""What every store does alike with the one database handle it owns: close it."""

from __future__ import annotations

from types import TracebackType
from typing import Generic, Protocol, Self, TypeVar

__all__ = ["OwnsDatabase"]


class _Handle(Protocol):
    @property
    def closed(self) -> bool: ...

    def close(self) -> None: ...


_D = TypeVar("_D", bound=_Handle)


class OwnsDatabase(Generic[_D]):
    """``close()``, the context manager and ``repr`` of a store over one database handle.

    A subclass sets ``_database`` and provides ``path`` (how messages name
    the database).
    """

    _database: _D

    @property
    def path(self) -> str:
        raise NotImplementedError

    def close(self) -> None:
        """Close the database (a PostgreSQL store's pool). Idempotent.

        Any later call raises ``StoreClosedError``.
        """
        self._database.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        closed = " closed" if self._database.closed else ""
        return f"<{type(self).__name__} {self.path}{closed}>"
