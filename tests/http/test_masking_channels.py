"""End to end: every secret, echoed back by GitHub, is masked in every output channel.

The daemon runs as a subprocess on PostgreSQL (so there is a database
password) with every kind of secret configured: the GitHub token, the HTTP
token, the OpenAI key, a GitHub App private key, the webhook secret. The fake
GitHub answers 500 (a poller's listing) and 422 (the explainer's comment)
with messages that echo them, raw and in the encodings a secret leaks in:
URL-encoded, base64 Basic credentials. Then every channel is
read: the log, ``ctl status`` (table and JSON), ``ctl jobs``, an error
answer (``ctl explain``), a reload answer, ``/status.json``, ``/api/overview``
(what the dashboard shows), ``/metrics``, ``/readyz`` and ``check --online``.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.control.daemon import SUPERVISOR, write_settings
from tests.fakes.github import FakeGitHub
from tests.fakes.ollama import FakeOllama
from tests.http.daemon import LISTEN, HttpDaemon

pytestmark = pytest.mark.slow

GITHUB_TOKEN = "ghp_M4skM3Everywhere0123456789abcdefABCD"
HTTP_TOKEN = "http-T0ken-Zq9Xw8Vu7Ts6Rq5Po4Nm3"
OPENAI_KEY = "sk-proj-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
WEBHOOK_SECRET = "whsec_Hook5ecret_4b3c2d1e0f9a8b7c"
DATABASE_PASSWORD = "Pg-Pa55word/with+odd=chars"
KEY_LINES = (
    "MIIEowIBAAKCAQEAx4K3Yv9mQ2hW7sT1uZp8LrN5cJ6dF0gH2iK4lM6nO8pQ0rS2",
    "tU4vW6xY8zA0bC2dE4fG6hI8jK0lM2nO4pQ6rS8tU0vW2xY4zA6bC8dE0fG2hI4",
)
APP_KEY = "\n".join(
    ["-----BEGIN RSA PRIVATE KEY-----", *KEY_LINES, "-----END RSA PRIVATE KEY-----"]
)
SECRETS = (GITHUB_TOKEN, HTTP_TOKEN, OPENAI_KEY, WEBHOOK_SECRET, DATABASE_PASSWORD, *KEY_LINES)


def basic(credentials: str) -> str:
    return base64.b64encode(credentials.encode()).decode()


def leaks(text: str) -> list[str]:
    """Every form of every secret found in ``text``."""
    forms = {
        form
        for secret in SECRETS
        for form in (secret, quote(secret, safe=""), basic(f"x-access-token:{secret}"))
    }
    forms |= {basic(f"postgres:{DATABASE_PASSWORD}"), json.dumps(APP_KEY)[1:-1]}
    return sorted(form for form in forms if form in text)


LISTING_ECHO = " ".join(
    [
        GITHUB_TOKEN,
        basic(f"x-access-token:{GITHUB_TOKEN}"),
        HTTP_TOKEN,
        quote(HTTP_TOKEN, safe=""),
        OPENAI_KEY,
        WEBHOOK_SECRET,
    ]
)
"""What GitHub says when a poller lists octo/world's issues (under its 300-character cut)."""
COMMENT_ECHO = " ".join(
    [
        *KEY_LINES,
        DATABASE_PASSWORD,
        quote(DATABASE_PASSWORD, safe=""),
        basic(f"postgres:{DATABASE_PASSWORD}"),
    ]
)
"""What GitHub says when the explainer posts its comment on octo/hello#1."""


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=GITHUB_TOKEN) as fake:
        for name in ("hello", "world"):
            fake.add_repo("octo", name)
        fake.add_issue("octo", "hello", title="Crash on start")
        fake.fail_next(
            10**6, "status", "/repos/octo/world/issues", status=500, body={"message": LISTING_ECHO}
        )
        fake.fail_next(
            10**6,
            "status",
            "/repos/octo/hello/issues/1/comments",
            method="POST",
            status=422,  # the job's fault: it is dead-lettered, its reason kept
            body={"message": COMMENT_ECHO},
        )
        yield fake


