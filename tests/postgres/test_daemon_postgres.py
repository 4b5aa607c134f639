"""The daemon on PostgreSQL (``database.url``), in-process, against the fake GitHub and model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

import autosolve
from autosolve.daemon.app import App
from autosolve.domain.workers import MARKER
from autosolve.settings import settings_from_mapping
from tests.fakes.github import FakeGitHub
from tests.fakes.ollama import FakeOllama
from tests.pipeline.daemon import TOKEN, settings_dict, wait_until


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=TOKEN) as fake:
        yield fake


@pytest.fixture
def ollama() -> Iterator[FakeOllama]:
    with FakeOllama() as fake:
        yield fake


def count(url: str, sql: str) -> int:
    with psycopg.connect(url) as connection:
        try:
            row = connection.execute(sql).fetchone()  # type: ignore[arg-type]
        except psycopg.errors.UndefinedTable:
            return 0
    return int(row[0]) if row else 0


def test_the_daemon_mirrors_and_explains_on_postgresql(
    github: FakeGitHub, ollama: FakeOllama, postgres_url: str, tmp_path: Path
) -> None:
    github.add_repo("octo", "hello")
    for n in range(30):
        github.add_issue("octo", "hello", title=f"issue {n + 1}")
    data = settings_dict(
        tmp_path, github.url, ollama.url, ["octo/hello"], database={"url": postgres_url}
    )
    data["github"]["issues"] = {"since": "all"}  # the issues predate the first start
    handle = autosolve.start(settings_from_mapping(data))
    try:
        wait_until(lambda: count(postgres_url, "SELECT count(*) FROM issues") == 30)
        wait_until(
            lambda: all(
                any(MARKER in c.body for c in github.comments("octo", "hello", n))
                for n in range(1, 31)
            ),
            timeout=40,
            what="a marker comment on every issue",
        )
    finally:
        handle.stop(timeout=15.0)
    # The request budget is kept in the shared database: one budget per cluster.
    assert count(postgres_url, "SELECT count(*) FROM budget_entries") > 0
    assert not (tmp_path / "autosolve.db").exists()  # database.path is not used
    assert not (tmp_path / "autosolve.db.lock").exists()  # nor its single-instance lock


def test_two_daemons_may_share_one_postgresql_database(
    github: FakeGitHub, ollama: FakeOllama, postgres_url: str, tmp_path: Path
) -> None:
    github.add_repo("octo", "hello")
    handles = []
    try:
        for index in range(2):
            data = settings_dict(
                tmp_path / str(index),
                github.url,
                ollama.url,
                ["octo/hello"],
                database={"url": postgres_url},
            )
            handles.append(autosolve.start(settings_from_mapping(data)))
        wait_until(lambda: count(postgres_url, "SELECT count(*) FROM repositories") == 1)
    finally:
        for handle in handles:
            handle.stop(timeout=15.0)


def test_the_cluster_command_answers_on_postgresql_only(
    github: FakeGitHub, ollama: FakeOllama, postgres_url: str, tmp_path: Path
) -> None:
    github.add_repo("octo", "hello")
    on_sqlite = App.start(
        settings_from_mapping(settings_dict(tmp_path / "s", github.url, ollama.url, ["octo/hello"]))
    )
    try:
        assert on_sqlite.answer({"command": "cluster"})["ok"] is False
    finally:
        on_sqlite.stop(timeout=15.0)
    data = settings_dict(
        tmp_path, github.url, ollama.url, ["octo/hello"],
        database={"url": postgres_url}, cluster={"node_name": "alpha", "lease_ttl": 3.0},
    )  # fmt: skip
    on_postgres = App.start(settings_from_mapping(data))
    try:
        answer = wait_until(
            lambda: (a := on_postgres.answer({"command": "cluster"}))["leases"] and a,
            what="the lease taken",
        )
        assert answer["node"]["name"] == "alpha"
        assert [(lease["repository"], lease["node"]) for lease in answer["leases"]] == [
            ("octo/hello", "alpha")
        ]
    finally:
        on_postgres.stop(timeout=15.0)


def test_metrics_say_which_repositories_this_daemon_holds(
    github: FakeGitHub, ollama: FakeOllama, postgres_url: str, tmp_path: Path
) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    from autosolve.http.endpoint import HttpEndpoint

    for name in ("hello", "world"):
        github.add_repo("octo", name)
    data = settings_dict(
        tmp_path, github.url, ollama.url, ["octo/hello", "octo/world"],
        database={"url": postgres_url}, cluster={"lease_ttl": 3.0}, http={"listen": ""},
    )  # fmt: skip
    settings = settings_from_mapping(data)
    endpoint = HttpEndpoint(settings)
    app = App.start(settings)
    try:
        endpoint.serve(app)

        def held() -> dict[str, float]:
            return {
                sample.labels["repository"]: sample.value
                for family in text_string_to_metric_families(endpoint.metrics.render().decode())
                for sample in family.samples
                if sample.name == "autosolve_lease_held"
            }

        assert wait_until(lambda: held() == {"octo/hello": 1.0, "octo/world": 1.0})
    finally:
        app.stop(timeout=15.0)


def test_a_reloaded_repository_list_moves_the_leases(
    github: FakeGitHub, ollama: FakeOllama, postgres_url: str, tmp_path: Path
) -> None:
    for name in ("hello", "world"):
        github.add_repo("octo", name)
    data = settings_dict(
        tmp_path, github.url, ollama.url, ["octo/hello", "octo/world"],
        database={"url": postgres_url}, cluster={"lease_ttl": 3.0},
    )  # fmt: skip
    app = App.start(settings_from_mapping(data))
    try:
        member = app.deps.cluster
        assert member is not None

        def leases() -> list[str]:
            return [lease["repository"] for lease in member.status()["leases"]]

        wait_until(lambda: leases() == ["octo/hello", "octo/world"], what="both leased")
        member.set_repositories(["octo/hello"])
        wait_until(lambda: leases() == ["octo/hello"], what="octo/world given back")
        assert member.leases_held() == {"octo/hello": True}
    finally:
        app.stop(timeout=15.0)


def test_ctl_reload_in_a_cluster_moves_leases_and_units_together(
    github: FakeGitHub, ollama: FakeOllama, postgres_url: str, tmp_path: Path
) -> None:
    from tests.pipeline.daemon import to_toml

    for name in ("hello", "world", "new"):
        github.add_repo("octo", name)
    data = settings_dict(
        tmp_path, github.url, ollama.url, ["octo/hello", "octo/world"],
        database={"url": postgres_url}, cluster={"lease_ttl": 3.0},
    )  # fmt: skip
    path = tmp_path / "settings.toml"
    path.write_text(to_toml(data))
    app = App.start(path)
    try:
        member = app.deps.cluster
        assert member is not None

        def leases() -> list[str]:
            return [lease["repository"] for lease in member.status()["leases"]]

        wait_until(lambda: leases() == ["octo/hello", "octo/world"], what="both leased")
        data["github"]["repositories"] = ["octo/hello", "octo/new"]
        data["cluster"]["lease_ttl"] = 5.0
        path.write_text(to_toml(data))
        answer = app.answer({"command": "reload"})
        assert answer["ok"] and answer["needs_restart"] == ["cluster.lease_ttl"], answer
        assert "worker:issue-poller:octo/new" in answer["added"]
        assert "worker:issue-poller:octo/world" in answer["removed"]
        wait_until(lambda: leases() == ["octo/hello", "octo/new"], what="the leases moved")
        wait_until(lambda: github.requests_for("/repos/octo/new/issues"), what="octo/new polled")
    finally:
        app.stop(timeout=15.0)
