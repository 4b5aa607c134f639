"""The application classifier: reads the capabilities infrastructure errors declare."""

from __future__ import annotations

from autosolve.runtime import (
    Category,
    Classification,
    Fatal,
    Retryable,
    ServicePressure,
    WaitHinted,
)

__all__ = ["infra_classifier"]


def infra_classifier(error: BaseException) -> Classification | None:
    """Fatal → permanent; wait-hinted → service with that wait; pressure or retryable → service.

    A fatal error ends the run whatever the policies say: retrying cannot
    help, and going on could do harm (write into a deleted database file).
    Anything that declares nothing is not this classifier's: None.
    """
    if isinstance(error, Fatal) and error.is_fatal():
        return Classification(Category.DEGRADED, permanent=True)
    if isinstance(error, WaitHinted):
        wait = error.wait_seconds()
        if wait > 0:
            return Classification(Category.SERVICE, wait=wait)
    if isinstance(error, ServicePressure) and error.is_service_pressure():
        return Classification(Category.SERVICE)
    if isinstance(error, Retryable) and error.is_retryable():
        return Classification(Category.SERVICE)
    return None
