"""Settings: dynaconf loading, environment overrides, every error by dotted key."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from autosolve.runtime import RestartPolicy
from autosolve.settings import (
    WEEK,
    SettingsError,
    load_settings,
    resolve_path,
    settings_from_mapping,
    settings_warnings,
)
from autosolve.settings.intervals import TaskIntervals, interval
from autosolve.settings.schema import schema_of

REPO_ROOT = Path(__file__).resolve().parent.parent


def problems(data: dict) -> dict[str, str]:
    with pytest.raises(SettingsError) as caught:
        settings_from_mapping(data)
    return caught.value.problems


def test_the_shipped_example_settings_are_valid() -> None:
    settings = load_settings(REPO_ROOT / "settings.toml")
    assert settings.github.repositories == ()  # no placeholder the daemon would try to watch
    assert settings.intervals.issue_poller == 10.0
    assert settings.policies.preflight.degraded is None


def _keys(value: object, prefix: str = "") -> set[str]:
    """Dotted keys of a TOML table, or of the settings dataclasses."""
    if isinstance(value, dict):
        items = value.items()
    elif dataclasses.is_dataclass(value):
        items = ((f.name, getattr(value, f.name)) for f in dataclasses.fields(value))
    else:
        return {prefix}
    keys: set[str] = set()
    for key, item in items:
        if key == "source" or item is None:
            continue  # not a setting; a policy that is absent by default
        keys |= _keys(item, f"{prefix}.{key}" if prefix else key)
    return keys


def test_the_shipped_example_lists_every_key_with_its_default() -> None:
    shipped = tomllib.loads((REPO_ROOT / "settings.toml").read_text())
    assert _keys(shipped) == _keys(settings_from_mapping({}))
    assert settings_from_mapping(shipped) == settings_from_mapping({})


def test_defaults_follow_the_spec_when_nothing_is_configured() -> None:
    settings = settings_from_mapping({})
    assert settings.github.api_url == "https://api.github.com"
    assert (settings.queue.visibility_timeout, settings.queue.max_attempts) == (600.0, 5)
    assert (settings.runtime.backend, settings.runtime.shutdown_timeout) == ("threading", 30.0)
    assert settings.runtime.max_restarts == 0
    assert (settings.control.socket, settings.log.level, settings.log.format) == (
        "autosolve.sock", "INFO", "text",
    )  # fmt: skip
    assert settings.policies.worker.degraded == RestartPolicy(30.0, 300.0)


def test_an_unknown_key_is_reported_by_its_dotted_path() -> None:
    assert problems({"github": {"tokn": "x"}, "extra": {}}) == {
        "github.tokn": "unknown key; did you mean github.token?",
        "extra": "unknown key",
    }


@pytest.mark.parametrize(
    ("given", "meant"),
    [
        ({"intervals": {"issue_poler": 3}}, "intervals.issue_poller"),
        ({"interval": {}}, "intervals"),
        ({"policies": {"worker": {"node": {"jiter": 0.1}}}}, "policies.worker.node.jitter"),
    ],
)
def test_an_unknown_key_in_a_file_gets_the_closest_known_key(given: dict, meant: str) -> None:
    [message] = problems(given).values()
    assert message == f"unknown key; did you mean {meant}?"


def test_the_shipped_settings_say_no_repository_is_configured_and_how_to_configure_one() -> None:
    warnings = settings_warnings(load_settings(REPO_ROOT / "settings.toml"))
    [nothing] = [w for w in warnings if w.startswith("github.repositories")]
    assert "no repository is configured" in nothing
    ways = ('repositories = ["owner/name"]', "organizations = [", "AUTOSOLVE_GITHUB__REPOSITORIES=")
    assert all(way in nothing for way in ways), nothing


def test_a_value_of_the_wrong_type_is_reported() -> None:
    assert problems({"queue": {"max_attempts": "many"}}) == {
        "queue.max_attempts": "not a valid integer"
    }


def test_an_out_of_range_value_names_the_rule() -> None:
    assert problems({"intervals": {"issue_poller": 0}}) == {
        "intervals.issue_poller": "must be greater than 0"
    }


def test_a_choice_outside_the_allowed_ones_lists_them() -> None:
    assert problems({"runtime": {"backend": "asyncio"}}) == {
        "runtime.backend": "must be one of: threading, gevent"
    }


def test_a_repository_that_is_not_owner_slash_name_is_reported_by_index() -> None:
    assert problems({"github": {"repositories": ["octo/ok", "not-a-repo"]}}) == {
        "github.repositories[1]": "'not-a-repo' is not of the form owner/name"
    }


def test_a_repository_listed_twice_is_reported() -> None:
    assert problems({"github": {"repositories": ["octo/a", "octo/a"]}}) == {
        "github.repositories": "listed more than once: octo/a"
    }


def test_a_repository_listed_twice_in_another_case_is_reported() -> None:
    """GitHub names are case-insensitive: two spellings would be two pollers of one cursor."""
    assert problems({"github": {"repositories": ["octo/a", "x/y", "Octo/A"]}}) == {
        "github.repositories": "listed more than once: Octo/A, octo/a"
    }


def test_a_policy_whose_max_is_below_initial_is_reported() -> None:
    assert problems({"policies": {"worker": {"node": {"initial": 10, "max": 1}}}}) == {
        "policies.worker.node.max": "must not be less than initial"
    }


def test_a_partial_policy_keeps_that_categorys_defaults() -> None:
    settings = settings_from_mapping({"policies": {"worker": {"service": {"retries": 3}}}})
    assert settings.policies.worker.service == RestartPolicy(5.0, 300.0, retries=3)


def test_a_degraded_preflight_policy_can_be_configured() -> None:
    settings = settings_from_mapping({"policies": {"preflight": {"degraded": {"initial": 1}}}})
    assert settings.policies.preflight.degraded == RestartPolicy(1.0, 300.0)


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        {
            "github": {"api_url": "ftp://x", "timeout": -1},
            "log": {"level": "LOUD"},
            "queue": {"max_attempts": 0},
        }
    )
    assert set(found) == {"github.api_url", "github.timeout", "log.level", "queue.max_attempts"}


def test_an_explicit_settings_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "absent.toml")


def test_the_default_settings_file_must_exist_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert caught.value.problems == {
        "settings": f"file {tmp_path / 'settings.toml'} does not exist (give --settings PATH)"
    }


def test_a_toml_syntax_error_is_a_settings_error(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("[github\n")
    with pytest.raises(SettingsError, match="cannot read"):
        load_settings(path)


def test_environment_variables_override_nested_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('[github]\ntoken = "from-file"\n[intervals]\nissue_poller = 10.0\n')
    monkeypatch.setenv("AUTOSOLVE_GITHUB__TOKEN", "from-env")
    monkeypatch.setenv("AUTOSOLVE_INTERVALS__ISSUE_POLLER", "2.5")
    monkeypatch.setenv("AUTOSOLVE_GITHUB__ISSUES__REQUIRED_LABEL", "autosolve")
    settings = load_settings(path)
    assert settings.github.token == "from-env"
    assert settings.intervals.issue_poller == 2.5
    assert settings.github.issues.required_label == "autosolve"


def test_an_environment_list_replaces_the_files_list_instead_of_extending_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('[github]\nrepositories = ["octo/hello"]\n[github.issues]\nstates = ["open"]\n')
    (tmp_path / ".secrets.toml").write_text('[github]\nrepositories = ["acme/secret"]\n')
    monkeypatch.setenv("AUTOSOLVE_GITHUB__ISSUES__STATES", '["closed"]')
    settings = load_settings(path)
    assert settings.github.repositories == ("acme/secret",)
    assert settings.github.issues.states == ("closed",)
    monkeypatch.setenv("AUTOSOLVE_GITHUB__REPOSITORIES", '["acme/tools"]')
    assert load_settings(path).github.repositories == ("acme/tools",)


def test_an_unparsable_environment_variable_is_a_settings_error_not_showing_its_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("")
    monkeypatch.setenv("AUTOSOLVE_GITHUB__TOKEN", "@json [ghp_secret")
    with pytest.raises(SettingsError, match="AUTOSOLVE_\\* environment variables") as caught:
        load_settings(path)
    assert "ghp_secret" not in str(caught.value)


def test_an_invalid_environment_override_is_reported_like_a_file_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("")
    monkeypatch.setenv("AUTOSOLVE_QUEUE__MAX_ATTEMPTS", "0")
    monkeypatch.setenv("AUTOSOLVE_BOGUS", "1")
    with pytest.raises(SettingsError) as caught:
        load_settings(path)
    assert caught.value.problems == {
        "queue.max_attempts": "must be 1 or greater",
        "bogus": "unknown key",
    }
    assert "AUTOSOLVE_QUEUE__MAX_ATTEMPTS (queue.max_attempts): must be 1" in str(caught.value)


def environment_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **variables: str
) -> SettingsError:
    """The error of settings that are empty but for the environment ``variables``."""
    path = tmp_path / "settings.toml"
    path.write_text("")
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(path)
    return caught.value


def test_an_unknown_key_from_the_environment_names_the_variable_and_the_one_meant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    error = environment_error(tmp_path, monkeypatch, AUTOSOLVE_GITHUB__TOKNE="x")
    assert str(error).splitlines()[1:] == [
        "  AUTOSOLVE_GITHUB__TOKNE (github.tokne): unknown key; "
        "did you mean AUTOSOLVE_GITHUB__TOKEN?"
    ]


def test_a_list_in_the_environment_that_is_not_json_is_shown_written_as_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    variable = "AUTOSOLVE_GITHUB__REPOSITORIES"
    error = environment_error(tmp_path, monkeypatch, **{variable: "octo/hello, octo/world"})
    assert error.variables == {"github.repositories": variable}
    assert error.problems["github.repositories"] == (
        f"""not a valid list: write it as JSON, e.g. {variable}='["octo/hello", "octo/world"]'"""
    )


def test_a_list_in_the_environment_written_as_json_is_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("")
    monkeypatch.setenv("AUTOSOLVE_GITHUB__REPOSITORIES", '["octo/hello"]')
    assert load_settings(path).github.repositories == ("octo/hello",)


def test_secrets_toml_beside_the_settings_file_is_merged(tmp_path: Path) -> None:
    (tmp_path / "settings.toml").write_text('[github]\nrepositories = ["octo/hello"]\n')
    (tmp_path / ".secrets.toml").write_text('[github]\ntoken = "s3cret"\n')
    settings = load_settings(tmp_path / "settings.toml")
    assert settings.github.token == "s3cret"
    assert settings.github.repositories == ("octo/hello",)


def test_the_token_never_appears_in_the_settings_repr(tmp_path: Path) -> None:
    settings = settings_from_mapping({"github": {"token": "ghp_secretvalue"}})
    assert "ghp_secretvalue" not in repr(settings)


def test_relative_paths_are_taken_beside_the_settings_file(tmp_path: Path) -> None:
    (tmp_path / "settings.toml").write_text('[database]\npath = "data/autosolve.db"\n')
    settings = load_settings(tmp_path / "settings.toml")
    assert resolve_path(settings, settings.database.path) == tmp_path / "data/autosolve.db"


# -- [github.issues] and [analysis] ----------------------------------------------------


def test_the_analysis_gate_and_analysis_defaults_follow_the_spec() -> None:
    settings = settings_from_mapping({})
    issues = settings.github.issues
    assert (issues.required_label, issues.since, issues.states) == ("", "first-start", ("open",))
    assert (issues.include_pull_requests, issues.skip_bots, issues.reanalyze_on_edit) == (
        False,
        True,
        False,
    )
    analysis = settings.analysis
    assert (analysis.dry_run, analysis.prompt_file) == (False, "")
    assert (analysis.concurrency, analysis.max_comment_chars) == (1, 60000)


def test_since_accepts_its_two_words_and_iso_times() -> None:
    for since in ("first-start", "all", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00.5+00:00"):
        settings = settings_from_mapping({"github": {"issues": {"since": since}}})
        assert settings.github.issues.since == since


def test_bad_gate_and_analysis_values_are_reported_by_dotted_path_all_at_once() -> None:
    found = problems(
        {
            "github": {"issues": {"since": "yesterday", "states": ["open", "merged"]}},
            "analysis": {"concurrency": 0, "max_comment_chars": 70000, "dryrun": True},
        }
    )
    assert found == {
        "github.issues.since": 'must be "first-start", "all" or an ISO 8601 UTC time like '
        "\"2026-01-01T00:00:00Z\"; got 'yesterday'",
        "github.issues.states[1]": "must be one of: open, closed",
        "analysis.concurrency": "must be between 1 and 64",
        "analysis.max_comment_chars": "must be between 1000 and 65536",
        "analysis.dryrun": "unknown key; did you mean analysis.dry_run?",
    }


def test_no_state_at_all_is_refused() -> None:
    assert problems({"github": {"issues": {"states": []}}}) == {
        "github.issues.states": "must name at least one state: open, closed"
    }


def test_a_prompt_file_is_read_beside_the_settings_file(tmp_path: Path) -> None:
    (tmp_path / "prompt.txt").write_text("Look at {repository}#{number}: {title}\n{{json}}")
    settings_file = tmp_path / "settings.toml"
    settings_file.write_text('[analysis]\nprompt_file = "prompt.txt"\n')
    assert load_settings(settings_file).analysis.prompt_file == "prompt.txt"


def test_a_prompt_file_with_an_unknown_placeholder_is_a_settings_error_naming_it(
    tmp_path: Path,
) -> None:
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("Issue {number} by {reporter}")
    found = problems({"analysis": {"prompt_file": str(prompt)}, "queue": {"max_attempts": 0}})
    assert found == {
        "analysis.prompt_file": f"{prompt}: unknown placeholder {{reporter}}; known: "
        "{repository}, {number}, {kind}, {title}, {body}, {labels}, {author}",
        "queue.max_attempts": "must be 1 or greater",
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read {path}: No such file or directory"),
        ("", "{path}: the template is empty"),
        ("Issue {number", "{path}: expected '}' before end of string; write {{ and }}"),
        ("Issue {title!r}", "{path}: placeholder {title} must be plain"),
        ("Issue {0}", "{path}: unknown placeholder {0}"),
        ("Issue {title.__class__}", "{path}: unknown placeholder {title.__class__}"),
    ],
)
def test_an_unusable_prompt_file_is_a_settings_error(
    tmp_path: Path, content: str | None, message: str
) -> None:
    prompt = tmp_path / "prompt.txt"
    if content is not None:
        prompt.write_text(content)
    found = problems({"analysis": {"prompt_file": str(prompt)}})
    assert found["analysis.prompt_file"].startswith(message.replace("{path}", str(prompt)))


# -- sanity: bounds, names, all errors at once ----------------------------------

DURATIONS = [
    *(("intervals", item.name) for item in dataclasses.fields(TaskIntervals)),
    ("github", "timeout"),
    ("github", "min_interval"),
    ("ollama", "timeout"),
    ("openai", "timeout"),
    ("queue", "visibility_timeout"),
    ("runtime", "shutdown_timeout"),
    ("runtime", "within_seconds"),
]


@pytest.mark.parametrize(("section", "key"), DURATIONS, ids=".".join)
@pytest.mark.parametrize("value", [1e300, WEEK + 1, float("inf")], ids=["1e300", "week+1", "inf"])
def test_every_interval_timeout_and_delay_is_at_most_a_week(
    section: str, key: str, value: float
) -> None:
    found = problems({section: {key: value}})
    assert found[f"{section}.{key}"] in (
        "must be at most 604800 (a week)",
        "special numeric values (nan or infinity) are not permitted",
    )


@pytest.mark.parametrize(("section", "key"), DURATIONS, ids=".".join)
def test_a_week_itself_is_accepted(section: str, key: str) -> None:
    settings = settings_from_mapping({section: {key: WEEK}})
    assert getattr(getattr(settings, section), key) == WEEK


@pytest.mark.parametrize("key", ["initial", "max"])
def test_policy_delays_are_at_most_a_week(key: str) -> None:
    found = problems({"policies": {"worker": {"node": {key: 1e300, "initial": 1e300}}}})
    assert found["policies.worker.node.initial"] == "must be at most 604800 (a week)"


@pytest.mark.parametrize(
    ("repository", "message"),
    [
        ("octo/..", "'octo/..': '..' is not a repository name"),
        ("octo/.", "'octo/.': '.' is not a repository name"),
        ("octo/hello world", "the name may only hold letters, digits"),
        ("octo/hé", "the name may only hold letters, digits"),
        ("octo/" + "x" * 101, "at most 100 characters"),
        ("octo/a/b", "the name may only hold letters, digits"),
        ("oc_to/hello", "the owner may only hold letters, digits and single hyphens"),
        ("-octo/hello", "the owner may only hold"),
        ("octo-/hello", "the owner may only hold"),
        ("oc--to/hello", "the owner may only hold"),
        ("x" * 40 + "/hello", "at most 39 characters"),
        ("octo/hello.git", "write the name without '.git'"),
        ("/hello", "is not of the form owner/name"),
        ("octo/", "is not of the form owner/name"),
    ],
)
def test_repository_names_github_would_refuse_are_settings_errors(
    repository: str, message: str
) -> None:
    found = problems({"github": {"repositories": [repository]}})
    assert message in found["github.repositories[0]"]


@pytest.mark.parametrize(
    "repository", ["octo/hello", "Octo-Cat/hello.world_2", "a/b", "o/.github", "x" * 39 + "/y"]
)
def test_repository_names_github_allows_are_accepted(repository: str) -> None:
    assert settings_from_mapping({"github": {"repositories": [repository]}}).github.repositories


@pytest.mark.parametrize("token", ["ghp_abc\n", "  ghp_abc\t\r\n", "\nghp_abc"])
def test_whitespace_around_the_token_is_stripped(token: str) -> None:
    assert settings_from_mapping({"github": {"token": token}}).github.token == "ghp_abc"


def test_an_unknown_key_does_not_hide_a_max_below_initial() -> None:
    found = problems({"policies": {"worker": {"node": {"initial": 10, "max": 1, "jiter": 0.1}}}})
    assert found == {
        "policies.worker.node.jiter": "unknown key; did you mean policies.worker.node.jitter?",
        "policies.worker.node.max": "must not be less than initial",
    }


def test_a_max_below_a_categorys_default_initial_is_reported_beside_other_errors() -> None:
    found = problems(
        {
            "policies": {"worker": {"degraded": {"max": 10}}, "bogus": {}},
            "github": {"repositories": ["octo/a", "octo/a"], "tokn": "x"},
        }
    )
    assert found == {
        "policies.worker.degraded.max": "must not be less than initial",
        "policies.bogus": "unknown key",
        "github.repositories": "listed more than once: octo/a",
        "github.tokn": "unknown key; did you mean github.token?",
    }


def test_the_intervals_section_follows_the_task_table() -> None:
    settings = settings_from_mapping({})
    assert dataclasses.asdict(settings.intervals) == {
        "issue_poller": 10.0,
        "issue_poller_max": 300.0,
        "outbox_relay": 5.0,
        "issue_explainer": 2.0,
        "repository_discoverer": 300.0,
    }
    assert problems({"intervals": {"stale_closer": 60.0}}) == {
        "intervals.stale_closer": "unknown key"
    }


def test_a_task_added_to_the_table_gets_its_key_and_default() -> None:
    intervals = dataclasses.make_dataclass(
        "TaskIntervals",
        [("stale_closer", float, interval(3600.0, "how often stale issues are closed"))],
        bases=(TaskIntervals,),
        frozen=True,
    )
    schema = schema_of(intervals)()
    assert schema.load({}).stale_closer == 3600.0
    assert schema.load({"stale_closer": 60}).stale_closer == 60.0
    with pytest.raises(Exception, match="must be at most 604800"):
        schema.load({"stale_closer": 1e300})
