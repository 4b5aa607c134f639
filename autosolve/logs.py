"""Log set-up: text or JSON lines on stderr, each record naming its child actor.

Secrets are masked in the formatted output, after every argument has been
interpolated, so a token that sneaks into an exception text is masked too, in
each form it may take there (see :mod:`autosolve.masking`).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO

from autosolve.masking import MASK, Masker
from autosolve.runtime import CURRENT_UNIT

__all__ = ["MASK", "configure_logging"]


class _ChildFilter(logging.Filter):
    """Give every record a ``child``: the explicit extra, else the running unit."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "child", None):
            record.child = CURRENT_UNIT.get() or "-"
        return True


class _MaskingFormatter(logging.Formatter):
    def __init__(self, secrets: Iterable[str], json_lines: bool) -> None:
        super().__init__("%(asctime)s %(levelname)-7s [%(child)s] %(name)s: %(message)s")
        self._masker = Masker(secrets)
        self._json = json_lines

    def format(self, record: logging.LogRecord) -> str:
        if not self._json:
            return self._mask(super().format(record))
        document = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "child": record.child,  # type: ignore[attr-defined]
            "message": record.getMessage(),
        }
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            document["stack"] = self.formatStack(record.stack_info)
        # Masked before encoding too, then the encoded line for the escaped forms.
        masked = {key: self._mask(str(value)) for key, value in document.items()}
        return self._mask(json.dumps(masked, ensure_ascii=False))

    def _mask(self, text: str) -> str:
        return self._masker.mask(text)


def configure_logging(
    level: str = "INFO",
    fmt: str = "text",
    secrets: Iterable[str] = (),
    stream: IO[str] | None = None,
) -> None:
    """Send autosolve's (and pykka's) logs to ``stream`` (stderr) in ``fmt``."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(_ChildFilter())
    handler.setFormatter(_MaskingFormatter(secrets, json_lines=fmt == "json"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # urllib3 logs every URL at DEBUG; keep it at WARNING unless asked.
    logging.getLogger("urllib3").setLevel(max(logging.WARNING, root.level))
