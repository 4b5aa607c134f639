"""``autosolve-supervisor ctl``: one request to a running daemon."""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from autosolve.cli.common import fail
from autosolve.cli.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from autosolve.cli.locate import SocketLocation, locate_socket
from autosolve.cli.parser import PROG, STATUS_PAGE_SIZE
from autosolve.control.client import ControlClient, ControlError, DaemonUnavailable
from autosolve.control.protocol import ProtocolError
from autosolve.control.table import format_cluster, format_page, format_status
from autosolve.log_ring import MAX_LINES

__all__ = ["locate", "run"]

ANSWER_TIMEOUT = 30.0
"""Seconds ``ctl`` waits for an answer (``explain`` waits as long as the daemon works)."""

FOLLOW_POLL = 0.5
"""Seconds between two looks for new records with ``ctl logs --follow``."""


def locate(args: argparse.Namespace) -> SocketLocation:
    """The control socket for ``args`` (see :mod:`autosolve.cli.locate`)."""
    return locate_socket(getattr(args, "socket", None), args.settings)


def run(args: argparse.Namespace) -> int:
    """Run one ``ctl`` action; returns the exit code (0 ok, 1 refused/no daemon, 2 usage)."""
    location = locate(args)
    # An explanation waits for the model, which may take minutes: no answer timeout.
    timeout = None if args.action == "explain" else ANSWER_TIMEOUT
    try:
        with ControlClient(location.path, timeout=timeout) as client:
            location.warn()
            return ACTIONS[args.action](client, args)
    except DaemonUnavailable as error:
        return fail(*location.unreachable(error))
    except (ControlError, ProtocolError) as error:
        return fail(str(error))


def _status(client: ControlClient, args: argparse.Namespace) -> int:
    paging = {
        key: value
        for key in ("state", "offset", "limit")
        if (value := getattr(args, key, None)) is not None
    }
    if args.json and not paging:  # every child, the document scripts read
        document, unmatched = _only(client.status(), args.patterns)
    elif args.json and len(args.patterns) > 1:
        return fail("--state, --offset and --limit page by at most one PATTERN", EXIT_USAGE)
    else:
        document, unmatched = _pages(client, args.patterns, paging, table=not args.json)
    cluster = None
    if getattr(args, "cluster", False):
        reply = client.request("cluster")
        if not reply["ok"]:
            error = str(reply.get("error", "refused"))
            if "command: must be one of" in error:  # no `cluster` command: SQLite
                error = "no cluster: this daemon runs on SQLite (set database.url to share one)"
            return fail(error)
        cluster = {key: value for key, value in reply.items() if key != "ok"}
    if args.json:
        print(
            json.dumps(document if cluster is None else {**document, "cluster": cluster}, indent=2)
        )
    else:
        print(format_status(document))
        footer = format_page(document)
        if footer:
            print(footer)
        if cluster is not None:
            print()
            print(format_cluster(cluster))
    for pattern in unmatched:
        fail(f"no child matches {pattern!r}")
    return EXIT_FAILED if unmatched else EXIT_OK


def _pages(
    client: ControlClient, patterns: Sequence[str], paging: dict[str, Any], *, table: bool
) -> tuple[dict[str, Any], list[str]]:
    """A page of the status per pattern (or one of every child), as one page, and the
    patterns that match none.

    The table shows a page of :data:`STATUS_PAGE_SIZE` children unless told
    otherwise: the daemon then sends those, not a million records.
    """
    if table:
        paging = {"limit": STATUS_PAGE_SIZE, **paging}
    if not patterns:
        return client.status(**paging), []
    pages = [client.status(pattern=pattern, **paging) for pattern in patterns]
    unmatched = [p for p, page in zip(patterns, pages, strict=True) if not page["children"]]
    if paging.get("offset") or "state" in paging:
        unmatched = []  # nothing on this page, or in that state: not "matches nothing"
    return pages[0] if len(pages) == 1 else _merged(pages), unmatched


def _merged(pages: list[dict[str, Any]]) -> dict[str, Any]:
    """The pages of several patterns as one, each child once (in the patterns' order)."""
    children: dict[str, dict[str, Any]] = {}
    for page in pages:
        for child in page["children"]:
            children.setdefault(child["name"], child)
    more = any(page["more"] for page in pages)
    return {**pages[0], "children": list(children.values()), "total": None, "more": more}


def _only(document: dict[str, Any], patterns: Sequence[str]) -> tuple[dict[str, Any], list[str]]:
    """The status with only the children matching ``patterns`` (all without), and the
    patterns that match none."""
    if not patterns:
        return document, []
    children = document.get("children", [])
    unmatched = [p for p in patterns if not any(_matches(c["name"], p) for c in children)]
    kept = [c for c in children if any(_matches(c["name"], p) for p in patterns)]
    return {**document, "children": kept}, unmatched


