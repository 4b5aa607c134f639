"""The running daemon: building it, its dependencies, reloading it, joining a cluster.

This package is the composition root: the one place that knows every layer
below it (settings, runtime, infrastructure, domain, schedule, control).
:class:`~autosolve.daemon.app.App` is the daemon as one object; the command
line and the library API (:func:`autosolve.start`) build it here.
"""
