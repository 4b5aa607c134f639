// The autosolve dashboard: polls the endpoint's JSON routes and steers the
// daemon through POST /api/control (the control socket's protocol).
// Every value from the daemon goes into the page as text, never as markup.
//
// Views (the address says which, so each can be linked):
//   #/                          the overview
//   #/repository/owner/name     one repository
//   …?analysis=ID               an analysis in full, in the side panel
"use strict";

import { $, el, link, pageLink, replaceIfChanged, setText, tickTimes, timeEl, duration, serverNow, utc } from "./dom.js";
import { request, control, say, handleError, lastAnswer } from "./api.js";
import { ChildrenTable } from "./children.js";
import { chartFigure, drawChart } from "./charts.js";
import { analysisRows, deadJobRows, headTables } from "./tables.js";
import { showAnalysis } from "./panel.js";
import { belongsTo, card, refreshRepository, syncNodes } from "./repository.js";

const STATUS_EVERY_MS = 1000;
const OVERVIEW_EVERY_MS = 3000;
const HISTORY_EVERY_MS = 5000;
const STALE_AFTER_MS = 4000; // no answer for this long: the header says so
// The children table shows a page: a daemon may run a million children, and
// /status.json?offset=&limit= costs the children it shows, the whole document
// every child. The counts per state come with each page. The page's size is
// the table's data-page-size (100 as shipped).
const pageSize = () => Number($("#children").dataset.pageSize) || 100;
const POLLERS = "worker:issue-poller:*"; // the repositories' sync column reads these

const state = {
  status: null, // a page of /status.json (pageSize() children from `offset`, the counts)
  offset: 0,
  pollers: null, // /status.json?pattern=POLLERS
  repoStatus: null, // /status.json?pattern=*:owner/name, in the repository view
  readiness: null, // /api/readiness
  overview: null, // /api/overview
  history: null, // /api/history
  route: { view: "overview", repository: null, analysis: null },
};

// -- polling -------------------------------------------------------------------

/** Run `refresh` now and every `everyMs` after it finished; `poke()` runs it at once. */
function loop(refresh, everyMs) {
  let timer = 0;
  const run = async () => {
    clearTimeout(timer);
    try {
      await refresh();
    } catch (error) {
      handleError(error);
    }
    timer = setTimeout(run, everyMs);
  };
  return run;
}

/** The status page of the children matching `query` (an object of paging parameters). */
function statusPage(query) {
  return request(`/status.json?${new URLSearchParams(query)}`);
}

const refreshStatus = loop(async () => {
  const repository = state.route.view === "repository" ? state.route.repository : null;
  const [status, readiness, repoStatus] = await Promise.all([
    statusPage({ offset: state.offset, limit: pageSize() }),
    request("/api/readiness"),
    repository ? statusPage({ pattern: `*:${repository}` }) : null,
  ]);
  [state.status, state.readiness] = [status.body, readiness.body];
  state.repoStatus = repoStatus && repoStatus.ok ? repoStatus.body : null;
  renderStatus();
}, STATUS_EVERY_MS);

const refreshOverview = loop(async () => {
  const [{ ok, body }, pollers] = await Promise.all([request("/api/overview"), statusPage({ pattern: POLLERS })]);
  if (!ok) return;
  state.overview = body;
  if (pollers.ok) state.pollers = pollers.body;
  renderOverview();
}, OVERVIEW_EVERY_MS);

const refreshHistory = loop(async () => {
  if (state.route.view !== "overview") return;
  const { ok, body } = await request("/api/history");
  if (!ok) return;
  state.history = body;
  renderHistory();
}, HISTORY_EVERY_MS);

const refreshRepositoryView = loop(async () => {
  if (state.route.view === "repository") await refreshRepository(state.route.repository, canTry());
}, OVERVIEW_EVERY_MS);

function canTry() {
  return Boolean(state.overview && (state.overview.commands || []).includes("explain"));
}

