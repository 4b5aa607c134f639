"""The prompt template's format: what ``analysis.prompt_file`` may contain.

A template is plain text with ``{placeholder}`` fields from
:data:`PLACEHOLDERS`; ``{{`` and ``}}`` write literal braces. Anything else
in braces is refused when the settings are loaded, naming the file, so a
typo never reaches the model. Filling a template in is the domain's
(:class:`autosolve.domain.prompt.PromptTemplate`).
"""

from __future__ import annotations

import string
from pathlib import Path

__all__ = ["PLACEHOLDERS", "TemplateError", "check_template", "read_template"]

PLACEHOLDERS = (
    "repository", "number", "kind", "title", "body", "labels", "author", "related", "comments",
    "repository_labels", "fence",
)  # fmt: skip
"""The fields a template may use."""


class TemplateError(ValueError):
    """A template that cannot be used; the message says where and why."""


def read_template(path: str | Path) -> str:
    """The checked text of the template at ``path``.

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
    check_template(text, str(path))
    return text


def check_template(text: str, source: str) -> None:
    """Check ``text`` (from ``source``, for messages).

    Raises:
        TemplateError: see :func:`read_template`.
    """
    if not text.strip():
        raise TemplateError(f"{source}: the template is empty")
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError as error:
        raise TemplateError(f"{source}: {error}; write {{{{ and }}}} for literal braces") from None
    known = ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)
    for _literal, name, spec, conversion in fields:
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            raise TemplateError(f"{source}: unknown placeholder {{{name}}}; known: {known}")
        if spec or conversion:
            raise TemplateError(
                f"{source}: placeholder {{{name}}} must be plain (no '!' conversion or ':' format)"
            )
