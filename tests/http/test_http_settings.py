"""``[http]`` settings: the address, the token, and the rule that ties them."""

from __future__ import annotations

import pytest

from autosolve.settings import SettingsError, settings_from_mapping
from autosolve.settings.address import ListenAddress, is_loopback, parse_listen


def test_the_defaults_listen_on_loopback_without_a_token() -> None:
    http = settings_from_mapping({}).http
    assert (http.listen, http.token) == ("127.0.0.1:9477", "")


@pytest.mark.parametrize(
    "listen", ["", "127.0.0.1:0", "localhost:9477", "[::1]:9477", "127.8.9.1:1"]
)
def test_loopback_or_off_needs_no_token(listen: str) -> None:
    assert settings_from_mapping({"http": {"listen": listen}}).http.listen == listen


@pytest.mark.parametrize("listen", ["0.0.0.0:9477", "[::]:9477", "10.1.2.3:80", "box.lan:9477"])
def test_a_listen_address_off_loopback_without_a_token_is_a_settings_error(listen: str) -> None:
    with pytest.raises(SettingsError) as caught:
        settings_from_mapping({"http": {"listen": listen}})
    assert list(caught.value.problems) == ["http.token"]
    assert "not a loopback address" in caught.value.problems["http.token"]


def test_a_listen_address_off_loopback_with_a_token_is_fine() -> None:
    http = settings_from_mapping({"http": {"listen": "0.0.0.0:9477", "token": "t0k"}}).http
    assert (http.listen, http.token) == ("0.0.0.0:9477", "t0k")


def test_the_token_loses_surrounding_whitespace_and_never_shows_in_repr() -> None:
    settings = settings_from_mapping({"http": {"token": " t0k-from-a-file\n"}})
    assert settings.http.token == "t0k-from-a-file"
    assert "t0k" not in repr(settings)


def test_a_whitespace_token_counts_as_none() -> None:
    with pytest.raises(SettingsError, match=r"http\.token"):
        settings_from_mapping({"http": {"listen": "0.0.0.0:1", "token": " \n"}})


@pytest.mark.parametrize(
    ("listen", "message"),
    [
        ("9477", "is not host:port"),
        (":9477", "is not host:port"),
        ("127.0.0.1:http", "the port must be a number"),
        ("127.0.0.1:70000", "the port must be a number"),
        ("::1:9477", "IPv6 address in brackets"),
        ("[nope]:9477", "is not an IPv6 address"),
    ],
)
def test_a_malformed_listen_address_is_a_settings_error(listen: str, message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        settings_from_mapping({"http": {"listen": listen}})
    assert message in caught.value.problems["http.listen"]
    assert '"" turns the endpoint off' in caught.value.problems["http.listen"]


def test_unknown_http_keys_are_reported_with_the_others() -> None:
    with pytest.raises(SettingsError) as caught:
        settings_from_mapping({"http": {"port": 80}, "log": {"level": "LOUD"}})
    assert set(caught.value.problems) == {"http.port", "log.level"}


def test_listen_addresses_parse_and_print_back() -> None:
    assert parse_listen("[::1]:9477") == ListenAddress("::1", 9477)
    assert str(parse_listen("[::1]:9477")) == "[::1]:9477"
    assert str(parse_listen("127.0.0.1:80")) == "127.0.0.1:80"
    assert is_loopback("LOCALHOST") and is_loopback("::1") and not is_loopback("0.0.0.0")
