"""Masking secrets in text and documents, in every form a message may carry them.

A token reaches a message raw (``f"{token}"``), ``repr``-escaped (an exception
quoting a header value), JSON-escaped (a log line or an answer encoded as
JSON) or URL-encoded (a URL with the token in its query). Each form is masked,
longest first, so a form that contains another is masked whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = ["MASK", "Masker"]

MASK = "***"


def _forms(secret: str) -> set[str]:
    return {
        secret,
        repr(secret)[1:-1],
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
    }


class Masker:
    """Replaces every form of ``secrets`` with :data:`MASK`; empty secrets are ignored."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if secret:
                forms |= _forms(secret)
        self._forms = sorted(forms, key=len, reverse=True)

    def mask(self, text: str) -> str:
        """``text`` with every form of every secret replaced."""
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        return text

    def mask_document(self, document: Any) -> Any:
        """A copy of a JSON-able document with every string (keys too) masked."""
        if not self._forms:
            return document
        if isinstance(document, str):
            return self.mask(document)
        if isinstance(document, dict):
            return {self.mask(str(k)): self.mask_document(v) for k, v in document.items()}
        if isinstance(document, list | tuple):
            return [self.mask_document(v) for v in document]
        return document
