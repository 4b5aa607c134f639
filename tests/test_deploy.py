"""The deploy kit works as written: the unit verifies, and its install steps hold together.

``systemd-analyze verify`` checks the unit as systemd would load it, the
binary of ``ExecStart`` included. The binary lives where the install steps
put it (``/opt/autosolve``), which a test cannot create as a normal user: the
unit is verified as a copy whose install prefix points into a temporary
directory holding the real console script, and the same copy without it
must fail. Without the tool the test is skipped, saying why, except in CI
(``CI=true``), where ``.ci/run`` installs it and its absence is a failure.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autosolve.settings import load_settings

REPO_ROOT = Path(__file__).resolve().parent.parent
UNIT = REPO_ROOT / "deploy" / "autosolve.service"
PREFIX = "/opt/autosolve"
"""Where the install steps create the virtual environment the unit runs."""
SUPERVISOR = Path(sys.executable).with_name("autosolve-supervisor")


def install_steps() -> list[str]:
    """The shell commands of the unit's header, continuation lines joined, comments cut."""
    header = UNIT.read_text().split("\n[Unit]")[0]
    lines = [line[4:] for line in header.splitlines() if line.startswith("#   ")]
    joined = "\n".join(lines).replace("\\\n", " ")
    commands = [re.sub(r"\s+#\s.*$", "", line).strip() for line in joined.splitlines()]
    return [command for command in commands if command and not command.startswith("#")]


def unit_setting(name: str) -> list[str]:
    return re.findall(rf"^{name}=(.*)$", UNIT.read_text(), flags=re.MULTILINE)


def systemd_analyze() -> str:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        if os.environ.get("CI") == "true":
            pytest.fail("systemd-analyze is missing: .ci/run installs Debian's package systemd")
        pytest.skip("systemd-analyze is not installed (Debian: apt-get install systemd)")
    return tool


def verify(unit: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [systemd_analyze(), "verify", str(unit)], capture_output=True, text=True, timeout=60
    )


def unit_installed_under(root: Path) -> Path:
    """A copy of the unit whose install prefix is ``root`` + ``/opt/autosolve``."""
    unit = root / "autosolve.service"
    unit.write_text(UNIT.read_text().replace(f"{PREFIX}/", f"{root}{PREFIX}/"))
    return unit


def test_the_unit_verifies_with_its_binary_where_the_install_steps_put_it(
    tmp_path: Path,
) -> None:
    [start] = unit_setting("ExecStart")
    assert start.startswith(f"{PREFIX}/bin/autosolve-supervisor start ")
    binary = tmp_path / PREFIX.lstrip("/") / "bin" / "autosolve-supervisor"
    binary.parent.mkdir(parents=True)
    binary.symlink_to(SUPERVISOR)
    result = verify(unit_installed_under(tmp_path))
    assert result.returncode == 0, result.stderr


def test_verify_fails_when_the_units_binary_is_missing(tmp_path: Path) -> None:
    result = verify(unit_installed_under(tmp_path))
    assert result.returncode != 0
    assert "autosolve-supervisor is not executable" in result.stderr


def test_the_install_steps_create_the_user_and_the_directories_they_use() -> None:
    steps = install_steps()
    [user] = unit_setting("User")
    [state] = unit_setting("StateDirectory")
    assert any(s.startswith("useradd ") and s.endswith(f" {user}") for s in steps)
    created: set[str] = {"/etc/systemd/system"}  # systemd's own
    for step in steps:
        words = shlex.split(step)
        if words[:2] == ["install", "-d"]:
            created.add(words[-1])
        elif words[0] == "python3" and words[1:3] == ["-m", "venv"]:
            created.add(words[3])
        for target in _written(words):
            assert str(Path(target).parent) in created, (step, created)
    assert f"/var/lib/{state}" in created and "/etc/autosolve" in created


def _written(words: list[str]) -> list[str]:
    """The files a step writes: ``install SRC DEST`` and ``> DEST``."""
    targets = [words[words.index(">") + 1]] if ">" in words else []
    if words[0] == "install" and "-d" not in words:
        targets.append(words[-1])
    return targets


def test_the_install_steps_install_this_checkout_not_a_package_index_name() -> None:
    [pip] = [s for s in install_steps() if f"{PREFIX}/bin/pip install" in s]
    assert shlex.split(pip)[-1] == "."


def test_the_installed_settings_keep_the_database_and_socket_where_the_unit_may_write(
    tmp_path: Path,
) -> None:
    [sed] = [s for s in install_steps() if s.startswith("sed ")]
    command = sed.replace("/etc/autosolve/settings.toml", str(tmp_path / "settings.toml"))
    subprocess.run(["bash", "-c", command], cwd=REPO_ROOT, check=True, timeout=30)
    settings = load_settings(tmp_path / "settings.toml")
    [state], [runtime] = unit_setting("StateDirectory"), unit_setting("RuntimeDirectory")
    assert Path(settings.database.path).parent == Path("/var/lib") / state
    assert Path(settings.control.socket).parent == Path("/run") / runtime
