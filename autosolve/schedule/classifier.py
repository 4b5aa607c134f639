"""The application classifier: reads the capabilities infrastructure errors declare."""

from __future__ import annotations

from autosolve.runtime import Category, Classification, Retryable, ServicePressure, WaitHinted

__all__ = ["infra_classifier"]


def infra_classifier(error: BaseException) -> Classification | None:
    """Wait-hinted → service with that wait; pressure or retryable → service; else None."""
    if isinstance(error, WaitHinted):
        wait = error.wait_seconds()
        if wait > 0:
            return Classification(Category.SERVICE, wait=wait)
    if isinstance(error, ServicePressure) and error.is_service_pressure():
        return Classification(Category.SERVICE)
    if isinstance(error, Retryable) and error.is_retryable():
        return Classification(Category.SERVICE)
    return None
