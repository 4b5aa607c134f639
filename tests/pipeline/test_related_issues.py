"""Related issues from the mirror: the prompt's candidates, the comment, labels, ``ctl similar``."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from autosolve.control.client import ControlClient
from autosolve.domain.related import IndexedHistory
from tests.fakes.github import FakeGitHub
from tests.pipeline.daemon import DaemonProcess, cli, query, wait_until
from tests.pipeline.test_conversation import answering, methods, prompts
from tests.pipeline.world import World

pytestmark = pytest.mark.timeout(120)

CRASH = "Borrow checker panics when a closure captures self mutably"
SAME_CRASH = "Panic in the borrow checker: closure capturing self mutably"
TYPO = "Typo in the book's chapter on traits"
ISSUE_LABELS = "/repos/octo/hello/issues/{}/labels"


@pytest.fixture
def history(world: World) -> World:
    """A repository with two earlier issues, one of them the same crash, then a new report."""
    world.github.add_label("octo", "hello", "docs")
    world.github.add_label("octo", "hello", "panic")
    world.github.add_issue("octo", "hello", title=CRASH, body="rustc aborts", labels=["panic"])
    world.github.add_issue("octo", "hello", title=TYPO, body="a word", labels=["docs"])
    world.github.add_issue("octo", "hello", title=SAME_CRASH, body="rustc aborts again")
    world.related = IndexedHistory(world.store)
    world.validate()
    world.sync()
    return world


def test_the_prompt_shows_the_earlier_issues_the_index_finds_and_the_comment_names_only_them(
    history: World,
):
    history.ollama.answer = answering(summary="The same crash as before.", duplicates=[1, 2, 4])

    history.operations().explain("octo/hello#3")

    prompt = prompts(history)[-1]
    assert f"#1 [open] {CRASH} — rustc aborts" in prompt
    assert TYPO not in prompt  # no telling word in common
    assert "Labels of this repository: panic, docs" in prompt  # the history's vote first
    [comment] = history.github.comments("octo", "hello", 3)
    assert "Possibly related: #1\n" in comment.body
    assert "#2" not in comment.body and "`#4`" not in comment.body


def test_a_plain_text_answer_takes_the_labels_the_history_suggests(history: World):
    history.configure(analysis={"structured": False, "labels": {"apply": True}})

    history.operations().explain("octo/hello#3")

    assert ("POST", ISSUE_LABELS.format(3)) in methods(history)
    assert history.github.issue("octo", "hello", 3).labels == ["panic"]


def test_a_structured_answer_keeps_the_models_labels_not_the_historys(history: World):
    history.configure(analysis={"labels": {"apply": True}})
    history.ollama.answer = answering(summary="A typo.", labels=["docs"])

    history.operations().explain("octo/hello#3")

    assert history.github.issue("octo", "hello", 3).labels == ["docs"]


def test_ctl_similar_and_the_repl_show_the_ranking_of_a_running_daemon(
    github: FakeGitHub, make_settings, write_settings, db: Path, tmp_path: Path
) -> None:
    github.add_repo("octo", "hello")
    github.add_issue("octo", "hello", title=CRASH, body="rustc aborts", labels=["panic"])
    github.add_issue("octo", "hello", title=TYPO, body="a word", labels=["docs"])
    github.add_issue("octo", "hello", title=SAME_CRASH, body="rustc aborts again")
    settings = write_settings(make_settings(["octo/hello"]))
    with DaemonProcess(settings) as daemon:
        wait_until(lambda: query(db, "SELECT count(*) FROM analyses") == [(3,)], what="analysed")

        code, out = cli("ctl", "similar", "octo/hello#3", "--json", settings=settings)
        answer = json.loads(out)
        assert code == 0 and answer["issue"] == "octo/hello#3"
        assert [found["number"] for found in answer["related"]] == [1]
        assert answer["related"][0]["state"] == "open" and answer["related"][0]["score"] > 0
        assert answer["labels"] == [{"name": "panic", "share": 1.0}]

        code, out = cli("ctl", "similar", "octo/hello#3", settings=settings)
        assert code == 0 and out.startswith("related to octo/hello#3:\n  #1 ")
        assert "labels: panic (100%)" in out

        script = 'print([r["number"] for r in similar("octo/hello#3")["related"]])\n'
        code, out = cli("repl", "--attach", settings=settings, stdin=script)
        assert code == 0 and out.startswith("[1]\n"), out

        client = ControlClient(tmp_path / "autosolve.sock")
        assert client.request("similar", issue="octo/hello#9")["ok"] is False
        assert "limit" in client.request("similar", issue="octo/hello#3", limit=0)["error"]
        daemon.signal(signal.SIGTERM)
        assert daemon.wait() == 0, daemon.log
