"""Text made of the pieces attacks on a posted comment are made of, for property-based tests."""

from __future__ import annotations

from hypothesis import strategies as st

__all__ = ["PIECES", "texts"]

PIECES = [
    "@a", "@everyone", "@octo/security-team", "#1", "#12", "#45", "octo/hello#12", "octo/world#1",
    "GH-4", "`", "``", "```", "~~~", "~~", "<!--", "-->", "<!-- autosolve -->", "<details>",
    "<details open>", "</details>", "<summary>", "<pre>", "</pre>", "<code>", "</code>", "<kbd>",
    "<br>", "<img src=x>", "<a href='http://x'>", "<script>", "<pre", "[", "]", "(", ")", "](",
    "![", "]:", "[x](https://x.com/a)", "![i](https://x.com/i.png)", "http://x.com",
    "https://x.com/", "https://x.com/@a", "https://github.com/octo/hello/issues/5",
    "https://github.com/octo/hello/issues/12", "www.x.com", "&#64;", "&#35;", "&commat;", "&amp;",
    "\\", "|", "> ", "- ", "1. ", "    ", "  ", "\t", "\n", "\n\n", "\r", " ", "a", "1", "é",
    "x@y.com", ":", "*", "_", "<", ">", "&", "!", "javascript:x", "data:x", "=", "---", "#", "@",
]  # fmt: skip

texts = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=4)), max_size=40).map("".join)
