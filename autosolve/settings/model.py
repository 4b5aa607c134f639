"""``[analysis]``, ``[model]``, ``[openai]``, ``[ollama]``: how issues are analysed, by which model.

Part of the declaration (see :mod:`autosolve.settings.sections`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from autosolve.settings.declare import Check, Values, section, setting
from autosolve.settings.limits import GITHUB_COMMENT_LIMIT, MAX_CONCURRENCY
from autosolve.settings.rules import (
    NON_NEGATIVE,
    NOT_EMPTY,
    as_tuple,
    between,
    command_word,
    http_url,
    one_of,
    seconds,
    strip,
)
from autosolve.settings.template import TemplateError, read_template

__all__ = [
    "AnalysisSettings",
    "LabelSettings",
    "ModelSettings",
    "OllamaSettings",
    "OpenAISettings",
]

PROVIDERS = ("ollama", "openai")


def _prompt_file_problem(values: Values) -> str | None:
    """Checked at load time, beside the other keys, so ``check`` and ``start`` refuse a
    broken template (exit 2) instead of the first analysis failing."""
    if not values["prompt_file"]:
        return None
    try:
        read_template(values.path("prompt_file"))
    except TemplateError as error:
        return str(error)
    return None


@dataclass(frozen=True)
class LabelSettings:
    """Labels the model suggests

    Kept only if the repository has them and ``allow`` matches; at most
    ``max``; applied to the issue with ``apply``, else only suggested.
    """

    apply: bool = setting(False, doc="apply the labels kept (else only suggest them)")
    allow: tuple[str, ...] = setting(
        (), each=(NOT_EMPTY,), doc="names or globs; [] = any label of the repository",
        clean=as_tuple,
    )  # fmt: skip
    max: int = setting(3, between(0, 100), doc="labels kept per issue")


@dataclass(frozen=True)
class AnalysisSettings:
    """How an issue is analysed and what is posted"""

    dry_run: bool = setting(False, doc="analyse and store (table analyses); post nothing")
    prompt_file: str = setting(
        "",
        doc='"" = built-in template; placeholders: {repository}\n'
        "{number} {kind} {title} {body} {labels} {author}\n"
        "{related} {comments} {repository_labels} {fence}",
    )
    concurrency: int = setting(1, between(1, MAX_CONCURRENCY), doc="model requests in flight")
    max_comment_chars: int = setting(
        60000,
        between(1000, GITHUB_COMMENT_LIMIT),
        doc="longer answers are cut at a line boundary",
    )
    related: int = setting(5, between(0, 100), doc="related issues per analysis (0 = off)")
    structured: bool = setting(True, doc="ask the model for a JSON answer")
    command: str = setting(
        "/autosolve",
        command_word,
        doc='"" = off; a maintainer\'s comment starting with it re-analyses',
    )
    allow_images: bool = setting(False, doc="images in the model's answer are posted")
    max_mentions: int = setting(0, NON_NEGATIVE, doc="@mentions kept in a comment")
    labels: LabelSettings = section(LabelSettings)

    checks: ClassVar[tuple[Check, ...]] = (
        Check(
            "prompt_file",
            ("prompt_file",),
            _prompt_file_problem,
            "`prompt_file` names a readable UTF-8 template using only the placeholders listed",
        ),
    )


@dataclass(frozen=True)
class ModelSettings:
    """Which model service analyses issues"""

    provider: str = setting("ollama", one_of(*PROVIDERS), doc='"ollama" | "openai"')


@dataclass(frozen=True)
class OpenAISettings:
    """Any OpenAI-compatible endpoint

    Used with ``model.provider = "openai"``: ``POST {url}/chat/completions``
    with the key as a bearer token; ``GET {url}/models`` checks the model.
    """

    url: str = setting("http://127.0.0.1:8000/v1", http_url, doc="the API's base URL")
    model: str = setting("", doc='required with model.provider = "openai"')
    api_key: str = setting("", doc="AUTOSOLVE_OPENAI__API_KEY", secret=True, clean=strip)
    timeout: float = setting(120.0, *seconds(), doc="seconds for one whole model request")


@dataclass(frozen=True)
class OllamaSettings:
    """The Ollama server (with model.provider = "ollama")"""

    url: str = setting("http://localhost:11434", http_url, doc="the server's base URL")
    model: str = setting("qwen2.5-coder:7b", NOT_EMPTY, doc="the model's name")
    timeout: float = setting(300.0, *seconds(), doc="seconds for one whole model request")
