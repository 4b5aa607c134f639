"""The operator surface of a running runtime: control socket, ``ctl`` and REPL.

:class:`ControlServer` serves the line-delimited JSON protocol of
:mod:`.protocol` on a Unix socket; :class:`ControlClient` speaks it.
``autosolve-supervisor ctl`` and ``repl --attach`` are thin layers over the
client. Nothing here knows about GitHub: it steers any :class:`RuntimeHandle`.
"""

from __future__ import annotations

from autosolve.control.client import ControlClient, DaemonUnavailable
from autosolve.control.protocol import MAX_LINE, ProtocolError, Request, parse_request
from autosolve.control.server import ControlServer
from autosolve.control.socket_file import ControlSocketError, SocketInUseError

__all__ = [
    "MAX_LINE",
    "ControlClient",
    "ControlServer",
    "ControlSocketError",
    "DaemonUnavailable",
    "ProtocolError",
    "Request",
    "SocketInUseError",
    "parse_request",
]
