"""``[policies.<phase>.<category>]``: the restart policies, declared over the runtime's own types.

:class:`~autosolve.runtime.policy.RestartPolicy` lives in the runtime, below
the settings, so its fields carry no settings metadata: their rules and doc
lines are declared here, one :class:`Declared` per field, and the runtime's
:class:`~autosolve.runtime.policy.Policies` gives the defaults. A category
left out keeps its default; keys left out keep that category's default; a
category with no default (``preflight.degraded``: unknown errors in
preflights are permanent) starts from :data:`TEMPLATE_POLICY` when configured.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validates_schema

from autosolve.runtime import PhasePolicies, Policies, RestartPolicy
from autosolve.settings.declare import CustomSection, Declared, Key, Table
from autosolve.settings.rules import NON_NEGATIVE, at_least, between, seconds
from autosolve.settings.schema import field_for, number_or_none

__all__ = ["POLICIES", "POLICY_KEYS", "TEMPLATE_POLICY"]

POLICY_KEYS: dict[str, Declared] = {
    "initial": Declared("seconds before the first retry", seconds(NON_NEGATIVE)),
    "max": Declared("the longest delay, in seconds", seconds(NON_NEGATIVE)),
    "multiplier": Declared("each retry waits this many times longer", (at_least(1),)),
    "retries": Declared("0 = unlimited consecutive retries", (NON_NEGATIVE,)),
    "jitter": Declared("spread each delay by ± this fraction of it", (between(0, 1),)),
}
"""Every field of :class:`RestartPolicy`, as a key of a policy table."""

PHASES = ("preflight", "worker")
CATEGORIES = ("node", "service", "degraded")

TEMPLATE_POLICY = RestartPolicy(initial=30.0, max=300.0)
"""What a category with no default policy (preflight degraded) starts from when configured."""

_DOC = """How long a failed child waits before it runs again, by phase and error category

The delay before retry *k* is ``min(initial × multiplier^k, max)``, spread by
±``jitter``; a wait hint from the error (a rate limit's reset) replaces it.
Keys left out keep their defaults; a missing ``[policies.preflight.degraded]``
means unknown errors in preflights are permanent."""


def _policy_schema() -> type[Schema]:
    hints = {item.name: item.type for item in dataclasses.fields(RestartPolicy)}
    declared: dict[str, Any] = {
        name: field_for(_python_type(hints[name]), declaration)
        for name, declaration in POLICY_KEYS.items()
    }
    declared["Meta"] = type("Meta", (), {"unknown": RAISE})
    return type("PolicySchema", (Schema,), declared)


def _python_type(annotation: Any) -> type:
    return {"float": float, "int": int}.get(annotation, annotation)  # type: ignore[no-any-return]


class _PhasePoliciesSchema(Schema):
    class Meta:
        unknown = RAISE

    node = fields.Nested(_policy_schema())
    service = fields.Nested(_policy_schema())
    degraded = fields.Nested(_policy_schema())


class PoliciesSchema(Schema):
    """``[policies]``: both phases, each category merged over its default."""

    class Meta:
        unknown = RAISE

    preflight = fields.Nested(_PhasePoliciesSchema)
    worker = fields.Nested(_PhasePoliciesSchema)

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def _max_not_below_initial(self, _data: Any, original: Any, **_: Any) -> None:
        """Checked on the raw values, so an error elsewhere in the section hides nothing."""
        problems: dict[str, Any] = {}
        for phase, category, values in _given(original):
            default = _default(phase, category)
            initial = number_or_none(values.get("initial"), default.initial)
            maximum = number_or_none(values.get("max"), default.max)
            if initial is not None and maximum is not None and maximum < initial:
                problems.setdefault(phase, {})[category] = {
                    "max": ["must not be less than initial"]
                }
        if problems:
            raise ValidationError(problems)

    @post_load
    def _build(self, data: dict[str, Any], **_: Any) -> Policies:
        phases = {phase: _merged(phase, data.get(phase, {})) for phase in PHASES}
        return Policies(**phases)


def _given(original: Any) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """``(phase, category, values)`` of every policy table the file gives."""
    if not isinstance(original, Mapping):
        return
    for phase in PHASES:
        given = original.get(phase)
        if not isinstance(given, Mapping):
            continue
        for category in CATEGORIES:
            values = given.get(category)
            if isinstance(values, Mapping):
                yield phase, category, values


def _default(phase: str, category: str) -> RestartPolicy:
    policy: RestartPolicy | None = getattr(getattr(Policies(), phase), category)
    return policy or TEMPLATE_POLICY


def _merged(phase: str, given: Mapping[str, Any]) -> PhasePolicies:
    base: PhasePolicies = getattr(Policies(), phase)
    merged: dict[str, RestartPolicy | None] = {}
    for category in CATEGORIES:
        if category in given:
            merged[category] = dataclasses.replace(_default(phase, category), **given[category])
        else:
            merged[category] = getattr(base, category)
    return PhasePolicies(**merged)  # type: ignore[arg-type]


def _tables(path: str, restart: bool) -> Iterator[Table]:
    """One table per policy the defaults have (a category without one is left out)."""
    hints = {item.name: _python_type(item.type) for item in dataclasses.fields(RestartPolicy)}
    first = True
    for phase in PHASES:
        for category in CATEGORIES:
            policy = getattr(getattr(Policies(), phase), category)
            if policy is None:
                continue
            table = f"{path}.{phase}.{category}"
            keys = tuple(
                Key(f"{table}.{name}", hints[name], getattr(policy, name), declaration, restart)
                for name, declaration in POLICY_KEYS.items()
            )
            yield Table(table, _DOC if first else "", keys)
            first = False


POLICIES = CustomSection(PoliciesSchema, _tables)
"""The ``[policies]`` section, for :func:`autosolve.settings.declare.section`."""
