"""``autosolve-supervisor check`` and usage errors, through the console entry point."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from autosolve.cli import main


def test_check_prints_the_plan_preflights_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text('[github]\nrepositories = ["octo/hello", "acme/tools"]\n')
    assert main(["check", "--settings", str(settings)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "preflight:repository-validator:octo/hello",
        "preflight:repository-validator:acme/tools",
        "worker:issue-poller:octo/hello",
        "worker:issue-poller:acme/tools",
        "worker:outbox-relay:octo/hello",
        "worker:outbox-relay:acme/tools",
        "worker:issue-explainer",
    ]
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
    modules = imported_after("import autosolve.control, autosolve.app")
    assert "autosolve.control.server" in modules
    assert not {m for m in modules if m.startswith("autosolve.cli")}


def test_parsing_imports_nothing_that_gevent_must_patch_first() -> None:
    modules = imported_after(
        "from autosolve.cli import parser; parser.build_parser().parse_args(['check'])"
    )
    assert not modules & {"requests", "urllib3", "ssl", "pykka", "autosolve.runtime"}
