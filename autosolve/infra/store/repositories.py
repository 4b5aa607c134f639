"""The ``repositories`` table: the tenants issues belong to.

Functions here take a connection inside a transaction opened by the caller
(the :class:`~autosolve.infra.store.Store`), so they compose into larger
atomic writes. Names compare case-insensitively, as GitHub's do.
"""

from __future__ import annotations

from autosolve.infra.timestamps import format_epoch

from .engine import Connection
from .errors import UnknownRepositoryError
from .records import RepositoryRef

__all__ = ["find_repository", "repository_names", "require_repository", "upsert_repository"]


def upsert_repository(
    connection: Connection,
    now: float,
    github_id: int,
    owner: str,
    name: str,
    *,
    watch_since: float,
) -> int:
    """Insert or update the repository ``owner/name``; return its local id.

    The key is ``(owner, name)``, compared case-insensitively, so the id stays
    the same across runs and the stored spelling follows what GitHub last said.
    The first upsert records ``watch_since`` (whole seconds, the precision of
    GitHub's timestamps); later ones never move it.
    """
    row = connection.execute(
        f"""
        INSERT INTO repositories (github_id, owner, name, created_at, updated_at, watch_since)
        VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT {connection.dialect.repository_key} DO UPDATE SET
            github_id = excluded.github_id,
            owner = excluded.owner,
            name = excluded.name,
            updated_at = excluded.updated_at,
            watch_since = COALESCE(repositories.watch_since, excluded.watch_since)
        RETURNING id
        """,
        (github_id, owner, name, now, now, format_epoch(watch_since)),
    ).fetchone()
    return int(row[0])


def find_repository(connection: Connection, owner: str, name: str) -> RepositoryRef:
    """The stored repository ``owner/name`` (case-insensitive).

    Raises:
        UnknownRepositoryError: the repository was never upserted.
    """
    row = connection.execute(
        "SELECT id, owner, name, watch_since FROM repositories "
        f"WHERE {connection.dialect.repository_match}",
        (owner, name),
    ).fetchone()
    if row is None:
        raise UnknownRepositoryError(f"{owner}/{name}")
    return RepositoryRef(*row)


def require_repository(connection: Connection, repository_id: int) -> str:
    """``owner/name`` of ``repository_id``, for messages; fails clearly if it is unknown.

    Checking up front gives a clear error instead of a foreign key failure.

    Raises:
        UnknownRepositoryError: no repository has that id.
    """
    row = connection.execute(
        "SELECT owner, name FROM repositories WHERE id = ?", (repository_id,)
    ).fetchone()
    if row is None:
        raise UnknownRepositoryError(f"with id {repository_id}")
    return f"{row[0]}/{row[1]}"


def repository_names(connection: Connection) -> dict[int, str]:
    """``owner/name`` of every stored repository by its local id (job payloads name ids)."""
    rows = connection.execute("SELECT id, owner, name FROM repositories").fetchall()
    return {int(repository_id): f"{owner}/{name}" for repository_id, owner, name in rows}
