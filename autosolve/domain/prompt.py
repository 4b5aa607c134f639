"""The prompt sent to the model: a text template with a few named placeholders.

``analysis.prompt_file`` names the operator's template; without one the
built-in template (``autosolve/domain/prompts/analysis.txt``, shipped in the
package) is used. What a template may contain (its placeholders) is checked
by :mod:`autosolve.settings.template` when the settings are loaded; this
module fills it in for one issue.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from autosolve.settings.template import PLACEHOLDERS, TemplateError, check_template, read_template

if TYPE_CHECKING:
    from autosolve.infra.store import StoredIssue

__all__ = ["BUILTIN_TEMPLATE", "PLACEHOLDERS", "PromptTemplate", "TemplateError"]

BUILTIN_TEMPLATE = "analysis.txt"
"""The built-in template's file name in :mod:`autosolve.domain.prompts`."""


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

    def render(self, stored: StoredIssue) -> str:
        """The prompt for ``stored``."""
        issue = stored.issue
        return self.text.format_map(
            {
                "repository": stored.repository.full_name,
                "number": issue.number,
                "kind": issue.kind,
                "title": issue.title,
                "body": issue.body.strip() if issue.body and issue.body.strip() else
                "(no description)",
                "labels": ", ".join(issue.labels) if issue.labels else "(none)",
                "author": issue.author_login or "(unknown)",
            }
        )  # fmt: skip
