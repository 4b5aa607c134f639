"""The one masking path: every form a secret may take in a message is masked."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest

from autosolve.masking import MASK, Secrets

TOKEN = "ghp_M4skM3Everywhere0123456789abcdef"
PEM_LINES = (
    "MIIEowIBAAKCAQEAx4K3Yv9mQ2hW7sT1uZp8LrN5cJ6dF0gH2iK4lM6nO8pQ0rS2",
    "tU4vW6xY8zA0bC2dE4fG6hI8jK0lM2nO4pQ6rS8tU0vW2xY4zA6bC8dE0fG2hI4",
)
PEM = "\n".join(["-----BEGIN RSA PRIVATE KEY-----", *PEM_LINES, "-----END RSA PRIVATE KEY-----"])


def basic(credentials: str) -> str:
    return base64.b64encode(credentials.encode()).decode()


@pytest.mark.parametrize(
    "form",
    [
        TOKEN,
        quote(TOKEN, safe=""),
        json.dumps(TOKEN)[1:-1],
        basic(f"x-access-token:{TOKEN}"),
        basic(TOKEN),
    ],
    ids=["raw", "url", "json", "basic-git", "base64"],
)
def test_every_encoding_of_a_secret_is_masked(form: str) -> None:
    masked = Secrets([TOKEN]).mask(f"Authorization: {form} failed")
    assert masked == f"Authorization: {MASK} failed"


@pytest.mark.parametrize("user", ["a", "ab", "abc", "octocat"])
def test_a_secret_in_basic_credentials_is_masked_whatever_user_precedes_it(user: str) -> None:
    encoded = basic(f"{user}:{TOKEN}")
    masked = Secrets([TOKEN]).mask(f"Basic {encoded}")
    assert MASK in masked
    assert base64.b64decode(encoded)[-len(TOKEN) :].decode() == TOKEN  # it was there
    leftover = masked.replace(MASK, "").removeprefix("Basic ")
    # The user's part, and at each end a group shared with the user or the padding:
    # at most two bytes of the secret, never more.
    assert len(leftover) <= len(basic(f"{user}:")) + 8


def test_a_private_key_is_masked_whole_and_line_by_line() -> None:
    secrets = Secrets([PEM])
    assert secrets.mask(f"key: {PEM}") == f"key: {MASK}"
    assert secrets.mask(f"key: {json.dumps(PEM)}") == f'key: "{MASK}"'
    quoted = secrets.mask(f"GitHub says: {PEM_LINES[1]} is not a key")
    assert quoted == f"GitHub says: {MASK} is not a key"
    assert secrets.mask("-----BEGIN RSA PRIVATE KEY-----") == "-----BEGIN RSA PRIVATE KEY-----"


def test_a_secret_cut_short_at_the_end_of_a_message_is_masked() -> None:
    secrets = Secrets([TOKEN])
    assert secrets.mask(f"GitHub says: {TOKEN[:12]}") == f"GitHub says: {MASK}"
    assert secrets.mask(f"GitHub says: {TOKEN[:4]}") == f"GitHub says: {TOKEN[:4]}"


def test_documents_are_masked_keys_too_and_returned_as_is_when_clean() -> None:
    secrets = Secrets([TOKEN])
    clean = {"children": [{"name": "worker:a", "last_error": None}]}
    assert secrets.mask_document(clean) is clean
    leaky = {"children": [{"name": TOKEN, "last_error": f"401 for {TOKEN}"}], TOKEN: 1}
    assert secrets.mask_document(leaky) == {
        "children": [{"name": MASK, "last_error": f"401 for {MASK}"}],
        MASK: 1,
    }


def test_a_secret_added_later_is_masked_from_then_on_and_one_may_be_revealed() -> None:
    secrets = Secrets(["first-secret"])
    secrets.add([TOKEN])
    text = f"first-secret and {TOKEN}"
    assert secrets.mask(text) == f"{MASK} and {MASK}"
    assert secrets.mask(text, reveal=[TOKEN]) == f"{MASK} and {TOKEN}"
    assert secrets.mask_document({"url": TOKEN}, reveal=[TOKEN]) == {"url": TOKEN}
