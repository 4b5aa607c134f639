"""The command table: the one place a request document is checked and answered."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from marshmallow import Schema, ValidationError, fields, validates_schema

from autosolve.control.commands import (
    NAME_COMMANDS,
    Command,
    CommandError,
    CommandTable,
    runtime_commands,
)
from autosolve.runtime import RuntimeHandle, Unit, start_runtime

RUNTIME_COMMANDS = ["status", *NAME_COMMANDS, "stop", "start"]


def noop(ctx) -> None:
    pass


@pytest.fixture(scope="module")
def handle() -> Iterator[RuntimeHandle]:
    """One runtime for the module: nothing here changes its state."""
    h = start_runtime([], [Unit("worker:w", noop, 3600.0)])
    yield h
    h.stop(timeout=10.0)


@pytest.fixture
def table(handle: RuntimeHandle) -> CommandTable:
    return CommandTable(runtime_commands(handle))


# -- the runtime's commands ----------------------------------------------------


def test_the_runtime_commands_are_built_in(table: CommandTable) -> None:
    assert table.names == RUNTIME_COMMANDS


def test_status_answers_with_the_status_document(table: CommandTable) -> None:
    reply = table.answer({"command": "status"})
    assert reply["ok"] is True and set(reply) == {"ok", "status"}
    assert [c["name"] for c in reply["status"]["children"]] == ["worker:w"]


@pytest.mark.parametrize("command", NAME_COMMANDS)
def test_name_commands_without_a_name_are_refused_naming_the_field(
    table: CommandTable, command: str
) -> None:
    assert table.answer({"command": command}) == {
        "ok": False,
        "error": f"invalid request: name: required by '{command}'",
    }


@pytest.mark.parametrize("command", ["status", "stop"])
def test_a_name_on_status_or_stop_is_refused_rather_than_ignored(
    table: CommandTable, command: str
) -> None:
    reply = table.answer({"command": command, "name": "worker:x"})
    assert reply == {"ok": False, "error": f"invalid request: name: not accepted by '{command}'"}


def test_an_unknown_command_is_refused_listing_the_known_ones(table: CommandTable) -> None:
    assert table.answer({"command": "reboot"}) == {
        "ok": False,
        "error": "invalid request: command: must be one of: " + ", ".join(RUNTIME_COMMANDS),
    }


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"name": "x"}, "invalid request: command: missing"),
        ({"command": 1}, "invalid request: command: must be a string"),
        ({"command": "pause", "name": 7}, "name: not a valid string"),
        ({"command": "pause", "name": ""}, "name: must be 1 to 1024 characters"),
        ({"command": "pause", "name": "x" * 1025}, "name: must be 1 to 1024 characters"),
        ({"command": "pause", "name": [[[[]]]]}, "name: not a valid string"),
    ],
)
def test_badly_typed_fields_are_refused_naming_the_field(
    table: CommandTable, document: dict[str, Any], message: str
) -> None:
    reply = table.answer(document)
    assert reply["ok"] is False and message in reply["error"]


def test_unknown_keys_are_refused_all_at_once_sorted_by_key(table: CommandTable) -> None:
    reply = table.answer({"command": "status", "zeta": 1, "alpha": 2})
    assert reply["error"] == (
        "invalid request: alpha: not accepted by 'status'; zeta: not accepted by 'status'"
    )


@pytest.mark.parametrize("document", [None, [], "status", 7])
def test_a_document_that_is_not_an_object_is_an_error_answer(document: Any) -> None:
    reply = CommandTable().answer(document)
    assert reply == {
        "ok": False,
        "error": 'a request must be a JSON object like {"command": "status"}',
    }


def test_a_refusal_of_the_supervisor_is_the_error_answer(table: CommandTable) -> None:
    reply = table.answer({"command": "pause", "name": "worker:nope*"})
    assert reply == {"ok": False, "error": "no child matches 'worker:nope*'"}


def test_stop_with_names_stops_those_children_and_start_starts_them_again() -> None:
    handle = start_runtime([], [Unit("worker:w", noop, 3600.0), Unit("worker:x", noop, 3600.0)])
    table = CommandTable(runtime_commands(handle))
    try:
        assert table.answer({"command": "stop", "names": ["worker:w"]}) == {
            "ok": True, "names": ["worker:w"],
        }  # fmt: skip
        states = {c["name"]: c["state"] for c in handle.status()["children"]}
        assert states["worker:x"] != "stopped" and handle.result is None
        assert table.answer({"command": "start", "names": ["worker:*"]}) == {
            "ok": True, "names": ["worker:w"],
        }  # fmt: skip
    finally:
        handle.stop(timeout=10.0)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"command": "start"}, "invalid request: names: required by 'start'"),
        ({"command": "start", "names": []}, "names: must name at least one child"),
        ({"command": "stop", "names": []}, "names: must name at least one child"),
        ({"command": "stop", "names": "worker:w"}, "names: not a valid list"),
        ({"command": "start", "names": ["worker:nope"]}, "no child matches 'worker:nope'"),
        ({"command": "start", "names": ["worker:w"]}, "'worker:w' matches no stopped child"),
    ],
)
def test_start_and_stop_of_children_refuse_what_names_no_child(
    table: CommandTable, document: dict[str, Any], message: str
) -> None:
    reply = table.answer(document)
    assert reply["ok"] is False and message in reply["error"]


def test_after_the_run_ended_controls_are_refused_as_stopped() -> None:
    handle = start_runtime([], [Unit("worker:w", noop, 3600.0)])
    handle.stop(timeout=10.0)
    table = CommandTable(runtime_commands(handle))
    assert table.answer({"command": "resume", "name": "worker:w"}) == {
        "ok": False,
        "error": "the runtime is stopped",
    }
    assert table.answer({"command": "status"})["status"]["phase"] == "stopped"


# -- registering commands ------------------------------------------------------


def explain(arguments: dict[str, Any]) -> dict[str, Any]:
    if arguments["issue"] == "octo/hello#404":
        raise CommandError("no issue octo/hello#404 in the mirror")
    return {"issue": arguments["issue"], "dry_run": arguments.get("dry_run", False)}


EXPLAIN = Command(
    "explain",
    explain,
    {"issue": fields.String(required=True), "dry_run": fields.Boolean()},
    help="analyse one issue now",
)


def test_a_registered_command_is_answered_with_its_validated_arguments(
    table: CommandTable,
) -> None:
    table.register(EXPLAIN)
    assert table.names == [*RUNTIME_COMMANDS, "explain"]
    reply = table.answer({"command": "explain", "issue": "octo/hello#12", "dry_run": True})
    assert reply == {"ok": True, "issue": "octo/hello#12", "dry_run": True}


def test_a_registered_commands_arguments_are_checked_like_the_runtimes(
    table: CommandTable,
) -> None:
    table.register(EXPLAIN)
    assert table.answer({"command": "explain"})["error"] == (
        "invalid request: issue: required by 'explain'"
    )
    assert table.answer({"command": "explain", "issue": "o/n#1", "id": 3})["error"] == (
        "invalid request: id: not accepted by 'explain'"
    )
    assert table.answer({"command": "explain", "issue": "o/n#1", "dry_run": "maybe"})["error"] == (
        "invalid request: dry_run: not a valid boolean"
    )


def test_a_command_error_is_the_error_answer(table: CommandTable) -> None:
    table.register(EXPLAIN)
    assert table.answer({"command": "explain", "issue": "octo/hello#404"}) == {
        "ok": False,
        "error": "no issue octo/hello#404 in the mirror",
    }


class RetryDeadArguments(Schema):
    id = fields.Raw(required=True)

    @validates_schema
    def _id_or_all(self, data: dict[str, Any], **_: Any) -> None:
        value = data["id"]
        if value != "all" and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValidationError('must be a job id or "all"', "id")


def test_a_command_may_declare_its_arguments_as_a_schema(table: CommandTable) -> None:
    table.register(Command("retry-dead", lambda a: {"retried": [a["id"]]}, RetryDeadArguments))
    assert table.answer({"command": "retry-dead", "id": 7}) == {"ok": True, "retried": [7]}
    assert table.answer({"command": "retry-dead", "id": "all"})["ok"] is True
    assert table.answer({"command": "retry-dead", "id": "x"})["error"] == (
        'invalid request: id: must be a job id or "all"'
    )
    assert table.answer({"command": "retry-dead", "id": 1, "x": 1})["error"] == (
        "invalid request: x: not accepted by 'retry-dead'"
    )


def test_registering_a_name_twice_is_refused_unless_replacing(table: CommandTable) -> None:
    with pytest.raises(ValueError, match="'status' is already registered"):
        table.register(Command("status", lambda a: {}))
    cluster = Command("status", lambda a: {"cluster": a.get("cluster")}, {"cluster": fields.Bool()})
    table.register(cluster, replace=True)
    assert table.answer({"command": "status", "cluster": True}) == {"ok": True, "cluster": True}


def test_a_failing_handler_is_an_internal_error_answer_and_is_logged(
    table: CommandTable, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_arguments: dict[str, Any]) -> dict[str, Any]:
        raise KeyError("oops")

    table.register(Command("broken", broken))
    assert table.answer({"command": "broken"}) == {
        "ok": False,
        "error": "internal error: KeyError: 'oops'",
    }
    assert any(r.exc_info and "broken" in r.getMessage() for r in caplog.records)


def test_a_handler_returning_garbage_is_still_an_answer(table: CommandTable) -> None:
    table.register(Command("garbage", lambda a: 42))  # type: ignore[arg-type, return-value]
    reply = table.answer({"command": "garbage"})
    assert reply["ok"] is False and reply["error"].startswith("internal error: TypeError")


@pytest.mark.parametrize(
    "secret", ['s3cr"t', "tok\\en", "ghp_x/y+z=", "tok'en\n"], ids=["quote", "bs", "url", "nl"]
)
def test_secrets_are_masked_in_every_answer_in_every_form(secret: str) -> None:
    from urllib.parse import quote

    leaks = {"raw": secret, "repr": repr(secret), "url": f"https://x/?t={quote(secret, safe='')}"}
    table = CommandTable([Command("leak", lambda a: {"leaks": leaks})], secrets=[secret])
    reply = table.answer({"command": "leak"})
    assert reply == {"ok": True, "leaks": {"raw": "***", "repr": reply["leaks"]["repr"],
                                           "url": "https://x/?t=***"}}  # fmt: skip
    assert reply["leaks"]["repr"] in ("'***'", '"***"')
