"""``autosolve-supervisor`` as a user runs it: settings, commands and exit codes."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from autosolve import __version__
from autosolve.settings import load_settings
from tests.control.daemon import SUPERVISOR, TOKEN, new_github
from tests.fakes.github import FakeGitHub
from tests.fakes.ollama import FakeOllama

SPEC_SETTINGS = """
[github]
api_url = "https://api.github.com"
token = ""
repositories = ["octo/hello", "octo/world"]
timeout = 10.0
min_interval = 0.0

[github.budget]
points_per_minute = 900
concurrency = 20
writes_per_minute = 60
writes_per_hour = 450

[github.issues]
required_label = ""
since = "first-start"
states = ["open"]
include_pull_requests = false
skip_bots = true
reanalyze_on_edit = false

[analysis]
dry_run = false
prompt_file = ""
concurrency = 1
max_comment_chars = 60000

[ollama]
url = "http://localhost:11434"
model = "qwen2.5-coder:7b"
timeout = 300.0

[database]
path = "autosolve.db"
url = ""

[cluster]
node_name = ""
lease_ttl = 30.0

[intervals]
issue_poller = 10.0
issue_poller_max = 300.0
outbox_relay = 5.0
issue_explainer = 2.0

[queue]
visibility_timeout = 600.0
max_attempts = 5

[runtime]
backend = "threading"
shutdown_timeout = 30.0
tick_deadline = 0.0
max_restarts = 0
within_seconds = 60.0

[policies.preflight.node]
initial = 2.0
max = 120.0
multiplier = 2.0
retries = 0
jitter = 0.0

[control]
socket = "autosolve.sock"

[http]
listen = "127.0.0.1:9477"
token = ""

[log]
level = "INFO"
format = "text"
"""
"""The settings file as the product documents it, comments left out."""

SPEC_DEFAULTS: dict[str, Any] = {
    "github.api_url": "https://api.github.com",
    "github.token": "",
    "github.timeout": 10.0,
    "github.min_interval": 0.0,
    "github.budget.points_per_minute": 900,
    "github.budget.concurrency": 20,
    "github.budget.writes_per_minute": 60,
    "github.budget.writes_per_hour": 450,
    "github.issues.required_label": "",
    "github.issues.since": "first-start",
    "github.issues.states": ("open",),
    "github.issues.include_pull_requests": False,
    "github.issues.skip_bots": True,
    "github.issues.reanalyze_on_edit": False,
    "analysis.dry_run": False,
    "analysis.prompt_file": "",
    "analysis.concurrency": 1,
    "analysis.max_comment_chars": 60000,
    "ollama.url": "http://localhost:11434",
    "ollama.model": "qwen2.5-coder:7b",
    "ollama.timeout": 300.0,
    "database.path": "autosolve.db",
    "database.url": "",
    "cluster.node_name": "",
    "cluster.lease_ttl": 30.0,
    "intervals.issue_poller": 10.0,
    "intervals.issue_poller_max": 300.0,
    "intervals.outbox_relay": 5.0,
    "intervals.issue_explainer": 2.0,
    "queue.visibility_timeout": 600.0,
    "queue.max_attempts": 5,
    "runtime.backend": "threading",
    "runtime.shutdown_timeout": 30.0,
    "runtime.tick_deadline": 0.0,
    "runtime.max_restarts": 0,
    "runtime.within_seconds": 60.0,
    "control.socket": "autosolve.sock",
    "http.listen": "127.0.0.1:9477",
    "http.token": "",
    "log.level": "INFO",
    "log.format": "text",
}
"""The documented defaults by dotted key."""

POLICY_DEFAULTS = {
    ("preflight", "node"): (2.0, 120.0),
    ("preflight", "service"): (5.0, 300.0),
    ("worker", "node"): (2.0, 120.0),
    ("worker", "service"): (5.0, 300.0),
    ("worker", "degraded"): (30.0, 300.0),
}
"""The documented restart policies: (initial, max); multiplier 2, retries 0, jitter 0 alike."""

PLAN = [
    "preflight:repository-validator:octo/hello",
    "preflight:repository-validator:octo/world",
    "worker:issue-poller:octo/hello",
    "worker:issue-poller:octo/world",
    "worker:comment-poller:octo/hello",
    "worker:comment-poller:octo/world",
    "worker:outbox-relay:octo/hello",
    "worker:outbox-relay:octo/world",
    "worker:issue-explainer",
]


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """``autosolve-supervisor ARGS`` with no AUTOSOLVE_* variable but ``env``."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AUTOSOLVE_")}
    done = subprocess.run(
        [SUPERVISOR, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**environment, **(env or {})},
    )
    return done.returncode, done.stdout, done.stderr


