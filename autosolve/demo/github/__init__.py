"""The simulated GitHub: a stateful model of GitHub's REST API, served on loopback.

:mod:`.server` is the server and its state API; :mod:`.endpoints` what
each REST path does; :mod:`.state` the records
(accounts, repositories, labels, issues, comments); :mod:`.shapes` the JSON
GitHub answers them as; :mod:`.answers` what every endpoint shares (errors,
ETags and 304s, ordered and paged listings); :mod:`.limits` GitHub's
secondary rate limits; :mod:`.web` the pages ``html_url`` links lead to.
"""

from __future__ import annotations

from autosolve.demo.github.endpoints import COMMENT_LIMIT
from autosolve.demo.github.limits import GitHubLimits, Rejection
from autosolve.demo.github.server import SimulatedGitHub
from autosolve.demo.github.state import Account, Comment, Issue, Label, Repository

__all__ = [
    "COMMENT_LIMIT",
    "Account",
    "Comment",
    "GitHubLimits",
    "Issue",
    "Label",
    "Rejection",
    "Repository",
    "SimulatedGitHub",
]
