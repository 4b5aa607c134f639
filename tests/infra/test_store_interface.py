"""One store over every engine: an engine's store adds nothing but how it is built."""

from __future__ import annotations

import inspect

import pytest

from autosolve.infra.postgres.store import PostgresStore
from autosolve.infra.store import SQLiteStore, Store

TEST_ONLY = ("pending_outbox", "pending_jobs", "dead_jobs", "count", "enqueue_job")


@pytest.mark.parametrize("store_class", [SQLiteStore, PostgresStore])
def test_an_engines_store_is_the_one_store_built_on_that_engine(store_class: type) -> None:
    assert issubclass(store_class, Store)
    own = {name for name, value in vars(store_class).items() if inspect.isfunction(value)}
    assert own == {"__init__"}, f"{store_class.__name__} defines operations of its own"


@pytest.mark.parametrize("name", TEST_ONLY)
def test_the_store_offers_only_what_the_daemon_calls(name: str) -> None:
    assert not hasattr(Store, name), f"Store.{name} is for tests: tests/stores.py has it"
