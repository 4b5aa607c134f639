"""What embedders import: the public names, the enums, the one policy mapping."""

from __future__ import annotations

import json
from enum import StrEnum

import pytest

import autosolve.runtime as runtime
from autosolve.runtime import (
    Category,
    ChildState,
    EventKind,
    Phase,
    Policies,
    RestartPolicy,
    UnitKind,
)
from autosolve.runtime.policy import PhasePolicies


def test_the_embedding_api_is_importable_from_the_package() -> None:
    for name in (
        "start_runtime", "Unit", "SupervisorOptions", "Policies", "PhasePolicies",
        "RestartPolicy", "RuntimeHandle", "ManualClock", "RuntimeEvent", "EventKind",
        "Phase", "ChildState", "Category", "WorkContext",
    ):  # fmt: skip
        assert name in runtime.__all__ and hasattr(runtime, name), name


@pytest.mark.parametrize("enum", [Phase, ChildState, Category, UnitKind, EventKind])
def test_states_and_kinds_are_string_enums_that_still_compare_as_strings(enum) -> None:
    assert issubclass(enum, StrEnum)
    for member in enum:
        assert member == member.value and json.dumps(member) == json.dumps(member.value)


def test_child_states_are_those_the_spec_lists() -> None:
    assert {s.value for s in ChildState} == {
        "pending", "running", "idle", "backoff", "paused", "succeeded", "failed", "stopped",
        "abandoned",
    }  # fmt: skip


def test_one_mapping_from_unit_kind_and_category_to_policy() -> None:
    node, service, degraded = RestartPolicy(1, 2), RestartPolicy(3, 4), RestartPolicy(5, 6)
    policies = Policies(
        preflight=PhasePolicies(node=node, service=service),
        worker=PhasePolicies(node=node, service=service, degraded=degraded),
    )
    assert policies.lookup(UnitKind.WORKER, Category.DEGRADED) is degraded
    assert policies.lookup(UnitKind.PREFLIGHT, Category.DEGRADED) is None
    assert policies.lookup(UnitKind.PREFLIGHT, Category.SERVICE) is service
    assert policies.lookup("worker", "node") is node  # type: ignore[arg-type]  # plain strings too
    with pytest.raises(ValueError, match="unknown category"):
        policies.lookup(UnitKind.WORKER, "exotic")  # type: ignore[arg-type]
