"""Client of any OpenAI-compatible server (`/v1/chat/completions`)."""

from autosolve.infra.openai.client import OpenAIClient

__all__ = ["OpenAIClient"]
