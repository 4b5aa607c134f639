from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.runtime.conftest import BACKENDS
from tests.runtime.harness import Harness


@pytest.fixture(params=BACKENDS)
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    """A runtime on the manual clock, on each backend (as in ``tests/runtime``)."""
    h = Harness(request.param)
    yield h
    h.stop()
