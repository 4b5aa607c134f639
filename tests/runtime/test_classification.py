from __future__ import annotations

import socket

import pytest
import requests

from autosolve.runtime import Category, classify
from autosolve.schedule.classifier import infra_classifier
from tests.runtime.errors import Doomed, Flaky, Overloaded, RateLimited


@pytest.mark.parametrize(
    "error",
    [
        requests.ConnectionError("refused"),
        requests.Timeout("slow"),
        requests.exceptions.ChunkedEncodingError("truncated"),
        ConnectionResetError(104, "reset"),
        socket.gaierror(-2, "Name or service not known"),
        TimeoutError("timed out"),
        EOFError("eof"),
        OSError(113, "No route to host"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_transport_failures_are_node_errors(error: BaseException) -> None:
    assert classify(error, infra_classifier).category is Category.NODE


def test_an_oserror_that_is_not_about_the_network_is_not_a_node_error() -> None:
    assert classify(FileNotFoundError(2, "No such file"), infra_classifier).category is (
        Category.DEGRADED
    )


def test_wait_hinted_errors_are_service_errors_with_that_exact_wait() -> None:
    verdict = classify(RateLimited(17.25), infra_classifier)
    assert verdict.category is Category.SERVICE
    assert verdict.wait == 17.25


def test_a_non_positive_wait_hint_is_no_hint() -> None:
    verdict = classify(RateLimited(0), infra_classifier)
    assert verdict.category is Category.SERVICE
    assert verdict.wait is None


@pytest.mark.parametrize("error", [Overloaded("503"), Flaky("try again")])
def test_service_pressure_and_retryable_errors_are_service_errors(error: Exception) -> None:
    assert classify(error, infra_classifier).category is Category.SERVICE


def test_anything_else_is_unknown_and_handled_as_degraded() -> None:
    assert classify(KeyError("x"), infra_classifier).category is Category.DEGRADED


def test_without_an_application_classifier_only_transport_is_recognised() -> None:
    assert classify(Overloaded("503")).category is Category.DEGRADED


def test_a_fatal_error_is_permanent_whatever_else_it_declares() -> None:
    class DoomedButRetryable(Doomed):
        def is_retryable(self) -> bool:
            return True

    verdict = classify(DoomedButRetryable("database file gone"), infra_classifier)
    assert verdict.permanent and verdict.wait is None


def test_only_a_fatal_declaration_makes_a_failure_permanent() -> None:
    for error in (RateLimited(3.0), Overloaded("503"), Flaky("again"), KeyError("x")):
        assert not classify(error, infra_classifier).permanent, error
