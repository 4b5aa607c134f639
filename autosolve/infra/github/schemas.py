"""The GitHub payloads autosolve reads, as frozen dataclasses validated by marshmallow.

Schemas exclude unknown keys (GitHub adds fields all the time) but insist on
the fields autosolve relies on, so a surprising body fails loudly at the edge
instead of deep inside domain code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load

from autosolve.infra.comment import Comment
from autosolve.infra.issue import Issue
from autosolve.infra.label import Label

__all__ = [
    "Account",
    "AccountSchema",
    "Comment",
    "CommentPage",
    "CommentSchema",
    "InstallationRepositoriesSchema",
    "Issue",
    "IssuePage",
    "IssueSchema",
    "Label",
    "LabelPage",
    "LabelSchema",
    "ListedCommentSchema",
    "Page",
    "Repository",
    "RepositorySchema",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Repository:
    github_id: int
    owner: str
    name: str
    full_name: str
    archived: bool = False
    disabled: bool = False
    answered_at: float | None = None
    """GitHub's clock when it answered (its ``Date`` header, epoch seconds); None without one."""

    @property
    def watchable(self) -> bool:
        """Neither archived nor disabled: its issues can change, and be commented on."""
        return not (self.archived or self.disabled)


@dataclass(frozen=True)
class Account:
    """The account a token acts as (``GET /user``)."""

    login: str
    type: str | None = None
    """``User`` or ``Bot``."""


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing, or a 304 saying the listing is as it was."""

    items: list[T]
    etag: str | None
    """The listing's ``ETag``: sent back as ``If-None-Match``, it makes an unchanged page a 304."""
    next_url: str | None
    not_modified: bool = False
    url: str = ""
    """The URL that was read (query included), to recognise a listing that loops."""
    poll_interval: float | None = None
    """GitHub's ``X-Poll-Interval``: poll no more often than this many seconds."""


class IssuePage(Page[Issue]):
    """A page of a repository's issues and pull requests."""

    @property
    def issues(self) -> list[Issue]:
        return self.items


class CommentPage(Page[Comment]):
    """A page of a repository's issue comments."""

    @property
    def comments(self) -> list[Comment]:
        return self.items


class LabelPage(Page[Label]):
    """A page of a repository's labels."""

    @property
    def labels(self) -> list[Label]:
        return self.items


def _iso8601(value: str) -> None:
    try:
        datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValidationError(f"not an ISO 8601 timestamp: {value!r}") from exc


class _LabelName(fields.String):
    """A label as GitHub sends it (``{"name": ...}``) or as a plain string."""

    default_error_messages = {"invalid": "label must be a string or an object with a name"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        name = value.get("name") if isinstance(value, dict) else value
        if isinstance(name, str):
            return name
        raise self.make_error("invalid")


class _Base(Schema):
    class Meta:
        unknown = EXCLUDE


class _OwnerSchema(_Base):
    login = fields.String(required=True)


class _UserSchema(_Base):
    login = fields.String(required=True)
    # GitHub's simple-user always has a type; tolerate its absence all the same.
    type = fields.String(load_default=None, allow_none=True)


class RepositorySchema(_Base):
    id = fields.Integer(required=True, strict=True)
    name = fields.String(required=True)
    full_name = fields.String(required=True)
    owner = fields.Nested(_OwnerSchema, required=True)
    archived = fields.Boolean(load_default=False)
    disabled = fields.Boolean(load_default=False)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Repository:
        return Repository(
            github_id=data["id"],
            owner=data["owner"]["login"],
            name=data["name"],
            full_name=data["full_name"],
            archived=data["archived"],
            disabled=data["disabled"],
        )


class InstallationRepositoriesSchema(_Base):
    """``GET /installation/repositories``: a page of the installation's repositories."""

    repositories = fields.List(fields.Nested(RepositorySchema), required=True)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> list[Repository]:
        repositories: list[Repository] = data["repositories"]
        return repositories


class IssueSchema(_Base):
    id = fields.Integer(required=True, strict=True)
    number = fields.Integer(required=True, strict=True)
    title = fields.String(required=True)
    body = fields.String(allow_none=True, load_default=None)
    state = fields.String(required=True)
    created_at = fields.String(required=True, validate=_iso8601)
    updated_at = fields.String(required=True, validate=_iso8601)
    # null for a deleted account ("ghost"): GitHub's schema marks the user nullable.
    user = fields.Nested(_UserSchema, allow_none=True, load_default=None)
    labels = fields.List(_LabelName(), load_default=list)
    # Present (an object) only on pull requests; absence is the signal.
    pull_request = fields.Dict(allow_none=True)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Issue:
        user = data["user"]
        return Issue(
            github_id=data["id"],
            number=data["number"],
            title=data["title"],
            body=data["body"],
            state=data["state"],
            is_pull_request="pull_request" in data,
            created_at=data["created_at"],
            updated_at=data["updated_at"],
            labels=tuple(data["labels"]),
            author_login=user["login"] if user else None,
            author_type=user["type"] if user else None,
        )


class AccountSchema(_UserSchema):
    """``GET /user``: the token's own account."""

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Account:
        return Account(login=data["login"], type=data["type"])


def _issue_number(issue_url: str | None) -> int | None:
    """The number at the end of GitHub's ``issue_url`` (``…/issues/12``)."""
    if issue_url is None:
        return None
    head, _, number = issue_url.rstrip("/").rpartition("/")
    if not head.endswith("/issues") or not number.isdigit():
        raise ValidationError(f"not an issue URL: {issue_url!r}", "issue_url")
    return int(number)


class CommentSchema(_Base):
    """An ``issue-comment``; what the mirror needs beyond ``id`` and ``body`` may be missing."""

    id = fields.Integer(required=True, strict=True)
    body = fields.String(required=True)
    issue_url = fields.String(load_default=None)
    # null for a deleted account ("ghost"), as for issues.
    user = fields.Nested(_UserSchema, allow_none=True, load_default=None)
    author_association = fields.String(load_default="NONE")
    created_at = fields.String(load_default=None, validate=_iso8601)
    updated_at = fields.String(load_default=None, validate=_iso8601)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Comment:
        user = data["user"]
        return Comment(
            github_id=data["id"],
            body=data["body"],
            issue_number=_issue_number(data["issue_url"]),
            author_login=user["login"] if user else None,
            author_type=user["type"] if user else None,
            author_association=data["author_association"],
            created_at=data["created_at"],
            updated_at=data["updated_at"],
        )


class ListedCommentSchema(CommentSchema):
    """A comment of the repository's listing: the mirror keys it by issue and orders it by time."""

    issue_url = fields.String(required=True)
    created_at = fields.String(required=True, validate=_iso8601)
    updated_at = fields.String(required=True, validate=_iso8601)


class LabelSchema(_Base):
    """GitHub's ``label``."""

    name = fields.String(required=True)
    color = fields.String(load_default="")
    description = fields.String(allow_none=True, load_default=None)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Label:
        return Label(name=data["name"], color=data["color"], description=data["description"])
