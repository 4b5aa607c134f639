"""The command line's grammar and help; imports nothing that opens a socket.

``main`` parses before it monkey-patches for gevent, so this module must stay
free of requests, ssl and the runtime.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from autosolve import __version__

__all__ = ["CTL_ACTIONS", "DEFAULT_LOG_LINES", "STATUS_PAGE_SIZE", "build_parser"]

PROG = "autosolve-supervisor"

DEFAULT_LOG_LINES = 20
"""Records ``ctl logs`` shows without ``-n``."""

STATUS_PAGE_SIZE = 100
"""Children ``ctl status`` shows as a table without ``--limit`` (a page: a daemon may run
a million)."""

_ENVIRONMENT = """\
environment:
  AUTOSOLVE_<SECTION>__<KEY>  overrides a setting, e.g. AUTOSOLVE_GITHUB__TOKEN=ghp_...,
                              AUTOSOLVE_RUNTIME__BACKEND=gevent, AUTOSOLVE_LOG__LEVEL=DEBUG
  settings are read from ./settings.toml (or --settings PATH), then .secrets.toml
  beside it, then the environment; later wins"""

_EXIT_CODES = {
    "main": """\
exit codes:
  0    success (a graceful stop, for start)
  1    the run failed, a request was refused, an online check failed
  2    usage error or invalid settings (a missing settings file included)
  130  a second Ctrl-C forced start to exit""",
    "start": """\
exit codes:
  0    stopped gracefully (SIGINT, SIGTERM or `ctl shutdown`)
  1    the run failed (a preflight failed, a worker failed permanently, too many
       restarts) or the daemon could not start (socket or database in use)
  2    usage error or invalid settings (a missing settings file included)
  130  a second Ctrl-C forced the exit""",
    "check": """\
exit codes:
  0    the settings are valid (and, with --online, everything answered)
  1    an online check failed (each failure is named)
  2    usage error or invalid settings (a missing settings file included)""",
    "ctl": """\
exit codes:
  0    the daemon did what was asked
  1    the daemon refused the request, or no daemon listens on the socket
  2    usage error; or the settings are invalid (or missing) and no daemon answers""",
    "demo": """\
exit codes:
  0    stopped after --for SECONDS, or by SIGINT/SIGTERM
  1    the run failed, or the daemon could not start (the address in use...)
  2    usage error""",
    "repl": """\
exit codes:
  0    the console ended (EOF) and the runtime stopped gracefully
  1    the runtime could not start or its run failed, or no daemon to attach to
  2    usage error or invalid settings""",
}

_EXAMPLES = {
    "main": """\
examples:
  autosolve-supervisor demo                    try it: no token, no model needed
  autosolve-supervisor check --settings /etc/autosolve/settings.toml
  autosolve-supervisor start --settings /etc/autosolve/settings.toml
  autosolve-supervisor ctl status
  autosolve-supervisor ctl pause 'worker:issue-poller:*'
  autosolve-supervisor COMMAND --help""",
    "start": """\
examples:
  autosolve-supervisor start
  AUTOSOLVE_GITHUB__TOKEN=ghp_... autosolve-supervisor start --settings /etc/autosolve/settings.toml
  autosolve-supervisor start --dry-run         see what would be posted (table analyses)

  Under systemd (NOTIFY_SOCKET set) the daemon reports READY=1 when its workers
  start, STOPPING=1, STATUS= lines and, with WatchdogSec, WATCHDOG=1.
  SIGINT/SIGTERM stop gracefully; SIGHUP reloads the settings (as `ctl reload`).""",
    "check": """\
examples:
  autosolve-supervisor check
  autosolve-supervisor check --settings /etc/autosolve/settings.toml --online""",
    "ctl": """\
examples:
  autosolve-supervisor ctl status
  autosolve-supervisor ctl status --json --settings /etc/autosolve/settings.toml
  autosolve-supervisor ctl --socket /run/autosolve/autosolve.sock pause 'worker:issue-poller:*'
  autosolve-supervisor ctl status 'worker:issue-poller:*'
  autosolve-supervisor ctl run-now worker:issue-explainer
  autosolve-supervisor ctl stop 'worker:issue-poller:octo/*'     kept stopped until `ctl start`
  autosolve-supervisor ctl logs worker:issue-poller:octo/hello -n 50 --follow
  autosolve-supervisor ctl explain octo/hello#12
  autosolve-supervisor ctl similar octo/hello#12 --json
  autosolve-supervisor ctl jobs --json
  autosolve-supervisor ctl retry-dead all
  autosolve-supervisor ctl shutdown                            the daemon exits 0""",
    "demo": """\
examples:
  autosolve-supervisor demo                    open the URL it prints; Ctrl-C stops it
  autosolve-supervisor demo --for 60           stop by itself after a minute
  autosolve-supervisor demo --listen 127.0.0.1:9477 --database demo.db
  autosolve-supervisor demo --model-from-settings --settings settings.toml
                                               analyses by the configured model""",
    "repl": """\
