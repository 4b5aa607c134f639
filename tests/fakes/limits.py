"""GitHub's secondary rate limits, as the fake GitHub enforces them: see the product's model.

``github.limits = GitHubLimits(points=60, window=10.0)`` makes the fake
refuse what GitHub would; :mod:`autosolve.demo.github.limits` is the model.
"""

from __future__ import annotations

from autosolve.demo.github.limits import GitHubLimits, Rejection

__all__ = ["GitHubLimits", "Rejection"]
