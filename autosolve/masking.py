"""Masking secrets: the one path every output of the daemon goes through.

Logs, control answers (the socket, ``POST /api/control``, reload answers),
``/status.json``, ``/api/overview``, ``/metrics``, error answers and ``check
--online`` all mask through one :class:`Secrets` per daemon, so a secret
known to any of them is masked in all of them, and a secret added later (a
reload brought a new token, the HTTP token was generated) is masked
everywhere from then on.

A secret reaches a message in several forms, each masked, longest first (a
form containing another is masked whole):

- as is, ``repr``-escaped (an exception quoting a header value), JSON-escaped
  (a log line or an answer encoded as JSON, ASCII-only or not), URL-encoded
  (a URL with the secret in its query);
- base64-encoded, as HTTP Basic credentials carry it (``user:secret``, e.g.
  git's ``x-access-token:TOKEN``): whatever precedes it, the base64 of a
  secret of 8 bytes or more contains one of three fixed strings (one per
  alignment), which are masked;
- a secret of several lines (a PEM private key) also line by line, so a
  message quoting one line of it is masked too;
- a form cut short at the very end of a text (a message truncated to fit a
  status record) is masked from its first :data:`SHORTEST_CUT` characters on.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = ["MASK", "Masker", "Secrets"]

MASK = "***"

BASIC_USERS = ("x-access-token",)
"""User names sent with a token in HTTP Basic credentials (git over HTTPS with GitHub)."""

_SHORTEST_ALIGNED = 6
"""Bytes of a secret an alignment form encodes at least: 4 base64 characters would mask noise."""

_REMEMBERED = 65536
"""Strings remembered as holding no secret, at most (the memory is emptied when full)."""

_REMEMBERED_LENGTH = 1024
"""Longer strings are searched every time (remembering them would cost more than it saves)."""

_SHORTEST_LINE = 16
"""Lines of a multi-line secret shorter than this are not secrets alone."""

SHORTEST_CUT = 6
"""Characters of a form, cut short at the end of a text, from which the rest is masked."""


def _text_forms(secret: str) -> set[str]:
    return {
        secret,
        repr(secret)[1:-1],
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
    }


def _base64_forms(secret: str) -> set[str]:
    """``secret`` in base64 whatever precedes it: the characters fixed by its bytes alone."""
    data = secret.encode()
    forms = {base64.b64encode(f"{user}:{secret}".encode()).decode() for user in BASIC_USERS}
    forms.add(base64.b64encode(data).decode())
    for skip in range(3):  # base64 works on 3-byte groups: 3 alignments
        aligned = data[skip:]
        aligned = aligned[: len(aligned) // 3 * 3]
        if len(aligned) < _SHORTEST_ALIGNED:
            continue
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            forms.add(encode(aligned).decode())
    return forms


def forms_of(secret: str) -> tuple[set[str], set[str]]:
    """Every string masked for ``secret``; and those also masked when cut short at the end.

    The forms of a multi-line secret taken whole are not masked cut short:
    they begin with what is no secret (a PEM's ``-----BEGIN`` line); its
    lines are.
    """
    parts = {secret}
    if "\n" in secret.strip():  # but a PEM's "-----BEGIN ...-----" lines are no secret
        parts |= {line.strip() for line in secret.splitlines() if not line.startswith("-----")}
    forms: set[str] = set()
    cuttable: set[str] = set()
    for part in parts:
        if part == secret or len(part) >= _SHORTEST_LINE:
            found = {form for form in _text_forms(part) | _base64_forms(part) if form}
            forms |= found
            if "\n" not in part:
                cuttable |= found
    return forms, cuttable


class Masker:
    """Replaces every form of ``secrets`` with :data:`MASK`; empty secrets are ignored."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = tuple(dict.fromkeys(secret for secret in secrets if secret))
        """The secrets masked (each once, in the order given)."""
        forms: set[str] = set()
        cuttable: set[str] = set()
        for secret in self.secrets:
            found, cut = forms_of(secret)
            forms |= found
            cuttable |= cut
        self._forms = sorted(forms, key=len, reverse=True)
        self._cuttable = sorted(cuttable, key=len, reverse=True)
        self._longest_cuttable = max(map(len, cuttable), default=0)
        heads = sorted({form[:SHORTEST_CUT] for form in cuttable}, key=len, reverse=True)
        # Every place a form may start (a lookahead finds overlapping ones too).
        self._cut_heads = re.compile(f"(?=({'|'.join(map(re.escape, heads))}))") if heads else None
        self._clean: dict[str, None] = {}

    def mask(self, text: str) -> str:
        """``text`` with every form of every secret replaced."""
        if text in self._clean:
            return text
        masked = text
        for form in self._forms:
            if form in masked:
                masked = masked.replace(form, MASK)
        masked = self._mask_cut_end(masked)
        if masked is text and len(text) <= _REMEMBERED_LENGTH:
            self._remember_clean(text)
        return masked

    def _mask_cut_end(self, text: str) -> str:
        """``text`` with a form cut short at its end masked (see the module)."""
        if self._cut_heads is None:
            return text
        tail = max(0, len(text) - self._longest_cuttable + 1)
        for match in self._cut_heads.finditer(text, tail):
            rest = text[match.start() :]
            if any(form.startswith(rest) for form in self._cuttable):
                return text[: match.start()] + MASK
        return text

    def _remember_clean(self, text: str) -> None:
        """Child names, states and keys come back in every status: search each once."""
        if len(self._clean) >= _REMEMBERED:
            self._clean = {}
        self._clean[text] = None

    def mask_document(self, document: Any) -> Any:
        """A JSON-able document with every string (keys too) masked.

        What holds no secret is returned as is, not copied: a status of
        thousands of children usually holds none.
        """
        if not self._forms:
            return document
        if isinstance(document, str):
            return self.mask(document)
        if isinstance(document, dict):
            return self._mask_mapping(document)
        if isinstance(document, list | tuple):
            items = [self.mask_document(value) for value in document]
            unchanged = all(new is old for new, old in zip(items, document, strict=True))
            return document if unchanged else items
        return document

    def _mask_mapping(self, document: dict[Any, Any]) -> dict[Any, Any]:
        items = [
            (self.mask(key) if isinstance(key, str) else key, self.mask_document(value))
            for key, value in document.items()
        ]
        pairs = zip(items, document.items(), strict=True)
        if all(key is old_key and value is old for (key, value), (old_key, old) in pairs):
            return document
        return dict(items)


class Secrets:
    """The secrets of one daemon, and the one place its output is masked.

    Secrets are only ever added: a value that was a secret once (a token
    replaced by a reload) may still be quoted by messages about earlier
    work, so it stays masked. ``reveal`` leaves named secrets readable in one
    output on purpose (the dashboard URL that carries the HTTP token, for
    whoever may already read it); every other secret there is masked.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._masker = Masker(secrets)

    @property
    def secrets(self) -> tuple[str, ...]:
        """The secrets masked, in the order they were added."""
        return self._masker.secrets

    def add(self, secrets: Iterable[str]) -> None:
        """Mask ``secrets`` too, from now on, in every output."""
        with self._lock:
            known = self._masker.secrets
            new = [secret for secret in secrets if secret and secret not in known]
            if new:
                self._masker = Masker([*known, *new])  # replaced whole: readers take no lock

    def mask(self, text: str, reveal: Iterable[str] = ()) -> str:
        """``text`` with every form of every secret (but those in ``reveal``) masked."""
        return self._for(reveal).mask(text)

    def mask_document(self, document: Any, reveal: Iterable[str] = ()) -> Any:
        """A copy of a JSON-able document with every secret (but ``reveal``) masked."""
        return self._for(reveal).mask_document(document)

    def _for(self, reveal: Iterable[str]) -> Masker:
        masker = self._masker
        if not reveal:
            return masker
        shown = set(reveal)
        if not shown & set(masker.secrets):
            return masker
        return Masker(secret for secret in masker.secrets if secret not in shown)