def _matches(name: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(name, pattern)


def _control(client: ControlClient, args: argparse.Namespace) -> int:
    _applied(args.action, client.control(args.action, args.name))
    return EXIT_OK


def _applied(action: str, names: list[str]) -> None:
    for name in names:
        print(f"{action}: {name}")


def _stop(client: ControlClient, args: argparse.Namespace) -> int:
    """Children by name or pattern; without a name, the daemon (as ``shutdown``)."""
    if args.names:
        _applied("stop", client.stop_children(args.names))
        return EXIT_OK
    print(
        f"{PROG}: note: `ctl stop` without NAME stops the daemon; its name is `ctl shutdown` "
        "(`ctl stop NAME` stops children)",
        file=sys.stderr,
    )
    return _shutdown(client, args)


def _start(client: ControlClient, args: argparse.Namespace) -> int:
    _applied("start", client.start_children(args.names))
    return EXIT_OK


def _logs(client: ControlClient, args: argparse.Namespace) -> int:
    """The latest records; with ``--follow``, then new ones until Ctrl-C or the daemon exits."""
    reply = client.logs(args.name, args.lines)
    _print_records(reply["records"])
    if not args.follow:
        return EXIT_OK
    last = reply["last"]
    with contextlib.suppress(KeyboardInterrupt):
        while True:
            time.sleep(FOLLOW_POLL)
            reply = client.logs(args.name, MAX_LINES, after=last)
            _print_records(reply["records"])
            last = reply["last"]
    return EXIT_OK


def _print_records(records: list[dict[str, Any]]) -> None:
    for record in records:
        print(record["text"])
    sys.stdout.flush()


def _shutdown(client: ControlClient, _args: argparse.Namespace) -> int:
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


def _explained(reply: dict[str, Any]) -> str:
    issue, action = reply["issue"], reply["action"]
    if action in ("posted", "edited", "adopted"):
        return f"{issue}: {action} comment {reply['comment_id']}"
    if action == "dry_run":
        return f"{issue}: analysed and stored (dry run: not posted)"
    return f"{issue}: {action}"


def _similar(client: ControlClient, args: argparse.Namespace) -> int:
    reply = client.call("similar", issue=args.issue)
    reply.pop("ok", None)
    print(json.dumps(reply, indent=2) if args.json else format_similar(reply))
    return EXIT_OK


def format_similar(reply: dict[str, Any]) -> str:
    """``ctl similar``'s answer for people: one line per issue, then the labels."""
    lines = [f"related to {reply['issue']}:"]
    lines += [
        f"  #{found['number']:<7} {found['score']:>7.2f}  [{found['state']}] {found['title']}"
        for found in reply["related"]
    ] or ["  (no earlier issue shares a telling word)"]
    labels = ", ".join(f"{label['name']} ({label['share']:.0%})" for label in reply["labels"])
    lines.append(f"labels: {labels or '(none)'}")
    return "\n".join(lines)


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


def _reload(client: ControlClient, args: argparse.Namespace) -> int:
    reply = client.request("reload")
    if args.json:  # the answer as it came, a refusal too (exit 1 then)
        print(json.dumps(reply, indent=2))
        return EXIT_OK if reply.get("ok") else EXIT_FAILED
    if not reply.get("ok"):
        raise ControlError(f"reload refused, nothing changed: {reply.get('error', 'refused')}")
    print(format_reload(reply))
    return EXIT_OK


def _http_url(client: ControlClient, _args: argparse.Namespace) -> int:
    print(client.call("http-url")["url"])
    return EXIT_OK


def format_reload(reply: dict[str, Any]) -> str:
    """A reload's answer for people: what changed, one line per kind, names below."""
    lines = ["reloaded"]
    for kind in ("added", "removed", "replaced"):
        names = reply.get(kind) or []
        lines.append(f"  {kind}: {len(names)}")
        lines.extend(f"    {name}" for name in names)
    lines.append(f"  unchanged: {reply.get('unchanged', 0)}")
    restart = reply.get("needs_restart") or []
    if restart:
        lines.append(f"  needs a restart (kept as they are): {', '.join(restart)}")
    return "\n".join(lines)


ACTIONS: dict[str, Callable[[ControlClient, argparse.Namespace], int]] = {
    "status": _status,
    "pause": _control,
    "resume": _control,
    "run-now": _control,
    "restart": _control,
    "stop": _stop,
    "start": _start,
    "shutdown": _shutdown,
    "logs": _logs,
    "reload": _reload,
    "explain": _explain,
    "similar": _similar,
    "jobs": _jobs,
    "retry-dead": _retry_dead,
    "http-url": _http_url,
}
"""Each ``ctl`` action's runner; its grammar is in :data:`autosolve.cli.parser.CTL_ACTIONS`."""
