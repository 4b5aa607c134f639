// The autosolve dashboard: polls the endpoint's JSON routes and steers the
// daemon through POST /api/control (the control socket's protocol).
// Every value from the daemon goes into the page as text, never as markup.
// The token never passes through here: the browser sends it as an HttpOnly
// cookie, set when /?token=… was opened; without it the endpoint answers 401
// and the page goes to / , which asks for the token.
"use strict";

(() => {
  const STATUS_EVERY_MS = 1000;
  const OVERVIEW_EVERY_MS = 3000;
  const WORKER_COMMANDS = ["pause", "resume", "run-now", "restart"];

  const $ = (selector) => document.querySelector(selector);
  const rows = new Map(); // child name -> <tr>
  let serverOffsetMs = 0; // server clock minus ours, from the Date header
  let phase = "";
  let lastStatus = null;

  // -- talking to the endpoint ----------------------------------------------

  class Unauthorized extends Error {}

  async function request(path, options = {}) {
    const headers = { Accept: "application/json", ...(options.headers || {}) };
    const response = await fetch(path, {
      ...options,
      headers,
      cache: "no-store",
      credentials: "same-origin",
    });
    const date = Date.parse(response.headers.get("Date") || "");
    if (!Number.isNaN(date)) serverOffsetMs = date - Date.now();
    if (response.status === 401) throw new Unauthorized("token required");
    const body = await response.json();
    return { ok: response.ok, body };
  }

  async function control(command, name) {
    const document_ = name ? { command, name } : { command };
    try {
      const { body } = await request("/api/control", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(document_),
      });
      if (body.ok) {
        const names = body.names || [];
        say(`${command} ${name || ""}: ${names.length ? names.join(", ") : "done"}`, true);
      } else {
        say(`${command} ${name || ""}: ${body.error}`, false);
      }
    } catch (error) {
      handleError(error);
    }
    refreshStatus();
  }

  // -- polling ---------------------------------------------------------------

  let statusTimer = 0;
  async function refreshStatus() {
    clearTimeout(statusTimer);
    try {
      const { body } = await request("/status.json");
      lastStatus = body;
      renderStatus(body);
      connected(true);
      renderHealth((await request("/api/readiness")).body);
    } catch (error) {
      handleError(error);
    }
    statusTimer = setTimeout(refreshStatus, STATUS_EVERY_MS);
  }

  let overviewTimer = 0;
  async function refreshOverview() {
    clearTimeout(overviewTimer);
    try {
      const { ok, body } = await request("/api/overview");
      if (ok) renderOverview(body);
    } catch (error) {
      handleError(error);
    }
    overviewTimer = setTimeout(refreshOverview, OVERVIEW_EVERY_MS);
  }

  function handleError(error) {
    if (error instanceof Unauthorized) {
      location.assign("/"); // the token changed (a reload): the endpoint asks for it
    } else {
      connected(false, "the daemon does not answer");
    }
  }

  function connected(ok, why) {
    const element = $("#connection");
    element.textContent = ok ? `updated ${new Date().toLocaleTimeString()}` : why;
    element.dataset.ok = String(ok);
  }

  function say(text, ok) {
    const element = $("#message");
    element.textContent = text;
    element.dataset.ok = String(ok);
    element.hidden = false;
  }

  // Readiness as /readyz judges it (/api/readiness is the same judgement,
  // answered with 200): the banner and a load balancer never disagree.
  function renderHealth(readiness) {
    const banner = $("#health");
    banner.dataset.status = readiness.status;
    banner.hidden = readiness.status === "ready";
    $("#health-status").textContent = readiness.status;
    $("#health-reasons").replaceChildren(
      ...(readiness.reasons || []).map((reason) => {
        const item = document.createElement("li");
        item.textContent = reason;
        return item;
      }),
    );
  }

  // -- children --------------------------------------------------------------

  function renderStatus(status) {
    phase = status.phase;
    const badge = $("#phase");
    badge.textContent = status.phase;
    badge.dataset.phase = status.phase;
    const tbody = $("#children tbody");
    const seen = new Set();
    const counts = {};
    for (const child of status.children) {
      seen.add(child.name);
      counts[child.state] = (counts[child.state] || 0) + 1;
      let row = rows.get(child.name);
      if (!row) {
        row = newRow(child);
        rows.set(child.name, row);
        tbody.appendChild(row);
      }
      updateRow(row, child);
    }
    for (const [name, row] of rows) {
      if (!seen.has(name)) {
        row.remove();
        rows.delete(name);
      }
    }
    $("#children-count").textContent = `(${status.children.length})`;
    $("#state-counts").textContent = Object.entries(counts)
      .map(([state, count]) => `${count} ${state}`)
      .join(" · ");
    applyFilter();
    renderProgress(status);
  }

  function newRow(child) {
    const row = document.createElement("tr");
    row.dataset.name = child.name;
    row.dataset.kind = child.kind;
    for (const cls of ["name", "state-cell", "num", "num", "error", "next", "actions"]) {
      const cell = document.createElement("td");
      cell.className = cls;
      row.appendChild(cell);
    }
    row.cells[0].textContent = child.name;
    const badge = document.createElement("span");
    badge.className = "state";
    row.cells[1].appendChild(badge);
    const commands = child.kind === "worker" ? WORKER_COMMANDS : ["restart"];
    for (const command of commands) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = command;
      button.dataset.command = command;
      row.cells[6].appendChild(button);
    }
    return row;
  }

  function updateRow(row, child) {
    const badge = row.cells[1].firstChild;
    setText(badge, child.state);
    badge.dataset.state = child.state;
    row.dataset.state = child.state;
    setText(row.cells[2], String(child.runs));
    setText(row.cells[3], String(child.failures));
    setText(row.cells[4], child.last_error || "");
    setText(row.cells[5], nextRun(child));
    row.cells[5].title = child.next_run_at || "";
    const live = phase === "preflight" || phase === "workers";
    for (const button of row.cells[6].querySelectorAll("button")) {
      const command = button.dataset.command;
      button.disabled =
        !live ||
        (command === "pause" && child.state === "paused") ||
        (command === "resume" && child.state !== "paused") ||
        (child.state === "succeeded") ||
        (child.state === "pending" && command !== "restart");
    }
  }

  function setText(element, text) {
    if (element.textContent !== text) element.textContent = text;
  }

  function nextRun(child) {
    if (!child.next_run_at) return "";
    const seconds = Math.round((Date.parse(child.next_run_at) - (Date.now() + serverOffsetMs)) / 1000);
    if (seconds <= 0) return "due";
    if (seconds < 120) return `in ${seconds} s`;
    if (seconds < 7200) return `in ${Math.round(seconds / 60)} min`;
    return `in ${Math.round(seconds / 3600)} h`;
  }

  function applyFilter() {
    const words = $("#filter").value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    for (const [name, row] of rows) {
      const text = `${name} ${row.dataset.state}`.toLowerCase();
      row.hidden = !words.every((word) => text.includes(word));
    }
  }

  // -- repositories, jobs, analyses -----------------------------------------

  let repositories = [];

  function renderOverview(overview) {
    repositories = overview.repositories || [];
    renderRepositories();
    renderJobs(overview.jobs || {});
    const commands = overview.commands || [];
    $("#try-section").hidden = !commands.includes("explain");
    renderAnalyses(overview.analyses, commands.includes("explain"));
  }

  function renderProgress(status) {
    if (repositories.length) renderRepositories(status);
  }

  function renderRepositories(status = lastStatus) {
    const pollers = new Map();
    for (const child of (status && status.children) || []) {
      if (child.name.startsWith("worker:issue-poller:")) {
        pollers.set(child.name.slice("worker:issue-poller:".length).toLowerCase(), child);
      }
    }
    const tbody = $("#repositories tbody");
    const fresh = repositories.map((repository) => {
      const row = document.createElement("tr");
      row.dataset.repository = repository.name;
      const name = document.createElement("td");
      name.className = "name";
      name.appendChild(link(repository.url, repository.name));
      const issues = document.createElement("td");
      issues.className = "num";
      issues.textContent = String(repository.issues);
      const sync = document.createElement("td");
      sync.textContent = syncText(pollers.get(repository.name.toLowerCase()));
      row.append(name, issues, sync);
      return row;
    });
    tbody.replaceChildren(...fresh);
  }

  function syncText(poller) {
    if (!poller) return "not started";
    const progress = poller.progress;
    if (!progress) return poller.runs > 0 ? "synced" : poller.state;
    const caughtUp = progress.caught_up === true ? "caught up" : progress.caught_up === false ? "catching up" : "";
    const rest = Object.entries(progress)
      .filter(([key]) => key !== "caught_up")
      .map(([key, value]) => `${key.replaceAll("_", " ")}: ${value}`);
    return [caughtUp, ...rest].filter(Boolean).join(" · ");
  }

  function renderJobs(jobs) {
    const figures = Object.entries(jobs).filter(([, value]) => typeof value === "number");
    $("#jobs").replaceChildren(
      ...figures.map(([key, value]) => {
        const group = document.createElement("div");
        const term = document.createElement("dt");
        term.textContent = key.replaceAll("_", " ");
        const figure = document.createElement("dd");
        figure.textContent = String(value);
        figure.dataset.figure = key;
        group.append(term, figure);
        return group;
      }),
    );
    const dead = Array.isArray(jobs.recent_dead) ? jobs.recent_dead : [];
    const table = $("#dead-jobs");
    table.hidden = dead.length === 0;
    table.tBodies[0].replaceChildren(
      ...dead.map((job) =>
        cells([String(job.id), job.payload || "", job.reason || "", job.dead_at || ""]),
      ),
    );
  }

  function renderAnalyses(analyses, canTry) {
    const section = $("#analyses-section");
    section.hidden = !Array.isArray(analyses) || analyses.length === 0;
    if (section.hidden) return;
    $("#analyses tbody").replaceChildren(
      ...analyses.map((analysis) => {
        const issue = `${analysis.repository}#${analysis.number}`;
        const row = cells(["", analysis.title || "", analysis.model || "", analysis.created_at || "", "", ""]);
        row.dataset.issue = issue;
        row.cells[0].appendChild(link(analysis.url, issue));
        if (analysis.comment_url) {
          row.cells[4].appendChild(link(analysis.comment_url, "comment"));
        } else {
          row.cells[4].textContent = analysis.posted_at ? "posted" : "not posted";
        }
        if (canTry) {
          const button = document.createElement("button");
          button.type = "button";
          button.textContent = "try";
          button.dataset.try = issue;
          row.cells[5].appendChild(button);
        }
        return row;
      }),
    );
  }

  // -- the prompt playground -------------------------------------------------

  async function tryAnalysis(issue) {
    const state = $("#try-state");
    const button = $("#try-form button");
    $("#try-issue").value = issue;
    button.disabled = true;
    state.textContent = `asking the model about ${issue}…`;
    try {
      const { body } = await request("/api/control", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ command: "explain", issue, post: false }),
      });
      if (body.ok) {
        $("#try-prompt").textContent = body.prompt || "";
        $("#try-answer").textContent = body.answer || "";
        $("#try-result").hidden = false;
        state.textContent = `${issue}: analysed, not posted`;
      } else {
        state.textContent = `${issue}: ${body.error}`;
      }
    } catch (error) {
      handleError(error);
      state.textContent = "";
    } finally {
      button.disabled = false;
    }
  }

  function cells(texts) {
    const row = document.createElement("tr");
    for (const text of texts) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.appendChild(cell);
    }
    return row;
  }

  function link(url, text) {
    if (typeof url !== "string" || !/^https?:\/\//.test(url)) {
      return document.createTextNode(text);
    }
    const anchor = document.createElement("a");
    anchor.href = url;
    anchor.textContent = text;
    anchor.rel = "noreferrer noopener";
    anchor.target = "_blank";
    return anchor;
  }

  // -- start -----------------------------------------------------------------

  function start() {
    $("#children tbody").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-command]");
      if (!button) return;
      control(button.dataset.command, button.closest("tr").dataset.name);
    });
    $("#filter").addEventListener("input", applyFilter);
    $("#try-form").addEventListener("submit", (event) => {
      event.preventDefault();
      tryAnalysis($("#try-issue").value.trim());
    });
    $("#analyses tbody").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-try]");
      if (button) tryAnalysis(button.dataset.try);
    });
    refreshStatus();
    refreshOverview();
  }

  start();
})();
