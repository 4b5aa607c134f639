"""Only one autosolve daemon may use a database at a time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from autosolve.infra.store import DatabaseInUseError, InstanceLock

REPO_ROOT = Path(__file__).resolve().parents[2]

HOLDER = """
import sys
from autosolve.infra.store import InstanceLock
InstanceLock(sys.argv[1]).acquire()
print("locked", flush=True)
sys.stdin.read()  # hold the lock until the test closes stdin or kills us
"""


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "autosolve.db"


@pytest.fixture
def holder(db: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process that holds the lock of ``db``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), *sys.path])}
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO_ROOT,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if line.strip() != "locked":
        process.kill()
        _, stderr = process.communicate()
        pytest.fail(f"lock holder did not start: {stderr}")
    yield process
    if process.poll() is None:
        process.kill()
    process.communicate()


def test_a_second_daemon_on_the_same_database_is_refused_with_a_clear_message(
    db: Path, holder: subprocess.Popen[str]
):
    with pytest.raises(DatabaseInUseError) as err:
        InstanceLock(db).acquire()

    assert str(err.value) == (
        f"database {db} is already used by another autosolve daemon (pid {holder.pid})"
    )
    assert err.value.pid == holder.pid


def test_the_lock_is_free_again_once_its_holder_is_killed_with_sigkill(
    db: Path, holder: subprocess.Popen[str]
):
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)

    with InstanceLock(db) as lock:
        assert lock.held
        assert lock.path.read_text().strip() == str(os.getpid())


def test_a_second_lock_in_the_same_process_is_refused_too(db: Path):
    with InstanceLock(db), pytest.raises(DatabaseInUseError, match="this very process"):
        InstanceLock(db).acquire()


def test_release_keeps_the_lock_file_and_lets_the_next_daemon_in(db: Path):
    first = InstanceLock(db)
    first.acquire()
    first.release()
    first.release()  # harmless

    assert first.path == Path(f"{db}.lock")
    assert first.path.exists()
    with InstanceLock(db) as second:
        assert second.held
    assert not first.held
