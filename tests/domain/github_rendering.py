"""What GitHub would make of a comment body: rendered by cmark-gfm, read like GitHub's filters.

GitHub renders a comment with cmark-gfm (the library :mod:`cmarkgfm` binds),
then finds mentions and issue references in the text of the HTML, leaving
out text inside ``code``, ``pre`` and ``a`` elements. :func:`live_parts` does
the same, generously (it counts as live anything GitHub *might* link), so the
tests can say "nothing here pings anyone" about what GitHub would show.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import cmarkgfm
from cmarkgfm.cmark import Options

__all__ = ["LiveParts", "live_parts", "render"]

_INERT_PARENTS = frozenset({"code", "pre", "a", "script", "style", "textarea"})
_MENTION = re.compile(r"(?<![A-Za-z0-9])@[A-Za-z0-9][A-Za-z0-9_-]*(?:/[A-Za-z0-9][A-Za-z0-9_.-]*)?")
_REFERENCE = re.compile(
    r"(?<![A-Za-z0-9])(?:(?P<repository>[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+)#|#|GH-)"
    r"(?P<number>[0-9]+)",
    re.IGNORECASE,
)
_ISSUE_URL = re.compile(
    r"(?:https?://)?(?:www\.)?github\.com/(?P<repository>[^/\s]+/[^/\s]+)/(?:issues|pull|discussions)/(?P<number>[0-9]+)",
    re.IGNORECASE,
)
_RENDERER_ATTRIBUTES = {
    "code": {"class"},
    "pre": {"lang"},
    "input": {"type", "disabled", "checked"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
}
"""Attributes cmark-gfm itself writes (a fence's language, a task list's box)."""
_VOID = frozenset({"br", "img", "hr", "input", "meta", "link", "wbr", "col", "area", "base"})


def render(body: str) -> str:
    """``body`` as the HTML cmark-gfm makes of it (raw HTML kept, as GitHub's sanitizer sees it)."""
    return cmarkgfm.github_flavored_markdown_to_html(body, options=Options.CMARK_OPT_UNSAFE)


@dataclass
class LiveParts:
    """What the rendered body would do on GitHub."""

    mentions: list[str] = field(default_factory=list)
    references: list[tuple[str | None, int]] = field(default_factory=list)
    """``(repository or None, number)`` for every live reference, in text or in a link."""
    links: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    tags: set[str] = field(default_factory=set)
    """Every element the HTML holds."""
    tags_with_attributes: set[str] = field(default_factory=set)
    """Elements written with attributes by raw HTML (cmark's own a/img/code aside)."""


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts = LiveParts()
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.parts.tags.add(tag)
        values = dict(attrs)
        if tag == "a":
            href = values.get("href") or ""
            self.parts.links.append(href)
            if (match := _ISSUE_URL.match(href)) is not None:
                self._add_reference(match)
        elif tag == "img":
            self.parts.images.append(values.get("src") or "")
        elif attrs and set(values) - _RENDERER_ATTRIBUTES.get(tag, set()):
            self.parts.tags_with_attributes.add(tag)
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.stack:
            del self.stack[len(self.stack) - 1 - self.stack[::-1].index(tag)]

    def handle_data(self, data: str) -> None:
        if _INERT_PARENTS & set(self.stack):
            return
        self.parts.mentions += _MENTION.findall(data)
        for match in _REFERENCE.finditer(data):
            self.parts.references.append((match.group("repository"), int(match.group("number"))))
        for match in _ISSUE_URL.finditer(data):
            self._add_reference(match)

    def _add_reference(self, match: re.Match[str]) -> None:
        self.parts.references.append((match.group("repository"), int(match.group("number"))))


def live_parts(body: str) -> LiveParts:
    """The mentions, references, links and images GitHub would make of ``body``."""
    reader = _Reader()
    reader.feed(render(body))
    reader.close()
    return reader.parts
