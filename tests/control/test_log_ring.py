"""The latest log records in memory, per child and for the daemon: what ``ctl logs`` shows."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from autosolve.cli import main
from autosolve.control import CommandTable, ControlServer, runtime_commands
from autosolve.log_ring import LogRing, logs_command
from autosolve.logs import configure_logging
from autosolve.runtime import Unit
from tests.runtime.harness import Harness

TOKEN = "ghp_s3cr3tvalue"
log = logging.getLogger("autosolve.test")


@pytest.fixture
def ring(restore_logging: None) -> LogRing:
    kept = LogRing()
    configure_logging("INFO", "json", secrets=[TOKEN], ring=kept)
    return kept


def texts(ring: LogRing, pattern: str | None = None, limit: int = 100) -> list[str]:
    entries, _last = ring.records(pattern, limit=limit)
    return [entry.text for entry in entries]


def test_a_record_logged_by_a_child_is_kept_in_its_ring_and_in_the_daemons(
    ring: LogRing, harness: Harness
) -> None:
    def work(ctx) -> None:
        log.info("tick of %s", ctx.name)
        harness.poke()

    harness.start(workers=[Unit("worker:w", work, 10.0)])
    harness.wait_for(lambda: texts(ring, "worker:w"), what="the child's record")
    log.info("the daemon's own")
    [child] = texts(ring, "worker:w")
    assert "INFO    [worker:w] autosolve.test: tick of worker:w" in child
    daemon = texts(ring)
    assert child in daemon and daemon[-1].endswith("[-] autosolve.test: the daemon's own")


def test_the_records_are_text_lines_masked_like_the_stream(ring: LogRing) -> None:
    log.warning("token %s in a message", TOKEN)
    [text] = texts(ring)
    assert TOKEN not in text and "token *** in a message" in text


def test_a_childs_ring_keeps_only_its_latest_records(restore_logging: None) -> None:
    ring = LogRing(child_records=3)
    configure_logging("INFO", ring=ring)
    for number in range(5):
        log.info("record %d", number, extra={"child": "worker:a"})
    assert [text[-8:] for text in texts(ring, "worker:a")] == [
        "record 2",
        "record 3",
        "record 4",
    ]


def test_the_childrens_rings_together_stay_bounded_forgetting_the_least_recently_written(
    restore_logging: None,
) -> None:
    ring = LogRing(child_records=2, children_records=4)
    configure_logging("INFO", ring=ring)
    for child in ("worker:a", "worker:b", "worker:a", "worker:c", "worker:c"):
        log.info("from %s", child, extra={"child": child})
    assert ring.children == ["worker:a", "worker:c"]  # b was written to least recently
    log.info("from b again", extra={"child": "worker:b"})
    assert ring.children == ["worker:c", "worker:b"]
    assert sum(len(texts(ring, name)) for name in ring.children) <= 4


def test_a_follower_gets_the_records_written_after_the_last_it_saw(ring: LogRing) -> None:
    log.info("first", extra={"child": "worker:a"})
    _entries, last = ring.records("worker:*", limit=10)
    log.info("second", extra={"child": "worker:b"})
    log.info("third", extra={"child": "worker:a"})
    entries, newest = ring.records("worker:*", limit=10, after=last)
    assert [entry.text[-6:] for entry in entries] == ["second", " third"]
    assert [entry.child for entry in entries] == ["worker:b", "worker:a"]
    assert newest == entries[-1].seq


@pytest.fixture
def served(harness: Harness, sock_path: Path, ring: LogRing) -> Iterator[ControlServer]:
    def work(ctx) -> None:
        log.info("polled %s", ctx.name)
        harness.poke()

    handle = harness.start(workers=[Unit("worker:poller:a/b", work, 10.0)])
    names = lambda: [child["name"] for child in handle.status()["children"]]  # noqa: E731
    table = CommandTable([*runtime_commands(handle), logs_command(ring, names)])
    with ControlServer(handle, sock_path, commands=table) as server:
        harness.wait_for(lambda: texts(ring, "worker:poller:a/b"), what="a record")
        yield server


def test_ctl_logs_shows_a_childs_latest_records(
    served: ControlServer, sock_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log.info("not the child's")
    assert main(["ctl", "--socket", str(sock_path), "logs", "worker:poller:a/b", "-n", "5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines and all("[worker:poller:a/b]" in line for line in lines)
    assert lines[-1].endswith("polled worker:poller:a/b")


def test_ctl_logs_without_a_name_shows_the_daemons_latest_records(
    served: ControlServer, sock_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log.info("the daemon's own")
    assert main(["ctl", "--socket", str(sock_path), "logs", "-n", "1"]) == 0
    assert capsys.readouterr().out.splitlines()[0].endswith("[-] autosolve.test: the daemon's own")


def test_ctl_logs_of_a_name_that_matches_no_child_exits_1(
    served: ControlServer, sock_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ctl", "--socket", str(sock_path), "logs", "worker:nothing"]) == 1
    assert capsys.readouterr().err == "autosolve-supervisor: no child matches 'worker:nothing'\n"
