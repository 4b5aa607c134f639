"""Model text made postable, judged by what GitHub's renderer (cmark-gfm) makes of it."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autosolve.domain.comment import GITHUB_COMMENT_LIMIT, MARKER, format_comment
from autosolve.domain.postable import ALLOWED_TAGS, OutputRules, make_postable
from tests.domain.attacks import texts
from tests.domain.github_rendering import live_parts

REPOSITORY = "octo/hello"
CANDIDATES = frozenset({12, 45})
RULES = OutputRules(repository=REPOSITORY, candidates=CANDIDATES)

RENDERED_BY_MARKDOWN = frozenset(
    {"p", "a", "ul", "ol", "li", "blockquote", "em", "strong", "del", "hr", "input"}
    | {"h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td"}
)
"""Elements GitHub's renderer makes of Markdown itself."""

rules = st.builds(
    OutputRules,
    repository=st.just(REPOSITORY),
    candidates=st.just(CANDIDATES),
    allow_images=st.booleans(),
    max_mentions=st.integers(min_value=0, max_value=3),
)
properties = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def posted(text: str, output: OutputRules = RULES) -> str:
    return make_postable(text, output, output.max_mentions).text


# -- properties, over text made of the pieces attacks are made of -------------------------


@properties
@given(texts, rules)
def test_no_html_comment_survives(text: str, output: OutputRules) -> None:
    assert "<!--" not in posted(text, output)


@properties
@given(texts, rules)
def test_no_more_mentions_are_live_than_allowed(text: str, output: OutputRules) -> None:
    assert len(live_parts(posted(text, output)).mentions) <= output.max_mentions


@properties
@given(texts, rules)
def test_only_candidates_are_live_references(text: str, output: OutputRules) -> None:
    for repository, number in live_parts(posted(text, output)).references:
        assert number in CANDIDATES and (repository or REPOSITORY).lower() == REPOSITORY


@properties
@given(texts, rules)
def test_links_go_to_https_and_images_only_where_allowed(text: str, output: OutputRules) -> None:
    parts = live_parts(posted(text, output))
    assert all(link.startswith(("https://", "mailto:")) for link in parts.links)
    assert all(image.startswith("https://") for image in parts.images)
    assert output.allow_images or not parts.images


@properties
@given(texts, rules)
def test_only_allowed_tags_survive_and_none_with_attributes(text: str, output: OutputRules) -> None:
    parts = live_parts(posted(text, output))
    assert parts.tags <= ALLOWED_TAGS | RENDERED_BY_MARKDOWN | {"img"}
    assert not parts.tags_with_attributes


@properties
@given(texts, rules)
def test_what_follows_is_read_as_written(text: str, output: OutputRules) -> None:
    """Nothing left open (a fence, an HTML block, a tag) swallows what autosolve adds after."""
    after = "\n\nThe end, @autosolve-after"
    free = OutputRules(**{**output.__dict__, "max_mentions": 0})
    assert live_parts(posted(text, free) + after).mentions == ["@autosolve-after"]


@settings(max_examples=50, deadline=None)
@given(texts, st.integers(min_value=1000, max_value=GITHUB_COMMENT_LIMIT))
def test_a_comment_never_exceeds_githubs_limit(text: str, max_chars: int) -> None:
    body = format_comment("m", text * 500 + "x", max_chars, rules=RULES)
    assert len(body) <= GITHUB_COMMENT_LIMIT and body.count("<!--") == 1


# -- one example per attack that was posted verbatim -------------------------------------


@pytest.mark.parametrize(
    ("attack", "written"),
    [
        ("Ping @everyone now", "Ping `@everyone` now"),
        ("cc @octo/security-team", "cc `@octo/security-team`"),
        ("same as octo/world#1", "same as `octo/world#1`"),
        ("see #999", "see `#999`"),
        (
            "see https://github.com/octo/hello/issues/999",
            "see `https://github.com/octo/hello/issues/999`",
        ),
    ],
    ids=["everyone", "team", "other-repository", "non-candidate", "issue-url"],
)
def test_a_mention_or_a_foreign_reference_is_written_as_inline_code(attack, written) -> None:
    assert posted(attack) == written
    parts = live_parts(posted(attack))
    assert (parts.mentions, parts.references) == ([], [])


def test_candidates_stay_live_references() -> None:
    text = "like #12, octo/hello#45 and https://github.com/octo/hello/issues/12"
    assert posted(text) == text
    assert live_parts(text).references == [(None, 12), ("octo/hello", 45), ("octo/hello", 12)]