/** Send one control request, say how it went, and look again at once. */
async function steer(document_, what) {
  try {
    const body = await control(document_);
    if (body.ok) {
      const names = body.names || body.retried || [];
      say(`${what}: ${names.length ? names.join(", ") : "done"}`, true);
    } else {
      say(`${what}: ${body.error}`, false);
    }
  } catch (error) {
    handleError(error);
  }
  refreshStatus();
  refreshOverview();
  refreshRepositoryView();
}

// -- header, banner, children ----------------------------------------------------

const children = new ChildrenTable($("#children"), (command, name) => steer({ command, name }, `${command} ${name}`));
const repoChildren = new ChildrenTable($("#repo-children"), (command, name) => steer({ command, name }, `${command} ${name}`));

function renderStatus() {
  const status = state.status;
  const badge = $("#phase");
  setText(badge, status.phase);
  badge.dataset.phase = status.phase;
  children.render(status);
  const total = status.total;
  setText($("#children-count"), `(${count(total)})`);
  setText(
    $("#state-counts"),
    Object.entries(status.counts)
      .filter(([, children]) => children > 0)
      .map(([name, children]) => `${count(children)} ${name}`)
      .join(" · "),
  );
  renderPager(status);
  applyFilter();
  renderHealth(state.readiness, total);
  renderRepositories();
  if (state.route.view === "repository" && state.repoStatus) {
    repoChildren.render(state.repoStatus, belongsTo(state.route.repository));
    replaceIfChanged($("#repo-sync"), syncNodes(state.route.repository, state.repoStatus, state.readiness));
  }
}

/** "101–200 of 1,000,000" and the buttons to the pages around it (hidden when one page shows all). */
function renderPager(status) {
  const shown = status.children.length;
  $("#children-pager").hidden = status.offset === 0 && !status.more;
  const first = shown ? status.offset + 1 : status.offset;
  setText($("#page-range"), `${count(first)}–${count(status.offset + shown)} of ${count(status.total)}`);
  $("#page-previous").disabled = status.offset === 0;
  $("#page-next").disabled = !status.more;
}

/** Show the page `step` pages away (-1: the previous one). */
function turnPage(step) {
  state.offset = Math.max(0, state.offset + step * pageSize());
  refreshStatus();
}

const HEALTH_TITLES = { ok: "Healthy", starting: "Starting", degraded: "Degraded", failing: "Not ready" };

// Readiness as /readyz judges it (/api/readiness is the same judgement with
// the children in trouble): the banner and a load balancer never disagree.
function renderHealth(readiness, childCount) {
  const banner = $("#health");
  banner.dataset.health = readiness.health;
  banner.dataset.status = readiness.status;
  setText($("#health-title"), HEALTH_TITLES[readiness.health] || readiness.health);
  setText($("#health-status"), readiness.status);
  const troubles = readiness.troubles || [];
  const summaries = {
    ok: `${childCount} children, none failing`,
    starting: "validating the repositories",
    degraded: `${troubles.length} ${troubles.length === 1 ? "child is" : "children are"} failing; restarts are under way`,
    failing: "/readyz answers 503",
  };
  setText($("#health-summary"), summaries[readiness.health] || "");
  replaceIfChanged($("#health-troubles"), troubles.map(troubleItem));
  replaceIfChanged($("#health-reasons"), (readiness.reasons || []).map((reason) => el("li", { text: reason })));
}

function troubleItem(trouble) {
  const since = trouble.since
    ? [el("span", { text: " failing since " }), timeEl(trouble.since)]
    : [el("span", { text: ` ${trouble.state}` })];
  const count = trouble.failures ? ` (${trouble.failures} in a row)` : "";
  return el(
    "li",
    { data: { child: trouble.name } },
    el("code", { text: trouble.name }),
    ...since,
    el("span", { text: count }),
    trouble.error ? el("div", { cls: "error", text: trouble.error }) : null,
  );
}

function renderHeader() {
  const overview = state.overview;
  if (overview && overview.daemon) {
    const daemon = overview.daemon;
    setText($("#version"), `v${daemon.version}${daemon.backend ? ` · ${daemon.backend}` : ""}`);
    const started = Date.parse(daemon.started_at);
    setText($("#uptime"), ` · up ${duration((serverNow() - started) / 1000)}`);
    $("#uptime").title = `started ${utc(daemon.started_at)}`;
  }
  const connection = $("#connection");
  const silent = Date.now() - lastAnswer();
  const live = lastAnswer() > 0 && silent < STALE_AFTER_MS;
  connection.dataset.ok = String(live);
  setText(connection, live ? "live" : lastAnswer() ? `no answer for ${duration(silent / 1000)}` : "connecting…");
}