examples:
  autosolve-supervisor repl                    start the runtime behind the prompt
  autosolve-supervisor repl --attach           drive the running daemon
  echo 'print(status()["phase"])' | autosolve-supervisor repl --attach""",
}


def _epilog(command: str) -> str:
    parts = [_EXAMPLES[command], _ENVIRONMENT]
    if command in _EXIT_CODES:
        parts.append(_EXIT_CODES[command])
    return "\n\n".join(parts)


def _add_settings(
    parser: argparse.ArgumentParser, *, default: object = None, must_exist: bool = True
) -> None:
    where = "it must exist" if must_exist else "where control.socket is read"
    parser.add_argument(
        "--settings",
        metavar="PATH",
        default=default,
        help=f"settings file (default: ./settings.toml; {where})",
    )


def _add_socket(parser: argparse.ArgumentParser, *, default: object = None) -> None:
    parser.add_argument(
        "--socket",
        metavar="PATH",
        default=default,
        help="control socket (default: $AUTOSOLVE_CONTROL__SOCKET, else control.socket "
        "from the settings, read even when other keys are invalid)",
    )


def _name_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="child name or shell-style pattern")


def _stop_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "names",
        metavar="NAME",
        nargs="*",
        help="children to stop (names or shell-style patterns); none: the daemon (as shutdown)",
    )


def _start_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "names", metavar="NAME", nargs="+", help="stopped children (names or shell-style patterns)"
    )


def _logs_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "name",
        metavar="NAME",
        nargs="?",
        help="a child (name or shell-style pattern); none: the whole daemon",
    )
    parser.add_argument(
        "-n",
        "--lines",
        metavar="N",
        type=_positive_count,
        default=DEFAULT_LOG_LINES,
        help=f"how many of the latest records (default: {DEFAULT_LOG_LINES})",
    )
    parser.add_argument(
        "-f", "--follow", action="store_true", help="then print new records as they come"
    )


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the JSON document")


def _status_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "patterns",
        metavar="PATTERN",
        nargs="*",
        help="only the children matching these names or shell-style patterns",
    )
    _json_flag(parser)
    parser.add_argument(
        "--state",
        help="only the children in this state (idle, running, backoff, failed...)",
    )
    parser.add_argument(
        "--offset",
        type=_at_least_0,
        help="skip this many of the children listed (a page further on)",
    )
    parser.add_argument(
        "--limit",
        type=_at_least_0,
        help=f"show at most this many children (default for the table: {STATUS_PAGE_SIZE}; "
        "--json without --state, --offset or --limit: every child)",
    )
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="also the lease table: which node runs which repository (database.url only)",
    )


def _at_least_0(text: str) -> int:
    """An argparse type: an integer of at least 0 (argparse names the flag in the error)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer of at least 0, got {text!r}")
    return value


def _explain_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("issue", metavar="OWNER/NAME#N", help="the issue, e.g. octo/hello#12")
    parser.add_argument(
        "--preview",
        action="store_true",
        help="only show the prompt and the model's answer; post nothing, read nothing on GitHub",
    )
    _json_flag(parser)


def _similar_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("issue", metavar="OWNER/NAME#N", help="the issue, e.g. octo/hello#12")
    _json_flag(parser)


def _retry_dead_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", metavar="ID|all", help="a dead job's id (see `ctl jobs`), or all")


CTL_ACTIONS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None] | None, str]] = {
    "status": (
        "the phase and every child (or those matching PATTERN) as a table",
        _status_flags,
        "status 'worker:issue-poller:*'",
    ),
    "pause": ("stop ticking the matching children", _name_argument, "pause 'worker:*:octo/*'"),
    "resume": (
        "tick the matching children again (at once)",
        _name_argument,
        "resume 'worker:issue-poller:*'",
    ),
    "run-now": ("tick the matching children now", _name_argument, "run-now worker:issue-explainer"),
    "restart": (
        "replace the matching children with fresh actors",
        _name_argument,
        "restart worker:outbox-relay:octo/hello",
    ),
    "stop": (
        "stop the matching children (kept stopped until `start`); with no NAME, the daemon",
        _stop_arguments,
        "stop 'worker:issue-poller:octo/*'",
    ),
    "start": ("start stopped children again", _start_arguments, "start 'worker:issue-poller:*'"),
    "shutdown": ("stop the daemon gracefully and wait until it is gone", None, "shutdown"),
    "logs": (
        "the latest log records of a child, or of the daemon (kept in memory)",
        _logs_arguments,
        "logs worker:issue-poller:octo/hello -n 50 --follow",
    ),
    "reload": (
        "re-read the settings and apply the difference without a restart (as SIGHUP)",
        _json_flag,
        "reload",
    ),
    "explain": (
        "analyse one issue now, whatever the filters; edits autosolve's comment if there is one",
        _explain_arguments,
        "explain octo/hello#12",
    ),
    "similar": (
        "the earlier issues most like one issue, with their scores, and the labels they suggest",
        _similar_arguments,
        "similar octo/hello#12",
    ),
    "jobs": (
        "counts of ready, in-flight and dead jobs, and the 20 latest dead jobs",
        _json_flag,
        "jobs --json",
    ),
    "retry-dead": (
        "move a dead job (or all of them) back to the queue",
        _retry_dead_arguments,
        "retry-dead all",
    ),
    "http-url": ("the dashboard's address, its token included: open it once", None, "http-url"),
}
"""``ctl`` actions: help, what they add to the parser, an example (runners: :mod:`.ctl`)."""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30)


