"""Running the whole daemon against the fakes: settings, processes, waiting."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

TOKEN = "test-token"

FAST_POLICY = {"initial": 0.05, "max": 0.2}

UNBOUNDED_BUDGET = {"points_per_minute": 10_000_000, "concurrency": 100,
                    "writes_per_minute": 1_000_000, "writes_per_hour": 10_000_000}  # fmt: skip
"""Tests of other features run at full speed; tests of the budget set their own."""


def settings_dict(
    tmp_path: Path,
    github_url: str,
    ollama_url: str,
    repositories: list[str],
    **sections: Mapping[str, Any],
) -> dict[str, Any]:
    """Settings for a test daemon: tiny intervals, fast retries, files in ``tmp_path``."""
    data: dict[str, Any] = {
        "github": {"api_url": github_url, "token": TOKEN, "repositories": repositories,
                   "timeout": 5.0, "budget": dict(UNBOUNDED_BUDGET)},
        "ollama": {"url": ollama_url, "timeout": 10.0},
        "database": {"path": str(tmp_path / "autosolve.db")},
        "intervals": {"issue_poller": 0.1, "issue_poller_max": 0.2, "outbox_relay": 0.05,
                      "issue_explainer": 0.02, "comment_poller": 0.1},
        "runtime": {"shutdown_timeout": 5.0},
        "control": {"socket": str(tmp_path / "autosolve.sock")},
        "http": {"listen": "127.0.0.1:0"},  # a free port: never another test's
        "policies": {
            "preflight": {"node": FAST_POLICY, "service": FAST_POLICY},
            "worker": {"node": FAST_POLICY, "service": FAST_POLICY, "degraded": FAST_POLICY},
        },
    }  # fmt: skip
    merge(data, sections)
    return data


def merge(into: dict[str, Any], changes: Mapping[str, Any]) -> None:
    """Deep-merge ``changes`` into ``into``: nested tables are merged, not replaced."""
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            merge(into[key], value)
        else:
            into[key] = dict(value) if isinstance(value, Mapping) else value


def to_toml(data: Mapping[str, Any], prefix: str = "") -> str:
    """Just enough TOML for settings files (tables, strings, numbers, lists)."""
    scalars, tables = [], []
    for key, value in data.items():
        if isinstance(value, Mapping):
            tables.append((key, value))
        else:
            scalars.append(f"{key} = {_toml_value(value)}")
    out = []
    if prefix and scalars:
        out.append(f"[{prefix}]")
    out.extend(scalars)
    for key, value in tables:
        out.append(to_toml(value, f"{prefix}.{key}" if prefix else key))
    return "\n".join(out) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def wait_until(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    """Poll ``predicate`` until it is truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        pause.wait(0.02)


def query(db: Path, sql: str, *args: Any) -> list[tuple]:
    """Read the daemon's database the way a user would, with the sqlite3 module."""
    if not db.exists():
        return []
    connection = sqlite3.connect(db, timeout=5)
    try:
        return connection.execute(sql, args).fetchall()
    except sqlite3.OperationalError as error:
        if "no such table" in str(error):
            return []
        raise
    finally:
        connection.close()


class DaemonProcess:
    """``autosolve-supervisor start`` as a subprocess, stderr kept in a file."""

    def __init__(
        self,
        settings_path: Path,
        *,
        env: Mapping[str, str] | None = None,
        args: Sequence[str] = (),
    ) -> None:
        self.settings_path = settings_path
        self.log_path = settings_path.with_suffix(f".{time.monotonic_ns()}.log")
        # The test's settings file is the whole truth: no AUTOSOLVE_* leaks in.
        environment = {k: v for k, v in os.environ.items() if not k.startswith("AUTOSOLVE_")}
        environment.update(env or {})
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "autosolve.cli",
                "start",
                "--settings",
                str(settings_path),
                *args,
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=environment,
            cwd=settings_path.parent,
        )

    @property
    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def signal(self, signum: int = signal.SIGTERM) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float = 20.0) -> int:
        try:
            return self.process.wait(timeout)
        finally:
            self._log.flush()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def __enter__(self) -> DaemonProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()
        self._log.close()


def cli(
    *args: str, settings: Path, stdin: str | None = None, timeout: float = 60.0
) -> tuple[int, str]:
    """Run ``autosolve-supervisor ARGS --settings SETTINGS``; (exit code, stdout + stderr)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AUTOSOLVE_")}
    done = subprocess.run(
        [sys.executable, "-m", "autosolve.cli", *args, "--settings", str(settings)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
        cwd=settings.parent,
    )
    return done.returncode, done.stdout + done.stderr
