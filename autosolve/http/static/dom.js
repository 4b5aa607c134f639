// DOM helpers for the dashboard: elements built with textContent only (never
// markup from data), links that only ever point at http(s), and the one time
// convention of the page: relative ("3 min ago", "in 5 s"), the UTC time on
// hover, kept current by tickTimes().
"use strict";

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

let serverOffsetMs = 0; // the daemon's clock minus ours (from the Date header)

export function setServerDate(header) {
  const date = Date.parse(header || "");
  if (!Number.isNaN(date)) serverOffsetMs = date - Date.now();
}

/** Now, on the daemon's clock (ms). */
export function serverNow() {
  return Date.now() + serverOffsetMs;
}

/** An element: el("td", {cls: "num", text: "3", data: {figure: "dead"}}, child...). */
export function el(tag, options = {}, ...children) {
  const element = document.createElement(tag);
  if (options.cls) element.className = options.cls;
  if (options.text !== undefined && options.text !== null) element.textContent = String(options.text);
  for (const [key, value] of Object.entries(options.data || {})) element.dataset[key] = value;
  for (const [key, value] of Object.entries(options.attrs || {})) element.setAttribute(key, value);
  element.append(...children.filter((child) => child !== null && child !== undefined));
  return element;
}

export function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

/** What a node shows, times by their instant (their text changes every second). */
function signature(node) {
  if (node.nodeType !== Node.ELEMENT_NODE) return node.textContent;
  if (node.tagName === "TIME") return `[${node.getAttribute("datetime")}]`;
  const own = `${node.tagName}${node.className}${JSON.stringify(node.dataset)}${node.getAttribute("href") || ""}`;
  return `<${own}>${[...node.childNodes].map(signature).join("")}</>`;
}

/**
 * Put `nodes` in `parent` unless it shows the same already: a table redrawn
 * every few seconds would otherwise swallow a click that spans a redraw,
 * and lose the hover and focus it has.
 */
export function replaceIfChanged(parent, nodes) {
  const next = nodes.map(signature).join("");
  if (parent.dataset.shows === next) return;
  parent.dataset.shows = next;
  parent.replaceChildren(...nodes);
}

/** Give `table` a head row: [[heading, class], ...]. */
export function setHead(table, headings) {
  const row = el("tr", {}, ...headings.map(([text, cls]) => el("th", { text, cls: cls || "" })));
  table.createTHead().replaceChildren(row);
}

/** A link to GitHub (or any http(s) URL) opening in a new tab; plain text otherwise. */
export function link(url, text, cls = "") {
  if (typeof url !== "string" || !/^https?:\/\//.test(url)) {
    return el("span", { cls, text });
  }
  return el("a", {
    cls,
    text,
    attrs: { href: url, rel: "noreferrer noopener", target: "_blank" },
  });
}

/** A link inside the page (#/...). */
export function pageLink(hash, text, cls = "") {
  return el("a", { cls, text, attrs: { href: hash } });
}

// -- time -------------------------------------------------------------------

const UNITS = [
  [86400, "d"],
  [3600, "h"],
  [60, "min"],
  [1, "s"],
];

/** "45 s", "3 min", "2 h 5 min", "4 d 2 h", "12 d", "3 y". */
export function duration(seconds) {
  seconds = Math.max(0, Math.round(seconds));
  const days = seconds / 86400;
  if (days >= 365) return `${Math.floor(days / 365)} y`;
  if (days >= 7) return `${Math.floor(days)} d`;
  const index = Math.max(UNITS.findIndex(([size]) => seconds >= size), 0);
  const [size, unit] = UNITS[seconds ? index : UNITS.length - 1];
  const whole = Math.floor(seconds / size);
  const next = UNITS[index + 1];
  const rest = size >= 3600 && next ? Math.floor((seconds % size) / next[0]) : 0;
  return rest ? `${whole} ${unit} ${rest} ${next[1]}` : `${whole} ${unit}`;
}

/** "just now", "3 min ago", "in 5 s" (or `due` for a past time when given). */
export function relative(iso, due = "") {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return "";
  const seconds = (at - serverNow()) / 1000;
  if (seconds > 0.5) return `in ${duration(seconds)}`;
  if (due) return due;
  if (seconds > -2) return "just now";
  return `${duration(-seconds)} ago`;
}

/** "2026-01-01 10:00:00 UTC". */
export function utc(iso) {
  const at = new Date(Date.parse(iso));
  if (Number.isNaN(at.getTime())) return "";
  return `${at.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** A <time> showing `iso` relative, with the UTC time on hover, kept current. */
export function timeEl(iso, due = "") {
  if (!iso) return el("span", { cls: "muted", text: "—" });
  const element = el("time", { attrs: { datetime: iso, title: utc(iso) }, data: { relative: due } });
  element.textContent = relative(iso, due);
  return element;
}

/** Point an existing <time> at `iso` (null: empty). */
export function setTime(element, iso, due = "") {
  if (!iso) {
    element.removeAttribute("datetime");
    element.removeAttribute("title");
    setText(element, "");
    return;
  }
  if (element.getAttribute("datetime") !== iso) {
    element.setAttribute("datetime", iso);
    element.title = utc(iso);
  }
  element.dataset.relative = due;
  setText(element, relative(iso, due));
}

/** Bring every relative time on the page up to date. */
export function tickTimes() {
  for (const element of document.querySelectorAll("time[datetime]")) {
    setText(element, relative(element.getAttribute("datetime"), element.dataset.relative || ""));
  }
}
