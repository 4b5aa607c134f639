"""Which of the labels a model picked are kept (``[analysis.labels]``).

A label is kept only if the repository has it (the mirror of its labels,
case-insensitive, written as the repository spells it) and ``allow``
matches it (names or globs, case-insensitive; none = any), at most ``max``
of them, in the model's order. Kept labels are added to the issue with
``apply`` (never removed), else suggested in the comment.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["LabelPolicy"]


@dataclass(frozen=True)
class LabelPolicy:
    """``analysis.labels``: ``apply``, ``allow`` and ``max``."""

    apply: bool = False
    allow: tuple[str, ...] = ()
    max: int = 3

    def keep(self, picked: Iterable[str], repository: Iterable[str]) -> tuple[str, ...]:
        """The labels of ``picked`` that may be used, in the repository's spelling."""
        existing = {name.casefold(): name for name in repository}
        kept: list[str] = []
        for pick in picked:
            name = existing.get(pick.strip().casefold())
            if len(kept) >= self.max:
                break
            if name is not None and name not in kept and self._allowed(name):
                kept.append(name)
        return tuple(kept)

    def _allowed(self, name: str) -> bool:
        folded = name.casefold()
        return not self.allow or any(
            fnmatch.fnmatchcase(folded, pattern.casefold()) for pattern in self.allow
        )
