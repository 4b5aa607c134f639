"""``autosolve-supervisor check``: validate the settings and print the plan."""

from __future__ import annotations

import argparse

from autosolve.cli.common import fail, load_or_report
from autosolve.cli.exit_codes import EXIT_OK, EXIT_USAGE

__all__ = ["run"]


def run(args: argparse.Namespace) -> int:
    """Print one task name per line, preflights first; touch no network, no database."""
    settings = load_or_report(args.settings)
    if settings is None:
        return EXIT_USAGE
    from autosolve.app import AppDependencies, build_scheduler

    try:
        plan = build_scheduler(settings, AppDependencies(settings)).plan()
    except ValueError as error:
        return fail(str(error), EXIT_USAGE)
    for name in plan.names:
        print(name)
    return EXIT_OK
