"""A fake OpenAI-compatible server: ``/v1/chat/completions`` and ``/v1/models`` in OpenAI's shapes.

Answers are chat.completion objects (id, object, created, model, choices,
usage), the model list a list object, and errors OpenAI's error objects
``{"error": {"message", "type", "param", "code"}}``. Besides the shared fault
injection it can require a bearer key (and, as some servers do, echo a wrong
one in its refusal), refuse ``json_schema`` response formats (a 400 naming
``response_format``, as servers without structured outputs answer) and
trickle its answers.

Example::

    with FakeOpenAI() as server:
        client = OpenAIClient(server.api_url, DEFAULT_MODEL, timeout=5)
        assert client.generate("Crash\\ndetails") == "Analysis of: Crash"
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

from tests.fakes import FakeHTTPServer, Fault, RequestRecord, Response

__all__ = ["DEFAULT_MODEL", "FakeOpenAI"]

DEFAULT_MODEL = "qwen2.5-7b-instruct"
COMPLETIONS = "/v1/chat/completions"
MODELS = "/v1/models"


def error_object(
    status: int, message: str, kind: str, code: str | None = None, **extra: Any
) -> Response:
    """OpenAI's error body as a :class:`Response`."""
    error = {"message": message, "type": kind, "param": None, "code": code, **extra}
    return Response.json(status, {"error": error})


class FakeOpenAI(FakeHTTPServer):
    """Fake OpenAI-compatible API on loopback; answers ``"Analysis of: <first line>"``."""

    fault_kinds = ("server_error", "rate_limit", "drop", "malformed", "status")

    def __init__(self, models: tuple[str, ...] = (DEFAULT_MODEL,), api_key: str = "") -> None:
        super().__init__()
        self.models = set(models)
        self.api_key = api_key
        """When set, every request must carry ``Authorization: Bearer <api_key>``."""
        self.answer: Callable[[str], str | None] | None = None
        """Replaces :meth:`answer_for` when set: ``prompt -> message content``."""
        self.json_schema_supported = True
        self.trickle_seconds = 0.0
        self._ids = itertools.count(1)

    @property
    def api_url(self) -> str:
        """The API's base, as ``openai.url`` names it."""
        return f"{self.url}/v1"

    @staticmethod
    def answer_for(prompt: str) -> str:
        first = prompt.splitlines()[0] if prompt else ""
        return f"Analysis of: {first}"

    # -- controls ------------------------------------------------------------

    def refuse_json_schema(self) -> None:
        """Answer a json_schema response format with a 400 naming ``response_format``."""
        self.json_schema_supported = False

    def trickle(self, seconds_per_byte: float) -> None:
        self.trickle_seconds = seconds_per_byte

    # -- serving -------------------------------------------------------------

    def fault_response(self, fault: Fault, request: RequestRecord) -> Response:
        if fault.kind == "server_error":
            status = int(fault.params.get("status", 500))
            message = "The server had an error while processing your request."
            return error_object(status, message, "server_error")
        if fault.kind == "rate_limit":
            response = error_object(
                429, "Rate limit reached for requests", "requests", "rate_limit_exceeded"
            )
            response.headers["Retry-After"] = str(fault.params.get("retry_after", 7))
            return response
        if fault.kind == "malformed":
            if "raw" in fault.params:
                return Response(200, fault.params["raw"], {"Content-Type": "application/json"})
            return Response.json(200, fault.params.get("body", {"object": "unexpected"}))
        return super().fault_response(fault, request)

    def route(self, request: RequestRecord) -> Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        if request.path == MODELS and request.method == "GET":
            with self._lock:
                names = sorted(self.models)
            data = [{"id": n, "object": "model", "created": 0, "owned_by": "fake"} for n in names]
            return Response.json(200, {"object": "list", "data": data})
        if request.path == COMPLETIONS and request.method == "POST":
            return self._complete(request)
        return error_object(
            404, f"Invalid URL ({request.method} {request.path})", "invalid_request_error"
        )

    def _refused(self, request: RequestRecord) -> Response | None:
        if not self.api_key:
            return None
        given = request.headers.get("Authorization", "")
        if given == f"Bearer {self.api_key}":
            return None
        # Like servers that quote what they were given: the client must mask it.
        message = f"Incorrect API key provided: {given.removeprefix('Bearer ')}."
        return error_object(401, message, "invalid_request_error", "invalid_api_key")

    def _complete(self, request: RequestRecord) -> Response:
        try:
            data = request.json()
        except ValueError:
            return error_object(400, "We could not parse the JSON body", "invalid_request_error")
        model = data.get("model") if isinstance(data, dict) else None
        with self._lock:
            known = model in self.models
        if not known:
            message = f"The model `{model}` does not exist or you do not have access to it."
            return error_object(404, message, "invalid_request_error", "model_not_found")
        kind = (data.get("response_format") or {}).get("type")
        if kind == "json_schema" and not self.json_schema_supported:
            return error_object(
                400,
                "response_format json_schema is not supported by this model",
                "invalid_request_error",
                param="response_format",
            )
        prompt = data["messages"][-1]["content"]
        content = (self.answer or self.answer_for)(prompt)
        response = Response.json(200, self._completion(model, prompt, content))
        response.trickle = self.trickle_seconds
        return response

    def _completion(self, model: str, prompt: str, content: str | None) -> dict[str, Any]:
        prompt_tokens, completion_tokens = len(prompt.split()), len((content or "").split())
        return {
            "id": f"chatcmpl-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
