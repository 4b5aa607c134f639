from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.runtime.harness import Harness

BACKENDS = ["threading", "gevent"]


@pytest.fixture(params=BACKENDS)
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    h = Harness(request.param)
    yield h
    h.stop()
