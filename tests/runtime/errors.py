"""Errors of each category, as infrastructure would declare them."""

from __future__ import annotations


class Overloaded(Exception):
    """Declares service pressure, like an HTTP 503."""

    def is_service_pressure(self) -> bool:
        return True


class Flaky(Exception):
    """Declares only that a retry may help."""

    def is_retryable(self) -> bool:
        return True


class RateLimited(Exception):
    def __init__(self, wait: float) -> None:
        super().__init__(f"rate limited for {wait} s")
        self.wait = wait

    def wait_seconds(self) -> float:
        return self.wait

    def is_service_pressure(self) -> bool:
        return True


def node_error() -> Exception:
    return ConnectionRefusedError(111, "Connection refused")


def service_error() -> Exception:
    return Overloaded("503 Service Unavailable")


def unknown_error() -> Exception:
    return ValueError("the body was not what anybody expected")


CATEGORY_ERRORS = {"node": node_error, "service": service_error, "degraded": unknown_error}


class Doomed(Exception):
    """Declares that no retry can help (a database file deleted under the daemon)."""

    def is_fatal(self) -> bool:
        return True
