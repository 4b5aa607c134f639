"""Webhooks of the simulated GitHub: deliveries as GitHub sends them, after each change.

A hook (:meth:`Hooks.add`) names a URL, a secret and the events it wants.
Each change the simulation makes (an issue opened or edited, a comment, a
repository created, archived or deleted) is delivered to every hook that
wants its event, from a thread of its own and in order, as GitHub does:
``POST`` with the JSON payload (``action``, the object, ``repository``,
``sender``), ``X-GitHub-Event``, a fresh ``X-GitHub-Delivery`` GUID,
``X-Hub-Signature-256`` (HMAC-SHA256 of the body with the secret) and
GitHub's ``User-Agent``. Every delivery is kept with the status it got, and
can be sent again (:meth:`Hooks.redeliver`, the same id, as GitHub's
"Redeliver" button does).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import requests

__all__ = ["Delivery", "Hook", "Hooks"]

logger = logging.getLogger(__name__)

USER_AGENT = "GitHub-Hookshot/autosolve-demo"
TIMEOUT = 10.0
"""GitHub gives up on a delivery after 10 seconds."""


@dataclass(frozen=True)
class Hook:
    url: str
    secret: str
    events: frozenset[str]
    """The events it wants; ``*`` for all."""

    def wants(self, event: str) -> bool:
        return "*" in self.events or event in self.events


@dataclass
class Delivery:
    id: str
    event: str
    hook: Hook
    body: bytes
    status: int | None = None
    """The answer's status (None: not answered yet, or no answer at all)."""
    attempts: list[int | None] = field(default_factory=list)

    def headers(self) -> dict[str, str]:
        digest = hmac.new(self.hook.secret.encode(), self.body, hashlib.sha256).hexdigest()
        return {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-GitHub-Event": self.event,
            "X-GitHub-Delivery": self.id,
            "X-GitHub-Hook-ID": "1",
            "X-Hub-Signature-256": f"sha256={digest}",
        }


class Hooks:
    """The simulation's webhooks and everything they delivered."""

    def __init__(self) -> None:
        self._hooks: list[Hook] = []
        self.deliveries: list[Delivery] = []
        """Every delivery, in the order it was made."""
        self._queue: queue.Queue[Delivery] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._session = requests.Session()

    def add(self, url: str, secret: str, events: Iterable[str] = ("*",)) -> Hook:
        """Deliver ``events`` to ``url``, signed with ``secret``."""
        hook = Hook(url, secret, frozenset(events))
        with self._lock:
            self._hooks.append(hook)
        return hook

    @property
    def active(self) -> bool:
        """Whether any hook is set (nothing is shaped or sent otherwise)."""
        return bool(self._hooks)

    def remove_all(self) -> None:
        """No hook any more (deliveries under way still go)."""
        with self._lock:
            self._hooks.clear()

    def send(self, event: str, payload: dict[str, Any]) -> list[Delivery]:
        """Deliver ``payload`` to every hook that wants ``event``; the deliveries made."""
        with self._lock:
            hooks = [hook for hook in self._hooks if hook.wants(event)]
        if not hooks:
            return []
        body = json.dumps(payload).encode()
        made = [Delivery(str(uuid.uuid4()), event, hook, body) for hook in hooks]
        for delivery in made:
            self._enqueue(delivery)
        return made

    def redeliver(self, delivery_id: str) -> Delivery:
        """Send a delivery again, with the same id and body.

        Raises:
            KeyError: no such delivery.
        """
        found = [d for d in list(self.deliveries) if d.id == delivery_id]
        if not found:
            raise KeyError(delivery_id)
        self._queue.put(found[0])
        return found[0]

    def idle(self) -> bool:
        """Whether every delivery made so far has been answered (or failed)."""
        return self._queue.unfinished_tasks == 0

    def _enqueue(self, delivery: Delivery) -> None:
        with self._lock:
            self.deliveries.append(delivery)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="simulated-github-hooks", daemon=True
                )
                self._thread.start()
        self._queue.put(delivery)

    def _run(self) -> None:
        while True:
            delivery = self._queue.get()
            try:
                response = self._session.post(
                    delivery.hook.url, data=delivery.body, headers=delivery.headers(),
                    timeout=TIMEOUT,
                )  # fmt: skip
                delivery.status = response.status_code
            except requests.RequestException as error:
                logger.info("delivery %s to %s failed: %s", delivery.id, delivery.hook.url, error)
                delivery.status = None
            delivery.attempts.append(delivery.status)
            self._queue.task_done()
