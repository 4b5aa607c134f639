"""``autosolve-supervisor check`` and usage errors, through the console entry point."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from autosolve.cli import main
from autosolve.settings import load_settings
from tests.fakes.app_keys import key_pair
from tests.fakes.github import FakeGitHub
from tests.fakes.ollama import DEFAULT_MODEL, FakeOllama
from tests.fakes.openai import DEFAULT_MODEL as OPENAI_MODEL
from tests.fakes.openai import FakeOpenAI
from tests.plans import plan_of


def test_check_prints_the_plan_preflights_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text('[github]\nrepositories = ["octo/hello", "acme/tools"]\n')
    assert main(["check", "--settings", str(settings)]) == 0
    printed = capsys.readouterr().out.splitlines()
    planned = plan_of(load_settings(settings))
    assert printed == planned.names
    assert printed[:2] == [
        "preflight:repository-validator:octo/hello",
        "preflight:repository-validator:acme/tools",
    ]
    assert {"worker:issue-poller:acme/tools", "worker:issue-explainer"} <= set(printed)
    assert not (tmp_path / "autosolve.db").exists(), "check must not create the database"


def test_check_exits_2_with_every_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text('[log]\nformat = "xml"\n[queue]\nvisibility_timeout = -1\n')
    assert main(["check", "--settings", str(settings)]) == 2
    err = capsys.readouterr().err
    assert "log.format: must be one of: text, json" in err
    assert "queue.visibility_timeout: must be greater than 0" in err


def test_check_with_a_missing_settings_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--settings", str(tmp_path / "nope.toml")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_usage_errors_exit_2() -> None:
    with pytest.raises(SystemExit) as caught:
        main(["frobnicate"])
    assert caught.value.code == 2


def test_the_console_script_is_installed_and_runs(tmp_path: Path) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text('[github]\nrepositories = ["octo/hello"]\n')
    script = Path(sys.executable).with_name("autosolve-supervisor")
    done = subprocess.run(
        [str(script), "check", "--settings", str(settings)],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "preflight:repository-validator:octo/hello"


def imported_after(statement: str) -> set[str]:
    """The modules a fresh interpreter holds after ``statement``."""
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    return set(done.stdout.split())


def test_the_control_package_imports_nothing_from_the_command_line() -> None:
    modules = imported_after("import autosolve.control, autosolve.daemon.app")
    assert "autosolve.control.server" in modules
    assert not {m for m in modules if m.startswith("autosolve.cli")}


def test_parsing_imports_nothing_that_gevent_must_patch_first() -> None:
    modules = imported_after(
        "from autosolve.cli import parser; parser.build_parser().parse_args(['check'])"
    )
    assert not modules & {"requests", "urllib3", "ssl", "pykka", "autosolve.runtime"}


# -- a command line a new user can trust ---------------------------------------------

HELPS = [
    [], ["start"], ["check"], ["ctl"], ["repl"],
    *(["ctl", action] for action in ("status", "pause", "resume", "run-now", "restart", "stop")),
]  # fmt: skip


def help_of(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as caught:
        main([*argv, "--help"])
    assert caught.value.code == 0
    return capsys.readouterr().out


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    from autosolve import __version__

    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out == f"autosolve-supervisor {__version__}\n"


@pytest.mark.parametrize("command", ["start", "check", "ctl", "repl"])
def test_each_commands_help_has_examples_environment_and_exit_codes(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = help_of([command], capsys)
    assert f"autosolve-supervisor {command}" in text.split("examples:")[1]
    assert "AUTOSOLVE_GITHUB__TOKEN" in text.split("environment:")[1]
    codes = text.split("exit codes:")[1]
    assert "  0 " in codes and "  2 " in codes


@pytest.mark.parametrize("argv", HELPS, ids=lambda a: " ".join(a) or "main")
def test_no_help_text_mentions_the_spec(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    text = help_of(argv, capsys)
    assert "usage: autosolve-supervisor" in text
    assert "SPEC" not in text and "§" not in text


def test_options_may_follow_the_ctl_action(capsys: pytest.CaptureFixture[str]) -> None:
    from autosolve.cli.parser import build_parser

    parse = build_parser().parse_args
    after = parse(["ctl", "status", "--json", "--settings", "x.toml"])
    assert (after.action, after.json, after.settings, after.socket) == (
        "status",
        True,
        "x.toml",
        None,
    )
    before = parse(["ctl", "--socket", "s.sock", "pause", "worker:*", "--settings", "y"])
    assert (before.socket, before.settings, before.name) == ("s.sock", "y", "worker:*")
    only_before = parse(["ctl", "--settings", "z", "stop"])
    assert only_before.settings == "z"


def test_check_without_a_settings_file_in_the_directory_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["check"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"file {tmp_path / 'settings.toml'} does not exist" in captured.err


@pytest.mark.parametrize(
    ("github", "warning"),
    [
        ('repositories = ["octo/hello"]\n', "github.token is empty"),
        ('token = "t"\nrepositories = []\n', "github.repositories is empty"),
    ],
)
def test_check_warns_about_an_empty_token_or_repository_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], github: str, warning: str
) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text(f"[github]\n{github}")
    assert main(["check", "--settings", str(settings)]) == 0
    err = capsys.readouterr().err
    assert f"autosolve-supervisor: warning: {warning}" in err
    assert len(err.splitlines()) == 1


def test_check_does_not_warn_when_token_and_repositories_are_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text('[github]\ntoken = "t"\nrepositories = ["octo/hello"]\n')
    assert main(["check", "--settings", str(settings)]) == 0
    assert capsys.readouterr().err == ""


# -- check --online --------------------------------------------------------------------


@pytest.fixture
def fakes() -> Iterator[tuple[FakeGitHub, FakeOllama]]:
    with FakeGitHub(token="test-token") as github, FakeOllama() as ollama:
        github.add_repo("octo", "hello")
        yield github, ollama


def online_settings(
    tmp_path: Path,
    github: FakeGitHub,
    ollama: FakeOllama,
    token: str = "test-token",
    repositories: tuple[str, ...] = ("octo/hello",),
    model: str = DEFAULT_MODEL,
) -> str:
    settings = tmp_path / "settings.toml"
    settings.write_text(
        f'[github]\napi_url = "{github.url}"\ntoken = "{token}"\n'
        f"repositories = {list(repositories)!r}\n".replace("'", '"')
        + f'[ollama]\nurl = "{ollama.url}"\nmodel = "{model}"\n'
    )
    return str(settings)


def test_check_online_passes_when_token_repositories_and_model_answer(
    tmp_path: Path, fakes: tuple[FakeGitHub, FakeOllama], capsys: pytest.CaptureFixture[str]
) -> None:
    github, ollama = fakes
    assert main(["check", "--online", "--settings", online_settings(tmp_path, *fakes)]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == "preflight:repository-validator:octo/hello"
    assert captured.err.splitlines() == [
        "online: ok: github token: accepted (login autosolve-test)",
        "online: ok: repository octo/hello: visible",
        f"online: ok: ollama model {DEFAULT_MODEL}: available on {ollama.url}",
    ]
    assert [r.path for r in github.requests] == ["/user", "/repos/octo/hello"]
    assert [r.path for r in ollama.requests] == ["/api/tags"]


@pytest.mark.parametrize(
    ("change", "failed", "why"),
    [
        ({"token": "wrong"}, "github token", "401: GitHub refuses the token"),
        ({"repositories": ("octo/hello", "octo/gone")}, "repository octo/gone", "404"),
        ({"model": "llama9:70b"}, "ollama model llama9:70b", "run `ollama pull llama9:70b`"),
    ],
    ids=["token", "repository", "model"],
)
def test_check_online_exits_1_naming_what_failed(
    tmp_path: Path,
    fakes: tuple[FakeGitHub, FakeOllama],
    capsys: pytest.CaptureFixture[str],
    change: dict[str, Any],
    failed: str,
    why: str,
) -> None:
    assert (
        main(["check", "--online", "--settings", online_settings(tmp_path, *fakes, **change)]) == 1
    )
    err = capsys.readouterr().err
    assert f"online: FAILED: {failed}: " in err and why in err
    assert err.splitlines()[-1].startswith(f"autosolve-supervisor: online check failed: {failed}")


def test_check_online_as_a_github_app_says_which_installation_covers_which_repository(
    tmp_path: Path, fakes: tuple[FakeGitHub, FakeOllama], capsys: pytest.CaptureFixture[str]
) -> None:
    github, ollama = fakes
    github.add_repo("acme", "tools")
    github.add_app(9, "autosolve-app", key_pair().public)
    octo = github.install_app(9, "octo")
    (tmp_path / "app.pem").write_text(key_pair().private)
    settings = online_settings(tmp_path, github, ollama, token="",
                               repositories=("octo/hello", "acme/tools"))  # fmt: skip
    Path(settings).write_text(
        Path(settings).read_text() + '[github.app]\nid = 9\nprivate_key_file = "app.pem"\n'
    )
    assert main(["check", "--online", "--settings", settings]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[:4] == [
        "online: ok: github app 9: 1 installation(s)",
        f"online: ok: repository octo/hello: covered by installation {octo.id} (octo)",
        "online: FAILED: repository acme/tools: no installation of the App covers it",
        f"online: ok: ollama model {DEFAULT_MODEL}: available on {ollama.url}",
    ]
    assert key_pair().private.splitlines()[1] not in "\n".join(err)


def test_check_online_names_an_unreachable_service_in_a_few_words(
    tmp_path: Path, fakes: tuple[FakeGitHub, FakeOllama], capsys: pytest.CaptureFixture[str]
) -> None:
    github, ollama = fakes
    settings = online_settings(tmp_path, github, ollama)
    ollama.stop()
    assert main(["check", "--online", "--settings", settings]) == 1
    err = capsys.readouterr().err
    line = next(line for line in err.splitlines() if "FAILED: ollama model" in line)
    assert line.endswith(f"connection refused to 127.0.0.1:{ollama.port} (GET /api/tags)")
    assert "urllib3" not in err and "HTTPConnectionPool" not in err


@pytest.mark.parametrize(
    ("key", "ok", "said"),
    [
        ("sk-right", True, "available on"),
        ("sk-wrong", False, "the server refuses the API key; check openai.api_key"),
    ],
    ids=["accepted", "refused"],
)
def test_check_online_asks_an_openai_compatible_server_for_the_model(
    tmp_path: Path,
    fakes: tuple[FakeGitHub, FakeOllama],
    capsys: pytest.CaptureFixture[str],
    key: str,
    ok: bool,
    said: str,
) -> None:
    github, ollama = fakes
    settings = Path(online_settings(tmp_path, github, ollama))
    with FakeOpenAI(api_key="sk-right") as openai:
        settings.write_text(
            settings.read_text()
            + f'[model]\nprovider = "openai"\n[openai]\nurl = "{openai.api_url}"\n'
            f'model = "{OPENAI_MODEL}"\napi_key = "{key}"\n'
        )
        assert main(["check", "--online", "--settings", str(settings)]) == (0 if ok else 1)
    line = next(line for line in capsys.readouterr().err.splitlines() if "openai model" in line)
    assert line.startswith(f"online: {'ok' if ok else 'FAILED'}: openai model {OPENAI_MODEL}: ")
    assert said in line and key not in line
    assert ollama.requests == []


def test_check_on_the_shipped_settings_says_no_repository_is_configured_and_how(
    capsys: pytest.CaptureFixture[str],
) -> None:
    shipped = Path(__file__).resolve().parent.parent / "settings.toml"
    assert main(["check", "--settings", str(shipped)]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == ["worker:issue-explainer"]  # no repository's tasks
    [warning] = [line for line in captured.err.splitlines() if "github.repositories" in line]
    assert "no repository is configured" in warning
    assert 'repositories = ["owner/name"]' in warning and "organizations = [" in warning
    assert """AUTOSOLVE_GITHUB__REPOSITORIES='["owner/name"]'""" in warning