def dotted(settings: Any, key: str) -> Any:
    for part in key.split("."):
        settings = getattr(settings, part)
    return settings


# -- settings -----------------------------------------------------------------


def test_version_is_an_option_of_the_command(tmp_path: Path) -> None:
    code, out, _ = run("--version", cwd=tmp_path)
    assert code == 0 and __version__ in out


def test_the_spec_settings_block_is_valid_and_check_prints_the_plan(tmp_path: Path) -> None:
    (tmp_path / "settings.toml").write_text(SPEC_SETTINGS)
    code, out, err = run("check", cwd=tmp_path)  # ./settings.toml by default
    assert code == 0, err
    assert out.splitlines() == PLAN
    code, out, err = run("check", "--settings", str(tmp_path / "settings.toml"), cwd=Path("/"))
    assert (code, out.splitlines()) == (0, PLAN), err


def test_every_key_left_out_takes_the_spec_default(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("")
    settings = load_settings(path)
    for key, value in SPEC_DEFAULTS.items():
        assert dotted(settings, key) == value, key
    assert settings.github.repositories == ()
    for (phase, category), (initial, maximum) in POLICY_DEFAULTS.items():
        policy = getattr(getattr(settings.policies, phase), category)
        assert (policy.initial, policy.max, policy.multiplier, policy.retries, policy.jitter) == (
            initial, maximum, 2.0, 0, 0.0,
        ), (phase, category)  # fmt: skip
    assert settings.policies.preflight.degraded is None


def test_environment_and_secrets_file_override_the_settings_file(tmp_path: Path) -> None:
    (tmp_path / "settings.toml").write_text('[github]\nrepositories = ["octo/hello"]\n')
    (tmp_path / ".secrets.toml").write_text('[github]\ntoken = "from-secrets"\n')
    settings = load_settings(tmp_path / "settings.toml")
    assert settings.github.token == "from-secrets"
    code, out, err = run(
        "check",
        cwd=tmp_path,
        env={"AUTOSOLVE_GITHUB__REPOSITORIES": '["acme/tools"]',
             "AUTOSOLVE_GITHUB__ISSUES__SKIP_BOTS": "false"},
    )  # fmt: skip
    assert code == 0, err
    assert out.splitlines()[0] == "preflight:repository-validator:acme/tools"


def test_every_invalid_or_unknown_key_is_named_at_once_and_exits_2(tmp_path: Path) -> None:
    (tmp_path / "settings.toml").write_text(
        "[github]\nrepositories = [\"octo/hello\"]\ncolour = 1\n"
        "[github.budget]\nconcurrency = 0\n"
        "[policies.worker.degraded]\nmultiplier = 0.5\n"
        "[surprise]\nx = 1\n"
    )  # fmt: skip
    env = {"AUTOSOLVE_INTERVALS__ISSUE_POLLER": "-1"}
    for command in (["check"], ["start"], ["ctl", "status"], ["repl"]):
        code, _, err = run(*command, cwd=tmp_path, env=env)
        assert code == 2, (command, err)
        for key in (
            "github.colour", "github.budget.concurrency", "policies.worker.degraded.multiplier",
            "surprise", "intervals.issue_poller",
        ):  # fmt: skip
            assert key in err, (command, key)
        assert not (tmp_path / "autosolve.db").exists()


@pytest.mark.parametrize(
    "repositories",
    [["octo/hello", "octo/hello"], ["octo/hello", "Octo/Hello"]],
    ids=["same", "case"],
)
def test_a_repository_listed_twice_is_a_start_up_error(
    tmp_path: Path, repositories: list[str]
) -> None:
    """Names are unique; GitHub's owner and name are case-insensitive."""
    (tmp_path / "settings.toml").write_text(
        f"[github]\nrepositories = {repositories!r}\n".replace("'", '"')
    )
    for command in ("check", "start"):
        code, _, err = run(command, cwd=tmp_path)
        assert code == 2, err
        assert "github.repositories" in err and "more than once" in err


@pytest.mark.parametrize("command", ["check", "start", "ctl status", "repl"])
def test_a_missing_settings_file_exits_2(tmp_path: Path, command: str) -> None:
    code, _, err = run(*command.split(), cwd=tmp_path)
    assert code == 2 and "settings.toml" in err
    code, _, err = run(*command.split(), "--settings", str(tmp_path / "nope.toml"), cwd=tmp_path)
    assert code == 2 and "nope.toml" in err


# -- usage and exit codes -------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["frobnicate"],
        ["ctl"],
        ["ctl", "pause"],
        ["ctl", "explode"],
        ["ctl", "status", "--bogus"],
        ["start", "--bogus"],
        ["check", "--online=yes"],
    ],
    ids=lambda args: " ".join(args) or "nothing",
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str]) -> None:
    code, _, err = run(*args, cwd=tmp_path)
    assert code == 2 and "usage:" in err


