"""One line of a model's text made safe to post: mentions, references, HTML, links.

A line is read in one of two modes. In *Markdown* (a paragraph, a heading,
a table row ...) GitHub parses code spans, links and backslash escapes. In
an *HTML block* (see :mod:`.blocks`) it parses none of them: there a mention
written as `` `@name` `` would still ping, so it becomes ``<code>@name</code>``
and nothing relies on Markdown.

What is kept as it is must mean the same to GitHub as to this reader, so
every construct this reader does not trust is taken apart:

- a code span is kept only when it opens and closes on the line and holds no
  ``|`` (a table cell boundary GitHub would split it at); every other
  backtick becomes ``&#96;``, and a run of three tildes ``&#126;``, so no
  code span or fence can form that was not kept on purpose;
- a raw ``<`` becomes ``&lt;`` unless it starts an allowed tag, which is
  written back without its attributes; a closing tag nothing opened is
  escaped too;
- ``](`` keeps a link only to an allowed https URL written plainly
  (no title, no angle brackets); otherwise it becomes ``]&#40;``, which reads
  the same but links nothing. ``]:`` always becomes ``]&#58;``: reference
  definitions could point anywhere and carry multi-line titles;
- an image's ``![`` becomes ``[`` unless images are allowed: the image is then
  a link to the same https URL, its alt text the link's text;
- entities that spell an ASCII character (``&#64;``, ``&commat;``) are shown
  as code: GitHub decodes them before it looks for mentions.
"""

from __future__ import annotations

import bisect
import html
import re

from autosolve.domain.postable.rules import ALLOWED_TAGS, OutputRules

__all__ = ["InlineWriter", "inline_code"]

_ALTERNATIVES = {
    "escape": r"\\[!-/:-@\[-`{-~]",
    "backslash": r"\\",
    "ticks": r"`+",
    "tag": r"<",
    "comment_end": r"-->",
    "entity": r"&(?:\#[0-9]+|\#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);?",
    "url": r"(?:(?:https?|ftp)://|www\.|github\.com/)[^\s<>`\[\]]*",
    "mention": r"@[A-Za-z0-9][A-Za-z0-9_-]*(?:/[A-Za-z0-9][A-Za-z0-9_.-]*)?",
    # GitHub's longest owner (39) and repository name (100): a bounded look at each place.
    "qualified": r"[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}\#[0-9]+",
    "reference": r"(?:\#|GH-)[0-9]+",
    "link": r"\]\(",
    "definition": r"\]:",
    "image": r"!\[",
    "tildes": r"~{3,}",
}


def _scanner(*kinds: str) -> re.Pattern[str]:
    return re.compile(
        "|".join(f"(?P<{kind}>{_ALTERNATIVES[kind]})" for kind in kinds), re.IGNORECASE
    )


_MARKDOWN = _scanner(*_ALTERNATIVES)
_HTML = _scanner(*(kind for kind in _ALTERNATIVES if kind != "escape"))
"""Raw HTML knows no backslash escapes: ``\\<img>`` is a backslash and a tag."""
_AFTER_ESCAPE = _scanner("mention", "qualified", "reference")
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)(?:\s[^<>]*)?/?>")
_TICKS = re.compile(r"`+")
_LONGEST_LOCAL_PART = 64
"""Enough to take the ``@`` into the code span, where GitHub links no address."""
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9._+-]+\Z")
_EMAIL_DOMAIN = re.compile(r"@[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+")
_DESTINATION = re.compile(r"(https://[^\s()<>`\\\[\]\"'&]+)\)", re.IGNORECASE)
_HOST = re.compile(
    r"https://([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)"
    r"(?=$|[/:?#])",
    re.IGNORECASE,
)
_GITHUB_ITEM = re.compile(
    r"https://[^/]+/([^/?#]+)/([^/?#]+)/(?:issues|pull|discussions)/([0-9]+)(?![0-9])",
    re.IGNORECASE,
)
_GITHUB_ITEMS = re.compile(r"/(?:issues|pull|discussions)\b", re.IGNORECASE)
_LIVE_IN_TEXT = re.compile(r"[@&\\]|\#[0-9]|GH-[0-9]|://|www\.", re.IGNORECASE)
"""What would be live in a URL GitHub leaves as text: mentions, references, entities,
or a second URL (searched past the scheme)."""
_AUTOLINK_ENDS = frozenset({"", " ", "\t"})
"""What surely ends an autolink on GitHub (a line's end too); a ``<`` would, but this
writer may escape it."""
_TRAILING = frozenset("?!.,:*_~'\"")
"""Punctuation GitHub leaves out of the end of an autolink."""
_SEPARATOR = "&#8203;"
"""A zero-width space, as an entity: it parts two backtick runs and shows nothing."""
_AUTOLINK_ENTITIES = str.maketrans({":": "&#58;", ".": "&#46;", "@": "&#64;", "\\": "&#92;"})
_SAFE_DECODED = frozenset("<>&\"'")
"""Entities that may stay: they spell no character a mention or a reference is made of."""