function applyFilter() {
  const words = $("#filter").value.trim().toLowerCase().split(/\s+/).filter(Boolean);
  for (const [name, row] of children.rows) {
    const text = `${name} ${row.dataset.state}`.toLowerCase();
    row.hidden = !words.every((word) => text.includes(word));
  }
}

// -- overview ----------------------------------------------------------------------

function renderOverview() {
  const overview = state.overview;
  renderRepositories();
  renderJobs(overview.jobs || {});
  $("#try-section").hidden = !canTry();
  const analyses = overview.analyses || [];
  $("#analyses-section").hidden = analyses.length === 0;
  replaceIfChanged($("#analyses").tBodies[0], analysisRows(analyses, canTry()));
  renderFigures();
  renderHeader();
}

function renderRepositories() {
  const repositories = (state.overview && state.overview.repositories) || [];
  replaceIfChanged(
    $("#repositories").tBodies[0],
    repositories.map((repository) => {
      const sync = syncNodes(repository.name, state.pollers, state.readiness);
      const failing = sync.some((node) => node.classList.contains("failing"));
      return el(
        "tr",
        { data: { repository: repository.name, failing: String(failing) } },
        el("td", { cls: "name" }, pageLink(`#/repository/${repository.name}`, repository.name)),
        el("td", { cls: "num", text: repository.issues.toLocaleString("en"), data: { label: "issues" } }),
        el("td", { cls: "sync wide" }, ...sync),
        el("td", { cls: "actions" }, link(repository.url, "GitHub ↗", "muted")),
      );
    }),
  );
}

function renderJobs(jobs) {
  const figures = Object.entries(jobs).filter(([, value]) => typeof value === "number");
  replaceIfChanged(
    $("#jobs"),
    figures.map(([key, value]) =>
      el(
        "div",
        { cls: key === "dead" && value > 0 ? "bad" : "" },
        el("dt", { text: key.replaceAll("_", " ") }),
        el("dd", { text: String(value), data: { figure: key } }),
      ),
    ),
  );
  const dead = Array.isArray(jobs.recent_dead) ? jobs.recent_dead : [];
  $("#dead-jobs-box").hidden = dead.length === 0;
  replaceIfChanged($("#dead-jobs").tBodies[0], deadJobRows(dead));
}

// -- the last hour -------------------------------------------------------------------

const sum = (values) => (values || []).reduce((a, b) => a + (b || 0), 0);
const count = (value) => (Number.isInteger(value) ? value.toLocaleString("en") : value.toFixed(1));
const percent = (value) => `${Math.round(value)} %`;
const seconds = (value) => (value < 1 ? `${Math.round(value * 1000)} ms` : `${value.toFixed(1)} s`);

const ANALYSIS_SERIES = [
  ["posted", "posted", "s-posted"],
  ["dry_run", "dry run", "s-dry"],
  ["skipped", "skipped", "s-skipped"],
  ["failed", "failed", "s-failed"],
];

function renderHistory() {
  const history = state.history;
  const times = history.times.map((iso) => Date.parse(iso));
  const common = { times, seconds: history.seconds, span: history.span };
  const series = history.series;
  drawChart($("#chart-analyses"), {
    ...common,
    kind: "bars",
    legend: "total",
    format: count,
    series: ANALYSIS_SERIES.filter(([key]) => key in series.analyses || key === "posted").map(([key, label, cls]) => ({
      label,
      cls,
      values: series.analyses[key] || times.map(() => 0),
    })),
  });
  drawChart($("#chart-github"), {
    ...common,
    kind: "bars",
    legend: "total",
    format: count,
    series: [
      { label: "answered", cls: "s-ok", values: series.github.ok },
      { label: "errors", cls: "s-failed", values: series.github.errors },
    ],
  });
  drawChart($("#chart-budget"), {
    ...common,
    kind: "lines",
    legend: "last",
    format: percent,
    max: 100,
    series: [{ label: "points, last minute", cls: "s-budget", values: series.budget.used }],
  });
  drawChart($("#chart-lateness"), {
    ...common,
    kind: "lines",
    legend: "last",
    format: seconds,
    floor: 0.01,
    series: [
      { label: "mean", cls: "s-mean", values: series.lateness.mean },
      { label: "p99 bucket", cls: "s-p99", values: series.lateness.p99 },
    ],
  });
  setText($("#history-note"), `· a sample every ${history.interval} s, kept in memory`);
  renderGithubFacts(history.now || {});
  renderFigures();
}

