"""Everything the demo simulates, started and stopped together.

A :class:`Simulation` is the simulated GitHub (with a token of its own, the
demo repositories and their history, its API under ``/api/v3`` and a web view
beside it), the stand-in model, and the world that opens issues once
:meth:`DemoWorld.start <autosolve.demo.world.DemoWorld.start>` is called.
"""

from __future__ import annotations

import secrets
from typing import Self

from autosolve.demo.clock import SimulationClock
from autosolve.demo.github import SimulatedGitHub
from autosolve.demo.model import STAND_IN_MODEL, StandInModel
from autosolve.demo.world import DemoWorld

__all__ = ["DEMO_LOGIN", "Simulation"]

DEMO_LOGIN = "autosolve-demo"
"""The account the demo's token belongs to: the author of autosolve's comments."""


class Simulation:
    """The simulated GitHub, the stand-in model and the demo's world.

    Args:
        interval: seconds between two new issues once the world plays.
    """

    def __init__(self, interval: float = 5.0) -> None:
        self.token = secrets.token_urlsafe(24)
        """The simulated GitHub's token (fresh every run)."""
        self.github = SimulatedGitHub(
            self.token, login=DEMO_LOGIN, clock=SimulationClock.following_wall(), api_path="/api/v3"
        )
        self.model = StandInModel()
        self.model_name = STAND_IN_MODEL
        self.world = DemoWorld(self.github, interval)

    def start(self) -> Self:
        """Listen, and set the repositories up with their history (the world is not playing)."""
        self.github.start()
        self.model.start()
        self.world.seed()
        return self

    def stop(self) -> None:
        """Stop the world, then the servers. Idempotent."""
        self.world.stop()
        self.model.stop()
        self.github.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
