"""The control protocol's framing: one JSON object per line, each way.

A request is a JSON object naming its ``command`` plus that command's
arguments, e.g. ``{"command": "pause", "name": "worker:issue-poller:*"}``;
which commands exist and what arguments they take is the command table's
business (:mod:`.commands`). Every request gets exactly one answer line, in
order: ``{"ok": true, ...}`` or ``{"ok": false, "error": ...}``. A line that
is not a JSON object is answered with an error and changes nothing, so a
confused client cannot hurt the daemon.

Example::

    > {"command": "pause", "name": "worker:issue-poller:*"}
    < {"ok": true, "names": ["worker:issue-poller:octo/hello"]}
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "MAX_LINE",
    "ProtocolError",
    "decode_reply",
    "encode",
    "error_reply",
    "parse_request",
]

MAX_LINE = 64 * 1024
"""Longest request line (bytes, newline excluded) the server reads; longer ones are refused."""


class ProtocolError(ValueError):
    """A request line that is not a valid request; its text is the error answer."""


def parse_request(line: bytes | str) -> dict[str, Any]:
    """Decode one request line (with or without its newline) into its JSON object.

    Raises:
        ProtocolError: the line is too long, not UTF-8, not JSON, nested too
            deeply for the decoder, or not an object.
    """
    if isinstance(line, bytes):
        if len(line.rstrip(b"\r\n")) > MAX_LINE:
            raise ProtocolError(f"request too long: at most {MAX_LINE} bytes per line")
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("request is not UTF-8 text") from None
    elif len(line.rstrip("\r\n").encode("utf-8")) > MAX_LINE:
        raise ProtocolError(f"request too long: at most {MAX_LINE} bytes per line")
    try:
        document = json.loads(line)
    except ValueError as error:
        raise ProtocolError(f"request is not JSON: {error}") from None
    except RecursionError:  # e.g. 50,000 "[": the decoder recurses once per level
        raise ProtocolError("request is nested too deeply") from None
    if not isinstance(document, dict):
        raise ProtocolError('a request must be a JSON object like {"command": "status"}')
    return document


def encode(message: dict[str, Any]) -> bytes:
    """One protocol line: compact JSON and a newline."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def error_reply(error: str) -> dict[str, Any]:
    return {"ok": False, "error": error}


def decode_reply(line: bytes) -> dict[str, Any]:
    """Parse an answer line.

    Raises:
        ProtocolError: the daemon's answer is not a JSON object with ``ok``.
    """
    try:
        reply = json.loads(line)
    except (ValueError, RecursionError) as error:
        raise ProtocolError(f"the daemon's answer is not JSON: {error}") from None
    if not isinstance(reply, dict) or not isinstance(reply.get("ok"), bool):
        raise ProtocolError("the daemon's answer has no 'ok'")
    return reply
