"""The model's answer: a structured JSON document when asked for one, else plain text.

With ``analysis.structured`` the model is asked for exactly
:data:`ANSWER_SCHEMA` - ``{"summary": string, "labels": [string],
"duplicates": [integer], "questions": [string]}``, every key required and no
other - which both providers enforce when they can (Ollama's ``format``,
OpenAI's ``response_format``). A model may still answer something else; such
an answer is used as plain text, never a failure of its own
(:class:`PlainAnswer` says why, for the caller's log and count).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields

__all__ = ["ANSWER_SCHEMA", "Answer", "PlainAnswer", "StructuredAnswer", "parse_answer"]


class _AnswerSchema(Schema):
    """The one declaration of the answer's shape; :data:`ANSWER_SCHEMA` is derived from it."""

    class Meta:
        unknown = RAISE

    summary = fields.String(required=True)
    labels = fields.List(fields.String(), required=True)
    duplicates = fields.List(fields.Integer(strict=True), required=True)
    questions = fields.List(fields.String(), required=True)


_JSON_TYPES: dict[type[fields.Field[Any]], str] = {
    fields.String: "string",
    fields.Integer: "integer",
}


def _json_type(field: fields.Field[Any]) -> dict[str, Any]:
    if isinstance(field, fields.List):
        return {"type": "array", "items": _json_type(field.inner)}
    return {"type": _JSON_TYPES[type(field)]}


def _json_schema(schema: Schema, title: str) -> dict[str, Any]:
    return {
        "title": title,
        "type": "object",
        "properties": {name: _json_type(field) for name, field in schema.fields.items()},
        "required": list(schema.fields),
        "additionalProperties": False,
    }


_schema = _AnswerSchema()

ANSWER_SCHEMA: dict[str, Any] = _json_schema(_schema, "autosolve_analysis")
"""The JSON schema the model is asked to answer in (Ollama's ``format``, OpenAI's
``response_format``); shared, never to be modified."""


@dataclass(frozen=True)
class StructuredAnswer:
    """An answer of the schema: what the comment is rendered from."""

    summary: str
    labels: tuple[str, ...] = ()
    """Labels the model picked, in its order; the caller keeps those the repository allows."""
    duplicates: tuple[int, ...] = ()
    """Issue numbers the model thinks related; only candidates are ever shown."""
    questions: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlainAnswer:
    """An answer used as text as it is."""

    text: str
    reason: str | None = None
    """Why a structured answer was not (not JSON, not the schema); None when none was asked."""


Answer = StructuredAnswer | PlainAnswer

_FENCED = re.compile(r"\A```[A-Za-z]*\n(.*)\n```\Z", re.DOTALL)


def parse_answer(text: str) -> Answer:
    """The structured answer in ``text``, or ``text`` as a :class:`PlainAnswer` saying why not.

    A document wrapped in a code fence (```` ```json ````) is read too: models
    without a schema constraint often answer that way.
    """
    stripped = text.strip()
    fenced = _FENCED.match(stripped)
    try:
        document = json.loads(fenced.group(1) if fenced else stripped)
    except ValueError as error:
        return PlainAnswer(text, f"not JSON ({error})")
    try:
        loaded = _schema.load(document) if isinstance(document, dict) else None
    except ValidationError as error:
        return PlainAnswer(text, f"not the answer's schema: {error.messages}")
    if loaded is None:
        return PlainAnswer(text, f"not the answer's schema: a JSON {type(document).__name__}")
    return StructuredAnswer(
        summary=loaded["summary"],
        labels=tuple(loaded["labels"]),
        duplicates=tuple(loaded["duplicates"]),
        questions=tuple(loaded["questions"]),
    )
