"""Fitting a model's text into a given room without undoing what made it safe.

Cutting the safe form would be unsafe (half a code span frees the mention
inside it), so the model's text is cut and made safe again until its safe
form fits: any start of a text is made as safe as the whole.
"""

from __future__ import annotations

from autosolve.domain.postable.blocks import Postable, make_postable
from autosolve.domain.postable.rules import OutputRules

__all__ = ["shorten"]


def shorten(text: str, rules: OutputRules, room: int, mentions_left: int = 0) -> Postable:
    """The safe form of the longest start of ``text`` that fits in ``room`` characters.

    The start ends at a line break when one keeps more than half of it, else
    at a space, else wherever the room ends.
    """
    postable = make_postable(text, rules, mentions_left)
    limit = len(text)
    while len(postable.text) > room and limit > 0:
        # Shrink in proportion to the overshoot; at least one character a round.
        limit = min(limit - 1, limit * max(room, 0) // len(postable.text))
        postable = make_postable(_start(text, limit), rules, mentions_left)
    return postable


def _start(text: str, limit: int) -> str:
    keep = text[:limit]
    for boundary in ("\n", " "):
        end = keep.rfind(boundary)
        if end > len(keep) // 2:
            return keep[:end].rstrip()
    return keep.rstrip()