class InlineWriter:
    """Writes the lines of one text; remembers the tags they opened and the mentions left.

    Args:
        rules: what the text may do.
        mentions_left: how many ``@mentions`` may still stay live.
    """

    def __init__(self, rules: OutputRules, mentions_left: int) -> None:
        self.rules = rules
        self.mentions_left = max(mentions_left, 0)
        """Decreases with every mention left live."""
        self.open_tags: list[str] = []
        """Allowed tags opened and not yet closed, in order."""
        self.closed_pre = False
        """Whether the last line written closed a ``<pre>`` (it ends an HTML block)."""

    def line(self, text: str, *, html_block: bool) -> str:
        """``text`` (one line) made safe; ``html_block`` says GitHub reads it as raw HTML."""
        self.closed_pre = False
        return _Line(self, text, html_block).write()

    def closers(self) -> str:
        """The closing tags of every tag still open, innermost first ("" if none)."""
        tags, self.open_tags = self.open_tags, []
        return "".join(f"</{tag}>" for tag in reversed(tags))


class _Line:
    """One pass over one line: the tokens found, each written back safely."""

    def __init__(self, writer: InlineWriter, text: str, html_block: bool) -> None:
        self.writer = writer
        self.rules = writer.rules
        self.text = text
        self.html_block = html_block
        self.out: list[str] = []
        self.tick_runs: dict[int, list[int]] | None = None
        self.plain = ""
        """The text read as plain right before the token being written (already in ``out``)."""

    def write(self) -> str:
        scanner = _HTML if self.html_block else _MARKDOWN
        position = 0
        while (match := scanner.search(self.text, position)) is not None:
            self.plain = self.text[position : match.start()]
            if self.plain:
                self.out.append(self.plain)
            kind = match.lastgroup or ""
            position = getattr(self, f"_{kind}")(match)
        self.out.append(self.text[position:])
        return "".join(self.out)

    # -- one method per token kind: write it, return where reading goes on ------------

    def _escape(self, match: re.Match[str]) -> int:
        escaped = match.group()[1]
        after = _AFTER_ESCAPE.match(self.text, match.end() - 1) if escaped in "@#" else None
        if after is not None and not self._glued():
            return self._inert(after.group(), after.end(), live=self._live(after))
        self.out.append({"`": "&#96;", "<": "&lt;"}.get(escaped, match.group()))
        return match.end()

    def _backslash(self, match: re.Match[str]) -> int:
        # Never left to escape what is written after it (a backtick, a closing tag).
        self.out.append("&#92;")
        return match.end()

    def _ticks(self, match: re.Match[str]) -> int:
        run = match.group()
        closing = None if self.html_block else self._closing_ticks(match.end(), len(run))
        if closing is None or "|" in self.text[match.end() : closing]:
            self.out.append("&#96;" * len(run))
            return match.end()
        self.out.append(self.text[match.start() : closing + len(run)])
        return closing + len(run)

    def _closing_ticks(self, start: int, length: int) -> int | None:
        """Where the next run of exactly ``length`` backticks after ``start`` begins."""
        if self.tick_runs is None:  # indexed once a line: a line of many runs stays linear
            self.tick_runs = {}
            for run in _TICKS.finditer(self.text):
                self.tick_runs.setdefault(len(run.group()), []).append(run.start())
        starts = self.tick_runs.get(length, [])
        index = bisect.bisect_left(starts, start)
        return starts[index] if index < len(starts) else None

    def _tag(self, match: re.Match[str]) -> int:
        tag = _TAG.match(self.text, match.start())
        name = tag.group(2).lower() if tag else ""
        if tag is None or name not in ALLOWED_TAGS:
            self.out.append("&lt;")
            return match.end()
        open_tags = self.writer.open_tags
        if not tag.group(1):
            self.out.append(f"<{name}>")
            if name != "br":
                open_tags.append(name)
        elif name in open_tags:
            del open_tags[len(open_tags) - 1 - open_tags[::-1].index(name)]
            self.out.append(f"</{name}>")
            self.writer.closed_pre |= name == "pre"
        else:
            self.out.append("&lt;")
            return match.end()
        return tag.end()

    def _comment_end(self, match: re.Match[str]) -> int:
        self.out.append("--&gt;")
        return match.end()

    def _entity(self, match: re.Match[str]) -> int:
        entity = match.group()
        decoded = html.unescape(entity)
        harmless = not entity.startswith("&#") and (
            decoded == entity or all(ord(c) > 127 or c in _SAFE_DECODED for c in decoded)
        )
        if harmless:  # what follows the "&" is read on as text (``&x/y#3`` holds a reference)
            self.out.append("&")
            return match.start() + 1
        return self._inert(entity, match.end(), live=False)

    def _url(self, match: re.Match[str]) -> int:
        """A URL stays a link only where GitHub's autolink is exactly what is read here.

        Only the autolink makes what a URL holds inert: GitHub makes none in an
        HTML block, after a letter, or of a host it finds malformed, and an
        autolink runs on to the next space (through a backtick that would open
        a code span here). Any other URL is written as code.
        """
        url = _without_trailing_punctuation(match.group())
        live = (
            not self.html_block
            and not self._glued()
            and self.text[match.end() : match.end() + 1] in _AUTOLINK_ENDS
            and self._url_allowed(url)
            and not _LIVE_IN_TEXT.search(url, len("https://"))
        )
        return self._inert(url, match.start() + len(url), live=live)

    def _mention(self, match: re.Match[str]) -> int:
        if match.group()[0] == "@" and (end := self._email(match.start())) is not None:
            return end
        if self._glued():  # no mention here, but what follows its first character may be one
            self.out.append(match.group()[0])
            return match.start() + 1
        return self._inert(match.group(), match.end(), live=self._live(match))

    _qualified = _reference = _mention

    def _email(self, at: int) -> int | None:
        """An e-mail address around the ``@`` at ``at`` is written as code (GitHub would link it).

        Its local part is the end of the plain text just written; seen from
        the ``@``, as GitHub sees it, so no address goes unnoticed.
        """
        local = _EMAIL_LOCAL.search(self.plain[-_LONGEST_LOCAL_PART:])
        domain = _EMAIL_DOMAIN.match(self.text, at)
        if local is None or domain is None:
            return None
        kept = self.plain[: len(self.plain) - len(local.group())]
        self.out[-1:] = [kept] if kept else []
        return self._inert(local.group() + domain.group(), domain.end(), live=False)

    def _link(self, match: re.Match[str]) -> int:
        target = _DESTINATION.match(self.text, match.end())
        if target is None or not self._url_allowed(target.group(1)):
            self.out.append("]&#40;")
            return match.end()
        self.out.append(match.group() + target.group())
        return target.end()

    def _definition(self, match: re.Match[str]) -> int:
        self.out.append("]&#58;")
        return match.end()

    def _image(self, match: re.Match[str]) -> int:
        if self.rules.allow_images:
            self.out.append(match.group())
            return match.end()
        last = self.out[-1] if self.out else ""
        if last.endswith("!") and not last.endswith("\\!"):  # ``!![`` must not stay ``![``
            self.out[-1] = last[:-1] + "&#33;"
        self.out.append("[")
        return match.end()

    def _tildes(self, match: re.Match[str]) -> int:
        self.out.append("&#126;" * len(match.group()))
        return match.end()

    # -- the rules ----------------------------------------------------------------------

    def _glued(self) -> bool:
        """Whether what was written last ends in a letter or digit.

        GitHub sees a mention or a reference only after a non-word character
        (or at the start of a text), so one glued to a word (``a@b``) is none.
        It is the *written* character that counts: ``@a@a`` is written
        `` `@a`@a ``, where the second one starts a text of its own.
        """
        last = self.out[-1][-1:] if self.out else ""
        return last.isascii() and last.isalnum()

    def _live(self, match: re.Match[str]) -> bool:
        """Whether a mention or a reference may stay live (and, for a mention, uses it up)."""
        token = match.group()
        if match.lastgroup == "mention":
            if self.writer.mentions_left <= 0 or self.text.startswith("#", match.end()):
                return False  # none left, or it would read as a reference (@o/r#1)
            self.writer.mentions_left -= 1
            return True
        repository, _, number = token.rpartition("#")
        if not repository and token[:3].upper() == "GH-":
            number = token[3:]
        return self.rules.is_candidate(int(number), repository or None)

    def _url_allowed(self, url: str) -> bool:
        """https to a well-formed host; on GitHub, no issue but a candidate."""
        host = _HOST.match(url)
        if host is None:
            return False
        name = host.group(1).lower()
        if name != "github.com" and not name.endswith(".github.com"):
            return "github.com" not in url.lower()  # nor one that carries a GitHub URL
        if "%" in url or "&" in url:
            return False  # an encoded path could still name an issue
        item = _GITHUB_ITEM.match(url)
        if item is None:
            return _GITHUB_ITEMS.search(url) is None
        return self.rules.is_candidate(int(item.group(3)), f"{item.group(1)}/{item.group(2)}")

    def _inert(self, token: str, end: int, *, live: bool) -> int:
        """Write ``token`` as it is when ``live``, else as inline code."""
        self.out.append(token if live else self._code(token, end))
        return end

    def _code(self, token: str, end: int) -> str:
        """``token`` as inline code that no neighbouring backtick can undo.

        In Markdown it is a code span (``<code>`` would not stop an autolink
        inside it; in an HTML block it is all there is); a zero-width space
        keeps its backticks apart from a code span right before or after it.
        """
        if self.html_block:
            # Entities for what would start an autolink: a generous guess of an HTML
            # block may be a paragraph, where GitHub links a URL even inside <code>.
            return f"<code>{html.escape(token, quote=False).translate(_AUTOLINK_ENTITIES)}</code>"
        before = _SEPARATOR if self.out and self.out[-1].endswith("`") else ""
        after = _SEPARATOR if self.text[end : end + 1] == "`" else ""
        return f"{before}`{token}`{after}"


def _without_trailing_punctuation(url: str) -> str:
    """``url`` as GitHub links it: without trailing punctuation or an unmatched ``)``."""
    while url and (url[-1] in _TRAILING or (url[-1] == ")" and url.count(")") > url.count("("))):
        url = url[:-1]
    return url


def inline_code(text: str) -> str:
    """``text`` (a label, a model's name) as one code span, whatever backticks it holds."""
    flat = " ".join(text.split()).replace("<!--", "<!\u200b--")
    longest = max((len(run) for run in _TICKS.findall(flat)), default=0)
    fence = "`" * (longest + 1)
    padding = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{padding}{flat}{padding}{fence}"
