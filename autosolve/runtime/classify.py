"""Turning an exception into a restart decision's input: category and wait hint.

The pipeline is fixed: the runtime's own transport rules first,
then the application's classifier, then "unknown". The runtime recognises
transport failures because they look the same for every application; it
recognises nothing else.

What a failure is called in the log lines and in a run's failure reason
comes the same way: the application's :data:`Explainer` puts an error in
words an operator can act on ("GitHub rejected the token (401): check
github.token"); for an error it does not know, the runtime says its type
and text.
"""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from autosolve.runtime.policy import Category
from autosolve.runtime.status import describe_error

__all__ = [
    "Classification", "Classifier", "Explainer", "classify", "classify_transport", "explain",
]  # fmt: skip


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

Explainer = Callable[[BaseException], str | None]
"""An application's words for an error (what is wrong or awaited, what to do), or None to say
"not mine"."""


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


def explain(error: BaseException, application: Explainer | None = None) -> str:
    """``error`` in the application's words, else ``Type: text``; never raises.

    An explainer that raises is logged, and the error's type and text stand.
    """
    if application is not None:
        try:
            words = application(error)
        except Exception:
            logger.exception("explaining %s raised; its type and text stand", type(error).__name__)
            words = None
        if words:
            return words
    return describe_error(error)


logger = logging.getLogger("autosolve.runtime")


def _network_errnos() -> frozenset[int]:
    import errno

    names = (
        "ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "EPIPE", "ETIMEDOUT",
        "EHOSTUNREACH", "EHOSTDOWN", "ENETUNREACH", "ENETDOWN", "ENETRESET",
    )  # fmt: skip
    return frozenset(getattr(errno, n) for n in names if hasattr(errno, n))


_NETWORK_ERRNOS = _network_errnos()
