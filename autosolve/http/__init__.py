"""The daemon's HTTP endpoint: health checks, Prometheus metrics, a live dashboard.

Modules: :mod:`.address` (``http.listen`` values), :mod:`.metrics` (what
``/metrics`` exposes and the hooks that count it), :mod:`.app` (the WSGI
application), :mod:`.server` (serving it on the runtime's backend). This
package imports nothing heavy itself, so settings can use :mod:`.address`
before a gevent process is monkey-patched.
"""

from __future__ import annotations

from autosolve.settings.address import ListenAddress, is_loopback, parse_listen

__all__ = ["ListenAddress", "is_loopback", "parse_listen"]
