"""Opening the SQLite database and running short transactions on it.

One connection per :class:`Database`, guarded by a lock (``check_same_thread``
is off), rather than one connection per thread. Why:

* SQLite serialises writers anyway, so per-thread connections buy nothing for
  writes; the few reads the daemon does are short point lookups.
* In-process contention waits on a Python lock instead of inside SQLite's busy
  handler. Under the gevent backend the lock is a gevent lock that yields to
  the hub, whereas SQLite's busy handler would block the whole event loop in C.
  ``busy_timeout`` then only matters for *other* processes on the same file
  (an operator's ``sqlite3`` shell, a second store in a test).
* No connection is leaked by threads or greenlets that come and go, and
  :meth:`Database.close` can really close everything.

Writers start with ``BEGIN IMMEDIATE``: the write lock is taken up front, so two
connections never both hold a read lock and then deadlock trying to upgrade.

A file deleted or replaced under the open connection (``rm autosolve.db*``, a
restore copied over it) goes unnoticed by SQLite: it keeps reading and
writing the unlinked inode, and everything written from then on is lost at
the next start. So each transaction compares the file at the path with the
one opened (device and inode: one ``stat``), a read before it reads, a write
before it commits, and fails with :class:`DatabaseReplacedError` instead.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import DatabaseReplacedError, StoreClosedError, StoreError

__all__ = ["BUSY_TIMEOUT_MS", "Database", "open_connection"]

BUSY_TIMEOUT_MS = 5000
"""How long a statement waits for another process's write lock before failing."""

_MEMORY = ":memory:"


def open_connection(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """Open ``path`` in autocommit mode with the pragmas the store relies on.

    Autocommit (``isolation_level=None``) because the store issues ``BEGIN``
    itself: the :mod:`sqlite3` module's implicit transactions would start them
    as ``DEFERRED``. Parent directories are created, as users of a daemon with a
    ``database.path`` setting expect.

    Raises:
        StoreError: the file cannot be opened or WAL cannot be enabled on it.
    """
    target = os.fspath(path)
    try:
        if target != _MEMORY:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(
            target,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"cannot open database {target}: {exc}") from exc
    try:
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if target != _MEMORY and str(mode).lower() != "wal":
            raise StoreError(
                f"cannot enable WAL journal mode on database {target} (got {mode!r}); "
                "is it on a network filesystem?"
            )
        # NORMAL is durable across application crashes in WAL mode; only a power
        # loss can drop the last transactions, never corrupt the file.
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error as exc:
        connection.close()
        raise StoreError(f"cannot configure database {target}: {exc}") from exc
    except BaseException:
        connection.close()
        raise
    return connection


class Database:
    """A lock-guarded connection that hands out short transactions."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        """The database file, as given."""
        self._connection: sqlite3.Connection | None = open_connection(path)
        self._identity = _file_identity(self.path)
        """Device and inode of the file opened; None for ``:memory:``."""
        self._replaced = False
        # RLock so a facade method may call another one while holding it. Looked
        # up at construction time, so gevent's monkey patching (done at start-up)
        # turns it into a cooperative lock.
        self._lock = threading.RLock()

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        """A transaction: committed on success, rolled back on error.

        ``BEGIN IMMEDIATE`` to write (the write lock up front); a deferred
        ``BEGIN`` to read, a consistent snapshot for multi-statement reads.

        Raises:
            DatabaseReplacedError: the file at the path is no longer the one
                opened (a read reads nothing, a write is rolled back).
        """
        with self._lock:
            connection = self._require_open()
            if connection.in_transaction:
                # Nested use from the same thread: join the outer transaction, which
                # commits or rolls back everything at once.
                yield connection
                return
            if not write:
                self._require_same_file()
            connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield connection
                if write:
                    self._require_same_file()
                connection.execute("COMMIT")
            except BaseException:
                connection.rollback()  # a no-op when the failure already ended it
                raise

    @contextmanager
    def raw(self) -> Iterator[sqlite3.Connection]:
        """The connection outside any transaction, for pragmas and migrations."""
        with self._lock:
            yield self._require_open()

    def close(self) -> None:
        """Close the connection; later calls raise :class:`StoreClosedError`. Idempotent."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._connection is None

    def _require_open(self) -> sqlite3.Connection:
        if self._connection is None:
            raise StoreClosedError(f"store for database {self.path} is closed")
        return self._connection

    def _require_same_file(self) -> None:
        """Go on only while the path still names the file opened; once gone, always gone.

        Raises:
            DatabaseReplacedError: it was deleted or replaced (even if a file
                comes back later: the data written meanwhile is lost).
        """
        if self._identity is None:
            return
        if not self._replaced and _file_identity(self.path) != self._identity:
            self._replaced = True
        if self._replaced:
            raise DatabaseReplacedError(self.path)


def _file_identity(path: str) -> tuple[int, int] | None:
    """``(device, inode)`` of the file at ``path``; ``(-1, -1)`` if there is none.

    None for an in-memory database, which no file stands behind.
    """
    if path == _MEMORY:
        return None
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return (-1, -1)
    return (found.st_dev, found.st_ino)
