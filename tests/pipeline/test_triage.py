"""Safe triage on real repositories, end to end: the whole daemon against the fakes.

The first-run window, repositories added later, paging that goes nowhere,
model outages, broken prompt templates and concurrent analyses, as an
operator would meet them.
"""

from __future__ import annotations

import logging
import signal
from datetime import timedelta
from pathlib import Path

import pytest

from autosolve.domain.workers import MARKER
from autosolve.infra.timestamps import parse_timestamp
from tests.fakes.github import FakeGitHub, iso_now
from tests.fakes.ollama import FakeOllama
from tests.pipeline.daemon import TOKEN, DaemonProcess, cli, query, settings_dict, wait_until

ISSUES = "/repos/octo/hello/issues"
FIRST_START = {"issues": {"since": "first-start"}}


def comments_posted(github: FakeGitHub) -> list:
    return github.requests_for(method="POST") + github.requests_for(method="PATCH")


def markers(github: FakeGitHub, repo: str, number: int) -> list[str]:
    owner, name = repo.split("/")
    return github.marker_comments(owner, name, number, MARKER)


def settled(db: Path) -> bool:
    """Every stored issue relayed and every job done."""
    pending = query(db, "SELECT count(*) FROM outbox_events WHERE relayed_at IS NULL")
    jobs = query(db, "SELECT count(*) FROM jobs")
    return bool(pending and jobs) and pending[0][0] == 0 and jobs[0][0] == 0


def test_a_first_start_posts_nothing_for_300_old_issues_then_comments_a_new_one_once(
    github: FakeGitHub, make_settings, run_daemon, db: Path
) -> None:
    github.add_repo("octo", "hello")
    for n in range(300):
        github.add_issue("octo", "hello", title=f"old {n}", state="closed" if n % 2 else "open",
                         pull_request=n % 5 == 0)  # fmt: skip
    github.add_issue("octo", "hello", title="deps", author="renovate[bot]", author_type="Bot")
    handle = run_daemon(make_settings(["octo/hello"], github=FIRST_START))
    wait_until(lambda: query(db, "SELECT count(*) FROM issues") == [(301,)], what="the mirror")
    wait_until(lambda: settled(db), what="every old issue judged")
    assert comments_posted(github) == []
    [poller] = [c for c in handle.status()["children"] if c["name"].startswith("worker:issue-p")]
    newest = github.issue("octo", "hello", 301).updated_at
    assert poller["progress"] == {"pages": 5, "stored": 301, "since": newest, "caught_up": True}

    github.add_issue("octo", "hello", title="a new bug", created_at=iso_now())
    wait_until(lambda: markers(github, "octo/hello", 302), what="the new issue's comment")
    wait_until(lambda: settled(db), what="the queue empty again")
    assert [r.path for r in comments_posted(github)] == [f"{ISSUES}/302/comments"]
    assert len(markers(github, "octo/hello", 302)) == 1


def test_a_repository_added_later_gets_its_own_watch_start(
    github: FakeGitHub, make_settings, run_daemon, db: Path
) -> None:
    github.add_repo("octo", "hello")
    github.add_repo("octo", "world")
    for repo in ("hello", "world"):
        github.add_issue("octo", repo, title=f"old {repo}")
    first = run_daemon(make_settings(["octo/hello"], github=FIRST_START))
    wait_until(lambda: settled(db) and query(db, "SELECT count(*) FROM issues") == [(1,)])
    [(hello_start,)] = query(db, "SELECT watch_since FROM repositories WHERE name = 'hello'")
    first.stop(timeout=15)

    run_daemon(make_settings(["octo/hello", "octo/world"], github=FIRST_START))
    wait_until(lambda: query(db, "SELECT count(*) FROM issues") == [(2,)], what="both mirrored")
    wait_until(lambda: settled(db), what="both judged")
    starts = dict(query(db, "SELECT name, watch_since FROM repositories"))
    assert starts["hello"] == hello_start and starts["world"] >= hello_start
    assert comments_posted(github) == []

    github.add_issue("octo", "world", title="new", created_at=iso_now())
    wait_until(lambda: markers(github, "octo/world", 2), what="the new issue's comment")


def test_a_next_link_to_the_same_page_is_logged_with_its_url_and_not_followed(
    github: FakeGitHub, make_settings, run_daemon, db: Path, caplog
) -> None:
    caplog.set_level(logging.WARNING)
    github.add_repo("octo", "hello")
    github.add_issue("octo", "hello")
    github.fail_next(3, "self_next", path_prefix=ISSUES)
    run_daemon(make_settings(["octo/hello"]))
    wait_until(lambda: query(db, "SELECT count(*) FROM issues") == [(1,)], what="the issue")

    listings = github.requests_for(ISSUES)
    first_ok = next(i for i, r in enumerate(listings) if r.status == 200 and
                    "Link" not in r.headers)  # fmt: skip
    assert first_ok <= 4  # three refused pages, then the listing that works
    looped = [r for r in caplog.records if "a page already read" in r.getMessage()]
    assert len(looped) >= 3
    assert f"points to {github.url}{ISSUES}?" in looped[0].getMessage()
    assert looped[0].getMessage().startswith("worker:issue-poller:octo/hello: ")
    assert looped[0].getMessage().endswith("(attempt 1, degraded error)")


