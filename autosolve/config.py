"""Where settings were loaded before :mod:`autosolve.settings`; kept for code written against it.

Library users and scripts that import ``autosolve.config`` keep working;
everything lives in :mod:`autosolve.settings`.
"""

from __future__ import annotations

from autosolve.settings import (
    Settings,
    SettingsError,
    load_settings,
    resolve_path,
    secrets_of,
    settings_from_mapping,
)

__all__ = [
    "Settings",
    "SettingsError",
    "load_settings",
    "resolve_path",
    "secrets_of",
    "settings_from_mapping",
]
