"""The daemon's HTTP endpoint: health checks, Prometheus metrics, a live dashboard.

Modules: :mod:`.metrics` (what ``/metrics`` exposes and the hooks that count
it), :mod:`.readiness` (what ``/readyz`` and the dashboard's banner judge),
:mod:`.overview` (the dashboard's documents from the store), :mod:`.history`
(the last hour of figures, kept in memory for the dashboard's charts),
:mod:`.token` (the generated token's file), :mod:`.app` (the WSGI
application, who may ask what), :mod:`.limits` (what a client may cost),
:mod:`.server` with :mod:`.gate` and :mod:`.gevent_handler` (serving it on
the runtime's backend within those limits), :mod:`.endpoint` (all of it as
the daemon runs it). ``http.listen`` values are parsed by
:mod:`autosolve.settings.address`.
"""
