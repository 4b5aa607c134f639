"""What autosolve posts and what it asks: the comment body and the prompt template."""

from __future__ import annotations

import configparser
import fnmatch
from pathlib import Path
from types import SimpleNamespace

import pytest

from autosolve.domain import prompt as prompt_module
from autosolve.domain.comment import (
    GITHUB_COMMENT_LIMIT,
    MARKER,
    EmptyAnswerError,
    content_sha256,
    format_comment,
)
from autosolve.domain.grounding import Candidate, Grounds
from autosolve.domain.prompt import (
    BUILTIN_TEMPLATE,
    PLACEHOLDERS,
    THREAD_CHARS,
    PromptTemplate,
    TemplateError,
    fence_for,
)
from autosolve.infra.comment import Comment
from autosolve.infra.issue import Issue
from autosolve.infra.store import RepositoryRef, StoredIssue

REPO_ROOT = Path(__file__).resolve().parents[2]


def stored(**changes: object) -> StoredIssue:
    fields: dict[str, object] = {
        "github_id": 1, "number": 12, "title": "Crash on start", "body": "It crashes.",
        "state": "open", "is_pull_request": False, "updated_at": "2026-01-01T00:00:00Z",
        "created_at": "2026-01-01T00:00:00Z", "labels": ("bug", "ui"),
        "author_login": "alice", "author_type": "User",
    }  # fmt: skip
    fields.update(changes)
    return StoredIssue(7, RepositoryRef(1, "octo", "hello", None), Issue(**fields))  # type: ignore[arg-type]


def test_a_comment_starts_with_the_marker_and_names_the_model() -> None:
    body = format_comment("qwen2.5-coder:7b", "  The cause is X.\n", 60000)
    assert body == (
        f"{MARKER}\n**autosolve analysis** (model: `qwen2.5-coder:7b`)\n\nThe cause is X.\n"
    )


@pytest.mark.parametrize("answer", ["", "   ", "\n\t \n"])
def test_an_empty_answer_is_an_error_not_an_empty_comment(answer: str) -> None:
    with pytest.raises(EmptyAnswerError, match="answered nothing for octo/hello#1; nothing posted"):
        format_comment("m", answer, 60000, "octo/hello#1")


def test_a_marker_inside_the_answer_is_neutralised() -> None:
    body = format_comment("m", f"Quote: {MARKER} and <!-- autosolve <!-- autosolve -->-->", 60000)
    assert body.count(MARKER) == 1 and body.startswith(MARKER)
    assert "&lt;!-- autosolve --&gt;" in body


def test_a_long_answer_is_cut_at_a_line_boundary_with_a_note() -> None:
    answer = "\n".join(f"line {n:05d} " + "x" * 40 for n in range(5000))  # ~250,000 chars
    body = format_comment("m", answer, 10_000)
    analysis = body.split("\n\n", 1)[1]
    assert len(analysis) <= 10_000 + 1
    kept, note = analysis.rsplit("\n\n", 1)
    assert kept.splitlines()[-1] == f"line {len(kept.splitlines()) - 1:05d} " + "x" * 40
    assert note.startswith("*[autosolve: the analysis was cut here; the model's answer had")
    assert f"{len(answer):,} characters" in note


def test_a_comment_never_exceeds_githubs_limit_whatever_the_setting() -> None:
    body = format_comment("a-model-with-a-long-name:70b", "y" * 200_000, GITHUB_COMMENT_LIMIT)
    assert len(body) <= GITHUB_COMMENT_LIMIT
    assert body.rstrip().endswith("more than fit in one comment]*")


def test_the_content_hash_follows_title_and_body_only() -> None:
    issue = stored().issue
    same = stored(labels=("other",), updated_at="2027-01-01T00:00:00Z").issue
    assert content_sha256(issue) == content_sha256(same)
    assert content_sha256(issue) != content_sha256(stored(body="It crashes twice.").issue)
    assert content_sha256(issue) != content_sha256(stored(title="Crash").issue)


