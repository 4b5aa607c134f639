"""The stand-in model's judgement: a plausible analysis read off the prompt, deterministically.

No language model here: :func:`read_prompt` finds in the prompt what a
model would use (the issue's title and text, the repository's labels when
the prompt names them, related issues listed as ``#N [state] title``), and
:func:`analyse` turns that into the structured answer autosolve asks for —
``{"summary", "labels", "duplicates", "questions"}`` — by plain word overlap.
:func:`plain_text` writes the same analysis as prose, for a prompt that asks
for no structure. The same prompt always gets the same answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["Facts", "Related", "analyse", "plain_text", "read_prompt"]

MAX_LABELS = 3
MAX_DUPLICATES = 3
DUPLICATE_OVERLAP = 0.3
"""Share of the title's words a related issue must have to be called a possible duplicate."""

_WORD = re.compile(r"[a-z0-9]+")
_TITLE = re.compile(r"^\s*title\s*:\s*(?P<title>.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_RELATED = re.compile(r"^\s*[-*]?\s*#(?P<number>\d+)\b(?P<rest>.*)$", re.MULTILINE)
_LABEL_LINE = re.compile(r"label", re.IGNORECASE)
_VERSION = re.compile(r"\bv?\d+\.\d+")
_ERROR_TEXT = re.compile(r"```|\b\w*(Error|Exception)\b|traceback", re.IGNORECASE)
_STOP_TEXT = """
a an and are as at be but by can do does for from has have how i in is it its me my not of on
or our should that the this to was when where which while why will with you your after before
into only also there area type kind
"""
_STOP_WORDS = frozenset(_STOP_TEXT.split())
_FAILURE_WORDS = frozenset(
    ["crash", "crashes", "crashed", "error", "errors", "fails", "failed", "traceback"]
)
_REQUEST_OPENINGS = frozenset(("add", "support", "allow", "provide", "offer", "let", "make"))
_HINTS = {
    "bug": "crash crashes crashed error errors exception fail fails failed failure broken "
    "wrong incorrect lost lose loses never stall stalls stalled differs missing panic "
    "traceback regression bug",
    "enhancement": "add support feature request allow option would like wish enhancement",
    "feature": "add support feature request allow option would like wish",
    "documentation": "docs documentation readme typo example examples guide tutorial",
    "docs": "docs documentation readme typo example examples guide tutorial",
    "question": "how question why possible help unclear understand",
    "performance": "slow slowly performance memory cpu latency fast faster speed leak",
}
"""Words that point at a commonly named label, beside the label's own words."""


@dataclass(frozen=True)
class Related:
    """An issue the prompt lists as related."""

    number: int
    text: str
    """What follows the number on its line: the state, the title, an excerpt."""


@dataclass(frozen=True)
class Facts:
    """What the prompt says about the issue to analyse."""

    title: str
    text: str
    """The issue's words: the title and what follows it, without the related issues'."""
    labels: tuple[str, ...]
    """The repository's labels, when the prompt names them."""
    related: tuple[Related, ...]


def read_prompt(prompt: str) -> Facts:
    """The facts in ``prompt``, whatever template wrote it.

    The issue's own text is what follows its ``Title:`` line (the whole
    prompt without one), less the lines listing related issues or labels,
    so the template's instructions and the context do not count as the issue's words.
    """
    found = _TITLE.search(prompt)
    lines = [line.strip() for line in prompt.splitlines() if line.strip()]
    title = found["title"] if found else (lines[0] if lines else "")
    related = tuple(
        Related(int(match["number"]), match["rest"].strip()) for match in _RELATED.finditer(prompt)
    )
    issue_part = prompt[found.start() :] if found else prompt
    own_lines = [
        line
        for line in issue_part.splitlines()
        if not _RELATED.match(line) and not _LABEL_LINE.search(line.partition(":")[0])
    ]
    return Facts(title, "\n".join(own_lines), _repository_labels(prompt), related)


def _repository_labels(prompt: str) -> tuple[str, ...]:
    """The names on a line about the repository's labels (or in the list that follows it)."""
    lines = prompt.splitlines()
    for index, line in enumerate(lines):
        head, colon, tail = line.partition(":")
        if not colon or not _LABEL_LINE.search(head) or "repositor" not in head.lower():
            continue
        names = _names(tail) or _list_after(lines[index + 1 :])
        if names:
            return names
    return ()


def _names(text: str) -> tuple[str, ...]:
    parts = (part.strip().strip("`'\"") for part in text.split(","))
    return tuple(part for part in parts if part and part.lower() != "none")


def _list_after(lines: list[str]) -> tuple[str, ...]:
    names = []
    for line in lines:
        item = line.strip()
        if not item.startswith(("-", "*")):
            break
        names.append(item.lstrip("-* ").split(" — ")[0].split(": ")[0].strip("`'\""))
    return tuple(name for name in names if name)


def analyse(facts: Facts) -> dict[str, Any]:
    """The structured analysis: ``{"summary", "labels", "duplicates", "questions"}``."""
    return {
        "summary": _summary(facts),
        "labels": _labels(facts),
        "duplicates": _duplicates(facts),
        "questions": _questions(facts),
    }


def plain_text(facts: Facts) -> str:
    """The analysis as prose (Markdown), for a prompt that asks for no structure."""
    answer = analyse(facts)
    parts = [answer["summary"]]
    if answer["labels"]:
        parts.append("Suggested labels: " + ", ".join(answer["labels"]) + ".")
    if answer["duplicates"]:
        parts.append("Possibly related: " + ", ".join(f"#{n}" for n in answer["duplicates"]))
    if answer["questions"]:
        parts.append("Open questions:\n" + "\n".join(f"- {q}" for q in answer["questions"]))
    return "\n\n".join(parts)


def _summary(facts: Facts) -> str:
    title = facts.title.rstrip(" .")
    if not title:
        return "The report gives no title; more detail is needed before it can be triaged."
    if _is_request(facts):
        return (
            f"This asks for a change: “{title}”. The next step is to decide whether it fits "
            "the project and sketch how it would work."
        )
    return (
        f"This reports a problem: “{title}”. The likely next step is to reproduce it with "
        "the details given and narrow down the component involved."
    )


def _is_request(facts: Facts) -> bool:
    """A request for something new, rather than a report of something wrong."""
    title = _WORD.findall(facts.title.lower())
    asks = bool(title) and title[0] in _REQUEST_OPENINGS
    return asks or ("please" in title and not _matches(_words(facts.text), _HINTS["bug"]))


def _labels(facts: Facts) -> list[str]:
    words = _words(facts.text)
    scored = []
    for position, label in enumerate(facts.labels):
        own = _words(label) - _STOP_WORDS
        score = len(own & words) * 2 + _matches(words, _HINTS.get(label.lower(), ""))
        if score:
            scored.append((-score, position, label))
    return [label for _, _, label in sorted(scored)[:MAX_LABELS]]


def _duplicates(facts: Facts) -> list[int]:
    title = _words(facts.title) - _STOP_WORDS
    if not title:
        return []
    close = []
    for related in facts.related:
        overlap = len(title & _words(related.text)) / len(title)
        if overlap >= DUPLICATE_OVERLAP:
            close.append((-overlap, related.number))
    return [number for _, number in sorted(close)[:MAX_DUPLICATES]]


def _questions(facts: Facts) -> list[str]:
    """What a maintainer would ask next: only for what the report does not say already."""
    words = _words(facts.text)
    if _is_request(facts):
        return ["What would you use it for, and how do you work around it today?"]
    questions = []
    if not _VERSION.search(facts.text) and "version" not in words:
        questions.append("Which version are you running, and on which operating system?")
    if not words & {"steps", "reproduce", "reproduces", "repro"}:
        questions.append("What are the exact steps to reproduce it?")
    if words & _FAILURE_WORDS and not _ERROR_TEXT.search(facts.text):
        questions.append("Could you paste the complete error output?")
    return questions


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def _matches(words: set[str], hints: str) -> int:
    return len(words & set(hints.split()))
