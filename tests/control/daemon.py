"""``autosolve-supervisor start`` as a subprocess against the fake servers.

Nothing here sleeps for a result: every wait polls a condition (the socket,
the log file, the process) with a deadline, pausing on ``Popen.wait`` so a
daemon that dies early is noticed at once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from autosolve.control import ControlClient, DaemonUnavailable
from tests.fakes.github import FakeGitHub
from tests.fakes.ollama import FakeOllama

SUPERVISOR = str(Path(sys.executable).with_name("autosolve-supervisor"))
TOKEN = "test-token"
REPOSITORIES = ("octo/hello", "octo/world")
POLL = 0.02


def write_settings(
    directory: Path,
    sock_path: Path,
    github: FakeGitHub,
    ollama: FakeOllama,
    *,
    backend: str = "threading",
    issue_poller: float = 1.0,
    issue_poller_max: float | None = None,
    shutdown_timeout: float = 5.0,
    log_format: str = "json",
    model: str | None = None,
) -> Path:
    """A settings.toml for the fakes, a database in ``directory`` and small intervals.

    ``issue_poller_max``: left out, a quiet repository's poller slows down
    (adaptive polling); equal to ``issue_poller``, every poll is that far apart.
    """
    slowest = "" if issue_poller_max is None else f"issue_poller_max = {issue_poller_max}"
    settings = directory / "settings.toml"
    settings.write_text(
        f"""
[github]
api_url = "{github.url}"
token = "{TOKEN}"
repositories = {json.dumps(list(REPOSITORIES))}
timeout = 5.0

[github.issues]
since = "all"  # these tests analyse issues they open before the first start

[ollama]
url = "{ollama.url}"
timeout = 120.0
{f'model = "{model}"' if model else ""}

[database]
path = "autosolve.db"

[intervals]
issue_poller = {issue_poller}
{slowest}
outbox_relay = 0.2
issue_explainer = 0.2

[runtime]
backend = "{backend}"
shutdown_timeout = {shutdown_timeout}

[control]
socket = "{sock_path}"

[http]
listen = "127.0.0.1:0"

[log]
level = "DEBUG"
format = "{log_format}"
"""
    )
    return settings


def new_github() -> FakeGitHub:
    github = FakeGitHub(token=TOKEN).start()
    for full_name in REPOSITORIES:
        github.add_repo(*full_name.split("/"))
    return github


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, proc=None) -> Any:
    """Poll ``predicate`` until truthy; fail after ``timeout`` or if ``proc`` exits."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        if proc is not None:
            try:
                proc.wait(timeout=POLL)
            except subprocess.TimeoutExpired:
                continue
            raise AssertionError(f"the daemon exited ({proc.returncode}) while waiting for {what}")
        time.sleep(POLL)


class Daemon:
    """One ``autosolve-supervisor start`` process, its log file and its socket."""

    def __init__(
        self, settings: Path, sock_path: Path, log_path: Path, env: dict[str, str] | None = None
    ) -> None:
        self.settings = settings
        self.sock_path = sock_path
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(
            [SUPERVISOR, "start", "--settings", str(settings)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
            env={
                **{k: v for k, v in os.environ.items() if not k.startswith("AUTOSOLVE_")},
                **(env or {}),
            },
        )
        self.client = ControlClient(sock_path, timeout=15.0)

    # -- waiting ---------------------------------------------------------------

    def wait_until(self, predicate: Callable[[], Any], timeout: float = 15.0, what: str = ""):
        return wait_until(predicate, timeout, what or str(predicate), proc=self.proc)

    def status(self) -> dict[str, Any] | None:
        try:
            return self.client.status()
        except DaemonUnavailable:
            return None

    def wait_ready(self, timeout: float = 20.0) -> dict[str, Any]:
        """Wait for the socket to answer with phase ``workers``."""
        return self.wait_until(
            lambda: (s := self.status()) is not None and s["phase"] == "workers" and s,
            timeout,
            "phase workers",
        )

    def child(self, name: str) -> dict[str, Any]:
        return next(c for c in self.client.status()["children"] if c["name"] == name)

    def logged(self, text: str) -> bool:
        return text in self.log_path.read_text(errors="replace")

    def exit_code(self, timeout: float = 20.0) -> int:
        return self.proc.wait(timeout=timeout)

    # -- steering --------------------------------------------------------------

    def ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``autosolve-supervisor ctl --socket SOCK ARGS...``."""
        return subprocess.run(
            [SUPERVISOR, "ctl", "--socket", str(self.sock_path), *args],
            capture_output=True,
            text=True,
            timeout=30,
        )

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def close(self) -> None:
        """Stop the daemon whatever state it is in; never leave a process behind."""
        self.client.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15.0)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5.0)
        self._log.close()

    def log_records(self) -> list[str]:
        return self.log_path.read_text(errors="replace").splitlines()
