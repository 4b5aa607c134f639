// The analysis side panel: one analysis in full beside whichever view is
// open (summary, related issues, labels, questions, the comment's text and a
// link to it on GitHub). The address says which (#/...?analysis=ID), so it
// can be linked, and the browser's back button closes it. Parts the daemon
// did not keep (an analysis made before structured answers) are left out.
"use strict";

import { $, el, link, timeEl } from "./dom.js";
import { request, handleError } from "./api.js";
import { labelChips } from "./tables.js";

let shown = null; // the id the panel shows (or is fetching)

/** Show analysis `id` (a string), or close the panel when `id` is null. */
export async function showAnalysis(id) {
  const panel = $("#panel");
  if (!id) {
    shown = null;
    panel.hidden = true;
    $("#panel-backdrop").hidden = true;
    document.body.classList.remove("panel-open");
    return;
  }
  if (shown === id && !panel.hidden) return;
  shown = id;
  panel.hidden = false;
  $("#panel-backdrop").hidden = false;
  document.body.classList.add("panel-open");
  loading(`loading analysis ${id}…`);
  $("#panel-close").focus({ preventScroll: true });
  try {
    const { ok, status, body } = await request(`/api/analysis?id=${encodeURIComponent(id)}`);
    if (shown !== id) return; // another one was asked for meanwhile
    if (ok) render(body);
    else loading(status === 404 ? `There is no analysis ${id}.` : body.error || `error ${status}`);
  } catch (error) {
    handleError(error);
    if (shown === id) loading("the daemon does not answer");
  }
}

function loading(text) {
  $("#panel-title").textContent = "";
  $("#panel-issue").replaceChildren();
  $("#panel-meta").replaceChildren();
  $("#panel-state").textContent = text;
  $("#panel-state").hidden = false;
  $("#panel-body").hidden = true;
}

function render(analysis) {
  const issue = `${analysis.repository}#${analysis.number}`;
  $("#panel-issue").replaceWith(Object.assign(link(analysis.url, issue, "muted"), { id: "panel-issue" }));
  $("#panel-title").textContent = analysis.title || issue;
  $("#panel-meta").replaceChildren(...meta(analysis));
  $("#panel-state").hidden = true;
  section("#panel-summary", analysis.summary, (box) => {
    box.querySelector(".text").textContent = analysis.summary;
  });
  const related = analysis.related || [];
  section("#panel-related", related.length, (box) => {
    box.querySelector("ul").replaceWith(
      el("ul", { cls: "chips" }, ...related.map((r) => el("li", { cls: "chip" }, link(r.url, `#${r.number}`)))),
    );
  });
  const labels = analysis.labels || {};
  const applied = labels.applied || [];
  const suggested = labels.suggested || [];
  section("#panel-labels", applied.length + suggested.length, (box) => {
    const applied_ = labelChips(applied, "applied");
    applied_.prepend(...(applied.length ? [el("li", { cls: "chip-note", text: "applied" })] : []));
    const suggested_ = labelChips(suggested, "suggested");
    suggested_.prepend(...(suggested.length ? [el("li", { cls: "chip-note", text: "suggested" })] : []));
    box.replaceChildren(el("h3", { text: "Labels" }), applied_, suggested_);
  });
  const questions = analysis.questions || [];
  section("#panel-questions", questions.length, (box) => {
    box.querySelector("ul").replaceChildren(...questions.map((q) => el("li", { text: q })));
  });
  $("#panel-comment-title").textContent = analysis.posted_at ? "Comment, as posted" : "Comment (not posted)";
  $("#panel-comment .comment").textContent = analysis.body || "";
  $("#panel-body").hidden = false;
  $("#panel").scrollTop = 0;
}

function meta(analysis) {
  const parts = [el("span", { text: `model ${analysis.model}` }), el("span", { text: " · analysed " }), timeEl(analysis.created_at)];
  if (analysis.posted_at) parts.push(el("span", { text: " · posted " }), timeEl(analysis.posted_at));
  if (analysis.comment_url) parts.push(el("span", { text: " · " }), link(analysis.comment_url, "view the comment on GitHub ↗"));
  return parts;
}

function section(selector, present, fill) {
  const box = $(selector);
  box.hidden = !present;
  if (present) fill(box);
}
