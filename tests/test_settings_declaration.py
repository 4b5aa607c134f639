"""Every setting declared once: the files, lists and rules derived from the declaration."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from autosolve.settings import (
    Settings,
    SettingsError,
    load_settings,
    secrets_of,
    settings_from_mapping,
    settings_warnings,
)
from autosolve.settings.changes import flatten, restart_keys
from autosolve.settings.declare import keys_of, tables_of
from autosolve.settings.reference import DOCS_FILE, SETTINGS_FILE, main, markdown, toml

REPO_ROOT = Path(__file__).resolve().parent.parent
REGENERATE = "python -m autosolve.settings.reference --write"


def problems(data: dict) -> dict[str, str]:
    with pytest.raises(SettingsError) as caught:
        settings_from_mapping(data)
    return caught.value.problems


# -- derived files ------------------------------------------------------------------------


def test_the_shipped_settings_file_is_what_the_declaration_generates() -> None:
    shipped = (REPO_ROOT / SETTINGS_FILE).read_text(encoding="utf-8")
    assert shipped == toml(), f"settings.toml is out of date: run `{REGENERATE}`"


def test_the_configuration_reference_is_what_the_declaration_generates() -> None:
    docs = (REPO_ROOT / DOCS_FILE).read_text(encoding="utf-8")
    assert docs == markdown(), f"{DOCS_FILE} is out of date: run `{REGENERATE}`"


def test_the_reference_command_writes_both_files(tmp_path: Path) -> None:
    assert main(["--write", str(tmp_path)]) == 0
    assert (tmp_path / SETTINGS_FILE).read_text(encoding="utf-8") == toml()
    assert (tmp_path / DOCS_FILE).read_text(encoding="utf-8") == markdown()


def test_the_reference_lists_every_key_with_its_default_and_reload_behaviour() -> None:
    reference = markdown()
    for key in keys_of(Settings):
        table = key.path.rpartition(".")[0]
        assert f"## `[{table}]`" in reference
        assert f"| `{key.name}` |" in reference
    assert "| restart |" in reference and "| live |" in reference


def test_every_key_and_table_says_what_it_is_for() -> None:
    assert all(key.declaration.doc for key in keys_of(Settings))
    tables = [table for table in tables_of(Settings) if table.keys]
    policies = [table for table in tables if table.path.startswith("policies.")]
    assert all(table.doc for table in tables if table not in policies)
    assert policies[0].doc  # the policy tables share one explanation, above the first
    assert all(check.text for table in tables_of(Settings) for check in table.checks)


def test_every_key_is_loaded_with_its_declared_default() -> None:
    loaded = flatten(settings_from_mapping({}))
    assert {key.path: key.default for key in keys_of(Settings)} == {
        path: value for path, value in loaded.items() if value is not None
    }


# -- needs a restart, secrets --------------------------------------------------------------


def test_what_a_running_daemon_keeps_until_a_restart_is_declared_with_the_key() -> None:
    keys = set(restart_keys())
    assert {"control.socket", "http.listen", "runtime.backend", "github.api_url"} <= keys
    for section in ("database", "cluster", "github.budget", "github.app"):
        declared = {key.path for key in keys_of(Settings) if key.path.startswith(f"{section}.")}
        assert declared and declared <= keys
    live = ("policies.", "intervals.", "analysis.", "github.issues.", "openai.", "http.token")
    assert not {key for key in keys if key.startswith(live)}


def test_every_declared_secret_is_masked(tmp_path: Path) -> None:
    key_file = tmp_path / "app.pem"
    key_file.write_text(
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAsecretline\n"
        "-----END RSA PRIVATE KEY-----\n"
    )
    settings = settings_from_mapping(
        {
            "github": {
                "token": "ghp_token",
                "app": {"id": 7, "private_key_file": str(key_file)},
                "webhooks": {"secret": "hook-secret"},
            },
            "http": {"token": "http-token"},
            "openai": {"api_key": "sk-openai"},
            "database": {"url": "postgresql://me:p%40ss@db/autosolve"},
        }
    )
    secrets = secrets_of(settings)
    expected = ["ghp_token", "hook-secret", "http-token", "sk-openai", "p%40ss", "p@ss"]
    assert set(expected) <= set(secrets)
    assert "MIIEowIBAAKCAQEAsecretline" in secrets
    assert key_file.read_text().strip() in secrets
    shown = repr(settings)
    assert not [secret for secret in secrets if secret in shown]


# -- the keys of this release ---------------------------------------------------------------


def test_the_new_keys_default_as_the_product_documents() -> None:
    settings = settings_from_mapping({})
    github, analysis = settings.github, settings.analysis
    assert (github.organizations, github.exclude) == ((), ())
    assert dataclasses.astuple(github.app) == (0, "", 0)
    assert (github.webhooks.secret, github.webhooks.reconcile_interval) == ("", 600.0)
    assert (analysis.related, analysis.structured, analysis.command) == (5, True, "/autosolve")
    assert (analysis.allow_images, analysis.max_mentions) == (False, 0)
    assert dataclasses.astuple(analysis.labels) == (False, (), 3)
    assert settings.model.provider == "ollama"
    assert dataclasses.astuple(settings.openai) == ("http://127.0.0.1:8000/v1", "", "", 120.0)
    assert settings.http.ready_grace == 120.0


def test_the_model_provider_is_ollama_or_openai() -> None:
    assert problems({"model": {"provider": "claude"}}) == {
        "model.provider": "must be one of: ollama, openai"
    }


def test_openai_needs_a_model_name() -> None:
    assert problems({"model": {"provider": "openai"}}) == {
        "openai.model": 'required when model.provider is "openai"'
    }
    chosen = {"model": {"provider": "openai"}, "openai": {"model": "gpt-4o-mini"}}
    assert settings_from_mapping(chosen).openai.model == "gpt-4o-mini"


def test_a_rule_across_keys_waits_for_the_keys_it_reads_to_be_valid() -> None:
    found = problems({"model": {"provider": "openai"}, "openai": {"model": 5}})
    assert found == {"openai.model": "not a valid string"}


def test_a_github_app_needs_a_readable_pem_key_beside_the_settings_file(tmp_path: Path) -> None:
    settings_file = tmp_path / "settings.toml"
    settings_file.write_text("[github.app]\nid = 12\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(settings_file)
    assert caught.value.problems == {
        "github.app.private_key_file": "required when github.app.id is set: the App's private "
        "key (a PEM file)"
    }
    settings_file.write_text('[github.app]\nid = 12\nprivate_key_file = "app.pem"\n')
    with pytest.raises(SettingsError, match=r"cannot read .*app\.pem: No such file"):
        load_settings(settings_file)
    (tmp_path / "app.pem").write_text("not a key")
    with pytest.raises(SettingsError, match=r"app\.pem is not a PEM private key"):
        load_settings(settings_file)
    (tmp_path / "app.pem").write_text("-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n")
    assert load_settings(settings_file).github.app.id == 12


def test_webhooks_need_the_http_endpoint() -> None:
    found = problems({"github": {"webhooks": {"secret": "s"}}, "http": {"listen": ""}})
    assert found == {
        "github.webhooks.secret": "needs the HTTP endpoint, which serves the webhook route: "
        'http.listen is ""'
    }


@pytest.mark.parametrize(
    ("data", "key", "message"),
    [
        ({"github": {"organizations": ["-octo"]}}, "github.organizations[0]", "an organisation"),
        ({"github": {"organizations": ["octo", "OCTO"]}}, "github.organizations", "more than"),
        ({"github": {"exclude": ["archive-*"]}}, "github.exclude[0]", "of the form owner/name"),
        ({"github": {"app": {"id": -1}}}, "github.app.id", "must be 0 or greater"),
        ({"github": {"webhooks": {"reconcile_interval": 0}}}, "github.webhooks.reconcile_interval",
         "must be greater than 0"),
        ({"analysis": {"related": -1}}, "analysis.related", "must be between 0 and 100"),
        ({"analysis": {"command": "/auto solve"}}, "analysis.command", "one word"),
        ({"analysis": {"max_mentions": -1}}, "analysis.max_mentions", "must be 0 or greater"),
        ({"analysis": {"labels": {"max": 101}}}, "analysis.labels.max", "between 0 and 100"),
        ({"analysis": {"labels": {"allow": [""]}}}, "analysis.labels.allow[0]", "not be empty"),
        ({"openai": {"url": "localhost:8000"}}, "openai.url", "http:// or https:// URL"),
        ({"openai": {"timeout": 0}}, "openai.timeout", "must be greater than 0"),
        ({"http": {"ready_grace": -1}}, "http.ready_grace", "must be 0 or greater"),
    ],
)  # fmt: skip
def test_bad_values_of_the_new_keys_are_named_by_their_dotted_path(
    data: dict, key: str, message: str
) -> None:
    found = problems(data)
    assert list(found) == [key] and message in found[key]


def test_secrets_of_the_new_keys_are_stripped_like_the_token() -> None:
    settings = settings_from_mapping(
        {"openai": {"api_key": " sk\n"}, "github": {"webhooks": {"secret": "s \n"}}}
    )
    assert (settings.openai.api_key, settings.github.webhooks.secret) == ("sk", "s")


def test_an_empty_token_is_no_warning_with_a_github_app(tmp_path: Path) -> None:
    key = tmp_path / "app.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n")
    alone = settings_from_mapping({"github": {"repositories": ["octo/a"]}})
    assert [w.split(" ", 1)[0] for w in settings_warnings(alone)] == ["github.token"]
    app = {"id": 3, "private_key_file": str(key)}
    with_app = settings_from_mapping({"github": {"app": app}})
    assert settings_warnings(with_app) == []


def test_organisations_alone_are_something_to_watch() -> None:
    settings = settings_from_mapping({"github": {"token": "t", "organizations": ["octo"]}})
    assert settings_warnings(settings) == []
    nothing = settings_from_mapping({"github": {"token": "t"}})
    [warning] = settings_warnings(nothing)
    assert warning.startswith("github.repositories is empty and so is github.organizations")