def test_the_builtin_template_uses_every_placeholder() -> None:
    template = PromptTemplate.builtin()
    assert [name for name in PLACEHOLDERS if f"{{{name}}}" not in template.text] == []
    prompt = template.render(stored(is_pull_request=True))
    assert "pull request of the repository octo/hello" in prompt
    for expected in ("#12", "alice", "bug, ui", "Title: Crash on start", "It crashes."):
        assert expected in prompt


def test_the_context_is_rendered_bounded_and_empty_parts_say_none() -> None:
    thread = tuple(
        Comment(n, f"remark {n}\n" + "x" * 2000, author_login="bob", created_at=f"T{n}")
        for n in range(10)
    )
    grounds = Grounds(
        related=(Candidate(3, "Crash\non start", "closed", "It dies " * 100),),
        comments=thread,
        repository_labels=("bug", "docs"),
    )
    template = PromptTemplate.parse("{related}|{comments}|{repository_labels}", "t")

    related, comments, labels = template.render(stored(), grounds).split("|")
    assert related.startswith("#3 [closed] Crash on start — It dies It dies")
    assert len(related) < 300 and related.endswith("…")
    shown = [line for line in comments.splitlines() if line.startswith("bob (NONE), ")]
    assert shown[-1] == "bob (NONE), T9:" and len(shown) < len(thread)
    assert len(comments) <= THREAD_CHARS + 40 * len(shown) and "> remark 9" in comments
    assert labels == "bug, docs"
    assert template.render(stored()) == "(none)|(none)|(none)"


def test_the_fence_is_in_none_of_the_quoted_texts_and_the_same_for_the_same_texts(
    monkeypatch,
) -> None:
    texts = ["Crash", "END DATA-0000"]
    assert fence_for(texts) == fence_for(list(texts)) != fence_for(["Crash"])
    assert all(fence_for(texts) not in text for text in texts)
    # Were a text to hold the token its texts get, they get the next one.
    monkeypatch.setattr(prompt_module, "hashlib", SimpleNamespace(sha256=_DigestOfSalt))
    assert fence_for(["quoting DATA-0000000000000000"]) == "DATA-1111111111111111"


class _DigestOfSalt:
    """A digest that is the salt's digit repeated: the first token is predictable."""

    def __init__(self, data: bytes) -> None:
        self._salt = data.split(b"\0")[0].decode()

    def hexdigest(self) -> str:
        return self._salt * 64


def test_the_builtin_template_is_shipped_as_package_data() -> None:
    config = configparser.ConfigParser()
    config.read(REPO_ROOT / "setup.cfg")
    patterns = config["options.package_data"]["autosolve"].split()
    assert any(fnmatch.fnmatch(f"domain/prompts/{BUILTIN_TEMPLATE}", p) for p in patterns)


def test_a_template_fills_placeholders_and_keeps_doubled_braces(tmp_path: Path) -> None:
    path = tmp_path / "prompt.txt"
    path.write_text(
        '{kind} {repository}#{number} by {author} [{labels}]: {title}\n{body}\n{{"x": 1}}'
    )
    template = PromptTemplate.from_file(path)
    assert template.render(stored(body=None, labels=(), author_login=None)) == (
        'issue octo/hello#12 by (unknown) [(none)]: Crash on start\n(no description)\n{"x": 1}'
    )


def test_braces_in_the_issue_text_are_not_placeholders() -> None:
    prompt = PromptTemplate.parse("{title}|{body}", "t").render(stored(title="{body}", body="{0}"))
    assert prompt == "{body}|{0}"


def test_an_unknown_placeholder_is_refused_naming_the_source() -> None:
    with pytest.raises(TemplateError, match=r"^custom.txt: unknown placeholder \{issue\}"):
        PromptTemplate.parse("Analyse {issue}", "custom.txt")