def test_a_model_outage_longer_than_max_attempts_dead_letters_nothing(
    github: FakeGitHub, ollama: FakeOllama, make_settings, run_daemon, db: Path
) -> None:
    github.add_repo("octo", "hello")
    for _ in range(3):
        github.add_issue("octo", "hello")
    ollama.go_down()
    handle = run_daemon(make_settings(["octo/hello"], queue={"max_attempts": 2}))

    def explainer() -> dict:
        return next(c for c in handle.status()["children"] if c["name"] == "worker:issue-explainer")

    wait_until(lambda: explainer()["attempts"]["node"] >= 5, what="five failed ticks")
    assert query(db, "SELECT count(*) FROM dead_jobs") == [(0,)]
    ollama.come_up()
    wait_until(lambda: all(markers(github, "octo/hello", n) for n in (1, 2, 3)), what="comments")
    assert query(db, "SELECT count(*) FROM dead_jobs") == [(0,)]


def test_a_prompt_file_with_an_unknown_placeholder_exits_2_naming_the_file(
    make_settings, write_settings, tmp_path: Path
) -> None:
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("Analyse {repository}#{number}: {titel}\n")
    settings = write_settings(make_settings(["octo/hello"], analysis={"prompt_file": "prompt.txt"}))
    with DaemonProcess(settings) as daemon:
        assert daemon.wait() == 2
    assert f"analysis.prompt_file: {prompt}: unknown placeholder {{titel}}" in daemon.log
    code, out = cli("check", settings=settings)
    assert code == 2 and f"analysis.prompt_file: {prompt}: unknown placeholder {{titel}}" in out


@pytest.mark.parametrize("backend", ["threading", "gevent"])
@pytest.mark.timeout(120)
def test_a_tick_keeps_concurrency_model_requests_in_flight_on_either_backend(
    github: FakeGitHub, ollama: FakeOllama, make_settings, write_settings, db: Path, backend: str
) -> None:
    github.add_repo("octo", "hello")
    for _ in range(7):
        github.add_issue("octo", "hello")
    ollama.hold()
    settings = make_settings(["octo/hello"], analysis={"concurrency": 3},
                             runtime={"backend": backend})  # fmt: skip
    with DaemonProcess(write_settings(settings)) as daemon:
        assert ollama.wait_for_requests(3, "/api/generate", timeout=30), daemon.log
        assert not ollama.wait_for_requests(4, "/api/generate", timeout=0.5)
        ollama.release()
        wait_until(lambda: all(markers(github, "octo/hello", n) for n in range(1, 8)),
                   timeout=30, what="every issue commented")  # fmt: skip
        daemon.signal(signal.SIGTERM)
        assert daemon.wait() == 0, daemon.log
    assert len(ollama.requests_for("/api/generate")) == 7


def test_fractional_second_timestamps_are_compared_and_advanced_as_instants(
    ollama: FakeOllama, tmp_path: Path, run_daemon
) -> None:
    with FakeGitHub(token=TOKEN, step=timedelta(milliseconds=250), fraction_digits=3) as github:
        github.add_repo("octo", "hello")
        for n in range(130):  # more than a page sharing one fractional timestamp
            github.add_issue("octo", "hello", title=f"bulk {n}",
                             updated_at="2025-05-05T05:05:05.500Z")  # fmt: skip
        for n in range(10):  # then a few within the same second, 250 ms apart
            github.add_issue("octo", "hello", title=f"later {n}")
        data = settings_dict(tmp_path, github.url, ollama.url, ["octo/hello"],
                             github={"issues": {"since": "all"}})  # fmt: skip
        run_daemon(data)
        db = tmp_path / "autosolve.db"
        wait_until(lambda: query(db, "SELECT count(*) FROM issues") == [(140,)], what="all 140")
        listings = lambda: github.requests_for(ISSUES)  # noqa: E731
        wait_until(lambda: [r.status for r in listings()][-2:] == [304, 304], what="steady")

        # Each analysis's comment moves its issue's update time: the cursor ends at the
        # newest of them once the comments are mirrored too.
        def newest() -> str:
            times = (github.issue("octo", "hello", n).updated_at for n in range(1, 141))
            return max(times, key=parse_timestamp)

        wait_until(lambda: query(db, "SELECT since FROM sync_cursors") == [(newest(),)],
                   what="the cursor at the newest update")  # fmt: skip
        assert not github.route_errors


@pytest.mark.parametrize("backend", ["threading", "gevent"])
@pytest.mark.timeout(120)
def test_a_trickling_model_is_cut_off_at_ollama_timeout_on_either_backend(
    github: FakeGitHub, ollama: FakeOllama, make_settings, write_settings, db: Path, backend: str
) -> None:
    github.add_repo("octo", "hello")
    github.add_issue("octo", "hello")
    ollama.answer = lambda prompt: "y" * 500  # one byte every 0.1 s: 50 s
    ollama.trickle(0.1)
    settings = make_settings(["octo/hello"], ollama={"timeout": 1.0},
                             runtime={"backend": backend})  # fmt: skip
    with DaemonProcess(write_settings(settings)) as daemon:
        wait_until(lambda: "no complete answer within ollama.timeout (1 s" in daemon.log,
                   timeout=30, what="the timeout logged")  # fmt: skip
        ollama.trickle(0)
        wait_until(lambda: markers(github, "octo/hello", 1), timeout=30, what="the comment")
        daemon.signal(signal.SIGTERM)
        assert daemon.wait() == 0, daemon.log
    assert not any(r.answered for r in ollama.requests_for("/api/generate")[:1])
    assert query(db, "SELECT count(*) FROM dead_jobs") == [(0,)]
