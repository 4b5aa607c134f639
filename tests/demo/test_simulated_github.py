"""The simulated GitHub's endpoints, over real HTTP, in GitHub's shapes.

Where autosolve's clients already speak an endpoint they are used; the
listings other streams' clients will read (labels, a repository's comments)
are spoken to with ``requests``, as GitHub's documentation describes them.
Recorded answers of api.github.com (``fixtures/octokit.json``, from
``@octokit/fixtures``) hold the shapes to GitHub's.
"""

from __future__ import annotations

import email.utils
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests

from autosolve.cli.online import check_token
from autosolve.demo.clock import parse_iso
from autosolve.demo.github import SimulatedGitHub
from autosolve.infra.github import GitHubClient
from autosolve.settings import Settings

TOKEN = "ghp_simulatedToken123"
LOGIN = "autosolve-bot"
FIXTURES = Path(__file__).parent / "fixtures"
RECORDED = json.loads((FIXTURES / "octokit.json").read_text())["examples"]
DOCUMENTED = json.loads((FIXTURES / "documented.json").read_text())["keys"]


@pytest.fixture
def github() -> Iterator[SimulatedGitHub]:
    with SimulatedGitHub(TOKEN, login=LOGIN) as simulation:
        simulation.add_repo("octo", "hello")
        yield simulation
    assert not simulation.route_errors, "the simulation itself failed"


def get(github: SimulatedGitHub, path: str, token: str = TOKEN, **params: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"}
    return requests.get(f"{github.api_url}{path}", headers=headers, params=params, timeout=5)


def post(github: SimulatedGitHub, path: str, body: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    return requests.post(f"{github.api_url}{path}", headers=headers, json=body, timeout=5)


def next_url(response: requests.Response) -> str | None:
    return response.links.get("next", {}).get("url")


# -- GET /user --------------------------------------------------------------------


def test_get_user_answers_the_account_the_token_belongs_to(github: SimulatedGitHub) -> None:
    github.add_token("ghp_other", "maria")
    mine, theirs = get(github, "/user").json(), get(github, "/user", token="ghp_other").json()
    assert (mine["login"], mine["type"]) == (LOGIN, "User")
    assert theirs["login"] == "maria" and theirs["id"] != mine["id"]
    assert set(mine) == set(DOCUMENTED["authenticated_user"])


def test_the_online_check_names_the_login_of_the_token(github: SimulatedGitHub) -> None:
    settings = Settings()
    settings = replace(
        settings, github=replace(settings.github, api_url=github.api_url, token=TOKEN)
    )
    finding = check_token(settings)
    assert (finding.ok, finding.detail) == (True, f"accepted (login {LOGIN})")


def test_a_wrong_or_rotated_token_is_refused_with_bad_credentials(github: SimulatedGitHub) -> None:
    github.token = "ghp_rotated"
    refused = get(github, "/user")
    assert refused.status_code == 401 and refused.json()["message"] == "Bad credentials"
    assert get(github, "/user", token="ghp_rotated").json()["login"] == LOGIN


# -- Date ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/user", "/repos/octo/hello", "/repos/octo/nope", "/repos/octo/hello/labels"]
)
def test_every_answer_is_dated_by_the_simulation_clock(github: SimulatedGitHub, path: str) -> None:
    github.add_issue("octo", "hello")  # the counter clock moved on from its epoch
    date = email.utils.parsedate_to_datetime(get(github, path).headers["Date"])
    assert date == github.clock.now()


def test_a_not_modified_answer_is_dated_too(github: SimulatedGitHub) -> None:
    first = get(github, "/repos/octo/hello")
    again = requests.get(
        f"{github.api_url}/repos/octo/hello",
        headers={"Authorization": f"Bearer {TOKEN}", "If-None-Match": first.headers["ETag"]},
        timeout=5,
    )
    assert again.status_code == 304
    assert email.utils.parsedate_to_datetime(again.headers["Date"]) == github.clock.now()


# -- labels -----------------------------------------------------------------------


def test_labels_are_listed_by_name_in_pages_with_absolute_links(github: SimulatedGitHub) -> None:
    names = [f"area: part {n:02d}" for n in range(35)]
    for name in reversed(names):
        github.add_label("octo", "hello", name, "c5def5", f"about {name}")
    seen, url = [], f"{github.api_url}/repos/octo/hello/labels?per_page=30"
    while url:
        page = requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
        seen.append([label["name"] for label in page.json()])
        url = next_url(page)
    assert seen == [names[:30], names[30:]]


def test_the_label_listing_is_conditional_on_its_etag(github: SimulatedGitHub) -> None:
    github.add_label("octo", "hello", "bug", "d73a4a", "Something isn't working")
    first = get(github, "/repos/octo/hello/labels")
    headers = {"Authorization": f"Bearer {TOKEN}", "If-None-Match": first.headers["ETag"]}
    url = f"{github.api_url}/repos/octo/hello/labels"
    assert requests.get(url, headers=headers, timeout=5).status_code == 304
    github.add_label("octo", "hello", "docs", "0075ca")
    assert requests.get(url, headers=headers, timeout=5).status_code == 200


def test_adding_labels_answers_the_issues_labels_and_creates_unknown_ones_like_github(
    github: SimulatedGitHub,
) -> None:
    github.add_label("octo", "hello", "bug", "d73a4a", "Something isn't working")
    issue = github.add_issue("octo", "hello")
    answer = post(
        github, f"/repos/octo/hello/issues/{issue.number}/labels", {"labels": ["BUG", "new"]}
    )
    assert answer.status_code == 200
    assert [label["name"] for label in answer.json()] == ["bug", "new"]  # known spelling kept
    created = {label["name"]: label for label in get(github, "/repos/octo/hello/labels").json()}
    assert (created["new"]["color"], created["new"]["description"]) == ("ededed", None)


def test_adding_labels_bumps_updated_at_only_when_one_was_new(github: SimulatedGitHub) -> None:
    issue = github.add_issue("octo", "hello")
    path = f"/repos/octo/hello/issues/{issue.number}/labels"
    before = issue.updated_at
    post(github, path, {"labels": ["bug"]})
    labelled = github.issue("octo", "hello", issue.number).updated_at
    post(github, path, {"labels": ["bug"]})
    assert before < labelled == github.issue("octo", "hello", issue.number).updated_at


@pytest.mark.parametrize("body", [["bug"], {"labels": [{"name": "bug"}]}])
def test_adding_labels_takes_a_bare_list_or_name_objects(
    github: SimulatedGitHub, body: Any
) -> None:
    issue = github.add_issue("octo", "hello")
    answer = post(github, f"/repos/octo/hello/issues/{issue.number}/labels", body)
    assert [label["name"] for label in answer.json()] == ["bug"]


@pytest.mark.parametrize("body", [{"labels": "bug"}, {"labels": [3]}, {"labels": [""]}, "bug"])
def test_adding_labels_refuses_what_is_not_a_list_of_names(
    github: SimulatedGitHub, body: Any
) -> None:
    issue = github.add_issue("octo", "hello")
    answer = post(github, f"/repos/octo/hello/issues/{issue.number}/labels", body)
    assert answer.status_code == 422 and answer.json()["message"].startswith("Invalid request.")
    assert github.issue("octo", "hello", issue.number).labels == []


def test_adding_labels_to_an_issue_that_does_not_exist_is_404(github: SimulatedGitHub) -> None:
    assert post(github, "/repos/octo/hello/issues/9/labels", {"labels": ["bug"]}).status_code == 404


# -- a repository's comments ----------------------------------------------------------


def comments_listing(github: SimulatedGitHub, **params: Any) -> list[dict[str, Any]]:
    """Every comment of the listing, following its ``next`` links."""
    found, page = [], get(github, "/repos/octo/hello/issues/comments", **params)
    while True:
        found.extend(page.json())
        url = next_url(page)
        if url is None:
            return found
        page = requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)


