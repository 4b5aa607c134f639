"""Client of any OpenAI-compatible server: one non-streaming chat completion, bounded as a whole.

vLLM, llama.cpp's server, LM Studio and hosted APIs speak the same protocol:
``POST {url}/chat/completions`` with ``Authorization: Bearer {api_key}``,
``GET {url}/models`` to list the models. A structured answer is asked with
``response_format`` ``json_schema`` (strict); a server that refuses it (a 400
naming ``response_format``) is asked for ``json_object`` instead, from then on.

The key is sent in the header only. Every text the server sends back is
masked before it reaches a message (a server may echo the key it refused),
and the key is in no ``repr``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import requests
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from autosolve.infra.model.client import HTTPModelClient
from autosolve.infra.model.errors import (
    ModelAccessError,
    ModelError,
    ModelMalformedResponseError,
    ModelNotFoundError,
    ModelServerError,
)
from autosolve.infra.model.exchange import NOT_JSON, Reply, timed
from autosolve.infra.model.protocol import Availability
from autosolve.masking import Masker

__all__ = ["OpenAIClient"]

logger = logging.getLogger(__name__)

KEY_HINT = "check openai.api_key / AUTOSOLVE_OPENAI__API_KEY"


class _Message(Schema):
    class Meta:
        unknown = EXCLUDE

    content = fields.String(required=True, allow_none=True)


class _Choice(Schema):
    class Meta:
        unknown = EXCLUDE

    message = fields.Nested(_Message, required=True)


class _Completion(Schema):
    class Meta:
        unknown = EXCLUDE

    choices = fields.List(fields.Nested(_Choice), required=True, validate=validate.Length(min=1))


_completion = _Completion()


class OpenAIClient(HTTPModelClient):
    """Asks one model of an OpenAI-compatible server; thread-safe (one shared session).

    Built as :class:`~autosolve.infra.model.client.HTTPModelClient` is
    (``openai.url``, the API's base like ``http://host:8000/v1``,
    ``openai.model``, ``openai.timeout``), and with ``api_key``
    (``openai.api_key``; "" sends none).
    """

    provider = "openai"

    def __init__(
        self,
        url: str,
        model: str,
        timeout: float,
        api_key: str = "",
        session: requests.Session | None = None,
        on_request: Callable[[float], None] | None = None,
    ) -> None:
        super().__init__(url, model, timeout, session, on_request)
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._masker = Masker([api_key, self._headers.get("Authorization", "")])
        self._json_object_only = False
        """Set once the server refused a json_schema response format."""

    def __repr__(self) -> str:
        key = "<set>" if self._headers else "<none>"
        return (
            f"OpenAIClient(url={self.url!r}, model={self.model!r}, timeout={self.timeout!r}, "
            f"api_key={key})"
        )

    def generate(self, prompt: str, schema: Mapping[str, Any] | None = None) -> str:
        """The model's whole answer to ``prompt`` (one user message, ``stream: false``).

        Args:
            schema: a JSON schema the answer must follow (``response_format``).

        Raises:
            ModelTimeoutError: the answer was not complete within ``timeout``.
            requests.ConnectionError: the server cannot be reached (a short message).
            ModelAccessError, ModelNotFoundError, ModelServerError, ModelError,
            ModelMalformedResponseError: see :mod:`autosolve.infra.model.errors`.
        """
        with timed(self.on_request, "the OpenAI client"):
            reply = self._complete(prompt, schema)
            if schema is not None and not self._json_object_only and _refuses_schema(reply):
                logger.info(
                    "%s refuses json_schema response formats; asking for json_object instead",
                    self.url,
                )
                self._json_object_only = True
                reply = self._complete(prompt, schema)
        return self._answer(reply)

    def _complete(self, prompt: str, schema: Mapping[str, Any] | None) -> Reply:
        request: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "user", "content": prompt}],
            "stream": False,
        }
        if schema is not None:
            request["response_format"] = self._response_format(schema)
        url = f"{self.url}/chat/completions"
        return self._exchange.request("POST", url, json=request, headers=self._headers)

    def _response_format(self, schema: Mapping[str, Any]) -> dict[str, Any]:
        if self._json_object_only:
            return {"type": "json_object"}
        name = str(schema.get("title") or "answer")
        return {
            "type": "json_schema",
            "json_schema": {"name": name, "schema": dict(schema), "strict": True},
        }

    def _answer(self, reply: Reply) -> str:
        where = f"POST {self.url}/chat/completions"
        self._raise_for_status(where, reply)
        if reply.payload is NOT_JSON:
            raise ModelMalformedResponseError(
                f"{where}: 200 body is not JSON (starts with {self._mask(reply.text[:120])!r}); "
                "is openai.url really an OpenAI-compatible API (it ends in /v1)?",
                status=reply.status,
            )
        try:
            completion = _completion.load(reply.payload)
        except ValidationError as error:
            raise ModelMalformedResponseError(
                f"{where}: 200 body is not a chat completion: {self._mask(str(error.messages))}",
                status=reply.status,
            ) from None
        return completion["choices"][0]["message"]["content"] or ""

    def _raise_for_status(self, where: str, reply: Reply) -> None:
        status = reply.status
        if status == 200:
            return
        said = self._said(reply)
        if status in (401, 403):
            raise ModelAccessError(
                f"{where}: {status}{said}: the server refuses the API key; {KEY_HINT}",
                status=status,
            )
        if status == 404:
            raise ModelNotFoundError(
                f"{where}: 404{said}: model {self.model!r} is not available on {self.url}; "
                "check openai.model (and that openai.url is the API's base, like …/v1)",
                status=status,
            )
        if status == 429 or status >= 500:
            raise ModelServerError(
                f"{where}: {status}{said}: the server is busy or failed; will retry",
                status=status,
                wait=_retry_after(reply) if status == 429 else 0.0,
            )
        if status >= 400:
            raise ModelError(f"{where}: {status}{said}: request refused", status=status)
        raise ModelMalformedResponseError(f"{where}: unexpected status {status}", status=status)

    def check(self) -> Availability:
        """``GET /models``: does the server answer, accept the key and list the model?"""
        url = f"{self.url}/models"
        try:
            reply = self._exchange.request("GET", url, headers=self._headers)
        except requests.RequestException as error:
            return Availability(False, str(error))
        if reply.status in (401, 403):
            return Availability(
                False, f"GET {url}: {reply.status}: the server refuses the API key; {KEY_HINT}"
            )
        if reply.status != 200:
            return Availability(False, f"GET {url}: {reply.status}{self._said(reply)}")
        listed = reply.payload.get("data") if isinstance(reply.payload, dict) else None
        names = sorted(str(m["id"]) for m in listed or () if isinstance(m, dict) and "id" in m)
        if self.model in names:
            return Availability(True, f"available on {self.url}")
        return Availability(
            False,
            f"not on {self.url} (it has: {self._mask(', '.join(names[:10])) or 'none'}); "
            "change openai.model",
        )

    def _said(self, reply: Reply) -> str:
        """What the server said about an error, masked, as `` (the server says: …)``."""
        said = _error_message(reply)
        return f" (the server says: {self._mask(said)})" if said else ""

    def _mask(self, text: str) -> str:
        return self._masker.mask(text)


def _error_message(reply: Reply) -> str:
    """The ``error.message`` of OpenAI's error object, else the start of the body."""
    payload = reply.payload
    if payload is NOT_JSON:
        return reply.text[:200].strip()
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or "")[:300]
    return str(error)[:300] if error else ""


def _refuses_schema(reply: Reply) -> bool:
    """A 400 that names the response format: the server knows no json_schema."""
    said = _error_message(reply).lower()
    return reply.status == 400 and ("response_format" in said or "json_schema" in said)


def _retry_after(reply: Reply) -> float:
    try:
        return max(float(reply.headers.get("retry-after", "")), 0.0)
    except ValueError:
        return 0.0
