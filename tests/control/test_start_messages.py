"""What ``start`` says, end to end: its banner, and failures in words, once."""

from __future__ import annotations

import dataclasses
import json
import re
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from autosolve import __version__
from autosolve.daemon.explainer import error_explainer
from autosolve.infra.github import ForbiddenError, NotFoundError, UnauthorizedError
from autosolve.settings import settings_from_mapping
from tests.control.daemon import REPOSITORIES, Daemon, write_settings
from tests.fakes.github import FakeGitHub
from tests.fakes.ollama import FakeOllama

pytestmark = pytest.mark.slow

Launch = Callable[..., Daemon]


def records(daemon: Daemon) -> list[dict[str, Any]]:
    """The daemon's JSON log lines (the test settings log JSON)."""
    return [json.loads(line) for line in daemon.log_records() if line.startswith("{")]


def messages(daemon: Daemon, level: str | None = None) -> list[str]:
    return [r["message"] for r in records(daemon) if level is None or r["level"] == level]


def test_the_start_banner_says_what_runs_where_in_one_info_line(
    launch: Launch, tmp_path: Path
) -> None:
    daemon = launch()
    daemon.wait_ready()
    [banner] = [m for m in messages(daemon, "INFO") if m.startswith("autosolve ")]
    address = re.search(r"http endpoint listening on (http://\S+)", "\n".join(messages(daemon)))
    assert address is not None
    assert banner.startswith(f"autosolve {__version__} starting: ")
    for part in (
        f"settings {daemon.settings}",
        f"repositories: {len(REPOSITORIES)} ({', '.join(REPOSITORIES)})",
        f"database {daemon.settings.parent / 'autosolve.db'}",
        f"http {address.group(1)}",
        "backend threading",
        "model ollama ",
        "dry run off",
    ):
        assert part in banner, (part, banner)


def test_a_wrong_token_ends_start_with_one_line_saying_what_to_check(launch: Launch) -> None:
    daemon = launch(env={"AUTOSOLVE_GITHUB__TOKEN": "wrong-token"})
    assert daemon.exit_code() == 1
    errors = messages(daemon, "ERROR")
    assert len(errors) == 1, errors
    assert errors[0].endswith(
        "GitHub rejected the token (401): check github.token or AUTOSOLVE_GITHUB__TOKEN"
    )
    assert "degraded" not in errors[0] and "UnauthorizedError" not in errors[0]


def test_a_repository_github_does_not_know_ends_start_naming_it(
    launch: Launch, tmp_path: Path
) -> None:
    daemon = launch(env={"AUTOSOLVE_GITHUB__REPOSITORIES": '["octo/hello", "octo/nope"]'})
    assert daemon.exit_code() == 1
    [error] = messages(daemon, "ERROR")
    assert "repository octo/nope not found on GitHub, or the token cannot see it (404)" in error


def test_validators_that_cannot_reach_github_say_what_they_wait_for_at_each_attempt(
    tmp_path: Path, sock_path: Path, github: FakeGitHub, ollama: FakeOllama
) -> None:
    settings = write_settings(tmp_path, sock_path, github, ollama)
    unreachable = settings.read_text().replace(github.url, "http://127.0.0.1:1")  # nobody there
    settings.write_text(unreachable + "\n[policies.preflight.node]\ninitial = 0.05\nmax = 0.1\n")
    daemon = Daemon(settings, sock_path, tmp_path / "unreachable.log")
    try:
        waiting = re.compile(
            r"^preflight:repository-validator:octo/hello: waiting for GitHub at 127\.0\.0\.1:1 "
            r"to answer \(connection refused\); trying again in [0-9.]+ s, at \d\d:\d\d:\d\d "
            r"\(attempt (\d+), node error\)$"
        )

        def attempts() -> list[int]:
            found = (waiting.match(m) for m in messages(daemon, "WARNING"))
            return [int(match.group(1)) for match in found if match]

        daemon.wait_until(lambda: len(attempts()) >= 3, what="three attempts logged")
        assert attempts()[:3] == [1, 2, 3]
        daemon.signal(signal.SIGTERM)
        assert daemon.exit_code() == 0
    finally:
        daemon.close()


def test_an_invalid_variable_in_the_environment_is_named_and_start_exits_2(
    launch: Launch,
) -> None:
    daemon = launch(env={"AUTOSOLVE_GITHUB__TOKNE": "x"})
    assert daemon.exit_code() == 2
    assert daemon.logged(
        "AUTOSOLVE_GITHUB__TOKNE (github.tokne): unknown key; did you mean AUTOSOLVE_GITHUB__TOKEN?"
    )


# -- the words, without a daemon -------------------------------------------------------


def explained(error: BaseException, **github: object) -> str | None:
    settings = settings_from_mapping({"github": {"token": "t", **github}})
    return error_explainer(settings)(error)


def test_a_403_on_a_repository_says_which_permissions_the_token_needs() -> None:
    error = ForbiddenError("GET /repos/octo/hello: 403", method="GET", path="/repos/octo/hello")
    assert explained(error) == (
        "the token may not read octo/hello (403): grant it Issues (read and write) "
        "and Metadata (read) on the repository"
    )


def test_a_401_with_a_github_app_names_the_apps_settings() -> None:
    error = UnauthorizedError("401", method="GET", path="/repos/octo/hello", status=401)
    settings = settings_from_mapping({"github": {"app": {"id": 0}}})
    app = dataclasses.replace(
        settings,
        github=dataclasses.replace(
            settings.github, app=dataclasses.replace(settings.github.app, id=7)
        ),
    )
    words = error_explainer(app)(error)
    assert words is not None and words.startswith("GitHub rejected the GitHub App's credentials")


def test_errors_without_a_known_remedy_keep_their_own_message() -> None:
    assert explained(ValueError("odd")) is None
    not_found = NotFoundError("GET /repos/o/n/issues/9: 404", path="/repos/o/n/issues/9")
    assert explained(not_found) is None