def test_a_repositorys_comments_are_listed_by_update_since_a_moment_in_pages(
    github: SimulatedGitHub,
) -> None:
    first, second = github.add_issue("octo", "hello"), github.add_issue("octo", "hello")
    old = github.add_comment("octo", "hello", first.number, "old")
    bodies = ["a", "b", "c", "d", "e"]
    for index, body in enumerate(bodies):
        github.add_comment("octo", "hello", (first, second)[index % 2].number, body)
    since = github.comments("octo", "hello", second.number)[0].created_at
    listed = comments_listing(github, sort="updated", direction="asc", since=since, per_page=2)
    assert [comment["body"] for comment in listed] == bodies[1:]
    assert old.body not in [comment["body"] for comment in listed]


def test_an_edited_comment_moves_to_the_end_of_the_updated_listing(github: SimulatedGitHub) -> None:
    issue = github.add_issue("octo", "hello")
    early = github.add_comment("octo", "hello", issue.number, "early")
    github.add_comment("octo", "hello", issue.number, "late")
    edited = requests.patch(
        f"{github.api_url}/repos/octo/hello/issues/comments/{early.github_id}",
        headers={"Authorization": f"Bearer {TOKEN}"},
        json={"body": "early, edited"},
        timeout=5,
    )
    assert edited.status_code == 200
    listed = comments_listing(github, sort="updated", direction="asc")
    assert [comment["body"] for comment in listed] == ["late", "early, edited"]
    by_id = comments_listing(github)
    assert [comment["body"] for comment in by_id] == ["early, edited", "late"]


