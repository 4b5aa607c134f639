"""The GitHub payloads autosolve reads, as frozen dataclasses validated by marshmallow.

Schemas exclude unknown keys (GitHub adds fields all the time) but insist on
the fields autosolve relies on, so a surprising body fails loudly at the edge
instead of deep inside domain code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load

from autosolve.infra.issue import Issue

__all__ = [
    "Comment",
    "CommentSchema",
    "InstallationRepositoriesSchema",
    "Issue",
    "IssuePage",
    "IssueSchema",
    "Repository",
    "RepositorySchema",
]


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
class IssuePage:
    issues: list[Issue]
    etag: str | None
    next_url: str | None
    not_modified: bool = False
    url: str = ""
    """The URL that was read (query included), to recognise a listing that loops."""
    poll_interval: float | None = None
    """GitHub's ``X-Poll-Interval``: poll no more often than this many seconds."""


@dataclass(frozen=True)
class Comment:
    github_id: int
    body: str


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


class CommentSchema(_Base):
    id = fields.Integer(required=True, strict=True)
    body = fields.String(required=True)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Comment:
        return Comment(github_id=data["id"], body=data["body"])
