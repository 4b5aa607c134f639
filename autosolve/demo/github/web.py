"""A small web view of the simulated repositories, where GitHub's ``html_url`` links lead.

``/{owner}/{name}`` lists a repository's issues, ``/{owner}/{name}/issues/{n}``
shows one with its comments (the analysis autosolve posted among them,
anchored ``#issuecomment-{id}`` as on github.com). Plain HTML, every text
escaped, Markdown shown as written.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping

from autosolve.demo.github.state import Comment, Issue, Repository
from autosolve.demo.server import Response

__all__ = ["page"]

_REPOSITORY = re.compile(r"^/(?P<owner>[^/]+)/(?P<name>[^/]+)/?$")
_ISSUE = re.compile(r"^/(?P<owner>[^/]+)/(?P<name>[^/]+)/(?:issues|pull)/(?P<number>\d+)/?$")

_STYLE = (
    "body{font:15px/1.5 system-ui,sans-serif;max-width:56rem;margin:2rem auto;padding:0 1rem}"
    "pre{white-space:pre-wrap;background:#f6f8fa;padding:.75rem;border-radius:6px}"
    ".meta{color:#57606a;font-size:13px}.label{background:#ddf4ff;border-radius:1em;"
    "padding:0 .5em;margin-right:.3em;font-size:12px}article{border:1px solid #d0d7de;"
    "border-radius:6px;padding:.5rem 1rem;margin:1rem 0}"
)


def page(path: str, repositories: Mapping[tuple[str, str], Repository], api_url: str) -> Response:
    """The page at ``path``: a repository, an issue, the index, or 404."""
    if path in ("", "/"):
        return _html("Repositories", _index(repositories))
    found = _ISSUE.match(path) or _REPOSITORY.match(path)
    if found is None:
        return _not_found()
    repo = repositories.get((found["owner"].lower(), found["name"].lower()))
    if repo is None:
        return _not_found()
    if "number" not in found.groupdict():
        return _html(repo.full_name, _repository(repo))
    issue = repo.issues.get(int(found["number"]))
    if issue is None:
        return _not_found()
    return _html(f"{issue.title} · #{issue.number}", _issue(repo, issue, api_url))


def _index(repositories: Mapping[tuple[str, str], Repository]) -> str:
    items = "".join(
        f'<li><a href="/{_e(r.full_name)}">{_e(r.full_name)}</a></li>'
        for r in repositories.values()
    )
    return f"<h1>Simulated repositories</h1><ul>{items}</ul>"


def _repository(repo: Repository) -> str:
    rows = "".join(
        f'<li><a href="/{_e(repo.full_name)}/issues/{i.number}">#{i.number} {_e(i.title)}</a>'
        f' <span class="meta">{_e(i.state)} · {len(i.comments)} comments</span></li>'
        for i in sorted(repo.issues.values(), key=lambda i: -i.number)
    )
    return f"<h1>{_e(repo.full_name)}</h1><ul>{rows}</ul>"


def _issue(repo: Repository, issue: Issue, api_url: str) -> str:
    labels = "".join(f'<span class="label">{_e(name)}</span>' for name in issue.labels)
    comments = "".join(_comment(comment) for comment in issue.comments)
    return (
        f'<p class="meta"><a href="/{_e(repo.full_name)}">{_e(repo.full_name)}</a></p>'
        f"<h1>{_e(issue.title)} <span class=meta>#{issue.number}</span></h1>"
        f'<p class="meta">{_e(issue.state)} · opened by {_e(issue.author)} at '
        f"{_e(issue.created_at)} · {labels}</p><pre>{_e(issue.body or '')}</pre>{comments}"
        f'<p class="meta">API: <a href="{_e(api_url)}/repos/{_e(repo.full_name)}/issues/'
        f'{issue.number}">{_e(api_url)}/repos/{_e(repo.full_name)}/issues/{issue.number}</a></p>'
    )


def _comment(comment: Comment) -> str:
    return (
        f'<article id="issuecomment-{comment.github_id}"><p class="meta">'
        f"<b>{_e(comment.user)}</b> ({_e(comment.association.lower())}) at "
        f"{_e(comment.created_at)}</p><pre>{_e(comment.body)}</pre></article>"
    )


def _html(title: str, content: str) -> Response:
    document = (
        f'<!doctype html><html lang="en"><meta charset="utf-8"><title>{_e(title)}</title>'
        f"<style>{_STYLE}</style><body>{content}</body></html>"
    )
    return Response(200, document.encode(), {"Content-Type": "text/html; charset=utf-8"})


def _not_found() -> Response:
    return Response(404, b"Not Found", {"Content-Type": "text/plain; charset=utf-8"})


def _e(text: str) -> str:
    return html.escape(text, quote=True)
