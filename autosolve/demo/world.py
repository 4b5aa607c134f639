"""The demo's world: people opening issues and maintainers answering, on the simulated GitHub.

:meth:`DemoWorld.seed` sets up the repositories of :mod:`autosolve.demo.catalog`
as they were before autosolve came: labels, organisation members and
collaborators, and weeks of history (closed and open issues, maintainers'
answers). :meth:`DemoWorld.start` then plays the script from a thread: the
first new issue arrives soon (:data:`FIRST_ARRIVAL`), then one every
``interval`` seconds, taking turns across the
repositories (the script starts over when it ends), and every
:data:`REMARK_EVERY` arrivals a maintainer comments on the issue before.
:meth:`DemoWorld.step` is one such moment, callable directly.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Iterator, Sequence

from autosolve.demo.catalog import CATALOG, MAINTAINER_REMARKS, DemoRepository, Story
from autosolve.demo.github import SimulatedGitHub

__all__ = ["FIRST_ARRIVAL", "REMARK_EVERY", "DemoWorld"]

logger = logging.getLogger("autosolve.demo")

REMARK_EVERY = 3
"""A maintainer comments on the previous new issue at every third arrival."""

FIRST_ARRIVAL = 2.0
"""Seconds from :meth:`DemoWorld.start` to the first new issue (at most ``interval``):
someone trying the demo sees an analysis within seconds."""


class DemoWorld:
    """The scripted activity of the demo repositories (see the module).

    Args:
        github: the simulation it acts on.
        interval: seconds between two arrivals.
        repositories: what to play (default: the whole catalogue).
    """

    def __init__(
        self,
        github: SimulatedGitHub,
        interval: float = 5.0,
        repositories: Sequence[DemoRepository] = CATALOG,
    ) -> None:
        self.github = github
        self.interval = interval
        self.repositories = tuple(repositories)
        self._script = _interleaved(self.repositories)
        self._arrivals = 0
        self._last: tuple[DemoRepository, int] | None = None
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()

    @property
    def names(self) -> list[str]:
        """``owner/name`` of every demo repository."""
        return [repo.full_name for repo in self.repositories]

    def seed(self) -> None:
        """Create the repositories as they were before autosolve watched them."""
        for repo in self.repositories:
            self.github.add_repo(repo.owner, repo.name, owner_type=repo.owner_type)
            for label in repo.labels:
                self.github.add_label(
                    repo.owner, repo.name, label.name, label.color, label.description
                )
            for login in repo.maintainers:
                if repo.owner_type == "Organization":
                    self.github.add_member(repo.owner, login)
            for login in repo.collaborators:
                self.github.associate(repo.owner, repo.name, login, "COLLABORATOR")
            for story in sorted(repo.history, key=lambda story: -story.days_ago):
                self._recall(repo, story)

    def _recall(self, repo: DemoRepository, story: Story) -> None:
        clock = self.github.clock
        issue = self._open(repo, story, created_at=clock.ago(days=story.days_ago))
        if story.remark:
            answered = clock.ago(days=story.days_ago * 0.8)
            self.github.add_comment(
                repo.owner, repo.name, issue, story.remark, repo.maintainers[0],
                created_at=answered,
            )  # fmt: skip
        if story.closed:
            closed = clock.ago(days=story.days_ago * 0.7)
            self.github.edit_issue(repo.owner, repo.name, issue, state="closed", updated_at=closed)

    def _open(self, repo: DemoRepository, story: Story, created_at: str | None = None) -> int:
        issue = self.github.add_issue(
            repo.owner, repo.name, title=story.title, body=story.body, labels=story.labels,
            pull_request=story.pull_request, created_at=created_at, author=story.author,
            author_type=story.author_type,
        )  # fmt: skip
        return issue.number

    def step(self) -> tuple[str, int]:
        """One moment of the script: a new issue arrives, and perhaps a maintainer answers.

        Returns the new issue's repository (``owner/name``) and number.
        """
        repo, story = next(self._script)
        self._arrivals += 1
        if self._arrivals % REMARK_EVERY == 0 and self._last is not None:
            self._remark(*self._last)
        number = self._open(repo, story)
        self._last = (repo, number)
        kind = "pull request" if story.pull_request else "issue"
        logger.info(
            "demo: %s opened %s %s#%d: %s", story.author, kind, repo.full_name, number, story.title
        )
        return repo.full_name, number

    def _remark(self, repo: DemoRepository, number: int) -> None:
        maintainer = repo.maintainers[self._arrivals % len(repo.maintainers)]
        remark = MAINTAINER_REMARKS[self._arrivals % len(MAINTAINER_REMARKS)]
        self.github.add_comment(repo.owner, repo.name, number, remark, maintainer)
        logger.info("demo: %s commented on %s#%d", maintainer, repo.full_name, number)

    def start(self) -> None:
        """Play the script from a daemon thread (idempotent)."""
        with self._starting:
            if self._thread is None:
                self._thread = threading.Thread(target=self._play, name="demo-world", daemon=True)
                self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop playing (a step under way finishes). Idempotent."""
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _play(self) -> None:
        pause = min(FIRST_ARRIVAL, self.interval)
        while not self._stopped.wait(pause):
            pause = self.interval
            try:
                self.step()
            except Exception:  # the demo goes on without that moment
                logger.exception("demo: a scripted step failed")


def _interleaved(repositories: Sequence[DemoRepository]) -> Iterator[tuple[DemoRepository, Story]]:
    """Arrivals taking turns across the repositories, starting over at the end."""
    rounds = itertools.zip_longest(*[[(r, s) for s in r.arrivals] for r in repositories])
    turns = [turn for one_round in rounds for turn in one_round if turn is not None]
    return itertools.cycle(turns)
