"""Language models behind one small protocol: Ollama and any OpenAI-compatible server.

The domain asks a :class:`Model` for an answer; which server gives it is the
wiring's choice (:func:`autosolve.infra.model.providers.new_model`). Both
clients share how a request is bounded (:mod:`.exchange`) and what their
errors declare (:mod:`.errors`).
"""

from autosolve.infra.model.errors import (
    ModelAccessError,
    ModelError,
    ModelMalformedResponseError,
    ModelNotFoundError,
    ModelServerError,
    ModelTimeoutError,
)
from autosolve.infra.model.protocol import MAX_CONCURRENCY, Availability, Model

__all__ = [
    "MAX_CONCURRENCY",
    "Availability",
    "Model",
    "ModelAccessError",
    "ModelError",
    "ModelMalformedResponseError",
    "ModelNotFoundError",
    "ModelServerError",
    "ModelTimeoutError",
]
