"""Both stores implement the store interface, method for method, signature for signature."""

from __future__ import annotations

import inspect

import pytest

from autosolve.infra.postgres.store import PostgresStore
from autosolve.infra.store import SQLiteStore, Store

PROTOCOL_MEMBERS = sorted(
    name
    for name, value in vars(Store).items()
    if (not name.startswith("_") or name in ("__enter__", "__exit__"))
    and (callable(value) or isinstance(value, property))
)


def test_the_interface_names_every_operation_the_domain_uses() -> None:
    assert {"save_issue_page", "receive_job", "add_analysis", "jobs_summary"} <= set(
        PROTOCOL_MEMBERS
    )


@pytest.mark.parametrize("implementation", [SQLiteStore, PostgresStore])
@pytest.mark.parametrize("name", PROTOCOL_MEMBERS)
def test_each_store_has_the_interfaces_signature(implementation: type, name: str) -> None:
    expected = getattr(Store, name)
    actual = getattr(implementation, name, None)
    assert actual is not None, f"{implementation.__name__} lacks {name}"
    if isinstance(expected, property):
        assert isinstance(actual, property)
        return
    wanted = inspect.signature(expected)
    found = inspect.signature(actual)
    assert [(p.name, p.kind, p.default) for p in found.parameters.values()] == [
        (p.name, p.kind, p.default) for p in wanted.parameters.values()
    ]
