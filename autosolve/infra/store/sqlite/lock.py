"""Single-instance lock: one autosolve daemon per database.

``flock`` on a sidecar file ``<db>.lock`` rather than a pid file checked by
hand: the kernel drops the lock when the holder's process dies, even on
``kill -9``, so there is never a stale lock to clean up. The holder writes its
pid into the file only to make the error message useful.

The file is never deleted: unlinking it while another process has it open
would let two processes lock two different inodes of the same path.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from types import TracebackType

from ..errors import DatabaseInUseError, StoreError

__all__ = ["InstanceLock"]


class InstanceLock:
    """An exclusive, non-blocking lock on ``<db_path>.lock``.

    Use as a context manager or with :meth:`acquire` / :meth:`release`. The
    lock belongs to the open file, not the thread: release it from the thread
    or greenlet that suits you.
    """

    def __init__(self, db_path: str | os.PathLike[str]) -> None:
        self.db_path = os.fspath(db_path)
        """The database file the lock protects."""
        self.path = Path(self.db_path + ".lock")
        """The sidecar lock file."""
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """True between a successful :meth:`acquire` and :meth:`release`."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or fail at once.

        Raises:
            DatabaseInUseError: another process (or another lock object) holds it.
            StoreError: the lock file cannot be created, or this object already holds it.
        """
        if self._fd is not None:
            raise StoreError(f"lock {self.path} is already held by this InstanceLock")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot create lock file {self.path}: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            raise DatabaseInUseError(self.db_path, pid) from None
        except BaseException:
            os.close(fd)
            raise
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:
            # The pid is only for the error message of others; the lock is what counts.
            pass
        self._fd = fd

    def release(self) -> None:
        """Drop the lock. Idempotent; the file stays (see the module docstring)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()

    def __repr__(self) -> str:
        state = "held" if self.held else "free"
        return f"<InstanceLock {self.path} {state}>"


def _read_pid(fd: int) -> int | None:
    """The pid the holder wrote, or ``None`` if it has not written it yet."""
    with contextlib.suppress(OSError, ValueError):
        return int(os.pread(fd, 32, 0).decode("ascii").strip())
    return None
