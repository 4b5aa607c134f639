"""The modules the application loads: each brings a tenant type, its tasks and its storage."""

from __future__ import annotations

from autosolve.daemon.build import MODULES
from autosolve.infra.store.schema import TABLES
from autosolve.settings import settings_from_mapping
from tests.plans import plan_of


def test_every_table_of_the_store_is_kept_by_a_loaded_module() -> None:
    kept = [table for module in MODULES for table in module.tables]
    assert sorted(kept) == sorted(TABLES)  # each exactly once


def test_each_modules_planner_maps_the_settings_to_its_own_tenants() -> None:
    settings = settings_from_mapping(
        {"github": {"repositories": ["octo/hello"], "organizations": ["acme"]}}
    )
    groups = plan_of(settings).groups
    assert groups["octo/hello"][0] == "preflight:repository-validator:octo/hello"
    assert groups["acme"] == (
        "preflight:repository-discoverer:acme",
        "worker:repository-discoverer:acme",
    )
    assert [module.name for module in MODULES] == ["repository", "organization"]


def test_the_apps_installations_are_a_tenant_of_the_organisation_module(tmp_path) -> None:
    key = tmp_path / "app.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n")
    settings = settings_from_mapping({"github": {"app": {"id": 7, "private_key_file": str(key)}}})
    assert "app-7-installations" in plan_of(settings).groups
