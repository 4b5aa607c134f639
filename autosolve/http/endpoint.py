"""The HTTP endpoint as the daemon runs it: settings in, a served application out.

Order matters, and :class:`HttpEndpoint` keeps it: :attr:`~HttpEndpoint.metrics`
and :attr:`~HttpEndpoint.readiness` exist first (their hooks go to the
clients and the runtime's observers), the address is bound and the token
settled before the runtime starts (a port in use or an unusable token file
must stop the daemon before it runs a task), and the application is served
once there is a runtime to show. Then the start banner says where the
dashboard is: ``dashboard: http://127.0.0.1:9477/?token=…``, the one log
line that shows a generated token (a configured one is masked there too);
``ctl http-url`` answers the same address.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from autosolve.control.commands import Command, CommandError
from autosolve.http.app import make_app
from autosolve.http.history import History, HistorySampler, HistorySources
from autosolve.http.metrics import Metrics, ScrapeSources, job_counts
from autosolve.http.overview import Overview
from autosolve.http.readiness import ReadinessRule
from autosolve.http.server import HttpServer
from autosolve.http.token import generated_token, token_file
from autosolve.masking import Secrets
from autosolve.schedule.modules.organization import discovered_repositories
from autosolve.settings.address import ListenAddress

if TYPE_CHECKING:
    from autosolve.daemon.app import App
    from autosolve.runtime import ChildState
    from autosolve.settings import Settings

__all__ = ["HttpEndpoint", "RunningDaemon", "dashboard_url"]

logger = logging.getLogger("autosolve.http")

STATUS_TIMEOUT = 10.0


class RunningDaemon:
    """The :class:`~autosolve.http.app.Daemon` view of a running daemon (:class:`App`)."""

    def __init__(self, app: App, overview: Overview, history: History) -> None:
        self._app = app
        self._overview = overview
        self._history = history

    @property
    def running(self) -> bool:
        return self._app.handle.result is None

    def status(self) -> dict[str, Any]:
        return self._app.status(timeout=STATUS_TIMEOUT)

    def status_in(self, states: frozenset[ChildState]) -> dict[str, Any]:
        return self._app.status_in(states, timeout=STATUS_TIMEOUT)

    def answer(self, document: Mapping[str, Any]) -> dict[str, Any]:
        return self._app.answer(document)

    def overview(self) -> dict[str, Any]:
        return self._overview()

    @property
    def webhook_secret(self) -> str:
        return self._app.settings.github.webhooks.secret

    def deliver(self, event: str, delivery_id: str, payload: Any) -> str:
        return self._app.deliver(event, delivery_id, payload)

    def repository(self, name: str) -> dict[str, Any] | None:
        return self._overview.repository(name)

    def analysis(self, analysis_id: int) -> dict[str, Any] | None:
        return self._overview.analysis(analysis_id)

    def history(self) -> dict[str, Any]:
        return self._history.document()


class HttpEndpoint:
    """``http.listen`` for one daemon: metrics, readiness, token, server, application.

    With ``http.listen = ""`` nothing listens, but the metrics still count
    (their hooks are already in the clients).

    Args:
        settings: the daemon's settings.
        secrets: what every answer is masked with (the token is added).
    """

    def __init__(self, settings: Settings, secrets: Secrets | None = None) -> None:
        from autosolve.settings import resolve_path

        self.settings = settings
        self.secrets = secrets or Secrets()
        self.metrics = Metrics(backend=settings.runtime.backend)
        """Hooks for the clients and the runtime; what ``/metrics`` shows."""
        self.readiness = ReadinessRule(settings.http.ready_grace)
        """Judges ``/readyz``; :meth:`ReadinessRule.observe` must see the runtime's events."""
        listen = settings.http.listen
        self.server = HttpServer(listen, settings.runtime.backend) if listen else None
        """None when the endpoint is off."""
        self.token_file = token_file(resolve_path(settings, settings.control.socket))
        """Where the generated token is kept (used when ``http.token`` is empty)."""
        self.token = ""
        """The token the endpoint requires (set by :meth:`bind`)."""
        self.started_at = time.time()
        """When the daemon started, as its dashboard says (epoch seconds)."""
        self._wsgi: Any = None
        self._sampler: HistorySampler | None = None

    def bind(self) -> None:
        """Claim the address and settle the token.

        Raises:
            OSError: the address cannot be bound (in use, not local...), or
                the token file cannot be used; the message names it.
        """
        if self.server is None:
            return
        self.server.bind()
        self._use_token(self.settings.http.token)

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
        app.commands.register(self.command(), replace=True)
        if self.server is None:
            return
        daemon = RunningDaemon(app, self._overview(app), self._history(app))
        self._wsgi = make_app(
            daemon, self.metrics, token=self.token, secrets=self.secrets, readiness=self.readiness
        )
        self.server.start(self._wsgi)
        logger.info("dashboard: %s", self.url(), extra={"reveal": self._generated()})

    def _overview(self, app: App) -> Overview:
        return Overview(
            lambda: app.store,
            lambda: discovered_repositories(app.deps),  # configured and discovered
            self.settings.github.api_url,
            lambda: app.commands.names,
            started_at=self.started_at,
            backend=self.settings.runtime.backend,
        )

    def _history(self, app: App) -> History:
        """The charts' history, sampled from now on on the runtime's backend."""
        history = History(
            HistorySources(
                totals=self.metrics.totals,
                budget=app.deps.budget.stats,
                budget_limits=app.deps.budget.ledger.limits,
                tick_lateness=app.handle.tick_lateness,
            )
        )
        self._sampler = HistorySampler(history, app.handle.backend)
        self._sampler.start()
        return history

    def url(self) -> str:
        """The dashboard's address with the token: open it once, the browser keeps a cookie."""
        if self.server is None:
            raise CommandError('the HTTP endpoint is off (http.listen = "")')
        return dashboard_url(self.server.address, self.token)

    def command(self) -> Command:
        """``http-url``: the dashboard's address, token included, for ``ctl http-url``."""
        return Command(
            "http-url",
            lambda _arguments: {"url": self.url()},
            help="the dashboard's address with its token",
            reveals=lambda: [self.token],
        )

    def reconfigure(self, settings: Settings) -> None:
        """Follow a reload: a new ``http.token`` (``""``: the generated one), a new grace.

        Raises:
            OSError: the token file cannot be used; the token is unchanged.
        """
        self.readiness.grace = settings.http.ready_grace
        if self.server is not None and settings.http.token != self.settings.http.token:
            self._use_token(settings.http.token)
            if self._wsgi is not None:
                self._wsgi.set_token(self.token)
        self.settings = settings

    def _use_token(self, configured: str) -> None:
        self.token = configured or generated_token(self.token_file)
        self.secrets.add([self.token])

    def _generated(self) -> str:
        """The token, when it is the generated one (the banner may show it), else ""."""
        return "" if self.settings.http.token else self.token

    def close(self, timeout: float = 5.0) -> None:
        """Stop serving. Idempotent."""
        if self._sampler is not None:
            self._sampler.close()
        if self.server is not None:
            self.server.close(timeout)


def dashboard_url(address: ListenAddress, token: str) -> str:
    """``http://HOST:PORT/?token=…``; a wildcard address (``0.0.0.0``) becomes loopback."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(address.host, address.host)
    return f"http://{ListenAddress(host, address.port)}/?token={quote(token, safe='')}"
