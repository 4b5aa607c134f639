"""``autosolve-supervisor check``: validate the settings and print the plan."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from autosolve.cli.common import fail, load_or_report, warn
from autosolve.cli.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from autosolve.settings import settings_warnings

if TYPE_CHECKING:
    from autosolve.settings import Settings

__all__ = ["run"]


def run(args: argparse.Namespace) -> int:
    """Print one task name per line, preflights first; with ``--online``, check the services.

    Without ``--online`` it touches neither the network nor the database.
    """
    settings = load_or_report(args.settings)
    if settings is None:
        return EXIT_USAGE
    from autosolve.daemon.build import build_scheduler
    from autosolve.daemon.dependencies import AppDependencies

    try:
        plan = build_scheduler(settings, AppDependencies(settings)).plan()
    except ValueError as error:
        return fail(str(error), EXIT_USAGE)
    for warning in settings_warnings(settings):
        warn(warning)
    for name in plan.names:
        print(name)
    return _online(settings) if args.online else EXIT_OK


def _online(settings: Settings) -> int:
    """Each finding on stderr (stdout stays the plan); exit 1 naming what failed."""
    from autosolve.cli.online import check_app, check_model, check_repositories, check_token
    from autosolve.masking import Secrets
    from autosolve.settings import secrets_of

    sys.stdout.flush()
    secrets = Secrets(secrets_of(settings))  # a service's answer may echo what it was sent
    github = settings.github
    access = (
        check_app(settings)
        if github.app.id and not github.token
        else [check_token(settings), *check_repositories(settings)]
    )
    findings = [*access, check_model(settings)]
    for finding in findings:
        print(secrets.mask(f"online: {finding}"), file=sys.stderr)
    failed = [finding.subject for finding in findings if not finding.ok]
    if failed:
        return fail(f"online check failed: {', '.join(failed)}", EXIT_FAILED)
    return EXIT_OK
