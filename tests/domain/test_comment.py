"""The comment rendered from an answer: structured or plain, always safe, always within limits."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autosolve.domain.answer import ANSWER_SCHEMA, PlainAnswer, StructuredAnswer, parse_answer
from autosolve.domain.comment import (
    GITHUB_COMMENT_LIMIT,
    MARKER,
    EmptyAnswerError,
    Labels,
    render_comment,
)
from autosolve.domain.postable import OutputRules
from tests.domain.attacks import texts
from tests.domain.github_rendering import live_parts

RULES = OutputRules(repository="octo/hello", candidates=frozenset({12, 45, 70}))
HEADER = f"{MARKER}\n**autosolve analysis** (model: `qwen2.5-coder:7b`)\n\n"


def rendered(answer, labels: Labels | None = None, max_chars: int = 60_000, rules=RULES) -> str:
    return render_comment(
        "qwen2.5-coder:7b", answer, max_chars=max_chars, rules=rules, labels=labels
    )


def test_a_structured_answer_shows_summary_related_questions_and_suggested_labels() -> None:
    answer = StructuredAnswer(
        summary="A crash in the parser.",
        labels=("bug", "parser"),
        duplicates=(45, 999, 12, 45),
        questions=("Which version?", "Does it happen\n  on Windows?"),
    )
    assert rendered(answer, Labels(kept=("bug",))) == HEADER + (
        "A crash in the parser.\n\n"
        "Possibly related: #45, #12\n\n"
        "Open questions:\n- Which version?\n- Does it happen on Windows?\n\n"
        "Suggested labels: `bug`\n"
    )


def test_applied_labels_are_not_suggested_and_empty_sections_are_left_out() -> None:
    answer = StructuredAnswer(summary="Works as designed.", labels=("question",))
    assert rendered(answer, Labels(kept=("question",), applied=True)) == (
        HEADER + "Works as designed.\n"
    )


def test_related_issues_are_only_candidates_and_live_links() -> None:
    answer = StructuredAnswer(summary="See below.", duplicates=(70, 3))
    assert live_parts(rendered(answer)).references == [(None, 70)]


def test_the_mentions_allowed_are_shared_by_the_whole_comment() -> None:
    answer = StructuredAnswer(summary="Ask @alice.", questions=("Can @bob or @carol help?",))
    parts = live_parts(rendered(answer, rules=OutputRules(max_mentions=2)))
    assert parts.mentions == ["@alice", "@bob"]


def test_every_piece_of_model_text_is_made_safe() -> None:
    answer = StructuredAnswer(
        summary="```\nunterminated", questions=("<!-- autosolve --> @everyone?",)
    )
    body = rendered(answer, Labels(kept=("<!--x-->",)))
    assert body.count("<!--") == 1
    assert live_parts(body).mentions == []
    assert "Open questions:\n" in body  # not swallowed by the summary's open fence


def test_an_answer_that_is_not_the_schema_is_posted_as_text() -> None:
    answer = parse_answer('{"summary": "x", "labels": "bug"}')
    assert isinstance(answer, PlainAnswer) and "labels" in (answer.reason or "")
    assert rendered(answer) == HEADER + '{"summary": "x", "labels": "bug"}\n'


@pytest.mark.parametrize(
    "answer",
    [PlainAnswer("  \n"), StructuredAnswer(summary=" ", questions=(" ",))],
    ids=["plain", "structured"],
)
def test_an_answer_with_nothing_to_post_is_an_error(answer) -> None:
    with pytest.raises(EmptyAnswerError):
        rendered(answer)


def test_a_long_summary_is_cut_with_a_note_and_the_rest_left_out() -> None:
    answer = StructuredAnswer(summary="line\n" * 5_000, questions=("Why?",), duplicates=(12,))
    body = rendered(answer, max_chars=1_000)
    assert len(body) - len(HEADER) <= 1_000 + 1
    assert body.rstrip().endswith("more than fit in one comment]*") and "Why?" not in body


def test_a_huge_structured_answer_still_fits_in_one_comment() -> None:
    answer = StructuredAnswer(summary="@a " * 40_000, questions=("@b " * 40_000,) * 3)
    body = rendered(answer, max_chars=GITHUB_COMMENT_LIMIT)
    assert len(body) <= GITHUB_COMMENT_LIMIT and live_parts(body).mentions == []


# -- parsing the answer ------------------------------------------------------------------


def test_the_schema_asks_for_exactly_the_four_keys() -> None:
    assert ANSWER_SCHEMA["properties"] == {
        "summary": {"type": "string"},
        "labels": {"type": "array", "items": {"type": "string"}},
        "duplicates": {"type": "array", "items": {"type": "integer"}},
        "questions": {"type": "array", "items": {"type": "string"}},
    }
    assert ANSWER_SCHEMA["required"] == list(ANSWER_SCHEMA["properties"])
    assert ANSWER_SCHEMA["additionalProperties"] is False


def test_an_answer_of_the_schema_is_read_even_in_a_code_fence() -> None:
    document = {"summary": "s", "labels": ["bug"], "duplicates": [12], "questions": ["q?"]}
    expected = StructuredAnswer("s", ("bug",), (12,), ("q?",))
    assert parse_answer(json.dumps(document)) == expected
    assert parse_answer(f"```json\n{json.dumps(document)}\n```") == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("The cause is X.", "not JSON"),
        ("[1, 2]", "a JSON list"),
        ('{"summary": "s"}', "Missing data for required field"),
        ('{"summary": "s", "labels": [], "duplicates": [], "questions": [], "x": 1}', "Unknown"),
        ('{"summary": "s", "labels": [], "duplicates": ["12"], "questions": []}', "integer"),
    ],
    ids=["prose", "list", "missing-key", "extra-key", "string-number"],
)
def test_anything_else_is_plain_text_saying_why(text: str, reason: str) -> None:
    answer = parse_answer(text)
    assert isinstance(answer, PlainAnswer) and answer.text == text
    assert reason in (answer.reason or "")


@settings(max_examples=150, deadline=None)
@given(texts, st.lists(texts, max_size=3), st.lists(st.integers(0, 100), max_size=4))
def test_no_piece_of_a_structured_answer_frees_another(summary, questions, duplicates) -> None:
    """Each piece is made safe on its own, and none leaves open what the next one needs."""
    answer = StructuredAnswer(summary + "x", (), tuple(duplicates), tuple(questions))
    body = rendered(answer, Labels(kept=("bug",)))
    parts = live_parts(body + "\n\n@autosolve-after")
    assert parts.mentions == ["@autosolve-after"]
    assert {number for _, number in parts.references} <= RULES.candidates
    assert body.count("<!--") == 1 and body.rstrip().endswith("Suggested labels: `bug`")
