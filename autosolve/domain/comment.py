"""The comment autosolve posts: the marker, a header, the model's answer made postable.

A model's answer cannot be posted as it is. It may be empty; longer than
GitHub accepts (65,536 characters; a longer body is a 422 on every attempt);
or untrusted in what it does once rendered - mentions, references to
unrelated issues, HTML comments that pass for the marker, images, scripts
(see :mod:`autosolve.domain.postable`). :func:`render_comment` deals with
all of them, for a plain answer as for a structured one:

    <!-- autosolve -->
    **autosolve analysis** (model: `qwen2.5-coder:7b`)

    The summary ...

    Possibly related: #12, #45

    Open questions:
    - Which version ...?

    Suggested labels: `bug`, `ui`
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from autosolve.domain.answer import Answer, PlainAnswer
from autosolve.domain.postable import OutputRules, inline_code, make_postable, shorten
from autosolve.settings.limits import GITHUB_COMMENT_LIMIT

if TYPE_CHECKING:
    from autosolve.infra.issue import Issue

__all__ = [
    "GITHUB_COMMENT_LIMIT",
    "MARKER",
    "EmptyAnswerError",
    "Labels",
    "content_sha256",
    "format_comment",
    "render_comment",
    "sha256",
]

MARKER = "<!-- autosolve -->"
"""Starts every comment autosolve posts; its presence means "already explained"."""


class EmptyAnswerError(Exception):
    """The model answered nothing worth posting: a failure of the job, never an empty comment."""


@dataclass(frozen=True)
class Labels:
    """The labels an analysis kept from the model's pick, and whether they were applied."""

    kept: tuple[str, ...] = ()
    """In the model's order, already checked against the repository and the allow-list."""
    applied: bool = False
    """Applied labels need no mention; the others are suggested in the comment."""


def sha256(text: str) -> str:
    """Hex SHA-256 of ``text`` in UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def content_sha256(issue: Issue) -> str:
    """Hash of what an analysis is about: the title and the body (not labels, not comments)."""
    return sha256(f"{issue.title}\n\0{issue.body or ''}")


def format_comment(
    model: str,
    answer: str,
    max_chars: int,
    subject: str = "the issue",
    rules: OutputRules | None = None,
) -> str:
    """The comment body for a plain-text ``answer`` (see :func:`render_comment`)."""
    return render_comment(
        model, PlainAnswer(answer), max_chars=max_chars, subject=subject, rules=rules
    )


def render_comment(
    model: str,
    answer: Answer,
    *,
    max_chars: int,
    subject: str = "the issue",
    rules: OutputRules | None = None,
    labels: Labels | None = None,
) -> str:
    """The comment body for ``answer``: marker, header, then the answer fit to post.

    Every piece of the model's text is made postable under ``rules``
    (mentions and references beyond them become inline code, HTML is
    escaped but for a few harmless tags, ...). A structured answer is shown
    as its summary, the related issues that were candidates, its questions
    and - unless they were applied - the kept ``labels``. What is longer than
    ``max_chars`` is cut at a line boundary, with a note saying so; the whole
    body never exceeds :data:`GITHUB_COMMENT_LIMIT`.

    Raises:
        EmptyAnswerError: the answer holds nothing to post.
    """
    rules = rules or OutputRules()
    parts = _parts(answer, rules, labels or Labels())
    if not any(part.text.strip() for part in parts if part.from_model):
        raise EmptyAnswerError(f"the model answered nothing for {subject}; nothing posted")
    header = f"{MARKER}\n**autosolve analysis** (model: {inline_code(model)})\n\n"
    room = min(max_chars, GITHUB_COMMENT_LIMIT - len(header) - 1)
    return f"{header}{_Writer(rules, room, _answer_length(answer)).write(parts)}\n"


@dataclass(frozen=True)
class _Part:
    """One piece of the comment: the model's text (made postable) or autosolve's own."""

    text: str
    from_model: bool
    gap: str = "\n\n"
    """What separates it from the piece before."""
    prefix: str = ""
    """Written before it (a list item's marker); its continuation lines are indented to match."""


def _parts(answer: Answer, rules: OutputRules, labels: Labels) -> list[_Part]:
    if isinstance(answer, PlainAnswer):
        return [_Part(answer.text.strip(), from_model=True)]
    parts = [_Part(answer.summary.strip(), from_model=True)]
    related = [n for n in dict.fromkeys(answer.duplicates) if n in rules.candidates]
    if related:
        parts.append(_Part("Possibly related: " + ", ".join(f"#{n}" for n in related), False))
    questions = [q for q in (" ".join(q.split()) for q in answer.questions) if q]
    if questions:
        parts.append(_Part("Open questions:", from_model=False))
        parts += [_Part(q, from_model=True, gap="\n", prefix="- ") for q in questions]
    if labels.kept and not labels.applied:
        names = ", ".join(inline_code(label) for label in labels.kept)
        parts.append(_Part(f"Suggested labels: {names}", from_model=False))
    return [part for part in parts if part.text]


def _answer_length(answer: Answer) -> int:
    if isinstance(answer, PlainAnswer):
        return len(answer.text)
    return len(answer.summary) + sum(len(q) for q in answer.questions)


class _Writer:
    """Writes the parts within ``room`` characters, sharing the mentions allowed among them."""

    def __init__(self, rules: OutputRules, room: int, answer_length: int) -> None:
        self.rules = rules
        self.room = room
        self.note = (
            f"\n\n*[autosolve: the analysis was cut here; the model's answer had "
            f"{answer_length:,} characters, more than fit in one comment]*"
        )

    def write(self, parts: list[_Part]) -> str:
        written = ""
        mentions_left = self.rules.max_mentions
        for part in parts:
            gap = part.gap if written else ""
            text, used = self._part(part, mentions_left)
            if len(written) + len(gap) + len(text) > self.room:
                return self._cut(written, gap, part, mentions_left)
            written, mentions_left = written + gap + text, mentions_left - used
        return written

    def _part(self, part: _Part, mentions_left: int) -> tuple[str, int]:
        if not part.from_model:
            return part.text, 0
        postable = make_postable(part.text, self.rules, mentions_left)
        return _prefixed(part.prefix, postable.text), postable.mentions

    def _cut(self, written: str, gap: str, part: _Part, mentions_left: int) -> str:
        """``written`` and as much of ``part`` as fits with the note; a list item is left out."""
        left = self.room - len(written) - len(gap) - len(self.note)
        if part.from_model and not part.prefix and left > 0:
            start = shorten(part.text, self.rules, left, mentions_left).text
            written = written + gap + start if start else written
        return (written + self.note).lstrip("\n")


def _prefixed(prefix: str, text: str) -> str:
    indent = "\n" + " " * len(prefix)
    return prefix + text.replace("\n", indent) if prefix else text
