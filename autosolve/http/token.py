"""The HTTP endpoint's token when ``http.token`` is empty: generated once, kept in a file.

The file is ``<control.socket>.http-token`` (e.g. ``autosolve.sock.http-token``
beside the socket): mode 0600, owned by the daemon's user, like the socket
itself, so whoever may use the socket may read it and nobody else. It is
created at the first start without a configured token and read at every
later one, so a bookmarked dashboard URL keeps working across restarts;
delete it to get a new token at the next start.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

__all__ = ["TOKEN_SUFFIX", "TokenFileError", "generated_token", "token_file"]

TOKEN_SUFFIX = ".http-token"
"""Appended to the control socket's path to name the token file."""

TOKEN_BYTES = 32
"""Random bytes in a generated token (43 URL-safe characters)."""


class TokenFileError(OSError):
    """The token file cannot be used; the text names it and says what to do."""


def token_file(socket_path: str | os.PathLike[str]) -> Path:
    """Where the generated token of the daemon on ``socket_path`` is kept."""
    return Path(f"{os.fspath(socket_path)}{TOKEN_SUFFIX}")


def generated_token(path: Path) -> str:
    """The token kept in ``path``; a new random one written there first if there is none.

    Raises:
        TokenFileError: the file is not a private regular file of this user,
            or cannot be read or written.
    """
    try:
        token = _read(path)
        if token:
            return token
        token = secrets.token_urlsafe(TOKEN_BYTES)
        _write(path, token)
        return token
    except TokenFileError:
        raise
    except OSError as error:
        raise TokenFileError(f"http token file {path}: {error.strerror or error}") from None


def _read(path: Path) -> str:
    """The token in ``path``, "" when there is none (no file, or an empty one)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return ""
    with os.fdopen(descriptor, "rb") as file:
        _require_private(path, os.fstat(file.fileno()))
        return file.read(1024).decode("ascii", errors="replace").strip()


def _require_private(path: Path, status: os.stat_result) -> None:
    if not stat.S_ISREG(status.st_mode):
        raise TokenFileError(f"http token file {path} is not a regular file; remove it")
    if status.st_uid != os.geteuid():
        raise TokenFileError(
            f"http token file {path} belongs to uid {status.st_uid}, not to this user "
            f"(uid {os.geteuid()}); remove it"
        )
    mode = stat.S_IMODE(status.st_mode)
    if mode & 0o077:
        raise TokenFileError(
            f"http token file {path} is readable by others (mode {mode:04o}); "
            f"run `chmod 600 {path}` or remove it for a new token"
        )


def _write(path: Path, token: str) -> None:
    """Write ``token`` whole (a staging file renamed over ``path``), mode 0600 from the start."""
    staging = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(token + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(staging, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(staging)
