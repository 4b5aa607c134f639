"""The stand-in model: Ollama's API, answers read off the prompt, the same every time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from autosolve.demo.model import STAND_IN_MODEL, StandInModel
from autosolve.domain.prompt import PromptTemplate
from autosolve.infra.ollama import OllamaClient

SCHEMA = {
    "type": "object",
    "properties": {
        "summary": {"type": "string"},
        "labels": {"type": "array", "items": {"type": "string"}},
        "duplicates": {"type": "array", "items": {"type": "integer"}},
        "questions": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["summary", "labels", "duplicates", "questions"],
}

LABELS = ("bug", "documentation", "area: config", "area: cli", "performance")


@pytest.fixture
def model() -> Iterator[StandInModel]:
    with StandInModel() as stand_in:
        yield stand_in
    assert not stand_in.route_errors


def prompt(title: str, body: str, related: tuple[str, ...] = ()) -> str:
    """A prompt of the built-in template, with the context a grounded prompt adds."""
    text = PromptTemplate.builtin().text.format(
        kind="issue", repository="acme/rocket", number=12, author="lee", labels="none",
        title=title, body=body,
    )  # fmt: skip
    context = "\n".join(related)
    return f"{text}\nLabels of this repository: {', '.join(LABELS)}\n\nRelated issues:\n{context}\n"


def generate(model: StandInModel, text: str, **extra: Any) -> dict[str, Any]:
    body = {"model": STAND_IN_MODEL, "prompt": text, "stream": False, **extra}
    answer = requests.post(f"{model.url}/api/generate", json=body, timeout=5)
    assert answer.status_code == 200
    document: dict[str, Any] = answer.json()
    return document


def structured(model: StandInModel, text: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(generate(model, text, format=SCHEMA)["response"])
    return document


CRASH = prompt(
    "Crash when the config file is empty",
    "`rocket deploy` with an empty rocket.toml ends with KeyError: 'targets'. Version 2.5.0.",
    ("#3 [closed] Crash when rocket.toml is empty", "#7 [open] Add a --dry-run flag to deploy"),
)


def test_asked_with_a_format_it_answers_in_the_schema(model: StandInModel) -> None:
    answer = structured(model, CRASH)
    assert set(answer) == set(SCHEMA["required"])  # type: ignore[arg-type]
    assert (
        isinstance(answer["summary"], str)
        and "Crash when the config file is empty" in answer["summary"]
    )
    assert all(isinstance(n, int) for n in answer["duplicates"])
    assert all(isinstance(q, str) for q in answer["questions"] + answer["labels"])


def test_labels_are_picked_among_the_repository_labels_the_prompt_names(
    model: StandInModel,
) -> None:
    labels = structured(model, CRASH)["labels"]
    assert labels == ["area: config", "bug"]
    assert set(labels) <= set(LABELS)


def test_a_related_issue_with_a_similar_title_is_a_possible_duplicate(model: StandInModel) -> None:
    assert structured(model, CRASH)["duplicates"] == [3]


def test_a_request_asks_what_it_is_for_and_a_crash_report_what_is_missing(
    model: StandInModel,
) -> None:
    request = prompt("Add a JSON export", "We would like reports as JSON.")
    assert structured(model, request)["questions"] == [
        "What would you use it for, and how do you work around it today?"
    ]
    assert structured(model, CRASH)["questions"] == ["What are the exact steps to reproduce it?"]


def test_without_a_format_the_answer_is_prose_through_the_ollama_client(
    model: StandInModel,
) -> None:
    text = OllamaClient(model.url, STAND_IN_MODEL, timeout=5).generate(CRASH)
    assert "“Crash when the config file is empty”" in text
    assert "Possibly related: #3" in text and "Suggested labels: area: config, bug." in text
    assert not text.lstrip().startswith("{")


def test_the_same_prompt_gets_the_same_answer(model: StandInModel) -> None:
    assert generate(model, CRASH)["response"] == generate(model, CRASH)["response"]


def test_it_lists_its_model_and_refuses_others_as_ollama_does(model: StandInModel) -> None:
    tags = requests.get(f"{model.url}/api/tags", timeout=5).json()
    assert [tag["name"] for tag in tags["models"]] == [STAND_IN_MODEL]
    body = {"model": "llama3", "prompt": "hi", "stream": False}
    refused = requests.post(f"{model.url}/api/generate", json=body, timeout=5)
    assert refused.status_code == 404 and "llama3" in refused.json()["error"]