def test_up_to_max_mentions_stay_live_the_first_ones() -> None:
    output = OutputRules(max_mentions=1)
    assert posted("@alice and @bob", output) == "@alice and `@bob`"


def test_details_keep_their_tag_without_open() -> None:
    text = "<details open>\n<summary>Logs</summary>\n\nlong\n\n</details>"
    assert posted(text) == "<details>\n<summary>Logs</summary>\n\nlong\n\n</details>"
    assert live_parts(posted(text)).tags_with_attributes == set()


@pytest.mark.parametrize(
    "attack",
    ['<img src="https://evil.example/track.png">', "<script>alert(1)</script>", "<iframe src=x>"],
    ids=["tracking-pixel", "script", "iframe"],
)
def test_other_html_is_escaped_text(attack: str) -> None:
    assert posted(attack).startswith(attack[:7].replace("<", "&lt;"))
    parts = live_parts(posted(attack))
    assert (parts.tags - {"code"}, parts.images, parts.links) == ({"p"}, [], [])


@pytest.mark.parametrize(
    "marker", ["<!-- autosolve -->", "<!--autosolve-->", "<!-- AUTOSOLVE -->", "<!-- anything -->"]
)
def test_every_html_comment_is_shown_not_hidden(marker: str) -> None:
    assert posted(f"quote: {marker}") == "quote: " + marker.replace("<", "&lt;").replace(
        "-->", "--&gt;"
    )


def test_a_comment_inside_code_stays_readable_but_is_no_comment() -> None:
    assert posted(f"`{MARKER}`") == "`<!\u200b-- autosolve -->`"


def test_a_huge_answer_of_mentions_is_cut_and_pings_nobody() -> None:
    answer = "@a " * 70_000
    body = format_comment("m", answer, 60_000, rules=RULES)
    assert len(body) <= GITHUB_COMMENT_LIMIT and body.rstrip().endswith("in one comment]*")
    assert live_parts(body).mentions == []


@pytest.mark.parametrize(
    ("link", "written"),
    [
        ("[x](https://example.com/a)", "[x](https://example.com/a)"),
        ("[x](http://example.com/a)", "[x]&#40;`http://example.com/a`)"),
        ("[x](javascript:alert(1))", "[x]&#40;javascript:alert(1))"),
        ("[x](data:text/html,hi)", "[x]&#40;data:text/html,hi)"),
        ("[x]: http://evil.example", "[x]&#58; `http://evil.example`"),
    ],
    ids=["https", "http", "javascript", "data", "definition"],
)
def test_links_lead_only_to_https(link: str, written: str) -> None:
    assert posted(link) == written


@pytest.mark.parametrize(("allowed", "links"), [(True, 0), (False, 1)])
def test_an_image_is_an_image_only_when_allowed_else_a_link(allowed: bool, links: int) -> None:
    parts = live_parts(
        posted("![chart](https://example.com/c.png)", OutputRules(allow_images=allowed))
    )
    assert (len(parts.images), len(parts.links)) == (1 - links, links)


@pytest.mark.parametrize("text", ["!![i](https://x.com/i.png)", "a!![i](https://x.com/i.png)"])
def test_an_exclamation_mark_before_a_disallowed_image_does_not_make_it_one_again(
    text: str,
) -> None:
    parts = live_parts(posted(text, OutputRules(allow_images=False)))
    assert (parts.images, parts.links) == ([], ["https://x.com/i.png"])


def test_code_is_kept_verbatim() -> None:
    text = "Use `@pytest.fixture`:\n\n```python\n@pytest.fixture\ndef issue(): ...  # see #999\n```"
    assert posted(text) == text


def test_an_unterminated_fence_is_closed_before_anything_that_follows() -> None:
    assert posted("```\n@decorator") == "```\n@decorator\n```"


def test_a_fence_ends_with_the_list_item_holding_it() -> None:
    text = "- step\n  ```\n  code\nThen @everyone"
    assert posted(text) == "- step\n  ```\n  code\n  ```\nThen `@everyone`"


def test_in_an_html_block_a_mention_is_code_by_tag() -> None:
    assert posted("<details>\n@everyone\n</details>") == (
        "<details>\n<code>&#64;everyone</code>\n</details>"
    )


def test_a_line_break_may_be_written_either_way() -> None:
    assert posted("a<br/>b<BR />c<br>") == "a<br>b<br>c<br>"
