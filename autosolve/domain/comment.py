"""The comment autosolve posts: the marker, a header, the model's answer made postable.

A model's answer cannot always be posted as it is: it may be empty, longer
than GitHub accepts (65,536 characters; a longer body is a 422 on every
attempt), or contain the marker itself, which would make any comment quoting
it look like autosolve's own. :func:`format_comment` deals with all three.
"""

from __future__ import annotations

import hashlib

from autosolve.infra.issue import Issue
from autosolve.settings.limits import GITHUB_COMMENT_LIMIT

__all__ = [
    "GITHUB_COMMENT_LIMIT",
    "MARKER",
    "EmptyAnswerError",
    "content_sha256",
    "format_comment",
    "sha256",
]

MARKER = "<!-- autosolve -->"
"""Starts every comment autosolve posts; its presence means "already explained"."""

_QUOTED_MARKER = "&lt;!-- autosolve --&gt;"
"""How a marker inside an answer is written: it reads the same, but is no marker."""


class EmptyAnswerError(Exception):
    """The model answered nothing worth posting: a failure of the job, never an empty comment."""


def sha256(text: str) -> str:
    """Hex SHA-256 of ``text`` in UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def content_sha256(issue: Issue) -> str:
    """Hash of what an analysis is about: the title and the body (not labels, not comments)."""
    return sha256(f"{issue.title}\n\0{issue.body or ''}")


def format_comment(model: str, answer: str, max_chars: int, subject: str = "the issue") -> str:
    """The comment body for ``answer``: marker, header, the answer fit to post.

    The answer is stripped, any marker in it neutralised, and if it is longer
    than ``max_chars`` it is cut at the last line break that fits, with a note
    saying so; the whole body never exceeds :data:`GITHUB_COMMENT_LIMIT`.

    Raises:
        EmptyAnswerError: the answer is empty or only whitespace.
    """
    text = answer.strip()
    if not text:
        raise EmptyAnswerError(f"the model answered nothing for {subject}; nothing posted")
    while MARKER in text:
        text = text.replace(MARKER, _QUOTED_MARKER)
    header = f"{MARKER}\n**autosolve analysis** (model: `{model}`)\n\n"
    room = min(max_chars, GITHUB_COMMENT_LIMIT - len(header) - 1)
    if len(text) > room:
        text = _cut(text, room)
    return f"{header}{text}\n"


def _cut(text: str, room: int) -> str:
    """``text`` cut to at most ``room`` characters at a line boundary, with a note."""
    note = (
        f"\n\n*[autosolve: the analysis was cut here; the model's answer had "
        f"{len(text):,} characters, more than fit in one comment]*"
    )
    keep = text[: max(room - len(note), 0)]
    line_end = keep.rfind("\n")
    if line_end > len(keep) // 2:  # a line boundary that does not throw half of it away
        keep = keep[:line_end]
    return keep.rstrip() + note
