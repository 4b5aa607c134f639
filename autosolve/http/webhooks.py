"""``POST /webhooks/github``: GitHub's deliveries, authenticated by their signature alone.

GitHub signs each delivery's raw body with the webhook's secret
(``X-Hub-Signature-256: sha256=<HMAC-SHA256 hex>``). The signature is checked,
in constant time, before anything of the body is parsed; a missing or wrong
one is answered 401 and changes nothing. The route needs no bearer token:
GitHub cannot send one, and the signature proves more (who sent these very
bytes). Bodies over GitHub's own cap (25 MiB) are refused unread.

Answers: ``ping`` → 200; an applied delivery → 202; a redelivery (its
``X-GitHub-Delivery`` recorded before) → 200, nothing changed; an event
autosolve does not use → 204.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["MAX_DELIVERY", "SIGNATURE_PREFIX", "WEBHOOK_PATH", "signature", "signed_by"]

WEBHOOK_PATH = "/webhooks/github"
MAX_DELIVERY = 25 * 1024 * 1024
"""GitHub caps a delivery's payload at 25 MB; anything larger is not GitHub's."""
SIGNATURE_PREFIX = "sha256="


def signature(secret: str, body: bytes) -> str:
    """``X-Hub-Signature-256`` for ``body``: ``sha256=`` and the HMAC-SHA256 in hex."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def signed_by(secret: str, body: bytes, given: str) -> bool:
    """Whether ``given`` (the header, or "") is ``body``'s signature with ``secret``.

    Constant time in the signature's bytes; an empty secret signs nothing.
    """
    if not secret:
        return False
    return hmac.compare_digest(signature(secret, body).encode(), given.encode("latin-1"))