class _CommandParser(argparse.ArgumentParser):
    """A command's (or a ``ctl`` action's) parser: it refuses what it does not know itself.

    argparse hands a subcommand's leftover arguments up to the top-level
    parser, whose error then shows the top-level usage; refused here, the
    error shows this subcommand's own usage, which is the one that helps.
    """

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Mirror GitHub issues into a local store and have an AI model "
        "(Ollama) analyse them, as a supervised service.",
        epilog=_epilog("main"),
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_CommandParser
    )

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            help=summary,
            description=description,
            epilog=_epilog(name),
            formatter_class=_Formatter,
        )
        _add_settings(sub, must_exist=name != "ctl")
        return sub

    start = command(
        "start",
        "run the daemon in the foreground",
        "Run the daemon in the foreground until SIGINT, SIGTERM or `ctl shutdown`. "
        "Logs go to stderr. The control socket is created before any task runs.",
    )
    start.add_argument(
        "--dry-run",
        action="store_true",
        help="analyse and store analyses, post nothing (analysis.dry_run = true for this run)",
    )
    check = command(
        "check",
        "validate the settings and print the plan",
        "Validate the settings (every problem at once) and print the plan: one task "
        "name per line, preflights first. Touches neither the network nor the database "
        "unless --online is given.",
    )
    check.add_argument(
        "--online",
        action="store_true",
        help="also verify the token, each repository and that the model exists",
    )
    _add_ctl(command)
    _add_demo(command)
    repl = command(
        "repl",
        "an interactive Python console with the runtime at hand",
        "An interactive Python console with the helpers status(), table(), pause(name), "
        "resume(name), run_now(name), restart(name), stop() and the supervisor `sup`. "
        "Without --attach the runtime starts in-process behind the prompt.",
    )
    repl.add_argument("--attach", action="store_true", help="drive a running daemon instead")
    _add_socket(repl)
    return parser


def _add_demo(command: Callable[[str, str, str], argparse.ArgumentParser]) -> None:
    demo = command(
        "demo",
        "the whole daemon against a simulated GitHub and a stand-in model",
        "Run the real daemon (runtime, database, pipeline, HTTP endpoint and dashboard) "
        "against a GitHub simulated inside the process: a few repositories with a history, "
        "whose new issues arrive every few seconds, analysed by a stand-in model. Nothing "
        "leaves the machine and nothing needs setting up. The dashboard's URL is the first "
        "line on stdout; logs go to stderr.",
    )
    demo.add_argument(
        "--listen",
        metavar="HOST:PORT",
        default="127.0.0.1:0",
        help="the dashboard's address (default: 127.0.0.1 and a free port)",
    )
    demo.add_argument(
        "--for",
        dest="seconds",
        metavar="SECONDS",
        type=_positive_seconds,
        default=None,
        help="stop by itself after that many seconds (default: until Ctrl-C or SIGTERM)",
    )
    demo.add_argument(
        "--database",
        metavar="PATH",
        default=None,
        help="keep the daemon's SQLite database there (default: a temporary one)",
    )
    demo.add_argument(
        "--model-from-settings",
        action="store_true",
        help="analyse with the model of the settings (--settings) when it answers, "
        "else say why and use the stand-in",
    )


def _positive_count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return int(text)


def _positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text!r}")
    return seconds


def _add_ctl(command: Callable[[str, str, str], argparse.ArgumentParser]) -> None:
    ctl = command(
        "ctl",
        "talk to a running daemon through its control socket",
        "Send one request to a running daemon through its control socket. "
        "Options may come before or after the action.",
    )
    _add_socket(ctl)
    actions = ctl.add_subparsers(
        dest="action", required=True, metavar="ACTION", parser_class=_CommandParser
    )
    for name, (summary, add_arguments, example) in CTL_ACTIONS.items():
        action = actions.add_parser(
            name,
            help=summary,
            description=summary[:1].upper() + summary[1:] + ".",
            epilog=f"example:\n  {PROG} ctl {example}\n\n{_EXIT_CODES['ctl']}",
            formatter_class=_Formatter,
        )
        if add_arguments is not None:
            add_arguments(action)
        # Accepted after the action too; SUPPRESS keeps an earlier value when absent here.
        _add_settings(action, default=argparse.SUPPRESS, must_exist=False)
        _add_socket(action, default=argparse.SUPPRESS)
