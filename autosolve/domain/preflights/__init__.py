"""One-shot tasks run per repository before any worker."""

from autosolve.domain.preflights.repository_validator import RepositoryValidator

__all__ = ["RepositoryValidator"]
