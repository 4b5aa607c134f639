"""A model's text made safe to post, line by line: fenced code, HTML blocks, the rest.

Code is where a mention, a reference or a tag is inert, so code the model
wrote is kept verbatim - but only where GitHub is certain to read it as code
too. This reader keeps a fenced block when its opening line starts (after at
most three spaces) with three or more backticks or tildes; every other
backtick and tilde run in the text is written as an entity (see
:mod:`.inline`), so GitHub finds no fence this reader did not keep. Inside a
list item a fence ends with the item, so a line indented less than the
opening fence ends it here too, and every fence is closed by a line this
reader writes at the opening's indentation: GitHub and this reader agree
where each block ends, and a fence the model left open is closed before
anything autosolve adds after the text.

A line that starts with an allowed tag (after any list or quote markers)
starts an HTML block, where GitHub reads no Markdown up to the next blank
line (or, for ``<pre>``, up to the line that closes it); such lines are
written in the inline writer's HTML mode. Reading more lines as HTML than
GitHub does is safe (what is written for HTML is inert in Markdown too);
fewer would not be, so the test for a start is generous.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from autosolve.domain.postable.inline import InlineWriter
from autosolve.domain.postable.rules import ALLOWED_TAGS, OutputRules

__all__ = ["Postable", "make_postable"]

_OPENING = re.compile(r"([ \t]*)(`{3,}|~{3,})(.*)")
_CLOSING = re.compile(r"([ \t]*)(`+|~+)[ \t]*")
_HTML_START = re.compile(
    r"[ \t>*+\-.)0-9]*<(/?)(" + "|".join(sorted(ALLOWED_TAGS)) + r")(?=[\s/>]|$)", re.IGNORECASE
)
_HIDDEN_COMMENT = "<!--"
_SHOWN_COMMENT = "<!\u200b--"
"""``<!--`` in code, where no entity can stand for it: a zero-width space keeps it apart."""


@dataclass(frozen=True)
class Postable:
    """A text made safe to post, and how many of the mentions allowed it used."""

    text: str
    mentions: int


def make_postable(text: str, rules: OutputRules, mentions_left: int = 0) -> Postable:
    """``text`` as Markdown that does no more than ``rules`` allow, whatever it held.

    The result is *closed*: no fence, HTML block or allowed tag it opens is
    still open at its end, so whatever follows it is read as written.

    Args:
        text: the model's text.
        rules: the candidates, images and mentions allowed.
        mentions_left: how many mentions may stay live (the rest become code).
    """
    writer = InlineWriter(rules, mentions_left)
    lines = _Lines(writer)
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        lines.add(line)
    written = lines.finish().replace(_HIDDEN_COMMENT, _SHOWN_COMMENT)
    return Postable(written, max(mentions_left, 0) - writer.mentions_left)


@dataclass(frozen=True)
class _Fence:
    indent: int
    char: str
    length: int

    @classmethod
    def opened_by(cls, line: str) -> _Fence | None:
        match = _OPENING.fullmatch(line)
        if match is None or _columns(match.group(1)) > 3:
            return None
        run, info = match.group(2), match.group(3)
        if run[0] == "`" and "`" in info:
            return None  # GitHub reads that line as a paragraph
        return cls(_columns(match.group(1)), run[0], len(run))

    def closed_by(self, line: str) -> bool:
        match = _CLOSING.fullmatch(line)
        return (
            match is not None
            and match.group(2)[0] == self.char
            and len(match.group(2)) >= self.length
            and _columns(match.group(1)) <= self.indent + 3
        )

    def left_by(self, line: str) -> bool:
        """A line indented less than the opening ends the list item holding the fence."""
        return not _blank(line) and _columns(line[: len(line) - len(line.lstrip(" \t"))]) < (
            self.indent
        )

    @property
    def closing(self) -> str:
        return " " * self.indent + self.char * self.length


class _Lines:
    """The state between lines: an open fence, an open HTML block, the lines written."""

    def __init__(self, writer: InlineWriter) -> None:
        self.writer = writer
        self.written: list[str] = []
        self.fence: _Fence | None = None
        self.html_block: str | None = None
        """``"blank"`` (ends at a blank line), ``"pre"`` (ends with ``</pre>``) or None."""

    def add(self, line: str) -> None:
        if self.fence is not None and self._in_fence(line):
            return
        if self.html_block == "blank" and _blank(line):
            self.html_block = None
        if self.html_block is None:
            self.fence = _Fence.opened_by(line)
            if self.fence is not None:
                self.written.append(line)
                return
            self.html_block = _html_block_started_by(line)
        html_block = self.html_block is not None
        self.written.append(self.writer.line(line, html_block=html_block))
        if self.html_block == "pre" and self.writer.closed_pre:
            self.html_block = None

    def _in_fence(self, line: str) -> bool:
        """Write ``line`` as part of the open fence; False when it is not part of it."""
        assert self.fence is not None
        if self.fence.closed_by(line) or self.fence.left_by(line):
            self.written.append(self.fence.closing)
            closed, self.fence = self.fence.closed_by(line), None
            return closed
        self.written.append(line)
        return True

    def finish(self) -> str:
        if self.fence is not None:
            self.written.append(self.fence.closing)
        closers = self.writer.closers()
        if closers:
            self.written.append(closers)
        return "\n".join(self.written)


def _html_block_started_by(line: str) -> str | None:
    match = _HTML_START.match(line)
    if match is None:
        return None
    return "pre" if match.group(2).lower() == "pre" and not match.group(1) else "blank"


def _blank(line: str) -> bool:
    """Blank as GitHub sees it: only spaces and tabs (not every Unicode space)."""
    return not line.strip(" \t")


def _columns(indentation: str) -> int:
    """The width of leading spaces and tabs, tabs stopping at multiples of 4."""
    width = 0
    for char in indentation:
        width = width + 4 - width % 4 if char == "\t" else width + 1
    return width