def settings_with_every_secret(
    directory: Path, sock: Path, github: FakeGitHub, ollama: FakeOllama, database_url: str
) -> Path:
    settings = write_settings(directory, sock, github, ollama)
    (directory / "app-key.pem").write_text(APP_KEY + "\n")
    url = database_url.replace("postgres:@", f"postgres:{quote(DATABASE_PASSWORD, safe='')}@")
    text = settings.read_text().replace('token = "test-token"', f'token = "{GITHUB_TOKEN}"')
    text = text.replace('[database]\npath = "autosolve.db"', f'[database]\nurl = "{url}"')
    text = text.replace(LISTEN, f'{LISTEN}\ntoken = "{HTTP_TOKEN}"')
    settings.write_text(
        text
        + f"""
[github.app]
private_key_file = "app-key.pem"

[github.webhooks]
secret = "{WEBHOOK_SECRET}"

[openai]
api_key = "{OPENAI_KEY}"

[queue]
max_attempts = 1
"""
    )
    return settings


def test_every_secret_echoed_by_github_is_masked_in_every_channel(
    github: FakeGitHub, postgres_url: str, tmp_path: Path, short_dir: Path
) -> None:
    sock = short_dir / "masking.sock"
    with FakeOllama() as ollama:
        settings = settings_with_every_secret(tmp_path, sock, github, ollama, postgres_url)
        daemon = HttpDaemon(settings, sock, tmp_path / "daemon.log")
        try:
            daemon.wait_ready(timeout=40)
            channels = read_every_channel(daemon, github, settings)
        finally:
            daemon.close()
    channels["log"] = daemon.log_path.read_text(errors="replace")
    for name, text in channels.items():
        assert leaks(text) == [], name
        if name not in QUIET:
            assert "***" in text, f"{name}: nothing masked, so nothing was checked"


QUIET = ("/metrics", "/readyz", "ctl status", "/api/history")
"""Channels that carry no error message (the table cuts errors short): they must leak
nothing all the same."""


def read_every_channel(daemon: HttpDaemon, github: FakeGitHub, settings: Path) -> dict[str, str]:
    world = "worker:issue-poller:octo/world"
    daemon.wait_until(lambda: "***" in (daemon.child(world)["last_error"] or ""), timeout=30)
    daemon.wait_until(lambda: daemon.client.call("jobs")["dead"] >= 1, timeout=40)
    channels = {
        "ctl status": daemon.ctl("status").stdout,
        "ctl status --json": daemon.ctl("status", "--json").stdout,
        "ctl jobs --json": daemon.ctl("jobs", "--json").stdout,
        "ctl explain (an error answer)": daemon.ctl("explain", "octo/hello#1").stderr,
        "/status.json": daemon.get("/status.json").text,
        "/api/overview": daemon.get("/api/overview").text,
        "/api/readiness": daemon.get("/api/readiness").text,
        "/api/repository": daemon.get("/api/repository?name=octo/hello").text,
        "/api/history": daemon.get("/api/history").text,
        "/metrics": daemon.get("/metrics").text,
        "/readyz": daemon.get("/readyz").text,
    }
    text = settings.read_text()
    settings.write_text(text.replace('"octo/world"]', f'"octo/world", "octo/{GITHUB_TOKEN}!"]'))
    channels["ctl reload (refused)"] = daemon.ctl("reload", "--json").stdout
    settings.write_text(text)
    channels["check --online"] = check_online(github, settings)
    return channels


def check_online(github: FakeGitHub, settings: Path) -> str:
    github.fail_next(10**6, "status", "/repos/octo/", status=500, body={"message": LISTING_ECHO})
    result = subprocess.run(
        [SUPERVISOR, "check", "--online", "--settings", str(settings)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.stdout + result.stderr
