"""What ``GET /metrics`` exposes, and the hooks that count it.

Nothing here runs on a tick's path. Two kinds of figures:

- **counted by hooks** the composition root hands to the parts that see the
  facts: the runtime's observer (failures by category), the GitHub client's
  response hook, the Ollama client's request hook, the explainer's outcome
  hook. Each hook is a dictionary increment under a lock;
- **read at scrape time** from :class:`ScrapeSources`: the status document
  (runs, restarts, children per state), the runtime's tick-lateness
  histogram, the store (issues per repository, jobs per state). A scrape
  costs one status request and a couple of short queries, whatever the tick
  rate.

Each :class:`Metrics` keeps its own counters (two daemons in one process, as
in the tests, never share them) and renders them with prometheus_client's
``generate_latest``, its process collector included; only the families with
a sample per child are written directly (see :meth:`Metrics.render`).
"""

from __future__ import annotations

import contextlib
import logging
import math
import platform
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from prometheus_client import generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.process_collector import ProcessCollector

from autosolve import __version__
from autosolve.domain.analysis import Result
from autosolve.domain.webhooks import EVENTS
from autosolve.infra.github.routes import ROUTE_KINDS
from autosolve.runtime import FixedHistogram

if TYPE_CHECKING:
    from autosolve.infra.budget import BudgetStats

__all__ = [
    "ANALYSIS_RESULTS",
    "CHILD_STATES",
    "JOB_STATES",
    "MODEL_REQUEST_BUCKETS",
    "Histogram",
    "Metrics",
    "ScrapeSources",
    "Totals",
    "job_counts",
]

logger = logging.getLogger("autosolve.http")

CHILD_STATES = (
    "pending", "running", "idle", "backoff", "paused", "succeeded", "failed", "stopped",
    "abandoned",
)  # fmt: skip
"""Every state ``autosolve_children`` reports, zeros included (a child's states)."""

JOB_STATES = ("ready", "in_flight", "dead")
ANALYSIS_RESULTS = (Result.POSTED, Result.SKIPPED, Result.FAILED, Result.DRY_RUN)
"""The outcomes of analysis jobs ``autosolve_analyses_total`` counts (a preview is no job)."""

MODEL_REQUEST_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)
"""Seconds: a local model answers in about a second to a few minutes."""

GITHUB_REQUEST_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Seconds: GitHub answers in a tenth of a second to a few; ``github.timeout`` caps it."""

Histogram = tuple[Sequence[float], Sequence[int], float, int]
"""``(bucket upper bounds, the last inf; cumulative counts; sum; count)``.

The shape of :meth:`FixedHistogram.snapshot` (and so of
:meth:`RuntimeHandle.tick_lateness`): a Prometheus histogram's.
"""


@dataclass(frozen=True)
class ScrapeSources:
    """Where a scrape reads the state it reports; each is called once per scrape."""

    status: Callable[[], Mapping[str, Any]]
    """The status document (as ``ctl status --json`` prints it)."""
    tick_lateness: Callable[[], Histogram] | None = None
    """The runtime's tick-lateness histogram."""
    issues: Callable[[], Mapping[str, int]] | None = None
    """Issues mirrored per repository (``owner/name``)."""
    jobs: Callable[[], Mapping[str, int]] | None = None
    """Jobs per state: ``ready``, ``in_flight``, ``dead``."""
    leases: Callable[[], Mapping[str, bool]] | None = None
    """Cluster mode only: per configured repository, whether this node holds its lease."""
    budget: Callable[[], BudgetStats] | None = None
    """The GitHub request budget's figures."""


@dataclass(frozen=True)
class Totals:
    """The counters the hooks keep, read at one moment (the dashboard's history samples them)."""

    analyses: Mapping[str, int]
    """Analysis jobs per outcome, since the start."""
    github_responses: Mapping[str, int]
    """GitHub responses per HTTP status, since the start."""
    rate_limit_remaining: float
    """As GitHub last said (NaN: not yet)."""


_NO_SOURCES = ScrapeSources(status=dict)
"""What a scrape reads before the runtime runs: an empty status, no other source."""


def job_counts(summary: Any) -> dict[str, int]:
    """``autosolve_jobs`` from the store's jobs summary (``ready``, ``in_flight``, ``dead``)."""
    return {state: getattr(summary, state) for state in JOB_STATES}


