"""The operator surface's transport: control socket, protocol, commands, client.

:class:`ControlServer` serves the line-delimited JSON protocol of
:mod:`.protocol` on a Unix socket and answers through a :class:`CommandTable`
(:mod:`.commands`: the runtime's commands built in, the application's
registered); :class:`ControlClient` speaks it. The command line
(:mod:`autosolve.cli`) builds on this package; nothing here imports it, and
nothing here knows about GitHub: it steers any :class:`RuntimeHandle`.
"""

from __future__ import annotations

from autosolve.control.client import ControlClient, DaemonUnavailable
from autosolve.control.commands import Command, CommandError, CommandTable, runtime_commands
from autosolve.control.protocol import MAX_LINE, ProtocolError, parse_request
from autosolve.control.server import ControlServer
from autosolve.control.socket_file import ControlSocketError, SocketInUseError

__all__ = [
    "MAX_LINE",
    "Command",
    "CommandError",
    "CommandTable",
    "ControlClient",
    "ControlServer",
    "ControlSocketError",
    "DaemonUnavailable",
    "ProtocolError",
    "SocketInUseError",
    "parse_request",
    "runtime_commands",
]
