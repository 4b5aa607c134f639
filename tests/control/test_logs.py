"""Logs: text or one JSON object per line, each naming its child, the token masked."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from urllib.parse import quote, quote_plus

import pytest

from autosolve.logs import configure_logging
from autosolve.runtime import Unit
from tests.runtime.harness import Harness

TOKEN = "ghp_s3cr3t"
log = logging.getLogger("autosolve.test")


@pytest.fixture
def stream(restore_logging: None) -> io.StringIO:
    return io.StringIO()


def json_lines(stream: io.StringIO) -> list[dict[str, str]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_logs_are_one_object_per_line_naming_the_child(
    stream: io.StringIO, harness: Harness
) -> None:
    configure_logging("INFO", "json", secrets=[TOKEN], stream=stream)

    def work(ctx) -> None:
        log.info("tick of %s\nsecond line", ctx.name)
        harness.poke()

    harness.start(workers=[Unit("worker:w", work, 10.0)])
    harness.wait_for(lambda: "tick of" in stream.getvalue(), what="the tick's log line")
    records = json_lines(stream)
    tick = next(r for r in records if r["message"].startswith("tick of"))
    assert tick == {
        "time": tick["time"],
        "level": "INFO",
        "logger": "autosolve.test",
        "child": "worker:w",
        "message": "tick of worker:w\nsecond line",
    }
    assert all(set(r) >= {"time", "level", "logger", "child", "message"} for r in records)
    assert any(r["child"] == "-" and r["message"] == "phase: workers" for r in records)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_the_level_comes_from_the_settings(stream: io.StringIO, fmt: str) -> None:
    configure_logging("WARNING", fmt, stream=stream)
    log.info("quiet")
    log.warning("loud")
    assert "quiet" not in stream.getvalue()
    assert len(stream.getvalue().splitlines()) == 1 and "loud" in stream.getvalue()


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize("token", [TOKEN, 'tok"en\\with-quotes'])
def test_the_token_is_masked_in_messages_arguments_and_exception_text(
    stream: io.StringIO, fmt: str, token: str
) -> None:
    configure_logging("DEBUG", fmt, secrets=[token], stream=stream)
    log.info("token is %s", token, extra={"child": f"worker:{token}"})
    try:
        raise PermissionError(f"401 for Bearer {token}")
    except PermissionError:
        log.exception("request failed with %r", token)
    log.warning("stack", stack_info=True)
    output = stream.getvalue()
    assert token not in output
    assert json.dumps(token)[1:-1] not in output  # nor its JSON-escaped form
    assert "401 for Bearer ***" in output
    if fmt == "json":
        first, failure, _ = json_lines(stream)
        assert first["message"] == "token is ***" and first["child"] == "worker:***"
        assert failure["exception"].endswith("PermissionError: 401 for Bearer ***")
    else:
        assert "[worker:***]" in output and "Traceback" in output


def test_a_child_failure_is_logged_naming_the_child_with_the_token_masked(
    stream: io.StringIO, harness: Harness
) -> None:
    configure_logging("INFO", "json", secrets=[TOKEN], stream=stream)

    def leaky(ctx) -> None:
        raise RuntimeError(f"GET /user?access_token={TOKEN} failed")

    harness.start(workers=[Unit("worker:leaky", leaky, 10.0)])
    harness.wait_event("backoff", "worker:leaky")
    failure = next(r for r in json_lines(stream) if "trying again in" in r["message"])
    assert failure["child"] == "worker:leaky" and failure["level"] == "ERROR"
    assert "access_token=*** failed" in failure["message"]
    assert TOKEN not in stream.getvalue()


ODD_TOKEN = "ghp_a/b+c d\"e'f\\g\n"
"""A secret whose repr, JSON and URL forms all differ from it (and from each other)."""


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize(
    ("form", "encode"),
    [
        ("raw", str),
        ("repr", repr),
        ("json", lambda t: json.dumps(t)),
        ("json-ascii", lambda t: json.dumps(t + "é", ensure_ascii=True)),
        ("url", lambda t: quote(t, safe="")),
        ("url-path", quote),
        ("url-plus", quote_plus),
    ],
)
def test_the_token_is_masked_in_every_encoding_a_message_may_carry(
    stream: io.StringIO, fmt: str, form: str, encode: Callable[[str], str]
) -> None:
    configure_logging("INFO", fmt, secrets=[ODD_TOKEN], stream=stream)
    log.warning("sent %s", encode(ODD_TOKEN))
    output = stream.getvalue()
    for leaked in {encode(ODD_TOKEN), "ghp_a/b+c", "ghp_a%2Fb", "ghp_a/b%2Bc"}:
        assert leaked not in output, (form, output)
    assert "***" in output


class Stepped:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def repeats(stream: io.StringIO) -> tuple[logging.Logger, Stepped]:
    """A logger whose handler writes at most 3 lines of a template per 60 s."""
    from autosolve.logs import RepeatFilter

    clock = Stepped()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(RepeatFilter(handler.handle, repeats=3, window=60.0, clock=clock))
    logger = logging.getLogger("autosolve.test.repeats")
    logger.propagate = False
    logger.handlers = [handler]
    logger.setLevel(logging.INFO)
    yield logger, clock
    logger.handlers = []
    logger.propagate = True


def test_a_repeated_error_line_is_written_a_few_times_per_window_then_counted(
    stream: io.StringIO, repeats: tuple[logging.Logger, Stepped]
) -> None:
    logger, clock = repeats
    for n in range(100):
        logger.error("bad request from client %d", n)
    assert stream.getvalue().splitlines() == [
        f"ERROR bad request from client {n}" for n in range(3)
    ]
    clock.now += 61
    logger.error("bad request from client %d", 100)
    assert stream.getvalue().splitlines()[3:] == [
        "ERROR suppressed 97 more lines like 'bad request from client %d' in 60 s "
        "(written 3 times per window)",
        "ERROR bad request from client 100",
    ]


def test_other_templates_and_info_lines_are_never_held_back(
    stream: io.StringIO, repeats: tuple[logging.Logger, Stepped]
) -> None:
    logger, _clock = repeats
    for n in range(10):
        logger.error("bad request from client %d", n)
        logger.info("tick %d", n)
    logger.warning("something else")
    lines = stream.getvalue().splitlines()
    assert [line for line in lines if line.startswith("INFO")] == [
        f"INFO tick {n}" for n in range(10)
    ]
    assert lines[-1] == "WARNING something else"
    assert sum(line.startswith("ERROR") for line in lines) == 3


def test_the_daemons_logging_rate_limits_repeated_errors(stream: io.StringIO) -> None:
    from autosolve.logs import REPEATS

    configure_logging("INFO", "text", stream=stream)
    for _ in range(REPEATS * 10):
        log.error("GET //[x failed")
    assert stream.getvalue().count("GET //[x failed") == REPEATS
