"""SQLite under the store: one daemon, one file.

:class:`SQLiteStore` is the store on a file (:class:`SQLiteEngine`: one
lock-guarded connection, WAL, ``PRAGMA user_version`` migrations);
:class:`InstanceLock` keeps a second daemon off it.
"""

from __future__ import annotations

from .engine import SQLiteEngine, SQLiteStore
from .lock import InstanceLock

__all__ = ["InstanceLock", "SQLiteEngine", "SQLiteStore"]