function renderGithubFacts(now) {
  const budget = now.budget;
  const limits = now.limits;
  const facts = [["rate limit left", now.rate_limit_remaining === null ? "not said yet" : count(now.rate_limit_remaining)]];
  if (limits) facts.push(["budget", `${count(limits.points_per_minute)} points / ${limits.window} s, ${limits.writes_per_minute} writes / ${limits.window} s, ${limits.writes_per_hour} writes / hour`]);
  if (budget) {
    facts.push(
      ["requests since start", count(budget.requests_total)],
      ["waiting for budget now", count(budget.waiting)],
      ["in flight", count(budget.in_flight)],
      ["waited for budget", `${count(budget.waits_total)} requests, ${seconds(budget.wait_seconds_total)} in all`],
    );
  }
  replaceIfChanged(
    $("#github-figures"),
    facts.map(([term, value]) => el("div", { data: { fact: term } }, el("dt", { text: term }), el("dd", { text: value }))),
  );
}

/** The cards at the top: the hour's analyses and requests, the queue, the budget. */
function renderFigures() {
  const cards = [];
  const history = state.history;
  if (history) {
    const analyses = history.series.analyses;
    const total = Object.values(analyses).reduce((a, values) => a + sum(values), 0);
    const failed = sum(analyses.failed);
    cards.push(card("analyses, last hour", total, "", `${count(sum(analyses.posted))} posted · ${count(failed)} failed`));
    const errors = sum(history.series.github.errors);
    const requests = sum(history.series.github.ok) + errors;
    cards.push(card("GitHub requests, last hour", requests, errors ? "warn" : "", `${count(errors)} errors`));
  }
  const jobs = state.overview && state.overview.jobs;
  if (jobs) {
    const queue = `${count(jobs.ready)} queued · ${count(jobs.in_flight)} in flight`;
    cards.push(card("dead jobs", jobs.dead, jobs.dead ? "bad" : "", queue));
  }
  if (history) {
    const remaining = (history.now || {}).rate_limit_remaining;
    const used = history.series.budget.used.filter((value) => value !== null).pop();
    const note = used === undefined ? "" : `budget: ${percent(used)} used in the last minute`;
    cards.push(card("rate limit left", remaining === null || remaining === undefined ? "–" : remaining, "", note));
  }
  replaceIfChanged($("#figures"), cards);
}

// -- the prompt playground ---------------------------------------------------------------

async function tryAnalysis(issue) {
  const status = $("#try-state");
  const button = $("#try-form button");
  $("#try-issue").value = issue;
  button.disabled = true;
  status.textContent = `asking the model about ${issue}…`;
  $("#try-section").scrollIntoView({ block: "nearest" });
  try {
    const body = await control({ command: "explain", issue, post: false });
    if (body.ok) {
      $("#try-prompt").textContent = body.prompt || "";
      $("#try-answer").textContent = body.answer || "";
      $("#try-result").hidden = false;
      status.textContent = `${issue}: analysed, not posted`;
    } else {
      status.textContent = `${issue}: ${body.error}`;
    }
  } catch (error) {
    handleError(error);
    status.textContent = "";
  } finally {
    button.disabled = false;
  }
}

// -- views -----------------------------------------------------------------------------