class Metrics:
    """The daemon's Prometheus metrics: hooks to feed them, :meth:`render` to scrape them.

    Create it before the runtime starts (its hooks go to the clients and the
    runtime's observer), then give it :attr:`sources` once there is a runtime
    to read. Until then, and for a source that is missing or fails, the
    families are still exposed, without samples (or with zeros where the
    labels are known in advance).
    """

    def __init__(self, backend: str = "") -> None:
        self.sources: ScrapeSources | None = None
        """Set once the runtime runs; read at every scrape."""
        self.build = {
            "version": __version__,
            "python": platform.python_version(),
            "backend": str(backend),
        }
        """The labels of ``autosolve_build_info``: this daemon's version, Python and backend."""
        self._lock = threading.Lock()
        self._failures: Counter[tuple[str, str]] = Counter()
        self._github_requests: Counter[str] = Counter()
        self._rate_limit_remaining = math.nan  # unknown until GitHub said it
        self._analyses: Counter[Result] = Counter(dict.fromkeys(ANALYSIS_RESULTS, 0))
        self._model_requests = FixedHistogram(MODEL_REQUEST_BUCKETS, threading.Lock())
        self._github_timings = {
            route: FixedHistogram(GITHUB_REQUEST_BUCKETS, threading.Lock()) for route in ROUTE_KINDS
        }
        self._webhooks: Counter[tuple[str, str]] = Counter()
        self._process = ProcessCollector(registry=None)

    # -- hooks -----------------------------------------------------------------

    def observe(self, event: Any) -> None:
        """The runtime's observer: counts child failures by category, forgets removed children."""
        if event.kind == "failed" and event.name is not None:
            category = str(event.detail.category)  # a Failure; its category is a StrEnum
            with self._lock:
                self._failures[event.name, category] += 1
        elif event.kind == "removed":  # a reload dropped it: its series go with it
            with self._lock:
                for key in [key for key in self._failures if key[0] == event.name]:
                    del self._failures[key]

    def on_github_response(self, status: int, headers: Mapping[str, str]) -> None:
        """The GitHub client's response hook: requests by status, the rate limit left."""
        remaining = headers.get("x-ratelimit-remaining")
        with self._lock:
            self._github_requests[str(status)] += 1
            if remaining is not None:
                with contextlib.suppress(ValueError):  # junk: keep the last good value
                    self._rate_limit_remaining = float(remaining)

    def on_github_timing(self, route: str, seconds: float) -> None:
        """The GitHub client's timing hook: the seconds one request took, by route kind."""
        histogram = self._github_timings.get(route) or self._github_timings["other"]
        histogram.observe(seconds)

    def on_model_request(self, seconds: float) -> None:
        """The Ollama client's hook: the seconds one model request took."""
        self._model_requests.observe(seconds)

    def on_analysis(self, result: Result) -> None:
        """The explainer's hook: one job's outcome."""
        with self._lock:
            self._analyses[result] += 1

    def on_webhook(self, event: str, result: str) -> None:
        """The webhook route's hook: one delivery's result (``accepted``, ``ping``,
        ``duplicate``, ``unknown``, ``bad_signature``) by event. Events autosolve does
        not use count as ``other``, and unsigned ones as ``""``: who may send junk
        does not get to add series."""
        label = event if event in EVENTS or not event else "other"
        with self._lock:
            self._webhooks[label, result] += 1

    def totals(self) -> Totals:
        """What the hooks counted so far."""
        with self._lock:
            analyses = {str(result): count for result, count in self._analyses.items()}
            return Totals(analyses, dict(self._github_requests), self._rate_limit_remaining)

    # -- exposition ------------------------------------------------------------

    content_type = "text/plain; version=0.0.4; charset=utf-8"
    """The media type of :meth:`render`'s text: the classic format every Prometheus reads."""

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric, read now.

        The two families with a sample per child are written by
        :func:`_per_child_text`: prometheus_client spends about 10 µs on each
        sample it formats, which alone is 40 ms at 2,000 children; the rest
        goes through ``generate_latest``.
        """
        status = _read("status", (self.sources or _NO_SOURCES).status) or {}
        children = status.get("children", ())
        return generate_latest(_Scrape(self, children)) + _per_child_text(children)

    def families(self, children: Sequence[Mapping[str, Any]]) -> Iterator[Metric]:
        """Every family but the per-child runs and restarts, read now."""
        sources = self.sources or _NO_SOURCES
        with self._lock:
            failures = sorted(self._failures.items())
            requests = sorted(self._github_requests.items())
            remaining = self._rate_limit_remaining
            analyses = list(self._analyses.items())
            webhooks = sorted(self._webhooks.items())
        issues = _read("issues", sources.issues) or {}
        jobs = _read("jobs", sources.jobs) or {}
        leases = _read("leases", sources.leases)
        lateness = _read("tick lateness", sources.tick_lateness)
        yield _labelled(
            GaugeMetricFamily(
                "autosolve_build_info",
                "1, labelled with the daemon's version, Python version and runtime backend.",
                labels=tuple(self.build),
            ),
            [(tuple(self.build.values()), 1)],
        )
        yield _children_per_state(children)
        yield _labelled(
            CounterMetricFamily(
                "autosolve_child_failures",
                "Failed runs per child and error category.",
                labels=("child", "category"),
            ),
            failures,
        )
        yield _histogram(
            "autosolve_tick_lateness_seconds",
            "Seconds a worker's tick started after it was due.",
            lateness,
        )
        yield _labelled(
            CounterMetricFamily(
                "autosolve_github_requests",
                "GitHub API responses by HTTP status.",
                labels=("status",),
            ),
            (((code,), count) for code, count in requests),
        )
        yield GaugeMetricFamily(
            "autosolve_github_rate_limit_remaining",
            "Requests left in GitHub's rate-limit window, as GitHub last said (NaN: not yet).",
            value=remaining,
        )
        yield _labelled(
            GaugeMetricFamily(
                "autosolve_issues", "Issues mirrored per repository.", labels=("repository",)
            ),
            (((repository,), count) for repository, count in issues.items()),
        )
        yield _labelled(
            GaugeMetricFamily("autosolve_jobs", "Analysis jobs per state.", labels=("state",)),
            (((state,), jobs.get(state, 0)) for state in JOB_STATES),
        )
        if leases is not None:
            yield _labelled(
                GaugeMetricFamily(
                    "autosolve_lease_held",
                    "1 when this daemon holds the repository's lease (runs its poller and relay).",
                    labels=("repository",),
                ),
                (((repository,), int(held)) for repository, held in sorted(leases.items())),
            )
        yield _labelled(
            CounterMetricFamily(
                "autosolve_analyses", "Analysis jobs per outcome.", labels=("result",)
            ),
            (((result,), count) for result, count in analyses),
        )
        yield _histogram(
            "autosolve_model_request_seconds",
            "Seconds each model request took, connect to last byte.",
            self._model_requests.snapshot(),
        )
        yield _labelled_histogram(
            "autosolve_github_request_duration_seconds",
            "Seconds each GitHub request took to be answered, by kind of route.",
            "route",
            {route: histogram.snapshot() for route, histogram in self._github_timings.items()},
        )
        yield _labelled(
            CounterMetricFamily(
                "autosolve_webhook_deliveries",
                "Webhook deliveries by event and result (accepted, ping, duplicate, unknown, "
                "bad_signature).",
                labels=("event", "result"),
            ),
            webhooks,
        )
        yield from _budget_families(_read("budget", sources.budget))
        yield _poll_intervals(children)
        yield from self._process.collect()


POLLER_PREFIX = "worker:issue-poller:"


def _budget_families(stats: BudgetStats | None) -> Iterator[Metric]:
    """The request budget: what waits now, and the waiting so far (no samples: unknown)."""

    def read(name: str) -> list[tuple[tuple[str, ...], float]]:
        return [((), getattr(stats, name))] if stats is not None else []

    yield _labelled(
        GaugeMetricFamily(
            "autosolve_github_budget_waiting", "GitHub requests waiting for the request budget."
        ),
        read("waiting"),
    )
    yield _labelled(
        GaugeMetricFamily(
            "autosolve_github_budget_in_flight", "GitHub requests in flight (the concurrency cap)."
        ),
        read("in_flight"),
    )
    yield _labelled(
        CounterMetricFamily(
            "autosolve_github_budget_waits", "GitHub requests that had to wait for the budget."
        ),
        read("waits_total"),
    )
    yield _labelled(
        CounterMetricFamily(
            "autosolve_github_budget_wait_seconds",
            "Seconds GitHub requests spent waiting for the budget, summed.",
        ),
        read("wait_seconds_total"),
    )


def _poll_intervals(children: Sequence[Mapping[str, Any]]) -> Metric:
    """Each repository's current poll interval (adaptive polling), from the status."""
    family = GaugeMetricFamily(
        "autosolve_poll_interval_seconds",
        "Seconds between two polls of a repository, as adaptive polling set it.",
        labels=("repository",),
    )
    return _labelled(
        family,
        (
            ((child["name"][len(POLLER_PREFIX) :],), child["interval"])
            for child in children
            if child["name"].startswith(POLLER_PREFIX) and child.get("interval") is not None
        ),
    )


