"""The control protocol: what a request may be, and what a bad one is told."""

from __future__ import annotations

import json

import pytest

from autosolve.control.protocol import (
    COMMANDS,
    MAX_LINE,
    NAME_COMMANDS,
    ProtocolError,
    Request,
    decode_reply,
    encode,
    parse_request,
)


def line(document: object) -> bytes:
    return json.dumps(document).encode() + b"\n"


@pytest.mark.parametrize("command", ["status", "stop"])
def test_status_and_stop_need_no_name(command: str) -> None:
    assert parse_request(line({"command": command})) == Request(command)


@pytest.mark.parametrize("command", NAME_COMMANDS)
def test_name_commands_carry_a_name_or_pattern(command: str) -> None:
    request = parse_request(line({"command": command, "name": "worker:issue-poller:*"}))
    assert request == Request(command, "worker:issue-poller:*")


@pytest.mark.parametrize("command", NAME_COMMANDS)
def test_name_commands_without_a_name_are_refused_naming_the_field(command: str) -> None:
    with pytest.raises(ProtocolError, match=rf"name: required by '{command}'"):
        parse_request(line({"command": command}))


@pytest.mark.parametrize("command", ["status", "stop"])
def test_a_name_on_status_or_stop_is_refused_rather_than_ignored(command: str) -> None:
    with pytest.raises(ProtocolError, match=rf"name: not accepted by '{command}'"):
        parse_request(line({"command": command, "name": "worker:x"}))


def test_an_unknown_command_is_refused_listing_the_known_ones() -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_request(line({"command": "reboot"}))
    assert str(caught.value) == ("invalid request: command: must be one of: " + ", ".join(COMMANDS))


def test_a_missing_command_is_refused() -> None:
    with pytest.raises(ProtocolError, match="command: missing data for required field"):
        parse_request(line({"name": "x"}))


def test_unknown_keys_are_refused_all_at_once_sorted_by_key() -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_request(line({"command": "status", "zeta": 1, "alpha": 2}))
    assert str(caught.value) == "invalid request: alpha: unknown field; zeta: unknown field"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"command": 1}, "command: not a valid string"),
        ({"command": "pause", "name": 7}, "name: not a valid string"),
        ({"command": "pause", "name": ""}, "name: must be 1 to 1024 characters"),
        ({"command": "pause", "name": "x" * 1025}, "name: must be 1 to 1024 characters"),
    ],
)
def test_badly_typed_fields_are_refused_naming_the_field(document: object, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        parse_request(line(document))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"status\n", "request is not JSON"),
        (b'{"command": "status"\n', "request is not JSON"),
        (b'["status"]\n', "a request must be a JSON object"),
        (b"null\n", "a request must be a JSON object"),
        (b'{"command": "\xff"}\n', "request is not UTF-8 text"),
    ],
)
def test_lines_that_are_not_json_objects_are_refused(raw: bytes, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        parse_request(raw)


def test_a_line_longer_than_the_cap_is_refused_before_parsing() -> None:
    padding = " " * MAX_LINE
    with pytest.raises(ProtocolError, match=f"request too long: at most {MAX_LINE} bytes"):
        parse_request(f'{{"command": "status"}}{padding}\n'.encode())
    with pytest.raises(ProtocolError, match="request too long"):
        parse_request(f'{{"command": "status"}}{padding}')


def test_a_line_of_exactly_the_cap_is_accepted() -> None:
    body = '{"command": "status"}'
    exact = body + " " * (MAX_LINE - len(body))
    assert parse_request(exact.encode() + b"\r\n") == Request("status")


def test_text_lines_parse_like_byte_lines() -> None:
    assert parse_request('{"command": "run-now", "name": "w"}') == Request("run-now", "w")


def test_a_request_serialises_to_a_line_the_parser_accepts() -> None:
    for request in (Request("status"), Request("restart", "worker:*")):
        encoded = encode(request.to_json())
        assert encoded.endswith(b"\n") and encoded.count(b"\n") == 1
        assert parse_request(encoded) == request


def test_answers_are_one_line_even_when_they_contain_newlines() -> None:
    encoded = encode({"ok": False, "error": "two\nlines"})
    assert encoded.count(b"\n") == 1
    assert decode_reply(encoded) == {"ok": False, "error": "two\nlines"}


@pytest.mark.parametrize("raw", [b"not json\n", b"[]\n", b'{"status": {}}\n', b'{"ok": 1}\n'])
def test_an_answer_without_a_boolean_ok_is_a_protocol_error(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode_reply(raw)
