"""Every task autosolve runs. Adding a task is one class and one line here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from autosolve.domain.analysis import AnalysisOptions, Analyst
from autosolve.domain.command import CommandRule
from autosolve.domain.gate import AnalysisGate
from autosolve.domain.identity import Identity, TokenIdentity
from autosolve.domain.label_policy import LabelPolicy
from autosolve.domain.operations import Operations
from autosolve.domain.polling import PollPacer, polls_per_second
from autosolve.domain.preflights import RepositoryValidator
from autosolve.domain.prompt import PromptTemplate
from autosolve.domain.workers import CommentPoller, IssueExplainer, IssuePoller, OutboxRelay
from autosolve.infra.github.client import READ_PATIENCE
from autosolve.runtime import Category, classify
from autosolve.schedule.classifier import infra_classifier

if TYPE_CHECKING:
    from autosolve.domain.events import TriageObserver
    from autosolve.schedule.contracts import GlobalWorker, Preflight, Worker
    from autosolve.schedule.dependencies import Dependencies
    from autosolve.settings import Settings

__all__ = ["is_outage", "new_analyst", "new_gate", "new_global_workers", "new_identity",
           "new_operations", "new_pacer", "new_preflights", "new_workers",
           "pacer_arguments"]  # fmt: skip


def new_preflights(deps: Dependencies) -> list[Preflight]:
    """One-shot tasks run per repository before any worker."""
    return [RepositoryValidator(deps.github, deps.store, _identity(deps))]


def new_workers(deps: Dependencies) -> list[Worker]:
    """Interval tasks run per repository."""
    intervals = deps.settings.intervals
    return [
        IssuePoller(deps.github, deps.store, intervals.issue_poller, _pacer(deps)),
        CommentPoller(deps.github, deps.store, intervals.comment_poller,
                      slowest=intervals.issue_poller_max,
                      window_start=new_gate(deps.settings).window_start,
                      commands=CommandRule(deps.settings.analysis.command, _observer(deps))),
        OutboxRelay(deps.store, intervals.outbox_relay),
    ]  # fmt: skip


def new_identity(deps: Dependencies) -> Identity:
    """Who autosolve is on GitHub: the token's account."""
    return TokenIdentity(deps.github, deps.store)


def _identity(deps: Dependencies) -> Identity:
    """The dependencies' identity, learned once for every task if they keep one; else a new one."""
    identity = getattr(deps, "identity", None)
    return identity if identity is not None else new_identity(deps)


def _observer(deps: Dependencies) -> TriageObserver | None:
    """Told of triage events (metrics), if the dependencies have someone to tell."""
    observer: TriageObserver | None = getattr(deps, "triage_observer", None)
    return observer


def new_pacer(deps: Dependencies) -> PollPacer:
    """Adaptive polling between the fastest and slowest interval, within the request budget.

    The pacer plans for the configured repositories: a daemon that polls only
    some of them (others are leased to daemons sharing its token and budget)
    takes its share of the budget.
    """
    fastest, slowest, budget, pollers = pacer_arguments(deps.settings)
    return PollPacer(fastest, slowest, budget, pollers=pollers)


def pacer_arguments(settings: Settings) -> tuple[float, float, float, int]:
    """``(fastest, slowest, polls per second, pollers)`` for the pacer, from ``settings``."""
    budget = settings.github.budget
    return (
        settings.intervals.issue_poller,
        settings.intervals.issue_poller_max,
        polls_per_second(budget.points_per_minute, budget.writes_per_minute, budget.window),
        len(settings.github.repositories),
    )


def _pacer(deps: Dependencies) -> PollPacer:
    """The dependencies' pacer, kept across reloads if they keep one; else a new one."""
    pacer = getattr(deps, "pacer", None)
    return pacer if isinstance(pacer, PollPacer) else new_pacer(deps)


def new_global_workers(deps: Dependencies) -> list[GlobalWorker]:
    """Interval tasks run once, not per repository."""
    settings = deps.settings
    return [
        IssueExplainer(
            new_analyst(deps),
            deps.store,
            interval=settings.intervals.issue_explainer,
            visibility_timeout=settings.queue.visibility_timeout,
            max_attempts=settings.queue.max_attempts,
            concurrency=settings.analysis.concurrency,
            is_outage=is_outage,
            observer=getattr(deps, "analysis_observer", None),
            job_allowance=_job_allowance(settings),
        )
    ]


def _job_allowance(settings: Settings) -> float:
    """The longest one analysis may take: the model request, then up to four GitHub
    requests (the comment, the labels; comment pages after a crash) each with its
    wait for the request budget (a read waits at most ``READ_PATIENCE``, a write one
    budget window)."""
    github = settings.github
    model = settings.openai if settings.model.provider == "openai" else settings.ollama
    return model.timeout + 4 * (github.timeout + READ_PATIENCE) + github.budget.window


def new_gate(settings: Settings) -> AnalysisGate:
    """The ``[github.issues]`` filters."""
    issues = settings.github.issues
    return AnalysisGate(
        since=issues.since,
        states=issues.states,
        include_pull_requests=issues.include_pull_requests,
        skip_bots=issues.skip_bots,
        required_label=issues.required_label,
    )


def new_analyst(deps: Dependencies) -> Analyst:
    """The analysis of one issue as ``[github.issues]`` and ``[analysis]`` configure it.

    The candidate issues come from the dependencies' ``related_issues`` when
    they have one (none otherwise).
    """
    from autosolve.settings import resolve_path

    settings = deps.settings
    analysis, labels = settings.analysis, settings.analysis.labels
    template = (
        PromptTemplate.from_file(resolve_path(settings, analysis.prompt_file))
        if analysis.prompt_file
        else PromptTemplate.builtin()
    )
    options = AnalysisOptions(
        dry_run=analysis.dry_run,
        reanalyze_on_edit=settings.github.issues.reanalyze_on_edit,
        max_comment_chars=analysis.max_comment_chars,
        allow_images=analysis.allow_images,
        max_mentions=analysis.max_mentions,
        structured=analysis.structured,
        related=analysis.related,
        labels=LabelPolicy(apply=labels.apply, allow=labels.allow, max=labels.max),
    )
    return Analyst(
        deps.github, deps.model, deps.store, gate=new_gate(settings), template=template,
        identity=_identity(deps), related=getattr(deps, "related_issues", None),
        options=options, observer=_observer(deps),
    )  # fmt: skip


def new_operations(deps: Dependencies) -> Operations:
    """The operator's functions (explain, jobs, retry-dead) over the same analysis."""
    return Operations(new_analyst(deps), deps.store)


def is_outage(error: BaseException) -> bool:
    """True when ``error`` is a service's trouble (node or service category), not a job's."""
    return classify(error, infra_classifier).category in (Category.NODE, Category.SERVICE)
