"""autosolve: a supervised actor runtime, and a daemon that mirrors GitHub
issues and has an AI model analyse them.

``autosolve.start(settings)`` runs the daemon in-process without blocking;
``autosolve-supervisor`` is the command line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["start"]
__version__ = "0.1.0"

if TYPE_CHECKING:
    from autosolve.runtime import RuntimeHandle


def start(settings: Any = None, **kwargs: Any) -> RuntimeHandle:
    """Start the daemon in-process and return its handle; see :func:`autosolve.daemon.app.start`."""
    # Imported here so `import autosolve` stays cheap and the CLI can
    # monkey-patch for gevent before requests/ssl are imported.
    from autosolve.daemon.app import start as _start

    return _start(settings, **kwargs)
