"""The operator's control commands about analyses and jobs: ``explain``, ``similar``, ``jobs``,
``retry-dead``.

Served on the control socket, ``POST /api/control`` and through ``ctl`` and
the REPL (see :func:`autosolve.daemon.app.application_commands`)::

    {"command": "explain", "issue": "octo/hello#12"}             analyse now, post or edit
    {"command": "explain", "issue": "octo/hello#12", "post": false}   prompt and answer only
    {"command": "similar", "issue": "octo/hello#12", "limit": 10}  related issues, labels, scores
    {"command": "jobs"}                                          queue counts, recent dead jobs
    {"command": "retry-dead", "id": 7}    or  "id": "all"         dead jobs back to the queue

The work is :class:`autosolve.domain.operations.Operations`; this module only
declares the arguments and turns failures into error answers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import requests
from marshmallow import fields, validate

from autosolve.control.commands import Command, CommandError
from autosolve.domain.operations import SIMILAR_SHOWN, OperationError
from autosolve.infra.github import GitHubError
from autosolve.infra.model import ModelError
from autosolve.infra.store import StoreError

if TYPE_CHECKING:
    from autosolve.domain.operations import Operations

__all__ = ["operator_commands"]

_FAILURES = (OperationError, GitHubError, ModelError, requests.RequestException, StoreError)
"""What an operator request may run into; each becomes an error answer naming it."""


def operator_commands(operations: Operations) -> list[Command]:
    """``explain``, ``similar``, ``jobs`` and ``retry-dead`` over ``operations``."""

    def explain(arguments: dict[str, Any]) -> dict[str, Any]:
        return operations.explain(arguments["issue"], post=arguments["post"])

    def similar(arguments: dict[str, Any]) -> dict[str, Any]:
        return operations.similar(arguments["issue"], arguments["limit"])

    def jobs(_arguments: dict[str, Any]) -> dict[str, Any]:
        return operations.jobs()

    def retry_dead(arguments: dict[str, Any]) -> dict[str, Any]:
        return operations.retry_dead(arguments["id"])

    return [
        Command(
            "explain",
            _refusing(explain),
            {
                "issue": fields.String(required=True),
                "post": fields.Boolean(load_default=True, truthy={True}, falsy={False}),
            },
            help="analyse OWNER/NAME#N now, whatever the filters; edits an existing comment",
        ),
        Command(
            "similar",
            _refusing(similar),
            {
                "issue": fields.String(required=True),
                "limit": fields.Integer(
                    load_default=SIMILAR_SHOWN, strict=True, validate=validate.Range(1, 100)
                ),
            },
            help="the earlier issues most like OWNER/NAME#N, with scores, and suggested labels",
        ),
        Command("jobs", _refusing(jobs), help="ready, in-flight and dead jobs; recent dead ones"),
        Command(
            "retry-dead",
            _refusing(retry_dead),
            {"id": fields.Raw(required=True)},
            help="move a dead job (an id, or 'all') back to the queue",
        ),
    ]


def _refusing(
    handler: Callable[[dict[str, Any]], dict[str, Any]],
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """``handler`` with the failures of :data:`_FAILURES` as error answers."""

    def guarded(arguments: dict[str, Any]) -> dict[str, Any]:
        try:
            return handler(arguments)
        except OperationError as error:
            raise CommandError(str(error)) from None
        except _FAILURES as error:
            raise CommandError(f"{type(error).__name__}: {error}") from None

    return guarded
