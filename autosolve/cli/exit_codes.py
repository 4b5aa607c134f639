"""The exit codes of ``autosolve-supervisor``, defined once."""

from __future__ import annotations

__all__ = ["EXIT_FAILED", "EXIT_FORCED", "EXIT_OK", "EXIT_USAGE"]

EXIT_OK = 0
"""A graceful stop, or a command that did what it was asked."""
EXIT_FAILED = 1
"""The run failed, the daemon could not start, a request was refused, an online check failed."""
EXIT_USAGE = 2
"""A usage error or invalid settings (a missing settings file included)."""
EXIT_FORCED = 130
"""A second Ctrl-C forced the exit before the graceful stop finished."""