function parseRoute() {
  const [path, query] = (location.hash.replace(/^#/, "") || "/").split("?");
  const repository = path.match(/^\/repository\/([^/]+\/[^/]+)\/?$/);
  return {
    view: repository ? "repository" : "overview",
    repository: repository ? decodeURIComponent(repository[1]) : null,
    analysis: new URLSearchParams(query || "").get("analysis"),
  };
}

function hashOf(route) {
  const path = route.view === "repository" ? `/repository/${route.repository}` : "/";
  return `#${path}${route.analysis ? `?analysis=${encodeURIComponent(route.analysis)}` : ""}`;
}

function applyRoute() {
  const before = state.route;
  state.route = parseRoute();
  const route = state.route;
  $("#view-overview").hidden = route.view !== "overview";
  $("#view-repository").hidden = route.view !== "repository";
  if (route.view === "repository" && (before.view !== "repository" || before.repository !== route.repository)) {
    $("#repo-name").textContent = route.repository;
    for (const id of ["#repo-analyses", "#repo-dead-jobs", "#repo-issues", "#repo-children"]) {
      replaceIfChanged($(id).tBodies[0], []);
    }
    repoChildren.rows.clear();
    state.repoStatus = null;
    replaceIfChanged($("#repo-figures"), []);
    replaceIfChanged($("#repo-sync"), []);
    refreshStatus();
    refreshRepositoryView();
    window.scrollTo(0, 0);
  }
  if (route.view === "overview" && before.view !== "overview") {
    refreshHistory();
  }
  document.title = route.view === "repository" ? `${route.repository} · autosolve` : "autosolve";
  showAnalysis(route.analysis);
}

function openAnalysis(id) {
  location.hash = hashOf({ ...state.route, analysis: id });
}

function closeAnalysis() {
  if (state.route.analysis) location.hash = hashOf({ ...state.route, analysis: null });
}

// -- start -----------------------------------------------------------------------------

function onTableClick(event) {
  const read = event.target.closest("[data-read]");
  if (read) {
    event.preventDefault();
    openAnalysis(read.dataset.read);
    return;
  }
  const tryButton = event.target.closest("button[data-try]");
  if (tryButton) {
    tryAnalysis(tryButton.dataset.try);
    return;
  }
  const retry = event.target.closest("button[data-retry]");
  if (retry) {
    steer({ command: "retry-dead", id: Number(retry.dataset.retry) }, `retry dead job ${retry.dataset.retry}`);
  }
}

const CHARTS = [
  ["chart-analyses", "Analyses", "analyses per sample over the last hour"],
  ["chart-github", "GitHub requests", "GitHub's answers per sample over the last hour"],
  ["chart-budget", "Request budget used", "the request budget's use over the last hour"],
  ["chart-lateness", "Tick lateness", "tick lateness over the last hour"],
];

function start() {
  $("#charts").replaceChildren(...CHARTS.map((chart) => chartFigure(...chart)));
  headTables("analyses", $("#analyses"), $("#repo-analyses"));
  headTables("deadJobs", $("#dead-jobs"), $("#repo-dead-jobs"));
  headTables("issues", $("#repo-issues"));
  for (const id of ["#analyses", "#dead-jobs", "#repo-analyses", "#repo-dead-jobs", "#repo-issues"]) {
    $(id).addEventListener("click", onTableClick);
  }
  $("#retry-all").addEventListener("click", () => steer({ command: "retry-dead", id: "all" }, "retry every dead job"));
  $("#filter").addEventListener("input", applyFilter);
  $("#page-previous").addEventListener("click", () => turnPage(-1));
  $("#page-next").addEventListener("click", () => turnPage(1));
  $("#try-form").addEventListener("submit", (event) => {
    event.preventDefault();
    tryAnalysis($("#try-issue").value.trim());
  });
  $("#panel-close").addEventListener("click", closeAnalysis);
  $("#panel-backdrop").addEventListener("click", closeAnalysis);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") closeAnalysis();
  });
  window.addEventListener("hashchange", applyRoute);
  let resizing = 0;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => state.history && renderHistory(), 150);
  });
  setInterval(() => {
    tickTimes();
    renderHeader();
  }, 1000);
  applyRoute();
  refreshStatus();
  refreshOverview();
  refreshHistory();
}

start();
