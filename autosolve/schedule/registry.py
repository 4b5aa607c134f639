"""What the modules' tasks are built from: the poll pacer, the analysis, the explainer.

Which tasks run is each module's list (:mod:`autosolve.schedule.modules`);
this module builds the parts several of them, or the operator's commands, share.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from autosolve.domain.analysis import Analyst
from autosolve.domain.gate import AnalysisGate
from autosolve.domain.operations import Operations
from autosolve.domain.polling import PollPacer, polls_per_second
from autosolve.domain.prompt import PromptTemplate
from autosolve.domain.workers import IssueExplainer
from autosolve.infra.github.client import READ_PATIENCE
from autosolve.runtime import Category, classify
from autosolve.schedule.classifier import infra_classifier
from autosolve.schedule.modules.organization import discovered_repositories

if TYPE_CHECKING:
    from autosolve.schedule.dependencies import Dependencies
    from autosolve.settings import Settings

__all__ = ["is_outage", "new_analyst", "new_explainer", "new_operations", "new_pacer",
           "pacer_arguments", "pacer_of", "relayed_hook"]  # fmt: skip


def new_pacer(deps: Dependencies) -> PollPacer:
    """Adaptive polling between the fastest and slowest interval, within the request budget.

    The pacer plans for the configured repositories: a daemon that polls only
    some of them (others are leased to daemons sharing its token and budget)
    takes its share of the budget.
    """
    fastest, slowest, budget, pollers = pacer_arguments(deps)
    return PollPacer(fastest, slowest, budget, pollers=pollers)


def pacer_arguments(deps: Dependencies) -> tuple[float, float, float, int]:
    """``(fastest, slowest, polls per second, pollers)`` for the pacer.

    The pollers are the watched repositories: configured and discovered.
    """
    settings = deps.settings
    budget = settings.github.budget
    return (
        settings.intervals.issue_poller,
        settings.intervals.issue_poller_max,
        polls_per_second(budget.points_per_minute, budget.writes_per_minute, budget.window),
        len(discovered_repositories(deps)),
    )


def pacer_of(deps: Dependencies) -> PollPacer:
    """The dependencies' pacer, kept across reloads if they keep one; else a new one."""
    pacer = getattr(deps, "pacer", None)
    return pacer if isinstance(pacer, PollPacer) else new_pacer(deps)


def relayed_hook(deps: Dependencies) -> Callable[[int], None]:
    """What the relay tells of the jobs it queued: the dependencies' ``on_relayed``,
    read when it is called (the daemon sets it once it runs), if they have one."""

    def relayed(moved: int) -> None:
        hook = getattr(deps, "on_relayed", None)
        if hook is not None:
            hook(moved)

    return relayed


def new_explainer(deps: Dependencies) -> IssueExplainer:
    """The analysis of queued issues (the global worker ``worker:issue-explainer``)."""
    settings = deps.settings
    return IssueExplainer(
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


def _job_allowance(settings: Settings) -> float:
    """The longest one analysis may take: the model request, then up to four GitHub
    requests (comment pages, the post) each with its wait for the request budget
    (a read waits at most ``READ_PATIENCE``, a write one budget window)."""
    github = settings.github
    model = settings.openai if settings.model.provider == "openai" else settings.ollama
    return model.timeout + 4 * (github.timeout + READ_PATIENCE) + github.budget.window


def new_analyst(deps: Dependencies) -> Analyst:
    """The analysis of one issue as ``[github.issues]`` and ``[analysis]`` configure it."""
    from autosolve.settings import resolve_path

    settings = deps.settings
    issues, analysis = settings.github.issues, settings.analysis
    template = (
        PromptTemplate.from_file(resolve_path(settings, analysis.prompt_file))
        if analysis.prompt_file
        else PromptTemplate.builtin()
    )
    gate = AnalysisGate(
        since=issues.since,
        states=issues.states,
        include_pull_requests=issues.include_pull_requests,
        skip_bots=issues.skip_bots,
        required_label=issues.required_label,
    )
    return Analyst(
        deps.github,
        deps.model,
        deps.store,
        gate=gate,
        template=template,
        dry_run=analysis.dry_run,
        reanalyze_on_edit=issues.reanalyze_on_edit,
        max_comment_chars=analysis.max_comment_chars,
        allow_images=analysis.allow_images,
        max_mentions=analysis.max_mentions,
    )


def new_operations(deps: Dependencies) -> Operations:
    """The operator's functions (explain, jobs, retry-dead) over the same analysis."""
    return Operations(new_analyst(deps), deps.store)


def is_outage(error: BaseException) -> bool:
    """True when ``error`` is a service's trouble (node or service category), not a job's."""
    return classify(error, infra_classifier).category in (Category.NODE, Category.SERVICE)
