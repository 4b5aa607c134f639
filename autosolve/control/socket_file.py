"""Claiming a Unix socket path safely: private from birth, never stolen.

The socket is bound inside a fresh 0700 directory beside its final path,
made 0600, and only then hard-linked into place. Nobody else can reach it
before its mode is right, and no process-wide ``umask`` is touched (other
threads may be creating files at the same moment). ``link`` fails when the
path exists, so two daemons starting at once cannot both win.

A socket file already at the path is probed with a connect: refused means a
dead daemon left it behind (replace it); accepted means a live daemon owns it
(refuse to start).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import socket as stdlib_socket
import stat
from types import ModuleType
from typing import Any

__all__ = [
    "ControlSocketError",
    "SocketInUseError",
    "bind_private_socket",
    "check_socket_path",
    "remove_socket_file",
]

_SUN_PATH_MAX = 107  # bytes, not counting the terminating NUL (Linux)


class ControlSocketError(OSError):
    """The control socket path cannot be used (not a socket, too long, no permission)."""


class SocketInUseError(ControlSocketError):
    """A live daemon already listens on the control socket path."""


def _accepts_connections(path: str, socket_module: ModuleType) -> bool:
    probe = socket_module.socket(stdlib_socket.AF_UNIX, stdlib_socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(path)
    except (ConnectionRefusedError, FileNotFoundError):
        return False
    except TimeoutError:
        return True  # a backlog full of clients: busy, but alive
    except PermissionError:
        raise ControlSocketError(
            f"control socket {path}: permission denied (owned by another user?)"
        ) from None
    finally:
        probe.close()
    return True


def check_socket_path(path: str, socket_module: ModuleType = stdlib_socket) -> None:
    """Make sure a socket can be created at ``path``; remove a dead daemon's socket.

    Cheap enough to call before starting anything, so that a daemon that could
    not serve its socket never starts its tasks.

    Raises:
        SocketInUseError: a daemon accepts connections on ``path``.
        ControlSocketError: ``path`` is too long, its directory is missing, or
            it exists and is not a socket.
    """
    parent = os.path.dirname(path) or "."
    staged_length = len(os.fsencode(parent)) + len("/.123456/s")
    if max(len(os.fsencode(path)), staged_length) > _SUN_PATH_MAX:
        raise ControlSocketError(
            f"control socket {path} is too long for a Unix socket path; use a shorter one"
        )
    if not os.path.isdir(parent):
        raise ControlSocketError(f"control socket {path}: directory {parent} does not exist")
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise ControlSocketError(f"control socket {path} exists and is not a socket")
    if _accepts_connections(path, socket_module):
        raise SocketInUseError(
            f"control socket {path} is in use: another autosolve daemon is running"
        )
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def bind_private_socket(
    path: str, *, backlog: int = 128, socket_module: ModuleType = stdlib_socket
) -> tuple[Any, tuple[int, int]]:
    """A listening Unix socket at ``path`` with mode 0600, and its file's identity.

    Returns the socket and ``(st_dev, st_ino)`` of its file, so that
    :func:`remove_socket_file` only ever removes this socket, not a successor's.

    Raises:
        SocketInUseError: a live daemon listens on ``path``.
        ControlSocketError: the path cannot be used (see :func:`check_socket_path`).
        OSError: e.g. the directory is not writable.
    """
    path = os.fspath(path)
    check_socket_path(path, socket_module)
    staging = _make_staging_dir(os.path.dirname(path) or ".")
    staged = os.path.join(staging, "s")
    listener = socket_module.socket(stdlib_socket.AF_UNIX, stdlib_socket.SOCK_STREAM)
    try:
        listener.bind(staged)
        os.chmod(staged, 0o600)
        listener.listen(backlog)
        _link_into_place(staged, path, socket_module)
        info = os.stat(path)
    except BaseException:
        listener.close()
        raise
    finally:
        with contextlib.suppress(OSError):
            os.unlink(staged)
        with contextlib.suppress(OSError):
            os.rmdir(staging)
    return listener, (info.st_dev, info.st_ino)


def _make_staging_dir(parent: str) -> str:
    # Short on purpose: the staged path must fit in sun_path too.
    while True:
        staging = os.path.join(parent, "." + secrets.token_hex(3))  # as long as ".123456"
        try:
            os.mkdir(staging, 0o700)
        except FileExistsError:
            continue
        return staging


def _link_into_place(staged: str, path: str, socket_module: ModuleType) -> None:
    for _ in range(2):
        try:
            os.link(staged, path)
            return
        except FileExistsError:
            # Someone created the path since we checked: a racing daemon, or junk.
            check_socket_path(path, socket_module)
        except OSError as error:
            if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
                raise
            os.replace(staged, path)  # no hard links here; the check above must do
            return
    raise SocketInUseError(f"control socket {path} is in use: another daemon took it")


def remove_socket_file(path: str, identity: tuple[int, int]) -> None:
    """Remove ``path`` if it still is the socket with ``identity`` (else leave it)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if (info.st_dev, info.st_ino) == identity:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
