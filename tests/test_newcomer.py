"""A newcomer's path, end to end: README's first command, in a fresh clone, posts an analysis.

The command is read from README.md — its first ``sh`` block, the one a
newcomer on a fresh machine copies — and run step by step (its ``&&``
steps, each through ``bash``) in a ``git clone`` of this checkout (its last
commit, as a newcomer gets it), so the test fails when the README's command
drifts from what works. Each step is
recognised by its shape; one the test does not know fails it.

What is substituted, and why. The test must never contact an address but
loopback, and the README's install fetches the dependencies from a package
index. So:

- ``python3 -m venv .venv`` runs as written, with ``python3`` being this
  interpreter; a ``.pth`` file then appends this environment's
  site-packages to the new venv's path, in place of the downloads (the
  installed dependencies are reused, the clone's own packages come first);
- ``pip install -e .`` becomes ``pip install --no-deps --no-index
  --no-build-isolation -e .``: no index, no dependency resolution, and the
  build backend is this environment's setuptools (``PYTHONPATH``, for that
  step only: the setuptools Python 3.11 puts in a new venv cannot build an
  editable wheel without the ``wheel`` package, which a build would fetch);
- ``autosolve-supervisor demo`` gets ``--for`` (to end by itself, as a
  newcomer's Ctrl-C would) and ``--database`` (to read what it did after it
  stopped).

Every step runs with pip's configuration files off and HTTP(S) proxies
pointing at a closed loopback port, so a step that tried to reach the
network would fail here instead of reaching it.
"""

from __future__ import annotations

import os
import re
import shlex
import sqlite3
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO_SECONDS = 15
"""Counted from the daemon running: its first new issue is posted about 5 s in, so thrice that."""

OFFLINE_PIP = "--no-deps --no-index --no-build-isolation"
CLOSED_LOOPBACK_PORT = "http://127.0.0.1:9"
"""The discard port: nothing listens, so a request through this proxy is refused at once."""


def code_blocks(markdown: str, language: str) -> list[str]:
    """The fenced code blocks of ``markdown`` in ``language``, in order."""
    pattern = rf"^ *```{language}\n(.*?)^ *```$"
    return [block.strip() for block in re.findall(pattern, markdown, re.M | re.S)]


def first_command(readme: Path) -> str:
    """The README's first shell command: setting up and running on a fresh machine."""
    return code_blocks(readme.read_text(), "sh")[0]


@dataclass
class Newcomer:
    """A fresh clone and the environment its commands run in."""

    clone: Path
    database: Path
    environment: dict[str, str] = field(default_factory=dict)
    done: list[str] = field(default_factory=list)
    """The kinds of step run so far, in order."""

    def run(self, step: str) -> subprocess.CompletedProcess[str]:
        """One step of the README's command, substituted as the module's docstring says."""
        if re.fullmatch(r"python3 -m venv \.venv", step):
            return self._create_venv(step)
        if re.fullmatch(r"\.venv/bin/pip install (.* )?-e \.", step):
            return self._install(step)
        if re.fullmatch(r"\.venv/bin/autosolve-supervisor demo", step):
            demo = f"{step} --for {DEMO_SECONDS} --database {shlex.quote(str(self.database))}"
            return self._shell(demo, "demo", timeout=DEMO_SECONDS + 30)
        raise AssertionError(f"README's first command has a step this test does not know: {step}")

    def _create_venv(self, step: str) -> subprocess.CompletedProcess[str]:
        done = self._shell(step, "venv", timeout=60)
        [site_packages] = self.clone.glob(".venv/lib/python*/site-packages")
        here = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
        (site_packages / "installed_dependencies.pth").write_text("\n".join(sorted(here)) + "\n")
        return done

    def _install(self, step: str) -> subprocess.CompletedProcess[str]:
        offline = step.replace(" install ", f" install {OFFLINE_PIP} ", 1)
        build_backend = {"PYTHONPATH": sysconfig.get_paths()["purelib"]}
        return self._shell(offline, "install", timeout=60, extra=build_backend)

    def _shell(
        self, command: str, kind: str, timeout: float, extra: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=self.clone,
            env={**self.environment, **(extra or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, f"{command} exited {done.returncode}:\n{done.stderr[-3000:]}"
        self.done.append(kind)
        return done


def offline_environment(bin_dir: Path) -> dict[str, str]:
    """This process's environment with ``python3`` this interpreter and the network closed."""
    bin_dir.mkdir()
    python3 = bin_dir / "python3"
    python3.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} "$@"\n')
    python3.chmod(0o755)
    kept = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PIP_", "PYTHON", "VIRTUAL_ENV"))
        and name.lower() not in {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
    }
    closed = {name: CLOSED_LOOPBACK_PORT for name in ("http_proxy", "https_proxy", "all_proxy")}
    return {
        **kept,
        **closed,
        **{name.upper(): value for name, value in closed.items()},
        "no_proxy": "127.0.0.1,localhost",
        "NO_PROXY": "127.0.0.1,localhost",
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_INPUT": "1",
    }


def posted_analyses(database: Path) -> list[tuple[str, int, int]]:
    """``(owner/name, number, comment id)`` of every analysis posted as a comment."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT r.owner || '/' || r.name, i.number, a.comment_id FROM analyses a"
            " JOIN issues i ON i.id = a.issue_id JOIN repositories r ON r.id = i.repository_id"
            " WHERE a.posted_at IS NOT NULL AND a.comment_id IS NOT NULL"
        ).fetchall()
    connection.close()
    return [(repository, int(number), int(comment)) for repository, number, comment in rows]


def imported_from(clone: Path) -> Path:
    """Where the clone's venv imports ``autosolve`` from, run outside the clone's directory."""
    where = subprocess.run(
        [str(clone / ".venv/bin/python"), "-c", "import autosolve; print(autosolve.__file__)"],
        cwd=clone.parent,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return Path(where.stdout.strip())


@pytest.mark.slow
@pytest.mark.timeout(180)  # a pip install and a 15 s demo; minutes when the machine is loaded
def test_the_readme_first_command_in_a_fresh_clone_installs_and_the_demo_posts_an_analysis(
    tmp_path: Path,
) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=30)
    newcomer = Newcomer(clone, tmp_path / "demo.db", offline_environment(tmp_path / "bin"))

    demo = None
    for step in first_command(ROOT / "README.md").split(" && "):
        demo = newcomer.run(step.strip())

    assert newcomer.done == ["venv", "install", "demo"]
    assert imported_from(clone).is_relative_to(clone), "the clone runs its own code"
    assert demo is not None and demo.stdout.startswith("http://127.0.0.1:"), demo
    opened = set(re.findall(r"demo: \S+ opened issue (\S+)#(\d+):", demo.stderr))
    posted = posted_analyses(newcomer.database)
    assert posted, f"no analysis was posted:\n{demo.stderr[-3000:]}"
    for repository, number, comment in posted:
        assert (repository, str(number)) in opened, "only issues opened during the run"
        assert f"explained {repository}#{number} (posted comment {comment})" in demo.stderr