class _Scrape:
    """One scrape as a prometheus_client collector (``generate_latest`` takes any)."""

    def __init__(self, metrics: Metrics, children: Sequence[Mapping[str, Any]]) -> None:
        self._metrics = metrics
        self._children = children

    def collect(self) -> Iterator[Metric]:
        return self._metrics.families(self._children)


_Family = TypeVar("_Family", CounterMetricFamily, GaugeMetricFamily)
_T = TypeVar("_T")


def _labelled(family: _Family, samples: Iterable[tuple[tuple[str, ...], float]]) -> _Family:
    """``family`` with one sample per ``(label values, value)``."""
    for labels, value in samples:
        family.add_metric(labels, value)
    return family


def _children_per_state(children: Sequence[Mapping[str, Any]]) -> Metric:
    states = dict.fromkeys(CHILD_STATES, 0)
    for child in children:
        states[child["state"]] = states.get(child["state"], 0) + 1
    family = GaugeMetricFamily("autosolve_children", "Children per state.", labels=("state",))
    return _labelled(family, (((state,), count) for state, count in states.items()))


_PER_CHILD_COUNTERS = (
    (
        "autosolve_child_restarts_total",
        "restarts",
        "Fresh actors started after a failure or a restart request.",
    ),
)
"""Counters read from one key of each child's status record."""

