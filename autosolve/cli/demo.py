"""``autosolve-supervisor demo``: the whole daemon against a simulated GitHub, nothing to set up.

The daemon is the real one, run as ``start`` runs it (runtime, store,
pipeline, control socket, HTTP endpoint and dashboard, signals, logs); only
the world around it is simulated, inside the process (:mod:`autosolve.demo`):
a GitHub with a few repositories and weeks of history, whose new issues
arrive every few seconds once the daemon's workers run, and a stand-in model.
``since = "first-start"`` holds as everywhere: the history is mirrored and
left alone, the new issues are analysed and commented on.

The dashboard's URL (with the HTTP token in its fragment) is the first line
on stdout. The database is temporary unless ``--database PATH``; the
control socket lives in the temporary directory (its path is logged).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import secrets
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autosolve.cli.common import fail
from autosolve.cli.exit_codes import EXIT_USAGE
from autosolve.demo.simulation import Simulation
from autosolve.logs import configure_logging
from autosolve.settings import Settings, SettingsError, load_settings, settings_from_mapping
from autosolve.settings.address import parse_listen

if TYPE_CHECKING:
    from autosolve.daemon.app import App
    from autosolve.http.endpoint import HttpEndpoint

__all__ = [
    "ARRIVAL_SECONDS",
    "DEMO_INTERVALS",
    "dashboard_url",
    "demo_settings",
    "run",
    "with_configured_model",
]

logger = logging.getLogger("autosolve")

ARRIVAL_SECONDS = 5.0
"""Seconds between two new issues in the demo world."""

DEMO_INTERVALS = {
    "issue_poller": 2.0,
    "issue_poller_max": 10.0,
    "outbox_relay": 1.0,
    "issue_explainer": 1.0,
}
"""Shorter than a real deployment's, so an issue is analysed seconds after it arrives."""

MODEL_SECTIONS = ("model", "ollama", "openai")
"""The settings sections that say which model analyses (those the settings have)."""


def run(args: argparse.Namespace) -> int:
    """Run the demo until ``--for`` seconds passed, SIGINT or SIGTERM."""
    try:
        parse_listen(args.listen)
    except ValueError as error:
        return fail(f"--listen: {error}", EXIT_USAGE)
    configure_logging()
    with (
        tempfile.TemporaryDirectory(prefix="autosolve-demo-") as scratch,
        Simulation(ARRIVAL_SECONDS) as simulation,
    ):
        database = Path(args.database).expanduser().resolve() if args.database else None
        try:
            settings = demo_settings(simulation, Path(scratch), args.listen, database)
        except SettingsError as error:
            return fail(str(error), EXIT_USAGE)
        if args.model_from_settings:
            settings = with_configured_model(settings, args.settings)
        return _run(settings, simulation, args.seconds)


def demo_settings(
    simulation: Simulation, scratch: Path, listen: str, database: Path | None = None
) -> Settings:
    """The daemon's settings for ``simulation``: its GitHub, its model, files in ``scratch``.

    Raises:
        SettingsError: ``listen`` is not a usable address.
    """
    data: dict[str, Any] = {
        "github": {
            "api_url": simulation.github.api_url,
            "token": simulation.token,
            "repositories": simulation.world.names,
        },
        "ollama": {"url": simulation.model.url, "model": simulation.model_name},
        "database": {"path": str(database or scratch / "autosolve.db")},
        "intervals": DEMO_INTERVALS,
        "control": {"socket": str(scratch / "autosolve.sock")},
        "http": {"listen": listen, "token": secrets.token_urlsafe(16)},
    }
    return settings_from_mapping(data)


def with_configured_model(settings: Settings, path: str | None) -> Settings:
    """``settings`` with the model of the settings file, if that model answers; else unchanged."""
    from autosolve.cli.online import check_model

    try:
        configured = load_settings(path)
    except SettingsError as error:
        logger.warning("--model-from-settings: %s; the stand-in model answers instead", error)
        return settings
    finding = check_model(configured)
    if not finding.ok:
        logger.warning(
            "--model-from-settings: %s: %s; the stand-in model answers instead",
            finding.subject,
            finding.detail,
        )
        return settings
    logger.info("--model-from-settings: %s: %s", finding.subject, finding.detail)
    present = {field.name for field in dataclasses.fields(Settings)}
    sections = {name: getattr(configured, name) for name in MODEL_SECTIONS if name in present}
    return dataclasses.replace(settings, **sections)


def _run(settings: Settings, simulation: Simulation, seconds: float | None) -> int:
    from autosolve.cli.start import request_stop, run_daemon

    def announce(endpoint: HttpEndpoint) -> None:
        print(dashboard_url(endpoint), flush=True)
        _describe(settings, simulation, endpoint)

    def play(app: App) -> None:
        def on_phase(event: Any) -> None:
            if event.kind == "phase" and str(event.detail) == "workers":
                simulation.world.start()

        app.add_observer(on_phase)
        if _phase(app) == "workers":  # reached before the observer was added
            simulation.world.start()
        if seconds is not None:
            stop = lambda: request_stop(app, f"--for {seconds:g} s elapsed")  # noqa: E731
            app.handle.backend.call_later_real(seconds, stop)

    return run_daemon(settings, on_bound=announce, on_running=play)


def dashboard_url(endpoint: HttpEndpoint) -> str | None:
    """The dashboard's URL, ready to open (``None`` when the endpoint is off).

    The endpoint's own (what ``ctl http-url`` answers): ``?token=…``, which
    the endpoint trades for an HttpOnly cookie and redirects away from, so the
    token leaves the address bar at once. The demo configures its own
    ``http.token``; a wildcard address (``0.0.0.0``, ``::``) is shown as its
    loopback.
    """
    return None if endpoint.server is None else endpoint.url()


def _phase(app: App) -> str | None:
    """The run's phase now, or None (logged) if the supervisor does not say."""
    try:
        return str(app.status()["phase"])
    except Exception as error:  # a busy supervisor: the phase event still starts the world
        logger.warning("demo: the supervisor did not say its phase: %s", error)
        return None


def _describe(settings: Settings, simulation: Simulation, endpoint: HttpEndpoint) -> None:
    """Log what runs where: the dashboard, the simulation, the socket, the database."""
    address = endpoint.server.address if endpoint.server is not None else None
    how = "--listen" if not settings.http.listen.endswith(":0") else "a free port: --listen chooses"
    logger.info(
        "demo: dashboard on http://%s/ (%s); its token is in the URL printed on stdout",
        address,
        how,
    )
    logger.info(
        "demo: simulated GitHub at %s (its repositories: %s/), stand-in model at %s",
        simulation.github.api_url,
        simulation.github.url,
        simulation.model.url,
    )
    logger.info(
        "demo: watching %s; a new issue every %g s once the workers run",
        ", ".join(simulation.world.names),
        simulation.world.interval,
    )
    logger.info(
        "demo: database %s; control: autosolve-supervisor ctl --socket %s status",
        settings.database.path,
        settings.control.socket,
    )
