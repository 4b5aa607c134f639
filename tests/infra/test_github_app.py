"""A GitHub App's credentials against the simulated GitHub, which verifies the App's JWT
with its public key: installation tokens cached, renewed before expiry and on a 401."""

from __future__ import annotations

from collections.abc import Iterator

import jwt
import pytest

from autosolve.infra.github import GitHubClient, NotFoundError
from autosolve.infra.github.app import (
    APP_BUDGET,
    JWT_BACKDATE,
    RENEW_BEFORE,
    GitHubApp,
    installation_budget,
)
from tests.fakes.app_keys import key_pair
from tests.fakes.github import FakeGitHub

APP_ID = 4242


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        fake.add_app(APP_ID, "autosolve-app", key_pair().public)
        fake.add_repo("octo", "hello")
        fake.add_repo("octo", "world")
        fake.add_repo("acme", "tools")
        fake.add_issue("octo", "hello")
        yield fake


def statuses(github: FakeGitHub, path: str) -> list[int]:
    return [r.status for r in github.requests_for(path) if r.path == path]


def client_for(github: FakeGitHub, app: GitHubApp, budgets=None) -> GitHubClient:
    client = GitHubClient(github.url, "", timeout=5, credentials=app, budgets=budgets)
    app.bind(client)
    return client


def test_the_jwt_is_rs256_issued_by_the_app_backdated_and_short_lived() -> None:
    app = GitHubApp(APP_ID, key_pair().private, now=lambda: 1_000_000.0)
    header = app.jwt().auth(_Prepared()).headers["Authorization"]
    token = header.removeprefix("Bearer ")
    claims = jwt.decode(token, key_pair().public, algorithms=["RS256"],
                        options={"verify_exp": False, "verify_iat": False})  # fmt: skip
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert claims["iss"] == str(APP_ID)
    assert claims["iat"] == 1_000_000 - JWT_BACKDATE
    assert claims["exp"] - claims["iat"] <= 600


def test_requests_about_a_repository_use_its_installations_token_made_once(
    github: FakeGitHub,
) -> None:
    installation = github.install_app(APP_ID, "octo")
    client = client_for(github, GitHubApp(APP_ID, key_pair().private))
    for _ in range(3):
        client.get_repository("octo", "hello")
    client.get_repository("octo", "world")
    assert github.installations.issued == [installation.id]  # one token, cached
    assert len(github.requests_for("/repos/octo/hello/installation")) == 1


def test_a_token_is_renewed_before_it_expires(github: FakeGitHub) -> None:
    github.install_app(APP_ID, "octo")
    clock = github.installations.now = Clock(github.installations.now())  # one clock
    app = GitHubApp(APP_ID, key_pair().private, now=clock)
    client = client_for(github, app)
    client.get_repository("octo", "hello")
    clock.now += github.installations.token_lifetime - RENEW_BEFORE - 1  # not yet
    client.get_repository("octo", "hello")
    assert len(github.installations.issued) == 1
    clock.now += 2  # within RENEW_BEFORE of expiry: a new one, before GitHub refuses it
    client.get_repository("octo", "hello")
    assert len(github.installations.issued) == 2
    assert statuses(github, "/repos/octo/hello") == [200, 200, 200]


def test_a_revoked_token_is_replaced_at_once_and_the_request_still_answers(
    github: FakeGitHub,
) -> None:
    github.install_app(APP_ID, "octo")
    client = client_for(github, GitHubApp(APP_ID, key_pair().private))
    client.get_repository("octo", "hello")
    assert github.revoke_installation_tokens() == 1
    assert client.get_repository("octo", "hello").full_name == "octo/hello"
    assert statuses(github, "/repos/octo/hello") == [200, 401, 200]
    assert len(github.installations.issued) == 2


def test_each_installation_draws_on_its_own_budget(github: FakeGitHub) -> None:
    octo, acme = github.install_app(APP_ID, "octo"), github.install_app(APP_ID, "acme")
    keys: list[str] = []
    client = client_for(github, GitHubApp(APP_ID, key_pair().private),
                        budgets=lambda key: keys.append(key))  # fmt: skip
    client.get_repository("octo", "hello")
    client.get_repository("acme", "tools")
    assert set(keys) == {APP_BUDGET, installation_budget(octo.id), installation_budget(acme.id)}


def test_installations_list_what_they_cover_and_a_repository_outside_is_not_found(
    github: FakeGitHub,
) -> None:
    github.install_app(APP_ID, "octo", repositories=["octo/hello"])
    app = GitHubApp(APP_ID, key_pair().private)
    client = client_for(github, app)
    [installation] = app.installations()
    assert installation.account == "octo"
    assert [r.full_name for r in app.repositories(installation)] == ["octo/hello"]
    with pytest.raises(NotFoundError, match="not installed on acme/tools"):
        client.get_repository("acme", "tools")
    with pytest.raises(NotFoundError):
        client.get_repository("octo", "world")  # the installation does not cover it


def test_a_jwt_signed_with_another_key_is_refused(github: FakeGitHub) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()  # fmt: skip
    github.install_app(APP_ID, "octo")
    app = GitHubApp(APP_ID, other)
    client_for(github, app)
    with pytest.raises(Exception, match="401") as caught:
        app.installations()
    assert "Bearer" not in str(caught.value) and "eyJ" not in str(caught.value)


def test_the_bot_account_is_the_apps_slug(github: FakeGitHub) -> None:
    app = GitHubApp(APP_ID, key_pair().private)
    client_for(github, app)
    assert app.bot_login() == "autosolve-app[bot]"


class _Prepared:
    headers: dict[str, str]

    def __init__(self) -> None:
        self.headers = {}
