"""The prompt sent to the model: a text template with a few named placeholders.

``analysis.prompt_file`` names the operator's template; without one the
built-in template (``autosolve/domain/prompts/analysis.txt``, shipped in the
package) is used. A template is plain text with ``{placeholder}`` fields from
:data:`PLACEHOLDERS`; ``{{`` and ``}}`` write literal braces. Anything else in
braces is refused when the settings are loaded, naming the file, so a typo
never reaches the model.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autosolve.infra.store import StoredIssue

__all__ = ["BUILTIN_TEMPLATE", "PLACEHOLDERS", "PromptTemplate", "TemplateError"]

PLACEHOLDERS = ("repository", "number", "kind", "title", "body", "labels", "author")
"""The fields a template may use."""

BUILTIN_TEMPLATE = "analysis.txt"
"""The built-in template's file name in :mod:`autosolve.domain.prompts`."""


class TemplateError(ValueError):
    """A template that cannot be used; the message says where and why."""


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
            TemplateError: the file cannot be read, is not UTF-8, is empty, or
                uses a placeholder that does not exist; the message names the file.
        """
        try:
            text = Path(path).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise TemplateError(f"{path}: not UTF-8 text") from None
        except OSError as error:
            raise TemplateError(f"cannot read {path}: {error.strerror or error}") from None
        return cls.parse(text, str(path))

    @classmethod
    def parse(cls, text: str, source: str) -> PromptTemplate:
        """Check ``text``.

        Raises:
            TemplateError: see :meth:`from_file`.
        """
        if not text.strip():
            raise TemplateError(f"{source}: the template is empty")
        try:
            fields = list(string.Formatter().parse(text))
        except ValueError as error:
            raise TemplateError(
                f"{source}: {error}; write {{{{ and }}}} for literal braces"
            ) from None
        known = ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)
        for _literal, name, spec, conversion in fields:
            if name is None:
                continue
            if name not in PLACEHOLDERS:
                raise TemplateError(f"{source}: unknown placeholder {{{name}}}; known: {known}")
            if spec or conversion:
                raise TemplateError(
                    f"{source}: placeholder {{{name}}} must be plain (no '!' conversion or "
                    "':' format)"
                )
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
