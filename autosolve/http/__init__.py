"""The daemon's HTTP endpoint: health checks, Prometheus metrics, a live dashboard.

Modules: :mod:`.address` (``http.listen`` values), :mod:`.metrics` (what
``/metrics`` exposes and the hooks that count it), :mod:`.readiness` (what
``/readyz`` and the dashboard's banner judge), :mod:`.token` (the generated
token's file), :mod:`.app` (the WSGI application, who may ask what),
:mod:`.limits` (what a client may cost), :mod:`.server` with :mod:`.gate` and
:mod:`.gevent_handler` (serving it on the runtime's backend within those
limits), :mod:`.endpoint` (all of it as the daemon runs it). This package
imports nothing heavy itself, so settings can use :mod:`.address` before a
gevent process is monkey-patched.
"""

from __future__ import annotations

from autosolve.http.address import ListenAddress, is_loopback, parse_listen

__all__ = ["ListenAddress", "is_loopback", "parse_listen"]
