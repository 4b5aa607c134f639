"""Settings of a cluster: ``database.url`` and ``[cluster]``, validated like the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from autosolve.settings import SettingsError, load_settings, secrets_of, settings_from_mapping

REPO_ROOT = Path(__file__).resolve().parents[2]


def problems(data: dict) -> dict[str, str]:
    with pytest.raises(SettingsError) as caught:
        settings_from_mapping(data)
    return caught.value.problems


def test_defaults_follow_the_spec() -> None:
    settings = settings_from_mapping({})
    assert settings.database.url == ""
    assert (settings.cluster.node_name, settings.cluster.lease_ttl) == ("", 30.0)


def test_the_shipped_settings_name_every_cluster_key_with_its_default() -> None:
    settings = load_settings(REPO_ROOT / "settings.toml")
    assert settings.database.url == ""
    assert (settings.cluster.node_name, settings.cluster.lease_ttl) == ("", 30.0)


def test_a_postgresql_url_is_accepted() -> None:
    for url in ("postgresql://u:p@db:5432/autosolve", "postgres:///autosolve?host=/run/pg"):
        assert settings_from_mapping({"database": {"url": url}}).database.url == url


def test_a_url_of_another_database_is_refused_without_quoting_it() -> None:
    found = problems({"database": {"url": "mysql://ann:hunter2@db/autosolve"}})
    assert list(found) == ["database.url"]
    assert "postgresql://" in found["database.url"]
    assert "hunter2" not in str(found)


@pytest.mark.parametrize(
    ("section", "values", "key", "message"),
    [
        ("cluster", {"lease_ttl": 0}, "cluster.lease_ttl", "must be 1 or greater"),
        ("cluster", {"lease_ttl": 1e9}, "cluster.lease_ttl", "at most"),
        ("cluster", {"node_name": "my node"}, "cluster.node_name", "may only hold"),
        ("cluster", {"nodes": 3}, "cluster.nodes", "unknown key"),
    ],
)
def test_invalid_cluster_settings_name_the_key(section, values, key, message) -> None:
    found = problems({section: values})
    assert message in found[key]


def test_the_database_password_is_a_secret_and_kept_out_of_repr() -> None:
    settings = settings_from_mapping(
        {"github": {"token": "ghp_x"}, "database": {"url": "postgresql://u:p%40ss@db/a"}}
    )
    assert {"ghp_x", "p%40ss", "p@ss"} <= set(secrets_of(settings))
    assert "p%40ss" not in repr(settings)


def test_the_url_can_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "settings.toml").write_text("[cluster]\nlease_ttl = 6.0\n")
    monkeypatch.setenv("AUTOSOLVE_DATABASE__URL", "postgresql://u:secret@db/a")
    settings = load_settings(tmp_path / "settings.toml")
    assert settings.database.url == "postgresql://u:secret@db/a"
    assert settings.cluster.lease_ttl == 6.0