RUNS = "autosolve_child_runs_total"
LAST_SUCCESS = "autosolve_child_last_success_timestamp_seconds"


def _per_child_text(children: Sequence[Mapping[str, Any]]) -> bytes:
    """The per-child families in the text format (0.0.4), as ``generate_latest`` writes them."""
    pairs = [(_escape(child["name"]), child) for child in children]
    lines = []
    for name, key, documentation in _PER_CHILD_COUNTERS:
        lines.append(_header(name, "counter", documentation))
        lines.extend(f'{name}{{child="{label}"}} {child[key]}\n' for label, child in pairs)
    lines.append(_header(RUNS, "counter", "Finished runs per child and result: ok, failed."))
    lines.extend(
        f'{RUNS}{{child="{label}",result="ok"}} {child["runs"]}\n'
        f'{RUNS}{{child="{label}",result="failed"}} {child.get("failures", 0)}\n'
        for label, child in pairs
    )
    lines.append(
        _header(LAST_SUCCESS, "gauge", "When each child last succeeded (Unix time; none before).")
    )
    lines.extend(
        f'{LAST_SUCCESS}{{child="{label}"}} {_unix_time(moment)!r}\n'
        for label, child in pairs
        if (moment := child.get("last_success_at"))
    )
    return "".join(lines).encode()


def _header(name: str, kind: str, documentation: str) -> str:
    return f"# HELP {name} {documentation}\n# TYPE {name} {kind}\n"


def _unix_time(moment: str) -> float:
    """A status time (``2026-01-01T00:00:00Z``) as Unix time."""
    return datetime.fromisoformat(moment).timestamp()


def _escape(value: str) -> str:
    """A label value as the text format quotes it."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _histogram(name: str, documentation: str, data: Histogram | None) -> Metric:
    """A histogram family; without data, its ``+Inf`` bucket, count and sum at 0."""
    bounds, cumulative, total, _count = data if data is not None else ((math.inf,), (0,), 0.0, 0)
    buckets = [(_le(bound), count) for bound, count in zip(bounds, cumulative, strict=True)]
    return HistogramMetricFamily(name, documentation, buckets=buckets, sum_value=total)


def _labelled_histogram(
    name: str, documentation: str, label: str, data: Mapping[str, Histogram]
) -> Metric:
    """A histogram family with one series per value of ``label``."""
    family = HistogramMetricFamily(name, documentation, labels=(label,))
    for value, (bounds, cumulative, total, _count) in data.items():
        buckets = [(_le(bound), count) for bound, count in zip(bounds, cumulative, strict=True)]
        family.add_metric([value], buckets, total)
    return family


def _le(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else repr(float(bound))


def _read(what: str, source: Callable[[], _T] | None) -> _T | None:
    """Call a scrape source; a failing one costs its samples, not the scrape."""
    if source is None:
        return None
    try:
        return source()
    except Exception as error:
        logger.warning("metrics: cannot read %s: %s: %s", what, type(error).__name__, error)
        return None
