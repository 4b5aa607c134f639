"""``autosolve-supervisor demo``: the whole daemon against the simulation, as a newcomer runs it.

The command runs as a subprocess, as typed in a shell; what it did is read
through the dashboard's own API with the token from the URL it printed.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import requests

from autosolve.cli import main
from autosolve.cli.demo import dashboard_url, demo_settings, with_configured_model
from autosolve.demo.catalog import CATALOG
from autosolve.demo.model import STAND_IN_MODEL
from autosolve.demo.simulation import Simulation
from autosolve.http.endpoint import HttpEndpoint
from autosolve.settings import Settings
from tests.fakes.ollama import DEFAULT_MODEL, FakeOllama

SUPERVISOR = str(Path(sys.executable).with_name("autosolve-supervisor"))
HISTORY = {repo.full_name: len(repo.history) for repo in CATALOG}
"""How many issues each demo repository had before the daemon first started."""


class Demo:
    """A running ``demo`` subprocess, its output collected as it comes."""

    def __init__(self, *arguments: str) -> None:
        self.process = subprocess.Popen(
            [SUPERVISOR, "demo", *arguments],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._url_printed = threading.Event()
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.stdout.append(line.rstrip("\n"))
            self._url_printed.set()

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr.append(line)

    def url(self, timeout: float = 30.0) -> str:
        """The first line on stdout: the dashboard's URL."""
        assert self._url_printed.wait(timeout), f"no URL printed; stderr: {self.log()}"
        return self.stdout[0]

    def api(self, path: str) -> requests.Response:
        """``GET path`` on the dashboard, with the token of the printed URL."""
        base, _, query = self.url().partition("?")
        token = query.removeprefix("token=")
        headers = {"Authorization": f"Bearer {unquote(token)}"}
        return requests.get(base.rstrip("/") + path, headers=headers, timeout=10)

    def log(self) -> str:
        return "".join(self.stderr)[-4000:]

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"the demo did not exit within {timeout} s:\n{self.log()}"
            ) from None

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@contextmanager
def demo(*arguments: str) -> Iterator[Demo]:
    running = Demo(*arguments)
    try:
        yield running
    finally:
        running.close()


