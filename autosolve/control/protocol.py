"""The control protocol: one JSON object per line, each way.

A request is ``{"command": ..., "name": ...}``; ``name`` (a child name or a
shell-style pattern) is required by ``pause``, ``resume``, ``run-now`` and
``restart`` and refused by ``status`` and ``stop``. Every request gets exactly
one answer line, in order: ``{"ok": true, "status": {...}}`` for ``status``,
``{"ok": true, "names": [...]}`` for the others, ``{"ok": false, "error": ...}``
when the request is refused. A line that is not a valid request is answered
with an error and changes nothing, so a confused client cannot hurt the daemon.

Example::

    > {"command": "pause", "name": "worker:issue-poller:*"}
    < {"ok": true, "names": ["worker:issue-poller:octo/hello"]}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

__all__ = [
    "COMMANDS",
    "MAX_LINE",
    "NAME_COMMANDS",
    "ProtocolError",
    "Request",
    "decode_reply",
    "encode",
    "error_reply",
    "parse_request",
]

MAX_LINE = 64 * 1024
"""Longest request line (bytes, newline excluded) the server reads; longer ones are refused."""

NAME_COMMANDS = ("pause", "resume", "run-now", "restart")
"""Commands that act on children and so need a ``name``."""

COMMANDS = ("status", *NAME_COMMANDS, "stop")

MAX_NAME = 1024
"""Longest accepted name or pattern; unit names are far shorter."""


class ProtocolError(ValueError):
    """A request line that is not a valid request; its text is the error answer."""


@dataclass(frozen=True)
class Request:
    """A validated control request."""

    command: str
    """One of :data:`COMMANDS`."""
    name: str | None = None
    """The child name or shell-style pattern (name commands only)."""

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"command": self.command}
        if self.name is not None:
            document["name"] = self.name
        return document


class RequestSchema(Schema):
    """What a request may contain; unknown keys are errors, not ignored."""

    class Meta:
        unknown = RAISE

    command = fields.String(
        required=True, validate=validate.OneOf(COMMANDS, error="must be one of: {choices}")
    )
    name = fields.String(
        validate=validate.Length(min=1, max=MAX_NAME, error="must be 1 to {max} characters")
    )

    @validates_schema(skip_on_field_errors=True)
    def _name_matches_command(self, data: dict[str, Any], **_: Any) -> None:
        command = data["command"]
        if command in NAME_COMMANDS and "name" not in data:
            raise ValidationError(f"required by {command!r}", "name")
        if command not in NAME_COMMANDS and "name" in data:
            raise ValidationError(f"not accepted by {command!r}", "name")


_SCHEMA = RequestSchema()


def parse_request(line: bytes | str) -> Request:
    """Validate one request line (with or without its newline).

    Raises:
        ProtocolError: the line is too long, not JSON, not an object, or not a
            valid request; the message names every problem.
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
    if not isinstance(document, dict):
        raise ProtocolError('a request must be a JSON object like {"command": "status"}')
    try:
        data = _SCHEMA.load(document)
    except ValidationError as error:
        raise ProtocolError(f"invalid request: {_describe(error.messages)}") from None
    return Request(data["command"], data.get("name"))


def _describe(messages: Any) -> str:
    """Marshmallow's errors as ``key: message; key: message``, sorted by key."""
    if not isinstance(messages, dict):
        return _sentence(messages)
    return "; ".join(f"{key}: {_sentence(messages[key])}" for key in sorted(messages, key=str))


def _sentence(value: Any) -> str:
    """``["Unknown field."]`` → ``unknown field``: marshmallow's wording, in our voice."""
    text = "; ".join(map(str, value)) if isinstance(value, list) else str(value)
    text = text.rstrip(".")
    return text[:1].lower() + text[1:]


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
    except ValueError as error:
        raise ProtocolError(f"the daemon's answer is not JSON: {error}") from None
    if not isinstance(reply, dict) or not isinstance(reply.get("ok"), bool):
        raise ProtocolError("the daemon's answer has no 'ok'")
    return reply
