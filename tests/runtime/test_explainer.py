"""An application's words for failures: in the restart's log line and a run's failure reason."""

from __future__ import annotations

import logging

import pytest

from autosolve.runtime import Unit
from tests.runtime.harness import Harness


class BadCredentials(Exception):
    pass


def explain(error: BaseException) -> str | None:
    if isinstance(error, BadCredentials):
        return "the service rejected the token: check service.token"
    if isinstance(error, ConnectionRefusedError):
        return "waiting for the service to answer (connection refused)"
    return None


def raising(error: BaseException):
    def work(ctx) -> None:
        raise error

    return work


def test_a_permanent_failure_the_application_explains_is_the_runs_reason_in_its_words(
    harness: Harness,
) -> None:
    units = [Unit("preflight:check", raising(BadCredentials("401 from GET /x")))]
    handle = harness.start(preflights=units, explainer=explain)
    result = handle.wait(5.0)
    assert result is not None and not result.ok
    assert result.reason == "preflight:check: the service rejected the token: check service.token"


def test_an_error_the_application_does_not_explain_keeps_its_type_and_text(
    harness: Harness,
) -> None:
    handle = harness.start(
        preflights=[Unit("preflight:x", raising(ValueError("odd")))], explainer=explain
    )
    result = handle.wait(5.0)
    assert result is not None and result.reason is not None
    assert result.reason.endswith("(degraded error, no retry policy): ValueError: odd")


def test_the_restarts_log_line_says_what_is_awaited_and_when_it_tries_again(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="autosolve.runtime")
    name = "preflight:reach"
    harness.start(preflights=[Unit(name, raising(ConnectionRefusedError()))], explainer=explain)
    harness.wait_event("backoff", name)
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith(name)]
    assert line.startswith(
        f"{name}: waiting for the service to answer (connection refused); trying again in 2 s, at "
    )
    assert line.endswith("(attempt 1, node error)")


def test_an_explainer_that_raises_leaves_the_errors_own_words(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(error: BaseException) -> str | None:
        raise RuntimeError("explainer bug")

    units = [Unit("preflight:x", raising(BadCredentials("401")))]
    result = harness.start(preflights=units, explainer=broken).wait(5.0)
    assert result is not None and result.reason is not None
    assert result.reason.endswith("BadCredentials: 401")
    assert any("explaining BadCredentials raised" in r.getMessage() for r in caplog.records)
