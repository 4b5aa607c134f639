"""What the daemon does when its process or its database file is taken from under it.

Each test runs ``autosolve-supervisor start`` as a real process: ``kill -9``
mid-analysis, ``rm autosolve.db*`` while it runs.
"""

from __future__ import annotations

import signal
from pathlib import Path

from autosolve.demo.model import GENERATE
from autosolve.domain.workers import MARKER
from autosolve.settings import settings_from_mapping
from tests.fakes.github import FakeGitHub
from tests.fakes.ollama import FakeOllama
from tests.pipeline.daemon import DaemonProcess, query, wait_until


def markers(github: FakeGitHub, number: int) -> list[str]:
    return github.marker_comments("octo", "hello", number, MARKER)


def test_a_job_a_killed_daemon_left_in_flight_is_analysed_right_after_the_restart_once(
    github: FakeGitHub, ollama: FakeOllama, make_settings, write_settings, db: Path
) -> None:
    github.add_repo("octo", "hello")
    github.add_issue("octo", "hello", title="It crashes")
    settings = make_settings(["octo/hello"])
    path = write_settings(settings)
    ollama.hold()
    with DaemonProcess(path) as daemon:
        assert ollama.wait_for_requests(1, path_prefix=GENERATE, timeout=30), daemon.log
        daemon.process.send_signal(signal.SIGKILL)
        daemon.wait()
    assert query(db, "SELECT count(*) FROM jobs WHERE leased_until IS NOT NULL") == [(1,)]
    ollama.release()

    # Far sooner than the dead process's lease would have run out.
    patience = settings_from_mapping(settings).queue.visibility_timeout / 20
    with DaemonProcess(path) as daemon:
        wait_until(lambda: markers(github, 1), timeout=patience, what="the issue commented")
        daemon.signal(signal.SIGTERM)
        assert daemon.wait() == 0, daemon.log
    assert "released 1 jobs left in flight by a holder that is gone" in daemon.log
    assert len(markers(github, 1)) == 1


def test_deleting_the_database_under_a_running_daemon_stops_it_with_exit_1_posting_nothing(
    github: FakeGitHub, make_settings, write_settings, db: Path
) -> None:
    github.add_repo("octo", "hello")
    github.add_issue("octo", "hello", title="Before the deletion")
    with DaemonProcess(write_settings(make_settings(["octo/hello"]))) as daemon:
        wait_until(lambda: markers(github, 1), what="the daemon at work")
        for file in db.parent.glob(f"{db.name}*"):  # rm autosolve.db*
            file.unlink()
        posted = len(github.requests_for(method="POST"))
        github.add_issue("octo", "hello", title="After the deletion")
        assert daemon.wait(timeout=30) == 1, daemon.log
    assert f"database file {db} was removed or replaced" in daemon.log
    assert len(github.requests_for(method="POST")) == posted
    assert not db.exists()  # and nothing made a new, empty one behind the operator's back
