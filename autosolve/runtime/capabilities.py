"""Capabilities that infrastructure errors declare about themselves.

The runtime never inspects HTTP status codes or vendor exceptions. Instead an
infrastructure client raises exceptions that *declare* what kind of trouble
they are by implementing one of these protocols; the application classifier
(see ``autosolve.schedule.classifier``) reads the declarations and picks a
restart category. Any class can opt in just by defining the method: no
inheritance from the runtime is needed.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["Fatal", "Retryable", "ServicePressure", "WaitHinted"]


@runtime_checkable
class WaitHinted(Protocol):
    """An error that knows how long to wait before trying again.

    A rate-limited API names the moment its budget resets; retrying sooner is
    wasted work, so the hint replaces the policy's backoff exactly.
    """

    def wait_seconds(self) -> float:
        """Seconds to wait before the next attempt; ``<= 0`` means no hint."""
        ...


@runtime_checkable
class ServicePressure(Protocol):
    """An error that says the remote service is overloaded or throttling."""

    def is_service_pressure(self) -> bool: ...


@runtime_checkable
class Retryable(Protocol):
    """An error that says the same request may succeed if tried again."""

    def is_retryable(self) -> bool: ...


@runtime_checkable
class Fatal(Protocol):
    """An error that says no retry can help and the process must not go on.

    A database file deleted under a running daemon is one: every retry would
    fail the same way, or worse, write where nobody will ever read.
    """

    def is_fatal(self) -> bool: ...
