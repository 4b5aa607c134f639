"""The library API and what a run's status shows of the runtime: phases, states, names."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

import autosolve
from autosolve.infra.postgres.store import PostgresStore
from autosolve.runtime import RuntimeHandle
from autosolve.settings import settings_from_mapping
from tests.acceptance.test_running_daemon import SPEC_COLUMNS
from tests.examples.service import example_service, get
from tests.fakes.github import FakeGitHub
from tests.fakes.ollama import FakeOllama
from tests.pipeline.daemon import TOKEN, settings_dict, wait_until

POLLER = "worker:issue-poller:octo/hello"
EXPLAINER = "worker:issue-explainer"


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=TOKEN) as fake:
        fake.add_repo("octo", "hello")
        yield fake


@pytest.fixture
def ollama() -> Iterator[FakeOllama]:
    with FakeOllama() as fake:
        yield fake
        fake.release()


def state(handle: RuntimeHandle, name: str) -> str:
    return next(c["state"] for c in handle.status()["children"] if c["name"] == name)


def test_start_returns_a_handle_that_steers_the_run_and_reports_abandoned_children(
    tmp_path: Path, github: FakeGitHub, ollama: FakeOllama
) -> None:
    github.add_issue("octo", "hello", title="It hangs")
    ollama.hold()  # the explainer's model call ignores the stop: it is abandoned
    data = settings_dict(tmp_path, github.url, ollama.url, ["octo/hello"],
                         github={"issues": {"since": "all"}},
                         runtime={"shutdown_timeout": 0.5}, http={"listen": ""})  # fmt: skip
    handle = autosolve.start(settings_from_mapping(data))
    try:
        wait_until(lambda: handle.status()["phase"] == "workers", what="phase workers")
        assert handle.proxy.status().get(timeout=10)["phase"] == "workers"
        assert handle.pause(POLLER) == [POLLER]
        wait_until(lambda: state(handle, POLLER) == "paused", what="paused")
        assert handle.resume("worker:issue-poller:*") == [POLLER]
        assert handle.run_now(POLLER) == [POLLER]
        assert handle.restart(POLLER) == [POLLER]
        assert ollama.wait_for_requests(1, "/api/generate", timeout=20.0)
    finally:
        result = handle.stop(timeout=30.0)
    assert result is not None and result.ok
    assert handle.wait(1.0) == result
    status = handle.status()
    assert status["phase"] == "stopped"
    assert state(handle, EXPLAINER) == "abandoned"
    assert state(handle, POLLER) == "stopped"


def test_a_failed_preflight_leaves_phase_failed_and_the_validator_failed(
    tmp_path: Path, github: FakeGitHub, ollama: FakeOllama
) -> None:
    data = settings_dict(tmp_path, github.url, ollama.url, ["octo/hello", "octo/gone"],
                         http={"listen": ""})  # fmt: skip
    handle = autosolve.start(settings_from_mapping(data))
    result = handle.wait(30.0)
    assert result is not None and not result.ok and "octo/gone" in (result.reason or "")
    status = handle.status()
    assert status["phase"] == "failed"
    records = {c["name"]: c for c in status["children"]}
    assert records["preflight:repository-validator:octo/gone"]["state"] == "failed"
    assert all(c["runs"] == 0 for c in status["children"] if c["kind"] == "worker")


@pytest.mark.slow
def test_the_postgresql_store_has_the_spec_tables_and_columns(postgres_url: str) -> None:
    with PostgresStore(postgres_url) as store:
        store.migrate()
    with psycopg.connect(postgres_url) as connection:
        rows = connection.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public'"
        ).fetchall()
    columns: dict[str, set[str]] = {}
    for table, column in rows:
        columns.setdefault(table, set()).add(column)
    for table, wanted in SPEC_COLUMNS.items():
        assert table in columns and wanted <= columns[table], (table, wanted - columns[table])


@pytest.mark.slow
def test_the_gevent_example_serves_healthz_and_status_beside_the_runtime(tmp_path: Path) -> None:
    with example_service(tmp_path, repositories=1) as service:
        assert get(f"{service.base}/healthz") == (200, b"ok\n")
        code, body = get(f"{service.base}/status")
        assert code == 200
        status = json.loads(body)
        assert status["phase"] == "workers"
        assert {c["name"] for c in status["children"]} >= {
            "preflight:repository-validator:load/repo0", "worker:issue-explainer",
        }  # fmt: skip
        assert service.stop() == 0
