"""One label of a repository, as GitHub describes it: shared by the client and the store."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Label"]


@dataclass(frozen=True, slots=True)
class Label:
    """A label a repository has (``GET /repos/{owner}/{name}/labels``)."""

    name: str
    """As the repository spells it; GitHub compares label names case-insensitively."""
    color: str = ""
    """Six hex digits, without ``#``."""
    description: str | None = None
