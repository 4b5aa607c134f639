"""How a run starts and ends, from outside: exit codes, phases, systemd's notify."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.control.daemon import SUPERVISOR
from tests.control.test_systemd import ServiceManager
from tests.fakes.github import FakeGitHub
from tests.fakes.ollama import FakeOllama
from tests.pipeline.daemon import (
    TOKEN,
    DaemonProcess,
    query,
    settings_dict,
    to_toml,
    wait_until,
)

pytestmark = pytest.mark.slow

MARKER = "<!-- autosolve -->"


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=TOKEN) as fake:
        fake.add_repo("octo", "hello")
        yield fake


@pytest.fixture
def ollama() -> Iterator[FakeOllama]:
    with FakeOllama() as fake:
        yield fake


@pytest.fixture
def short() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="as-acc-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(to_toml(data))
    return path


def ctl(*args: str, settings: Path) -> int:
    return subprocess.run(
        [SUPERVISOR, "ctl", *args, "--settings", str(settings)],
        capture_output=True, text=True, timeout=30,
    ).returncode  # fmt: skip


def test_a_failing_preflight_ends_the_run_with_exit_1_and_no_worker_ever_starts(
    tmp_path: Path, github: FakeGitHub, ollama: FakeOllama
) -> None:
    data = settings_dict(tmp_path, github.url, ollama.url, ["octo/hello", "octo/gone"])
    with DaemonProcess(write(tmp_path / "settings.toml", data)) as daemon:
        assert daemon.wait(30.0) == 1
        assert "octo/gone" in daemon.log
    assert not [r for r in github.requests if r.path.endswith("/issues")]
    assert not ollama.requests_for("/api/generate")


def test_dry_run_then_a_second_start_on_the_database_then_ctl_stop(
    tmp_path: Path, short: Path, github: FakeGitHub, ollama: FakeOllama
) -> None:
    """``start --dry-run`` analyses and posts nothing; a second ``start`` on its SQLite
    database exits 1 naming it; ``ctl stop`` ends the first with exit 0 and STOPPING=1."""
    issue = github.add_issue("octo", "hello", title="Crash on start")
    notify = ServiceManager(str(short / "notify"))
    data = settings_dict(
        tmp_path, github.url, ollama.url, ["octo/hello"],
        github={"issues": {"since": "all"}}, control={"socket": str(short / "a.sock")},
    )  # fmt: skip
    settings = write(tmp_path / "settings.toml", data)
    try:
        with DaemonProcess(
            settings, args=["--dry-run"], env={"NOTIFY_SOCKET": notify.address}
        ) as first:
            db = tmp_path / "autosolve.db"
            wait_until(lambda: query(db, "SELECT posted_at, comment_id FROM analyses"),
                       what="an analysis stored")  # fmt: skip
            assert query(db, "SELECT posted_at, comment_id FROM analyses") == [(None, None)]
            assert github.marker_comments("octo", "hello", issue.number, MARKER) == []
            assert not github.requests_for(f"/repos/octo/hello/issues/{issue.number}/comments",
                                           "POST")  # fmt: skip

            other = dict(data, control={"socket": str(short / "b.sock")})
            second = write(tmp_path / "second.toml", other)
            with DaemonProcess(second) as intruder:
                assert intruder.wait(30.0) == 1
                assert str(db) in intruder.log
            assert first.process.poll() is None

            assert "READY=1" in notify.lines()
            assert "STOPPING=1" not in notify.lines()
            assert ctl("stop", settings=settings) == 0
            assert first.wait(30.0) == 0
        lines = notify.lines()
        assert lines.index("READY=1") < lines.index("STOPPING=1")
    finally:
        notify.close()


def test_sigterm_ends_the_run_with_exit_0_and_logs_went_to_stderr(
    tmp_path: Path, short: Path, github: FakeGitHub, ollama: FakeOllama
) -> None:
    data = settings_dict(tmp_path, github.url, ollama.url, ["octo/hello"],
                         control={"socket": str(short / "c.sock")})  # fmt: skip
    settings = write(tmp_path / "settings.toml", data)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AUTOSOLVE_")}
    with (tmp_path / "out").open("w+") as out, (tmp_path / "err").open("w+") as err:
        process = subprocess.Popen(
            [SUPERVISOR, "start", "--settings", str(settings)],
            stdout=out, stderr=err, env=environment, cwd=tmp_path,
        )  # fmt: skip
        try:
            wait_until(lambda: ctl("status", settings=settings) == 0, what="the socket")
            process.send_signal(signal.SIGTERM)
            assert process.wait(30.0) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)
    assert (tmp_path / "out").read_text() == ""
    assert "phase: workers" in (tmp_path / "err").read_text()


def test_too_many_restarts_end_the_run_with_exit_1(
    tmp_path: Path, github: FakeGitHub, ollama: FakeOllama
) -> None:
    """``runtime.max_restarts`` within ``runtime.within_seconds``, like OTP's intensity."""
    github.fail_next(1000, "server_error", "/repos/octo/hello/issues")
    data = settings_dict(tmp_path, github.url, ollama.url, ["octo/hello"],
                         runtime={"max_restarts": 2, "within_seconds": 60.0})  # fmt: skip
    with DaemonProcess(write(tmp_path / "settings.toml", data)) as daemon:
        assert daemon.wait(30.0) == 1, daemon.log
    assert len(github.requests_for("/repos/octo/hello/issues")) == 3  # the first try, 2 restarts
