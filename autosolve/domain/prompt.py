"""The prompt sent to the model: a text template with a few named placeholders.

``analysis.prompt_file`` names the operator's template; without one the
built-in template (``autosolve/domain/prompts/analysis.txt``, shipped in the
package) is used. What a template may contain (its placeholders) is checked
by :mod:`autosolve.settings.template` when the settings are loaded; this
module fills it in for one issue and what it is grounded in.

Everything but the template itself was written by others (the issue, its
comments, other issues), so the built-in template quotes it between a
``BEGIN {fence}`` and an ``END {fence}`` line and tells the model to treat
it as data. ``{fence}`` is a token that none of the quoted text contains
(checked, for every prompt), so nothing in an issue can end the quotation
early and pass for instructions.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from autosolve.domain.grounding import Grounds
from autosolve.settings.template import PLACEHOLDERS, TemplateError, check_template, read_template

if TYPE_CHECKING:
    from autosolve.domain.grounding import Candidate
    from autosolve.infra.comment import Comment
    from autosolve.infra.store import StoredIssue

__all__ = ["BUILTIN_TEMPLATE", "PLACEHOLDERS", "PromptTemplate", "TemplateError", "fence_for"]

BUILTIN_TEMPLATE = "analysis.txt"
"""The built-in template's file name in :mod:`autosolve.domain.prompts`."""

NONE = "(none)"
"""What an empty list reads as."""
NO_BODY = "(no description)"
COMMENT_CHARS = 1500
"""One comment's text is cut to this many characters."""
THREAD_CHARS = 6000
"""The comments' texts together: the oldest of those shown are left out beyond it."""
EXCERPT_CHARS = 200
"""A related issue's excerpt."""
MAX_LABELS = 200
"""Repository labels named at most."""


@dataclass(frozen=True)
class PromptTemplate:
    """A checked template; :meth:`render` fills it for one issue."""

    text: str
    source: str
    """Where the text came from (a path, or ``built-in``), for messages."""

    @classmethod
    def builtin(cls) -> PromptTemplate:
        """The template shipped with autosolve."""
        text = (
            resources.files("autosolve.domain.prompts")
            .joinpath(BUILTIN_TEMPLATE)
            .read_text(encoding="utf-8")
        )
        return cls.parse(text, "built-in")

    @classmethod
    def from_file(cls, path: str | Path) -> PromptTemplate:
        """Read and check the template at ``path``.

        Raises:
            TemplateError: see :func:`autosolve.settings.template.read_template`.
        """
        return cls(read_template(path), str(path))

    @classmethod
    def parse(cls, text: str, source: str) -> PromptTemplate:
        """Check ``text``.

        Raises:
            TemplateError: see :func:`autosolve.settings.template.check_template`.
        """
        check_template(text, source)
        return cls(text, source)

    def render(self, stored: StoredIssue, grounds: Grounds | None = None) -> str:
        """The prompt for ``stored``, with what it is grounded in."""
        issue, grounds = stored.issue, grounds or Grounds()
        quoted = {
            "title": issue.title,
            "body": issue.body.strip() if issue.body and issue.body.strip() else NO_BODY,
            "labels": ", ".join(issue.labels) if issue.labels else NONE,
            "author": issue.author_login or "(unknown)",
            "related": _related(grounds.related),
            "comments": _comments(grounds.comments),
            "repository_labels": _repository_labels(grounds),
        }  # fmt: skip
        return self.text.format_map(
            {
                "repository": stored.repository.full_name,
                "number": issue.number,
                "kind": issue.kind,
                **quoted,
                "fence": fence_for(quoted.values()),
            }
        )


def fence_for(texts: Iterable[str]) -> str:
    """A token that occurs in none of ``texts``: the same texts always get the same one."""
    material = "\0".join(texts)
    for salt in itertools.count():
        digest = hashlib.sha256(f"{salt}\0{material}".encode()).hexdigest()
        fence = f"DATA-{digest[:16]}"
        if fence not in material:
            return fence
    raise AssertionError("unreachable")


def _repository_labels(grounds: Grounds) -> str:
    """The repository's labels, those its history suggests first (most voted first)."""
    existing = {name.casefold(): name for name in grounds.repository_labels}
    first = [existing[name.casefold()] for name in grounds.suggested_labels
             if name.casefold() in existing]  # fmt: skip
    ordered = list(dict.fromkeys([*first, *grounds.repository_labels]))
    return ", ".join(ordered[:MAX_LABELS]) or NONE


def _related(candidates: Sequence[Candidate]) -> str:
    """``#N [open] title — excerpt``, one a line."""
    lines = []
    for candidate in candidates:
        line = f"#{candidate.number} [{candidate.state}] {_one_line(candidate.title)}"
        excerpt = _cut(_one_line(candidate.excerpt), EXCERPT_CHARS)
        lines.append(f"{line} — {excerpt}" if excerpt else line)
    return "\n".join(lines) or NONE


def _comments(comments: Sequence[Comment]) -> str:
    """Each comment under its author, quoted; the newest kept within :data:`THREAD_CHARS`."""
    shown: list[str] = []
    room = THREAD_CHARS
    for comment in reversed(comments):
        text = _cut(comment.body.strip(), COMMENT_CHARS)
        if len(text) > room:
            break
        room -= len(text)
        who = f"{comment.author_login or '(deleted account)'} ({comment.author_association})"
        quoted = "\n".join(f"> {line}" for line in text.splitlines() or [""])
        shown.append(f"{who}, {comment.created_at or 'at an unknown time'}:\n{quoted}")
    return "\n\n".join(reversed(shown)) or NONE


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
