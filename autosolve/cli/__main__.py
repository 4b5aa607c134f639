"""``python -m autosolve.cli``: the same as ``autosolve-supervisor``."""

from autosolve.cli import entry

entry()
