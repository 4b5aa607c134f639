"""How environment variables name settings: ``AUTOSOLVE_<SECTION>__<KEY>``."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["ENV_PREFIX", "environment_keys", "environment_variable"]

ENV_PREFIX = "AUTOSOLVE"


def environment_variable(key: str) -> str:
    """The variable that overrides a dotted key: ``github.token`` → ``AUTOSOLVE_GITHUB__TOKEN``."""
    return f"{ENV_PREFIX}_{key.upper().replace('.', '__')}"


def environment_keys(environ: Mapping[str, str]) -> dict[str, str]:
    """The dotted keys the environment sets, each with its variable."""
    prefix = f"{ENV_PREFIX}_"
    return {
        name[len(prefix) :].lower().replace("__", "."): name
        for name in environ
        if name.startswith(prefix) and len(name) > len(prefix)
    }
