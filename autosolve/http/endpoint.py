"""The HTTP endpoint as the daemon runs it: settings in, a served application out.

Order matters, and :class:`HttpEndpoint` keeps it: :attr:`~HttpEndpoint.metrics`
exists first (its hooks go to the clients and the runtime's observer), the
address is bound before the runtime starts (a port in use must stop the
daemon before it runs a task), and the application is served once there is a
runtime to show.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from autosolve.http.app import make_app
from autosolve.http.metrics import Metrics, ScrapeSources, job_counts
from autosolve.http.overview import Overview
from autosolve.http.server import HttpServer

if TYPE_CHECKING:
    from autosolve.daemon.app import App
    from autosolve.settings import Settings

__all__ = ["HttpEndpoint", "RunningDaemon"]

STATUS_TIMEOUT = 10.0


class RunningDaemon:
    """The :class:`~autosolve.http.app.Daemon` view of a running daemon (:class:`App`)."""

    def __init__(self, app: App, overview: Callable[[], dict[str, Any]]) -> None:
        self._app = app
        self._overview = overview

    @property
    def running(self) -> bool:
        return self._app.handle.result is None

    def status(self) -> dict[str, Any]:
        return self._app.status(timeout=STATUS_TIMEOUT)

    def answer(self, document: Mapping[str, Any]) -> dict[str, Any]:
        return self._app.answer(document)

    def overview(self) -> dict[str, Any]:
        return self._overview()


class HttpEndpoint:
    """``http.listen`` for one daemon: metrics, server, application.

    With ``http.listen = ""`` nothing listens, but the metrics still count
    (their hooks are already in the clients).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = Metrics()
        """Hooks for the clients and the runtime; what ``/metrics`` shows."""
        listen = settings.http.listen
        self.server = HttpServer(listen, settings.runtime.backend) if listen else None
        """None when the endpoint is off."""
        self._wsgi: Any = None

    def bind(self) -> None:
        """Claim the address.

        Raises:
            OSError: it cannot be bound (in use, not local...); the message names it.
        """
        if self.server is not None:
            self.server.bind()

    def serve(self, app: App) -> None:
        """Start answering for the running ``app`` (started with :attr:`metrics`)."""
        self.metrics.sources = ScrapeSources(
            status=lambda: app.status(timeout=STATUS_TIMEOUT),
            tick_lateness=app.handle.tick_lateness,
            issues=lambda: app.store.issue_counts(),
            jobs=lambda: job_counts(app.store.jobs_summary(0)),
            leases=app.deps.cluster.leases_held if app.deps.cluster is not None else None,
            budget=app.deps.budget.stats,
        )
        if self.server is None:
            return
        github = self.settings.github
        overview = Overview(
            lambda: app.store,
            lambda: app.settings.github.repositories,
            github.api_url,
            lambda: app.commands.names,
        )
        daemon = RunningDaemon(app, overview)
        self._wsgi = make_app(daemon, self.metrics, token=self.settings.http.token)
        self.server.start(self._wsgi)

    def set_token(self, token: str) -> None:
        """Require ``token`` from the next request on (a reload changed ``http.token``)."""
        if self._wsgi is not None:
            self._wsgi.set_token(token)

    def close(self, timeout: float = 5.0) -> None:
        """Stop serving. Idempotent."""
        if self.server is not None:
            self.server.close(timeout)