def test_the_comment_listing_is_conditional_on_its_etag(github: SimulatedGitHub) -> None:
    issue = github.add_issue("octo", "hello")
    github.add_comment("octo", "hello", issue.number, "one")
    url = f"{github.api_url}/repos/octo/hello/issues/comments?sort=updated&direction=asc"
    first = requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    headers = {"Authorization": f"Bearer {TOKEN}", "If-None-Match": first.headers["ETag"]}
    assert requests.get(url, headers=headers, timeout=5).status_code == 304
    github.add_comment("octo", "hello", issue.number, "two")
    assert requests.get(url, headers=headers, timeout=5).status_code == 200


def test_a_listed_comment_names_its_author_issue_association_and_times(
    github: SimulatedGitHub,
) -> None:
    issue = github.add_issue("octo", "hello")
    github.add_comment("octo", "hello", issue.number, "beep", "ci-helper[bot]", user_type="Bot")
    [comment] = comments_listing(github)
    assert set(comment) == set(DOCUMENTED["issue_comment"])
    assert (comment["user"]["login"], comment["user"]["type"]) == ("ci-helper[bot]", "Bot")
    assert comment["author_association"] == "NONE"
    assert comment["issue_url"] == f"{github.api_url}/repos/octo/hello/issues/{issue.number}"
    assert parse_iso(comment["created_at"]) == parse_iso(comment["updated_at"])


def test_a_comment_posted_with_the_token_is_by_the_tokens_account(github: SimulatedGitHub) -> None:
    client = GitHubClient(github.api_url, TOKEN, timeout=5)
    issue = github.add_issue("octo", "hello")
    client.create_comment("octo", "hello", issue.number, "<!-- autosolve -->\nhello")
    [comment] = comments_listing(github)
    assert comment["user"]["login"] == LOGIN == get(github, "/user").json()["login"]


@pytest.mark.parametrize(
    ("login", "association"),
    [("octo", "OWNER"), ("maria", "MEMBER"), ("sam", "COLLABORATOR"), ("kwame", "CONTRIBUTOR"),
     ("stranger", "NONE")],
)  # fmt: skip
def test_the_author_association_follows_the_authors_relation_to_the_repository(
    login: str, association: str
) -> None:
    with SimulatedGitHub(TOKEN) as github:
        github.add_repo("octo", "hello", owner_type="User")
        github.add_repo("team", "tools")
        github.add_member("team", "maria")
        github.associate("team", "tools", "sam", "COLLABORATOR")
        github.associate("team", "tools", "kwame", "CONTRIBUTOR")
        repository = "octo/hello" if login == "octo" else "team/tools"
        owner, name = repository.split("/")
        issue = github.add_issue(owner, name, author=login)
        github.add_comment(owner, name, issue.number, "hi", login)
        [listed] = get(github, f"/repos/{repository}/issues/comments").json()
        shown = get(github, f"/repos/{repository}/issues/{issue.number}").json()
    assert listed["author_association"] == shown["author_association"] == association


# -- GitHub's shapes --------------------------------------------------------------


def test_an_issue_has_the_keys_of_githubs_recorded_issue(github: SimulatedGitHub) -> None:
    github.add_issue("octo", "hello", labels=["bug"])
    [issue] = get(github, "/repos/octo/hello/issues").json()
    assert set(issue) == set(RECORDED["issue"])
    assert set(issue["user"]) == set(RECORDED["issue"]["user"])
    assert set(issue["labels"][0]) == set(RECORDED["label"])


def test_a_label_added_has_the_keys_of_githubs_recorded_answer(github: SimulatedGitHub) -> None:
    example = RECORDED["add_labels"]
    issue = github.add_issue("octo", "hello")
    answer = post(github, f"/repos/octo/hello/issues/{issue.number}/labels", example["request"])
    assert [set(label) for label in answer.json()] == [set(x) for x in example["response"]]
    assert [label["name"] for label in answer.json()] == example["request"]["labels"]


def test_a_repository_has_only_keys_githubs_recorded_repository_has(
    github: SimulatedGitHub,
) -> None:
    repository = get(github, "/repos/octo/hello").json()
    assert set(repository) <= set(RECORDED["repository"])
    assert set(repository["owner"]) == set(RECORDED["repository"]["owner"])


# -- GitHub Enterprise's layout: the API under /api/v3, a web view beside it ------------------


def test_under_api_v3_the_client_works_and_html_urls_lead_to_the_issue_page() -> None:
    with SimulatedGitHub(TOKEN, api_path="/api/v3") as github:
        github.add_repo("octo", "hello")
        github.add_issue("octo", "hello", title="Crash <on> start")
        client = GitHubClient(github.api_url, TOKEN, timeout=5)
        posted = client.create_comment("octo", "hello", 1, "an analysis")
        [issue] = client.list_issues("octo", "hello", since=None).issues
        html_url = get(github, "/repos/octo/hello/issues/1").json()["html_url"]
        page = requests.get(html_url, timeout=5)
    assert issue.title == "Crash <on> start"
    assert page.status_code == 200 and "Crash &lt;on&gt; start" in page.text
    assert f'id="issuecomment-{posted.github_id}"' in page.text and "an analysis" in page.text
