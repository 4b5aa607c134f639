"""``autosolve-supervisor start`` as a real process: exit codes, signals, crashes."""

from __future__ import annotations

import random
import signal
from pathlib import Path

import pytest

from autosolve.domain.workers import MARKER
from tests.fakes.github import FakeGitHub
from tests.fakes.ollama import FakeOllama
from tests.pipeline.daemon import DaemonProcess, query, wait_until


def stored_count(db: Path) -> int:
    rows = query(db, "SELECT count(*) FROM issues")
    return rows[0][0] if rows else 0


BACKENDS = pytest.mark.parametrize("backend", ["threading", "gevent"])


@BACKENDS
def test_sigterm_stops_the_daemon_gracefully_with_exit_0(
    github: FakeGitHub, make_settings, write_settings, db: Path, backend: str
) -> None:
    github.add_repo("octo", "hello")
    github.add_issue("octo", "hello")
    settings = make_settings(["octo/hello"], runtime={"backend": backend})
    with DaemonProcess(write_settings(settings)) as daemon:
        wait_until(lambda: stored_count(db) == 1, what="the issue stored")
        daemon.signal(signal.SIGTERM)
        assert daemon.wait() == 0, daemon.log
    assert "SIGTERM received" in daemon.log


def test_a_missing_repository_fails_the_run_with_exit_1_and_no_worker_request(
    github: FakeGitHub, make_settings, write_settings, db: Path
) -> None:
    github.add_repo("octo", "hello")
    settings = write_settings(make_settings(["octo/hello", "octo/missing"]))
    with DaemonProcess(settings) as daemon:
        assert daemon.wait() == 1, daemon.log
    assert "octo/missing" in daemon.log and "not found" in daemon.log
    assert [r.path for r in github.requests if "/issues" in r.path] == []


def test_invalid_settings_exit_2_naming_every_bad_key(tmp_path: Path) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text('[intervals]\nissue_poller = 0\n[github]\nrepositories = ["nope"]\n')
    with DaemonProcess(settings) as daemon:
        assert daemon.wait() == 2
    assert "intervals.issue_poller: must be greater than 0" in daemon.log
    assert "github.repositories[0]: 'nope' is not of the form owner/name" in daemon.log


def test_a_second_daemon_on_the_same_database_is_refused(
    github: FakeGitHub, make_settings, write_settings, db: Path, tmp_path: Path
) -> None:
    github.add_repo("octo", "hello")
    github.add_issue("octo", "hello")
    first_settings = write_settings(make_settings(["octo/hello"]))
    second_settings = tmp_path / "second.toml"
    second_settings.write_text(first_settings.read_text().replace("autosolve.sock", "second.sock"))
    with DaemonProcess(first_settings) as first:
        wait_until(lambda: stored_count(db) == 1, what="the first daemon working")
        with DaemonProcess(second_settings) as second:
            assert second.wait() == 1
        assert "already used by another autosolve daemon" in second.log
        assert first.process.poll() is None
        first.signal(signal.SIGTERM)
        assert first.wait() == 0


@BACKENDS
@pytest.mark.timeout(180)
def test_kill_9_at_a_random_moment_loses_nothing_and_never_comments_twice(
    github: FakeGitHub, ollama: FakeOllama, make_settings, write_settings, db: Path, backend: str
) -> None:
    repos = ["octo/hello", "octo/world"]
    numbers = range(1, 81)
    for repo in repos:
        github.add_repo(*repo.split("/"))
        for n in numbers:
            github.add_issue(*repo.split("/"), title=f"{repo} #{n}")
    # A killed daemon leaves its job leased: a short visibility timeout lets
    # the next daemon receive it again without waiting ten minutes.
    settings = write_settings(
        make_settings(
            repos,
            intervals={"issue_explainer": 0.005},
            queue={"visibility_timeout": 1.0},
            runtime={"backend": backend},
        )
    )

    def comments_posted() -> int:
        return len(github.requests_for(method="POST"))

    rng = random.Random()
    for _ in range(3):  # three crashes at random points of the work
        target = comments_posted() + rng.randint(1, 40)
        with DaemonProcess(settings) as daemon:
            wait_until(lambda t=target: comments_posted() >= t, timeout=60, what="some work")
            daemon.process.send_signal(signal.SIGKILL)
            daemon.wait()
    with DaemonProcess(settings) as daemon:
        for repo in repos:
            owner, name = repo.split("/")
            wait_until(
                lambda owner=owner, name=name: all(
                    any(MARKER in c.body for c in github.comments(owner, name, n)) for n in numbers
                ),
                timeout=60,
                what=f"every issue of {repo} commented",
            )
        daemon.signal(signal.SIGTERM)
        assert daemon.wait() == 0
    assert stored_count(db) == 160
    assert query(db, "SELECT count(*) FROM (SELECT DISTINCT repository_id, number FROM issues)")
    for repo in repos:
        owner, name = repo.split("/")
        for n in numbers:
            markers = [c for c in github.comments(owner, name, n) if MARKER in c.body]
            assert len(markers) == 1, f"{repo}#{n} has {len(markers)} marker comments"


def test_a_worker_failing_permanently_ends_the_run_with_exit_1(
    github: FakeGitHub, make_settings, write_settings, db: Path
) -> None:
    github.add_repo("octo", "hello")
    github.fail_next(1000, "malformed", path_prefix="/repos/octo/hello/issues")
    fragile = {"initial": 0.05, "max": 0.05, "retries": 2}
    settings = make_settings(["octo/hello"])
    settings["policies"]["worker"]["degraded"] = fragile
    with DaemonProcess(write_settings(settings)) as daemon:
        assert daemon.wait() == 1, daemon.log
    log = daemon.log
    assert "worker:issue-poller:octo/hello failed permanently after 2 degraded retries" in log
    assert "MalformedResponseError" in log