def wait_until(check: Callable[[], Any], demo: Demo, timeout: float, what: str) -> Any:
    """``check()`` once truthy; fails when the demo exits or ``timeout`` passes first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        if demo.process.poll() is not None:
            break
        with suppress(subprocess.TimeoutExpired):
            demo.process.wait(0.25)
    raise AssertionError(f"waited in vain for {what}:\n{demo.log()}")


def posted_analyses(running: Demo) -> list[dict[str, Any]]:
    analyses = running.api("/api/overview").json()["analyses"]
    return [analysis for analysis in analyses if analysis["posted_at"]]


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_the_demo_posts_analyses_of_new_issues_only_and_stops_by_itself_with_exit_0() -> None:
    with demo("--for", "25") as running:
        assert running.url().startswith("http://127.0.0.1:")
        assert running.api("/healthz").status_code == 200
        posted = wait_until(lambda: posted_analyses(running), running, 25, "a posted analysis")
        assert all(a["number"] > HISTORY[a["repository"]] for a in posted), posted
        assert all(a["model"] == STAND_IN_MODEL for a in posted)
        assert running.wait(60) == 0
    assert "--for 25 s elapsed, stopping" in running.log()


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_sigterm_stops_the_demo_cleanly_with_exit_0() -> None:
    with demo() as running:
        wait_until(
            lambda: running.api("/readyz").status_code == 200, running, 30, "the workers phase"
        )
        running.process.send_signal(signal.SIGTERM)
        assert running.wait(30) == 0
    assert "SIGTERM received, stopping" in running.log()


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_the_printed_url_opens_the_dashboard_and_its_token_opens_the_api() -> None:
    with demo("--for", "30") as running:
        page = requests.get(running.url(), timeout=10)
        unauthorised = requests.get(running.url().partition("?")[0] + "api/overview", timeout=10)
        overview = running.api("/api/overview").json()
        running.process.send_signal(signal.SIGINT)
        assert running.wait(30) == 0
    assert page.status_code == 200 and "<html" in page.text.lower()
    assert unauthorised.status_code == 401
    assert [repo["name"] for repo in overview["repositories"]] == list(HISTORY)


@pytest.mark.parametrize(
    ("arguments", "error"),
    [(["--listen", "nowhere"], "--listen"), (["--for", "0"], "--for"), (["--for", "x"], "--for")],
)
def test_a_bad_option_is_a_usage_error_naming_it(
    arguments: list[str], error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = main(["demo", *arguments])
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    assert code == 2
    assert error in capsys.readouterr().err


def test_the_help_shows_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    assert "autosolve-supervisor demo --for 60" in capsys.readouterr().out


# -- what the command builds ----------------------------------------------------------


@pytest.fixture
def simulation() -> Iterator[Simulation]:
    with Simulation() as started:
        yield started


def test_the_daemon_watches_the_simulation_with_first_start_semantics(
    simulation: Simulation, tmp_path: Path
) -> None:
    settings = demo_settings(simulation, tmp_path, "127.0.0.1:0")
    assert settings.github.api_url == simulation.github.api_url
    assert list(settings.github.repositories) == list(HISTORY)
    assert settings.github.issues.since == "first-start"
    assert (settings.ollama.url, settings.ollama.model) == (simulation.model.url, STAND_IN_MODEL)
    assert settings.database.path == str(tmp_path / "autosolve.db")
    assert settings.http.token, "the URL printed must work whatever the endpoint requires"


def write_model_settings(tmp_path: Path, url: str) -> str:
    path = tmp_path / "settings.toml"
    path.write_text(f'[ollama]\nurl = "{url}"\nmodel = "{DEFAULT_MODEL}"\n')
    return str(path)


def test_the_model_from_the_settings_is_used_when_it_answers(
    simulation: Simulation, tmp_path: Path
) -> None:
    stand_in = demo_settings(simulation, tmp_path, "127.0.0.1:0")
    with FakeOllama() as ollama:
        chosen = with_configured_model(stand_in, write_model_settings(tmp_path, ollama.url))
    assert (chosen.ollama.url, chosen.ollama.model) == (ollama.url, DEFAULT_MODEL)
    assert chosen.github == stand_in.github


def test_a_model_from_the_settings_that_is_missing_leaves_the_stand_in_and_says_why(
    simulation: Simulation, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stand_in = demo_settings(simulation, tmp_path, "127.0.0.1:0")
    with FakeOllama(models=["other:1b"]) as ollama, caplog.at_level(logging.WARNING):
        chosen = with_configured_model(stand_in, write_model_settings(tmp_path, ollama.url))
    assert chosen.ollama == stand_in.ollama
    assert f"ollama model {DEFAULT_MODEL}: not on {ollama.url}" in caplog.text
    assert "the stand-in model answers instead" in caplog.text


# -- the dashboard's URL ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("listen", "token", "url"),
    [
        ("127.0.0.1:0", "s3cret/+", "http://127.0.0.1:{port}/?token=s3cret%2F%2B"),
        ("0.0.0.0:0", "t0ken", "http://127.0.0.1:{port}/?token=t0ken"),
    ],
)
def test_the_dashboard_url_is_the_bound_address_with_the_token_to_trade_for_a_cookie(
    listen: str, token: str, url: str
) -> None:
    from autosolve.settings import settings_from_mapping

    settings = settings_from_mapping({"http": {"listen": listen, "token": token}})
    endpoint = HttpEndpoint(settings)
    endpoint.bind()
    try:
        assert endpoint.server is not None
        assert dashboard_url(endpoint) == url.format(port=endpoint.server.address.port)
    finally:
        endpoint.close()


def test_without_an_endpoint_there_is_no_dashboard_url() -> None:
    from dataclasses import replace

    settings = Settings()
    off = HttpEndpoint(replace(settings, http=replace(settings.http, listen="")))
    assert dashboard_url(off) is None
