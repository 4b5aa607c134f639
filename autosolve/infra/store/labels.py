"""The ``repository_labels`` table: the labels each repository has, as last listed.

A listing replaces the repository's labels whole: GitHub's label listing has
no ``since``, and a label deleted on GitHub must go from the mirror too.
"""

from __future__ import annotations

from collections.abc import Sequence

from autosolve.infra.label import Label

from .engine import Connection, insert_rows

__all__ = ["replace_labels", "repository_labels"]


def replace_labels(
    connection: Connection, now: float, repository_id: int, labels: Sequence[Label]
) -> None:
    """Make ``labels`` the repository's labels (a name given twice counts once)."""
    connection.execute("DELETE FROM repository_labels WHERE repository_id = ?", (repository_id,))
    unique = {label.name: label for label in labels}
    insert_rows(
        connection,
        "repository_labels",
        ("repository_id", "name", "color", "description", "stored_at"),
        [(repository_id, x.name, x.color, x.description, now) for x in unique.values()],
    )


def repository_labels(connection: Connection, repository_id: int) -> list[Label]:
    """The repository's mirrored labels, by name."""
    rows = connection.execute(
        "SELECT name, color, description FROM repository_labels WHERE repository_id = ? "
        "ORDER BY lower(name), name",
        (repository_id,),
    ).fetchall()
    return [Label(*row) for row in rows]
