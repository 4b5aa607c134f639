"""The daemon's HTTP endpoint: health checks, Prometheus metrics, a live dashboard.

Modules: :mod:`.metrics` (what ``/metrics`` exposes and the hooks that count
it), :mod:`.app` (the WSGI application), :mod:`.server` (serving it on the
runtime's backend), :mod:`.endpoint` (all three as the daemon runs them).
``http.listen`` values are parsed by :mod:`autosolve.settings.address`.
"""
