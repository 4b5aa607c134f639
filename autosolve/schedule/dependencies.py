"""What the registry needs to build tasks: a protocol, not the composition root.

The registry reads these four attributes, and more when they are there
(``pacer``: the poll pacer to keep across reloads; ``identity``: autosolve's
account, learned once for every task; ``app``: the GitHub App acted as, whose
bot is that account; ``related_issues``: finds the candidate
issues an analysis is shown; ``analysis_observer``: told each job's outcome;
``triage_observer``: told of unstructured answers and commands); the composition root
(:class:`autosolve.daemon.dependencies.AppDependencies`) provides them all, and a test may hand
in anything with the same shape. Keeping the protocol here means the schedule
layer never imports the module that imports everything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from autosolve.infra.github import GitHubClient
    from autosolve.infra.model import Model
    from autosolve.infra.store import Store
    from autosolve.settings import Settings

__all__ = ["Dependencies"]


class Dependencies(Protocol):
    """The infrastructure the tasks share, and the settings they are built from."""

    @property
    def settings(self) -> Settings: ...

    @property
    def github(self) -> GitHubClient: ...

    @property
    def model(self) -> Model: ...

    @property
    def store(self) -> Store: ...
