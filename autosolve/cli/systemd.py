"""systemd's notify protocol: ``READY=1``, ``STOPPING=1``, ``STATUS=``, ``WATCHDOG=1``.

Under ``Type=notify`` systemd passes a datagram socket in ``NOTIFY_SOCKET``
(a path, or ``@name`` in the abstract namespace) and, with ``WatchdogSec``,
the period in ``WATCHDOG_USEC``. The protocol is one datagram of
``KEY=value`` lines per message; a dozen lines here rather than a dependency
(``sdnotify`` and ``systemd-python`` are unmaintained or need libsystemd).

Sending never blocks and never raises: a service manager that went away must
not stop the daemon. Without ``NOTIFY_SOCKET`` every method is a no-op.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

__all__ = ["Notifier"]

logger = logging.getLogger("autosolve")


class Notifier:
    """Sends notify messages to the service manager named by the environment."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        environ = os.environ if environ is None else environ
        address = environ.get("NOTIFY_SOCKET", "")
        self._address = "\0" + address[1:] if address.startswith("@") else address
        self._socket: socket.socket | None = None
        self._warned = False
        self.watchdog_interval = _watchdog_interval(environ)
        """Seconds between ``WATCHDOG=1`` pings (half the manager's timeout), or None."""

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    def ready(self, status: str) -> None:
        self.notify("READY=1", f"STATUS={status}")

    def stopping(self, status: str = "stopping") -> None:
        self.notify("STOPPING=1", f"STATUS={status}")

    def status(self, text: str) -> None:
        self.notify(f"STATUS={text}")

    def watchdog(self) -> None:
        self.notify("WATCHDOG=1")

    def notify(self, *lines: str) -> None:
        """Send one message of ``lines``; a failure is logged once, never raised."""
        if not self._address:
            return
        message = "\n".join(line.replace("\n", " ") for line in lines).encode()
        try:
            if self._socket is None:
                self._socket = socket.socket(
                    socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC
                )
            self._socket.sendto(message, socket.MSG_DONTWAIT, self._address)
        except OSError as error:
            if not self._warned:
                self._warned = True
                logger.warning("cannot notify the service manager at NOTIFY_SOCKET: %s", error)

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def _watchdog_interval(environ: Mapping[str, str]) -> float | None:
    """Half of ``WATCHDOG_USEC`` in seconds, if the watchdog is meant for this process."""
    pid = environ.get("WATCHDOG_PID")
    if pid and pid.strip() != str(os.getpid()):
        return None
    try:
        usec = int(environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec / 2_000_000 if usec > 0 else None
