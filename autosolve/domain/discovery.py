"""The repositories found by discovery, by source, and which of them are watched.

A source is an organisation (every repository of ``github.organizations``)
or a GitHub App's installations. The discoverer of each source records what
it found here; the repository module's planner reads :meth:`watched` and the
daemon plans again whenever a record changes what is watched (listeners).
Archived and disabled repositories are never recorded: nothing can change
in them, and nobody may comment.
"""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

__all__ = ["FoundRepository", "RepositoryDirectory", "excluded"]


@dataclass(frozen=True)
class FoundRepository:
    """A repository a source covers."""

    full_name: str
    """``owner/name`` as GitHub spells it."""
    installation_id: int = 0
    """The App installation that covers it (0: found with the token)."""


def excluded(full_name: str, patterns: Iterable[str]) -> bool:
    """True when ``full_name`` matches one of the ``owner/name`` globs (case-insensitive)."""
    name = full_name.lower()
    return any(fnmatch.fnmatchcase(name, pattern.lower()) for pattern in patterns)


class RepositoryDirectory:
    """What each source covers; thread-safe, kept across reloads by the daemon."""

    def __init__(self) -> None:
        self._found: dict[str, tuple[FoundRepository, ...]] = {}
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after every :meth:`record` that changed a source's list."""
        self._listeners.append(listener)

    def record(self, source: str, found: Sequence[FoundRepository]) -> bool:
        """``source`` covers ``found`` now; True (and listeners told) when that changed."""
        listed = tuple(sorted(set(found), key=lambda r: r.full_name.lower()))
        with self._lock:
            changed = self._found.get(source) != listed
            self._found[source] = listed
        if changed:
            for listener in self._listeners:
                listener()
        return changed

    def recorded(self, source: str) -> bool:
        """Whether ``source`` was listed at least once."""
        with self._lock:
            return source in self._found

    def watched(
        self, configured: Sequence[str], sources: Iterable[str], exclude: Sequence[str]
    ) -> list[str]:
        """``configured``, then each source's repositories in order, once each, less
        the ``exclude`` matches. Sources not named (removed from the settings) count
        no more."""
        with self._lock:
            found = [r.full_name for source in sources for r in self._found.get(source, ())]
        seen: set[str] = set()
        watched = []
        for full_name in (*configured, *found):
            if full_name.lower() not in seen and not excluded(full_name, exclude):
                seen.add(full_name.lower())
                watched.append(full_name)
        return watched

    def installation_of(self, full_name: str) -> int:
        """The App installation a discovered repository was found through (0: none)."""
        wanted = full_name.lower()
        with self._lock:
            for listed in self._found.values():
                for repository in listed:
                    if repository.full_name.lower() == wanted and repository.installation_id:
                        return repository.installation_id
        return 0
