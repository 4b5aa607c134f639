"""The dashboard's overview: links to the right GitHub, figures from the store."""

from __future__ import annotations

import pytest

from autosolve.http.overview import web_url


@pytest.mark.parametrize(
    ("api_url", "web"),
    [
        ("https://api.github.com", "https://github.com"),
        ("https://api.github.com/", "https://github.com"),
        ("https://ghe.example.com/api/v3", "https://ghe.example.com"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ],
)
def test_links_point_at_the_web_host_of_the_api(api_url: str, web: str) -> None:
    assert web_url(api_url) == web
