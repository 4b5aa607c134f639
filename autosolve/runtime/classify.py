"""Turning an exception into a restart decision's input: category and wait hint.

The pipeline is fixed: the runtime's own transport rules first,
then the application's classifier, then "unknown". The runtime recognises
transport failures because they look the same for every application; it
recognises nothing else.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from autosolve.runtime.policy import Category

__all__ = ["Classification", "Classifier", "classify", "classify_transport"]


@dataclass(frozen=True)
class Classification:
    category: Category
    wait: float | None = None
    """An exact delay that replaces the policy's backoff (a wait hint)."""
    permanent: bool = False
    """No retry can help (the application says so): the failure is permanent
    whatever the phase's policy for ``category``, and ends the run."""


Classifier = Callable[[BaseException], Classification | None]
"""An application classifier: a verdict, or None to say "not mine"."""


def _requests_transport_errors() -> tuple[type[BaseException], ...]:
    try:
        import requests
    except ImportError:  # the runtime does not need requests to run
        return ()
    return (
        requests.ConnectionError,
        requests.Timeout,
        requests.exceptions.ChunkedEncodingError,
    )


_TRANSPORT: tuple[type[BaseException], ...] = (
    *_requests_transport_errors(),
    TimeoutError,
    EOFError,
    ConnectionError,
    socket.gaierror,
    socket.herror,
    ssl.SSLError,
)


def classify_transport(error: BaseException) -> Classification | None:
    """The runtime's built-in rule: network and host trouble is ``node``."""
    if isinstance(error, _TRANSPORT):
        return Classification(Category.NODE)
    # OSError covers far more than the network (a missing file is one); only
    # errno values that mean "the other end is unreachable" count.
    if isinstance(error, OSError) and error.errno in _NETWORK_ERRNOS:
        return Classification(Category.NODE)
    return None


def classify(error: BaseException, application: Classifier | None = None) -> Classification:
    """Classify ``error``: transport rules, then ``application``, else degraded."""
    verdict = classify_transport(error)
    if verdict is None and application is not None:
        verdict = application(error)
    return verdict or Classification(Category.DEGRADED)


def _network_errnos() -> frozenset[int]:
    import errno

    names = (
        "ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "EPIPE", "ETIMEDOUT",
        "EHOSTUNREACH", "EHOSTDOWN", "ENETUNREACH", "ENETDOWN", "ENETRESET",
    )  # fmt: skip
    return frozenset(getattr(errno, n) for n in names if hasattr(errno, n))


_NETWORK_ERRNOS = _network_errnos()
