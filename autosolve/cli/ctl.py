"""``autosolve-supervisor ctl``: one request to a running daemon."""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from collections.abc import Callable

from autosolve.cli.common import fail
from autosolve.cli.exit_codes import EXIT_OK, EXIT_USAGE
from autosolve.config import SettingsError, load_settings, resolve_path
from autosolve.control.client import ControlClient, ControlError, DaemonUnavailable
from autosolve.control.protocol import ProtocolError
from autosolve.control.table import format_status

__all__ = ["run", "socket_path"]

ANSWER_TIMEOUT = 30.0
"""Seconds ``ctl`` waits for an answer (``explain`` waits as long as the daemon works)."""


def socket_path(args: argparse.Namespace) -> str:
    """``--socket``, else ``control.socket`` from the settings (relative to their file).

    Raises:
        SettingsError: the settings cannot be loaded.
    """
    if getattr(args, "socket", None):
        return args.socket
    settings = load_settings(args.settings)
    return str(resolve_path(settings, settings.control.socket))


def run(args: argparse.Namespace) -> int:
    """Run one ``ctl`` action; returns the exit code (0 ok, 1 refused/no daemon, 2 usage)."""
    try:
        path = socket_path(args)
    except SettingsError as error:
        return fail(str(error), EXIT_USAGE)
    # An explanation waits for the model, which may take minutes: no answer timeout.
    timeout = None if args.action == "explain" else ANSWER_TIMEOUT
    try:
        with ControlClient(path, timeout=timeout) as client:
            return ACTIONS[args.action](client, args)
    except (DaemonUnavailable, ControlError, ProtocolError) as error:
        return fail(str(error))


def _status(client: ControlClient, args: argparse.Namespace) -> int:
    document = client.status()
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        print(format_status(document))
    return EXIT_OK


def _control(client: ControlClient, args: argparse.Namespace) -> int:
    for name in client.control(args.action, args.name):
        print(f"{args.action}: {name}")
    return EXIT_OK


def _stop(client: ControlClient, _args: argparse.Namespace) -> int:
    client.stop()
    print("stopping...", flush=True)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C stops waiting, not the daemon
        client.wait_closed()
        print("stopped")
    return EXIT_OK


def _explain(client: ControlClient, args: argparse.Namespace) -> int:
    reply = client.call("explain", issue=args.issue, post=not args.preview)
    reply.pop("ok", None)
    if args.json:
        print(json.dumps(reply, indent=2))
    elif args.preview:
        print(f"--- prompt\n{reply['prompt']}\n--- answer\n{reply['answer']}")
    else:
        print(_explained(reply))
    return EXIT_OK


def _explained(reply: dict) -> str:
    issue, action = reply["issue"], reply["action"]
    if action in ("posted", "edited", "adopted"):
        return f"{issue}: {action} comment {reply['comment_id']}"
    if action == "dry_run":
        return f"{issue}: analysed and stored (dry run: not posted)"
    return f"{issue}: {action}"


def _jobs(client: ControlClient, args: argparse.Namespace) -> int:
    reply = client.call("jobs")
    reply.pop("ok", None)
    if args.json:
        print(json.dumps(reply, indent=2))
        return EXIT_OK
    print(f"ready {reply['ready']}  in flight {reply['in_flight']}  dead {reply['dead']}")
    for job in reply["recent_dead"]:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(job["dead_at"]))
        print(f"  job {job['id']}  {when}  {job['payload']}\n    {job['reason']}")
    return EXIT_OK


def _retry_dead(client: ControlClient, args: argparse.Namespace) -> int:
    which = int(args.id) if args.id.isdigit() else args.id
    retried = client.call("retry-dead", id=which)["retried"]
    print(f"back in the queue: {', '.join(map(str, retried)) if retried else 'nothing'}")
    return EXIT_OK


ACTIONS: dict[str, Callable[[ControlClient, argparse.Namespace], int]] = {
    "status": _status,
    "pause": _control,
    "resume": _control,
    "run-now": _control,
    "restart": _control,
    "stop": _stop,
    "explain": _explain,
    "jobs": _jobs,
    "retry-dead": _retry_dead,
}
"""Each ``ctl`` action's runner; its grammar is in :data:`autosolve.cli.parser.CTL_ACTIONS`."""
