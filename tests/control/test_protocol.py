"""The control protocol's framing: what a line may be, and what a bad one is told.

What a request may ask (commands, arguments) is tested in test_commands.py.
"""

from __future__ import annotations

import json

import pytest

from autosolve.control.protocol import (
    MAX_LINE,
    ProtocolError,
    decode_reply,
    encode,
    parse_request,
)


def line(document: object) -> bytes:
    return json.dumps(document).encode() + b"\n"


def test_a_line_decodes_to_its_json_object() -> None:
    document = {"command": "pause", "name": "worker:issue-poller:*"}
    assert parse_request(line(document)) == document


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"status\n", "request is not JSON"),
        (b'{"command": "status"\n', "request is not JSON"),
        (b'["status"]\n', "a request must be a JSON object"),
        (b"null\n", "a request must be a JSON object"),
        (b'{"command": "\xff"}\n', "request is not UTF-8 text"),
        (b"[" * 50_000 + b"\n", "request is nested too deeply"),
        (b'{"a":' * 10_000 + b"1" + b"}" * 10_000 + b"\n", "request is nested too deeply"),
    ],
    ids=["word", "unclosed", "array", "null", "latin-1", "50000-brackets", "10000-objects"],
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
    assert parse_request(exact.encode() + b"\r\n") == {"command": "status"}


def test_text_lines_parse_like_byte_lines() -> None:
    assert parse_request('{"command": "run-now", "name": "w"}') == {
        "command": "run-now",
        "name": "w",
    }


def test_a_request_serialises_to_a_line_the_parser_accepts() -> None:
    for request in ({"command": "status"}, {"command": "restart", "name": "worker:*"}):
        encoded = encode(request)
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