def test_every_ctl_action_is_in_the_grammar(tmp_path: Path) -> None:
    code, out, _ = run("ctl", "--help", cwd=tmp_path)
    assert code == 0
    for action in (
        "status", "pause", "resume", "run-now", "restart", "stop", "reload", "explain", "jobs",
        "retry-dead",
    ):  # fmt: skip
        assert action in out
    for option in ("--settings", "--socket"):
        assert option in out


def test_ctl_without_a_daemon_exits_1(tmp_path: Path) -> None:
    (tmp_path / "settings.toml").write_text("")
    code, _, err = run("ctl", "status", "--json", cwd=tmp_path)
    assert code == 1 and "autosolve.sock" in err


# -- check --online, against the fakes ---------------------------------------------


@pytest.fixture
def fakes() -> Iterator[tuple[FakeGitHub, FakeOllama]]:
    with new_github() as github, FakeOllama() as ollama:
        yield github, ollama


def online_settings(directory: Path, github: FakeGitHub, ollama: FakeOllama, **change: str) -> None:
    values = {"repository": "octo/hello", "model": "qwen2.5-coder:7b", **change}
    (directory / "settings.toml").write_text(
        f'[github]\napi_url = "{github.url}"\ntoken = "{TOKEN}"\n'
        f'repositories = ["{values["repository"]}"]\n'
        f'[ollama]\nurl = "{ollama.url}"\nmodel = "{values["model"]}"\n'
    )


def test_check_online_exits_0_when_everything_answers(
    tmp_path: Path, fakes: tuple[FakeGitHub, FakeOllama]
) -> None:
    online_settings(tmp_path, *fakes)
    code, out, err = run("check", "--online", cwd=tmp_path)
    assert code == 0, err
    assert out.splitlines()[0] == "preflight:repository-validator:octo/hello"


@pytest.mark.parametrize(
    ("change", "named"),
    [({"repository": "octo/gone"}, "octo/gone"), ({"model": "llama9:70b"}, "llama9:70b")],
    ids=["repository", "model"],
)
def test_check_online_exits_1_naming_what_failed(
    tmp_path: Path, fakes: tuple[FakeGitHub, FakeOllama], change: dict[str, str], named: str
) -> None:
    online_settings(tmp_path, *fakes, **change)
    code, _, err = run("check", "--online", "--settings", str(tmp_path / "settings.toml"),
                       cwd=tmp_path)  # fmt: skip
    assert code == 1 and named in err
