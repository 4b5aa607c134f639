// Rows shared by the overview and a repository's view: analyses, dead jobs,
// issues. Buttons carry what they act on in data attributes; the views
// listen on their tables (see dashboard.js).
"use strict";

import { el, link, setHead, timeEl } from "./dom.js";

const HEADINGS = {
  analyses: [["issue"], ["title"], ["analysed"], ["comment"], [""]],
  deadJobs: [["job", "num"], ["issue"], ["dead since"], ["reason"], [""]],
  issues: [["issue"], ["title"], ["state"], ["labels"], ["updated"], ["analysis", "actions"]],
};

/** Head the tables of analyses, dead jobs and issues (`kind`: a key of HEADINGS). */
export function headTables(kind, ...tables) {
  for (const table of tables) setHead(table, HEADINGS[kind]);
}

function button(text, data, cls = "small") {
  return el("button", { text, cls, attrs: { type: "button" }, data });
}

/** One row per analysis: issue, title (opens it in full), when, its comment, actions. */
export function analysisRows(analyses, canTry) {
  return analyses.map((analysis) => {
    const issue = `${analysis.repository}#${analysis.number}`;
    const comment = analysis.comment_url
      ? link(analysis.comment_url, "on GitHub")
      : el("span", { cls: "muted", text: analysis.posted_at ? "posted" : "not posted" });
    const actions = el("td", { cls: "actions" }, button("read", { read: String(analysis.id) }));
    if (canTry) actions.append(button("try", { try: issue }, "small secondary"));
    const title = el("a", {
      cls: "open-analysis",
      text: analysis.title || issue,
      attrs: { href: "#" },
      data: { read: String(analysis.id) },
    });
    return el(
      "tr",
      { data: { issue, analysis: String(analysis.id) } },
      el("td", { cls: "name" }, link(analysis.url, issue)),
      el("td", { cls: "title wide" }, title),
      el("td", { cls: "when", data: { label: "analysed" } }, timeEl(analysis.created_at)),
      el("td", {}, comment),
      actions,
    );
  });
}

/** One row per dead job: its id, the issue it was about, why it died, when; retry. */
export function deadJobRows(jobs) {
  return jobs.map((job) => {
    const issue = job.issue ? link(job.issue.url, job.issue.name) : el("code", { text: job.payload || "" });
    return el(
      "tr",
      { data: { job: String(job.id) } },
      el("td", { cls: "num", text: String(job.id), data: { label: "job" } }),
      el("td", { cls: "name" }, issue),
      el("td", { cls: "when", data: { label: "dead since" } }, timeEl(job.dead_at)),
      el("td", { cls: "error wide", text: job.reason || "", attrs: { title: job.reason || "" } }),
      el("td", { cls: "actions" }, button("retry", { retry: String(job.id) })),
    );
  });
}

/** One row per mirrored issue: number, title, state, labels, updated, its analysis. */
export function issueRows(issues) {
  return issues.map((issue) => {
    const analysis = issue.analysis_id
      ? button("read", { read: String(issue.analysis_id) })
      : el("span", { cls: "muted", text: "—" });
    return el(
      "tr",
      { data: { number: String(issue.number) } },
      el("td", { cls: "name" }, link(issue.url, `#${issue.number}`)),
      el("td", { cls: "title wide", text: issue.title }),
      el("td", {}, el("span", { cls: "state", text: issue.pull_request ? `${issue.state} PR` : issue.state, data: { issue: issue.state } })),
      el("td", {}, labelChips(issue.labels || [])),
      el("td", { cls: "when", data: { label: "updated" } }, timeEl(issue.updated_at)),
      el("td", { cls: "actions" }, analysis),
    );
  });
}

/** Labels as chips in a <ul class="chips">. */
export function labelChips(labels, cls = "") {
  return el("ul", { cls: "chips" }, ...labels.map((label) => el("li", { cls: `chip ${cls}`, text: label })));
}
