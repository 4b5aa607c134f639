"""What the runtime's stateful property tests share: a rule-based machine on one backend."""

from __future__ import annotations

from typing import Self, cast

from hypothesis.stateful import RuleBasedStateMachine

from tests.runtime.harness import Harness


class BackendMachine(RuleBasedStateMachine):
    """A machine that drives a :class:`Harness` on :attr:`backend_name`.

    Its subclass for another backend comes from :meth:`on`, so one set of
    rules and invariants runs on threads and on greenlets alike.
    """

    backend_name = "threading"

    def __init__(self) -> None:
        super().__init__()
        self.harness = Harness(self.backend_name)

    @classmethod
    def on(cls, backend_name: str) -> type[Self]:
        """This machine on ``backend_name``: ``SupervisorMachine`` → ``SupervisorGeventMachine``."""
        stem = cls.__name__.removesuffix("Machine")
        name = f"{stem}{backend_name.title()}Machine"
        return cast(type[Self], type(name, (cls,), {"backend_name": backend_name}))
