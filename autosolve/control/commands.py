"""Control commands: what a request may ask, checked, dispatched and answered.

A :class:`CommandTable` holds :class:`Command` objects by name. Its
:meth:`~CommandTable.answer` is the one dispatch entry point: the Unix socket
server calls it with each decoded request line, an HTTP endpoint with each
JSON body. It validates the request against the command's declared
arguments (unknown keys are refused, every problem named), runs the handler
and returns the reply document; it never raises.

The runtime's own commands (``status``, ``pause``, ``resume``, ``run-now``,
``restart``, ``stop``, ``start``) come from :func:`runtime_commands`. An application adds
its own without touching the server or the protocol::

    from marshmallow import fields
    from autosolve.control.commands import Command, CommandError

    def jobs(arguments):
        if store_is_gone():
            raise CommandError("the store is closed")  # -> {"ok": false, "error": ...}
        return {"ready": 3, "dead": 0}                 # -> {"ok": true, "ready": 3, ...}

    table.register(Command("jobs", jobs, help="queue counts"))
    table.register(Command("explain", explain, {"issue": fields.String(required=True)}))

A handler receives the validated arguments as a dict (the ``command`` key
removed) and returns the rest of the reply; ``"ok": true`` is added for it.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pykka
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from autosolve.control.protocol import error_reply
from autosolve.masking import Secrets
from autosolve.runtime import ChildState, ControlError

if TYPE_CHECKING:
    from autosolve.runtime import RuntimeHandle

__all__ = [
    "ANSWER_TIMEOUT",
    "NAME_COMMANDS",
    "Command",
    "CommandError",
    "CommandTable",
    "runtime_commands",
]

logger = logging.getLogger("autosolve.control")

ANSWER_TIMEOUT = 10.0
"""Seconds to wait for the supervisor's answer before answering with an error."""

NAME_COMMANDS = ("pause", "resume", "run-now", "restart")
"""The runtime commands that act on children by name or shell-style pattern."""

MAX_NAME = 1024
"""Longest accepted name or pattern; unit names are far shorter."""

Handler = Callable[[dict[str, Any]], Mapping[str, Any]]


class CommandError(Exception):
    """A request a handler refuses; its text is the error answer."""


@dataclass(frozen=True)
class Command:
    """One control command: its name, its arguments and what answers it.

    ``arguments`` maps each argument to a marshmallow field (``required=True``
    for mandatory ones), or is a whole :class:`marshmallow.Schema` subclass
    when arguments depend on each other. Keys not declared are refused.
    """

    name: str
    """What a request puts in ``"command"``."""
    handler: Handler
    """Validated arguments in, the reply (without ``ok``) out; raises CommandError to refuse."""
    arguments: Mapping[str, fields.Field[Any]] | type[Schema] = field(default_factory=dict)
    """The accepted arguments."""
    help: str = ""
    """One line for listings."""
    reveals: Callable[[], Iterable[str]] | None = None
    """Secrets its answer shows on purpose (``http-url``: the HTTP token, to whoever
    may already ask the daemon anything); every other secret is masked as always."""

    def schema(self) -> Schema:
        if isinstance(self.arguments, type):
            return self.arguments(unknown=RAISE)
        return Schema.from_dict(dict(self.arguments), name=f"{self.name}Arguments")(unknown=RAISE)


class CommandTable:
    """Registered commands and the one place requests are answered.

    ``secrets`` are masked in every answer (see :class:`autosolve.masking.Secrets`:
    the daemon's own, which a reload adds to), so no transport has to remember to.
    """

    def __init__(
        self, commands: Iterable[Command] = (), *, secrets: Iterable[str] | Secrets = ()
    ) -> None:
        self._lock = threading.Lock()
        self._commands: dict[str, tuple[Command, Schema]] = {}
        self.secrets = secrets if isinstance(secrets, Secrets) else Secrets(secrets)
        """What every answer is masked with."""
        for command in commands:
            self.register(command)

    def register(self, command: Command, *, replace: bool = False) -> None:
        """Add ``command``; with ``replace``, take the place of one of the same name.

        Raises:
            ValueError: a command of that name exists and ``replace`` is false.
        """
        with self._lock:
            if command.name in self._commands and not replace:
                raise ValueError(f"control command {command.name!r} is already registered")
            commands = dict(self._commands)
            commands[command.name] = (command, command.schema())
            self._commands = commands  # replaced whole: answer() reads without the lock

    @property
    def names(self) -> list[str]:
        """Registered command names, in registration order."""
        return list(self._commands)

    def answer(self, document: object) -> dict[str, Any]:
        """The reply to one request document; never raises.

        Returns ``{"ok": true, ...}`` from the handler, or ``{"ok": false,
        "error": ...}`` for an invalid request (one that is not even a JSON
        object included), a refusal or a handler's bug.
        """
        reveals: Iterable[str] = ()
        try:
            reply, reveals = self._answer(document)
        except Exception as error:  # the last line of defence: an answer, always
            logger.exception("control: answering %r failed", _command_of(document))
            reply = error_reply(f"internal error: {type(error).__name__}: {error}")
        masked: dict[str, Any] = self.secrets.mask_document(reply, reveals)
        return masked

    def _answer(self, document: object) -> tuple[dict[str, Any], Iterable[str]]:
        """The reply, and the secrets it may show (only a successful answer shows any)."""
        found = self._command(document)
        if isinstance(found, dict):
            return found, ()
        command, schema, arguments = found
        try:
            valid = schema.load(arguments)
        except ValidationError as error:
            return error_reply(f"invalid request: {_describe(error.messages, command.name)}"), ()
        try:
            result = command.handler(valid)
        except (CommandError, ControlError) as error:
            return error_reply(str(error)), ()
        reveals = command.reveals() if command.reveals is not None else ()
        return {"ok": True, **result}, reveals

    def _command(self, document: object) -> tuple[Command, Schema, dict[str, Any]] | dict[str, Any]:
        """The command a request names, its schema and arguments; or the error reply."""
        if not isinstance(document, Mapping):
            return error_reply('a request must be a JSON object like {"command": "status"}')
        name = document.get("command")
        if name is None:
            return error_reply("invalid request: command: missing")
        if not isinstance(name, str):
            return error_reply("invalid request: command: must be a string")
        entry = self._commands.get(name)
        if entry is None:
            known = ", ".join(self._commands)
            return error_reply(f"invalid request: command: must be one of: {known}")
        arguments = {key: value for key, value in document.items() if key != "command"}
        return (*entry, arguments)


