"""Settings: every key declared once, loaded from ``settings.toml``, checked as a whole.

The settings layer sits low in the stack: it imports the runtime's policy
types and nothing else of autosolve, and every layer above reads it.

- :mod:`~autosolve.settings.sections`: the declaration, one frozen dataclass
  per table, each key a field with its default, rules, doc line and
  "needs a restart" flag (:mod:`~autosolve.settings.declare`); ``[github]``
  is :mod:`~autosolve.settings.github`, ``[analysis]`` and the model's
  :mod:`~autosolve.settings.model`, ``[intervals]``
  :mod:`~autosolve.settings.intervals`, ``[policies]``
  :mod:`~autosolve.settings.policies`;
- derived from it: the marshmallow schema (:mod:`~autosolve.settings.schema`),
  the shipped ``settings.toml`` and ``docs/configuration.md``
  (:mod:`~autosolve.settings.reference`), the reload's "needs a restart"
  keys (:mod:`~autosolve.settings.changes`) and the secrets to mask
  (:func:`secrets_of`);
- :mod:`~autosolve.settings.load`: dynaconf, ``.secrets.toml`` and the
  environment, every problem reported at once (:class:`SettingsError`);
  the section types are in :mod:`~autosolve.settings.sections`, the bounds
  other code shares in :mod:`~autosolve.settings.limits`.

Adding a setting is one field in its section::

    related: int = setting(5, between(0, 100), doc="related issues per analysis (0 = off)")

(``restart=True`` if a running daemon cannot change it, ``secret=True`` if
it must be masked; a rule over several keys is a ``Check`` in the section's
``checks``), then ``python -m autosolve.settings.reference --write`` to
regenerate ``settings.toml`` and ``docs/configuration.md``.
"""

from __future__ import annotations

from autosolve.settings.limits import WEEK
from autosolve.settings.load import (
    SettingsError,
    load_settings,
    resolve_path,
    revalidate,
    secrets_of,
    settings_from_mapping,
    settings_warnings,
)
from autosolve.settings.sections import Settings

__all__ = [
    "WEEK",
    "Settings",
    "SettingsError",
    "load_settings",
    "resolve_path",
    "revalidate",
    "secrets_of",
    "settings_from_mapping",
    "settings_warnings",
]
