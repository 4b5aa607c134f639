"""The webhook signature: GitHub's documented test vector, and what is refused."""

from __future__ import annotations

from autosolve.http.webhooks import signature, signed_by

# GitHub's documentation ("Validating webhook deliveries") gives this example.
SECRET = "It's a Secret to Everybody"
PAYLOAD = b"Hello, World!"
EXPECTED = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_the_signature_matches_githubs_documented_test_vector() -> None:
    assert signature(SECRET, PAYLOAD) == EXPECTED
    assert signed_by(SECRET, PAYLOAD, EXPECTED)


def test_a_wrong_missing_or_other_secrets_signature_is_refused() -> None:
    assert not signed_by(SECRET, PAYLOAD + b" ", EXPECTED)  # another body
    assert not signed_by("another secret", PAYLOAD, EXPECTED)
    assert not signed_by(SECRET, PAYLOAD, "")
    assert not signed_by(SECRET, PAYLOAD, EXPECTED.removeprefix("sha256="))
    assert not signed_by(SECRET, PAYLOAD, EXPECTED.upper())
    assert not signed_by(SECRET, PAYLOAD, "sha256=ü")  # not ASCII: refused, not an error


def test_with_no_secret_nothing_is_signed() -> None:
    assert not signed_by("", PAYLOAD, signature("", PAYLOAD))