def _command_of(document: object) -> Any:
    return document.get("command") if isinstance(document, Mapping) else None


def _describe(messages: Any, command: str) -> str:
    """Marshmallow's errors as ``key: message; key: message``, sorted by key."""
    if not isinstance(messages, dict):
        return _sentence(messages, command)
    return "; ".join(
        f"{key}: {_sentence(messages[key], command)}" for key in sorted(messages, key=str)
    )


def _sentence(value: Any, command: str) -> str:
    """``["Unknown field."]`` → ``not accepted by 'stop'``: marshmallow's wording, in ours."""
    if isinstance(value, dict):
        return "{" + _describe(value, command) + "}"
    text = "; ".join(map(str, value)) if isinstance(value, list) else str(value)
    text = text.rstrip(".")
    if text == "Unknown field":
        return f"not accepted by {command!r}"
    if text == "Missing data for required field":
        return f"required by {command!r}"
    return text[:1].lower() + text[1:]


# -- the runtime's commands ---------------------------------------------------


def runtime_commands(handle: RuntimeHandle) -> list[Command]:
    """``status``, ``pause``, ``resume``, ``run-now``, ``restart``, ``stop`` and ``start``.

    ``stop`` with ``names`` stops those children (supervisorctl's ``stop
    NAME``), without them the daemon; ``start`` starts stopped children again.
    """

    def status(arguments: dict[str, Any]) -> dict[str, Any]:
        # With any of state, pattern, offset, limit: a page (see RuntimeHandle.status).
        return {"status": handle.status(timeout=ANSWER_TIMEOUT, **arguments)}

    def stop(arguments: dict[str, Any]) -> dict[str, Any]:
        if "names" in arguments:
            return children("stop", handle.stop_children, arguments["names"])
        logger.info("control: stop requested")
        if handle.result is None:
            handle.proxy.stop()  # answered at once; the run ends asynchronously
        return {"names": []}

    def start(arguments: dict[str, Any]) -> dict[str, Any]:
        return children("start", handle.start_children, arguments["names"])

    def children(
        command: str, call: Callable[..., list[str]], patterns: list[str]
    ) -> dict[str, Any]:
        names = call(patterns, timeout=ANSWER_TIMEOUT)
        logger.info("control: %s %s -> %s", command, " ".join(patterns), ", ".join(names))
        return {"names": names}

    def by_name(command: str) -> Handler:
        def control(arguments: dict[str, Any]) -> dict[str, Any]:
            pattern = arguments["name"]
            names = handle.control(command.replace("-", "_"), pattern, timeout=ANSWER_TIMEOUT)
            logger.info("control: %s %s -> %s", command, pattern, ", ".join(names))
            return {"names": names}

        return control

    name_field = {"name": _name(required=True)}
    commands = [Command("status", status, _page_fields(), help="every child's record, or a page")]
    commands += [
        Command(name, by_name(name), name_field, help=f"{name} children by name or pattern")
        for name in NAME_COMMANDS
    ]
    commands.append(
        Command("stop", stop, _names_field(required=False), help="stop children, or the daemon")
    )
    commands.append(Command("start", start, _names_field(required=True), help="start children"))
    return [_with_runtime_errors(command, handle) for command in commands]


def _name(*, required: bool = False) -> fields.String:
    """A child's name or shell-style pattern."""
    length = validate.Length(min=1, max=MAX_NAME, error="must be 1 to {max} characters")
    return fields.String(required=required, validate=length)


def _page_fields() -> dict[str, fields.Field[Any]]:
    """``state``, ``pattern``, ``offset``, ``limit``: which children a status page shows."""
    at_least_0 = validate.Range(min=0, error="must be an integer of at least 0")
    states = [state.value for state in ChildState]
    return {
        "state": fields.String(validate=validate.OneOf(states, error="must be one of: {choices}")),
        "pattern": _name(),
        "offset": fields.Integer(strict=True, validate=at_least_0),
        "limit": fields.Integer(strict=True, validate=at_least_0),
    }


def _names_field(*, required: bool) -> dict[str, fields.Field[Any]]:
    """``names``: children by name or shell-style pattern, at least one."""
    at_least_one = validate.Length(min=1, error="must name at least one child")
    return {"names": fields.List(_name(), required=required, validate=at_least_one)}


def _with_runtime_errors(command: Command, handle: RuntimeHandle) -> Command:
    """``command`` answering pykka's errors the way an operator understands them."""

    def handler(arguments: dict[str, Any]) -> Mapping[str, Any]:
        try:
            return command.handler(arguments)
        except pykka.ActorDeadError:  # worded as the supervisor words it while it lives
            result = handle.wait(ANSWER_TIMEOUT)
            state = "failed" if result and not result.ok else "stopped"
            raise CommandError(f"the runtime is {state}") from None
        except pykka.Timeout:
            raise CommandError(
                f"the supervisor did not answer within {ANSWER_TIMEOUT:g} s (is it stopping?)"
            ) from None

    return dataclasses.replace(command, handler=handler)
