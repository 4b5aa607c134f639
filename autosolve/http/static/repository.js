// One repository's view (#/repository/owner/name): how its sync stands, its
// children, its latest analyses, its dead jobs and its newest issues.
"use strict";

import { $, el, link, replaceIfChanged, timeEl } from "./dom.js";
import { request, handleError } from "./api.js";
import { analysisRows, deadJobRows, issueRows } from "./tables.js";
import { taskOf, tenantOf } from "./children.js";

/** Fetch and show repository `name`; false when the daemon knows no such repository. */
export async function refreshRepository(name, canTry) {
  try {
    const { ok, status, body } = await request(`/api/repository?name=${encodeURIComponent(name)}`);
    if (!ok) {
      missing(status === 404 ? `No repository ${name} is configured or mirrored.` : body.error);
      return false;
    }
    render(body, canTry);
  } catch (error) {
    handleError(error);
  }
  return true;
}

/** Whether a child works for repository `name`. */
export function belongsTo(name) {
  const key = name.toLowerCase();
  return (child) => tenantOf(child.name) === key;
}

function missing(text) {
  $("#repo-missing").textContent = text;
  $("#repo-missing").hidden = false;
  replaceIfChanged($("#repo-figures"), []);
}

function render(repository, canTry) {
  $("#repo-missing").hidden = true;
  replaceIfChanged($("#repo-name"), [link(repository.url, repository.name)]);
  if (!repository.configured) {
    missing("Not configured any more (its data is kept): nothing syncs it.");
  }
  const issues = repository.issues || {};
  const total = Object.values(issues).reduce((a, b) => a + b, 0);
  replaceIfChanged($("#repo-figures"), [
    card("issues mirrored", total),
    card("open", issues.open || 0),
    card("closed", issues.closed || 0),
    card("dead jobs", repository.dead_jobs.length, repository.dead_jobs.length ? "bad" : ""),
  ]);
  const analyses = repository.analyses || [];
  $("#repo-no-analyses").hidden = analyses.length > 0;
  $("#repo-analyses").closest(".scroll").hidden = analyses.length === 0;
  replaceIfChanged($("#repo-analyses").tBodies[0], analysisRows(analyses, canTry));
  const dead = repository.dead_jobs || [];
  $("#repo-no-dead").hidden = dead.length > 0;
  $("#repo-dead-jobs").closest(".scroll").hidden = dead.length === 0;
  replaceIfChanged($("#repo-dead-jobs").tBodies[0], deadJobRows(dead));
  replaceIfChanged($("#repo-issues").tBodies[0], issueRows(repository.latest_issues || []));
}

/** A figure: <div><dt>label</dt><dd>value</dd></div>. */
export function card(label, value, tone = "", note = "") {
  const figure = el("dd", { text: typeof value === "number" ? value.toLocaleString("en") : value });
  const box = el("div", { cls: `card ${tone}`, data: { card: label } }, el("dt", { text: label }), figure);
  if (note) box.append(el("span", { cls: "card-note muted", text: note }));
  return box;
}

/**
 * How a repository's sync stands, as nodes: "failing since … (reason)" for
 * each of its children in trouble (the readiness rule's judgement), else
 * its poller's progress ("caught up · synced 2 s ago · newest change …").
 */
export function syncNodes(name, status, readiness) {
  const key = name.toLowerCase();
  const troubles = ((readiness && readiness.troubles) || []).filter((t) => tenantOf(t.name) === key);
  if (troubles.length) {
    return troubles.map((trouble) =>
      el(
        "span",
        { cls: "failing", data: { child: trouble.name }, attrs: { title: trouble.name } },
        el("span", { text: `${taskOf(trouble.name)} failing since ` }),
        trouble.since ? timeEl(trouble.since) : el("span", { text: "a moment" }),
        el("span", { text: ` (${trouble.error || trouble.state})` }),
      ),
    );
  }
  const poller = ((status && status.children) || []).find(
    (child) => taskOf(child.name) === "issue-poller" && tenantOf(child.name) === key,
  );
  return progressNodes(poller);
}

function progressNodes(poller) {
  if (!poller) return [el("span", { cls: "muted", text: "not started" })];
  const progress = poller.progress || {};
  const parts = [];
  if (progress.caught_up === true) parts.push(el("span", { cls: "ok", text: "caught up" }));
  else if (progress.caught_up === false) parts.push(el("span", { cls: "busy", text: "catching up" }));
  else parts.push(el("span", { text: poller.runs > 0 ? "synced" : poller.state }));
  if (poller.last_success_at) parts.push(el("span", { text: " · synced " }), timeEl(poller.last_success_at));
  if (progress.caught_up === false) {
    parts.push(el("span", { text: ` · page ${progress.pages || 0}, ${progress.stored || 0} stored` }));
  }
  if (progress.since) parts.push(el("span", { text: " · newest change " }), timeEl(progress.since));
  return parts;
}
