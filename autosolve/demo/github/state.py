"""What the simulated GitHub knows: accounts, repositories, labels, issues, comments.

Plain records, changed only under the simulated GitHub's lock (see
:mod:`autosolve.demo.github.server`). The relations follow GitHub's: a
repository belongs to an owner account (a user or an organisation); an
organisation has members; a token belongs to an account; an issue's and a
comment's author is an account, and how the author relates to the repository
(its ``author_association``) follows from these. The JSON each record is
answered as lives in :mod:`autosolve.demo.github.shapes`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from autosolve.demo.github import shapes
from autosolve.demo.github.ids import account_id

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

__all__ = [
    "ACCOUNT_TYPES",
    "ASSOCIATIONS",
    "Account",
    "Comment",
    "Issue",
    "Label",
    "Repository",
]

ACCOUNT_TYPES = ("User", "Organization", "Bot")
"""GitHub's account ``type`` values."""

ASSOCIATIONS = ("OWNER", "MEMBER", "COLLABORATOR", "CONTRIBUTOR", "NONE")
"""``author_association`` values the simulation gives (GitHub has a few more)."""


@dataclass
class Account:
    """A user, an organisation or a bot."""

    login: str
    type: str = "User"
    members: set[str] = field(default_factory=set)
    """Lower-case logins of an organisation's members."""

    @property
    def github_id(self) -> int:
        return account_id(self.login)


@dataclass
class Label:
    github_id: int
    name: str
    color: str = "ededed"
    description: str | None = None
    default: bool = False


@dataclass
class Comment:
    github_id: int
    body: str
    user: str = "someone"
    """The author's login."""
    created_at: str = ""
    updated_at: str = ""
    issue_number: int = 0
    user_type: str = "User"
    association: str = "NONE"
    """The author's ``author_association`` with the repository when they wrote it."""

    def payload(self, repo: Repository | None = None, base_url: str = "") -> dict[str, Any]:
        """The comment as GitHub answers it (URLs need the repository and the base URL)."""
        return shapes.comment(self, repo, base_url)


@dataclass
class Issue:
    """An issue or a pull request (every pull request is an issue too)."""

    github_id: int
    number: int
    title: str
    body: str | None
    state: str
    labels: list[str]
    """Label names; the repository knows each (see :meth:`Repository.labels_named`)."""
    pull_request: bool
    created_at: str
    updated_at: str
    comments: list[Comment] = field(default_factory=list)
    author: str = "reporter"
    author_type: str = "User"

    def payload(self, repo: Repository, base_url: str) -> dict[str, Any]:
        """The issue as GitHub lists it."""
        return shapes.issue(self, repo, base_url)


@dataclass
class Repository:
    github_id: int
    owner: Account
    name: str
    issues: dict[int, Issue] = field(default_factory=dict)
    next_number: int = 1
    labels: dict[str, Label] = field(default_factory=dict)
    """By lower-case name: GitHub's label names are case-insensitive."""
    roles: dict[str, str] = field(default_factory=dict)
    """Lower-case login → ``COLLABORATOR`` or ``CONTRIBUTOR``, for the accounts that have one."""
    archived: bool = False
    """Read-only: listed (``archived: true``), but nothing changes in it any more."""
    disabled: bool = False

    @property
    def full_name(self) -> str:
        return f"{self.owner.login}/{self.name}"

    def payload(self, base_url: str) -> dict[str, Any]:
        """The repository as GitHub answers it."""
        return shapes.repository(self, base_url)

    def association(self, login: str) -> str:
        """How ``login`` relates to this repository, as GitHub's ``author_association`` says."""
        key = login.lower()
        if key == self.owner.login.lower():
            return "OWNER"
        if key in self.owner.members:
            return "MEMBER"
        return self.roles.get(key, "NONE")

    def all_comments(self) -> Iterator[Comment]:
        """Every comment of every issue."""
        for issue in self.issues.values():
            yield from issue.comments

    def find_comment(self, comment_id: int) -> tuple[Issue, Comment] | None:
        """The comment with that id and its issue, if it is one of this repository's."""
        for issue in self.issues.values():
            for comment in issue.comments:
                if comment.github_id == comment_id:
                    return issue, comment
        return None

    def label_for(self, name: str) -> Label:
        """The label called ``name`` (one the repository does not know is shown all the same)."""
        return self.labels.get(name.lower()) or Label(0, name)

    def labels_named(self, names: Iterable[str], new_id: Iterator[int]) -> list[Label]:
        """The labels called ``names``, created when missing (as GitHub does when labelling).

        A name matches an existing label whatever its case, and the label keeps
        its own spelling.
        """
        found = []
        for name in names:
            key = name.lower()
            if key not in self.labels:
                self.labels[key] = Label(next(new_id), name)
            found.append(self.labels[key])
        return found
