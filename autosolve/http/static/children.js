// A table of children (the overview's, and a repository's own): one row per
// child, updated in place every second, with its one-click actions.
"use strict";

import { el, setHead, setText, setTime } from "./dom.js";

const WORKER_COMMANDS = ["pause", "resume", "run-now", "restart"];
const COLUMNS = [
  // class, heading, and the label a narrow screen shows before the value (no heading there)
  ["name wide", "name", ""],
  ["state-cell", "state", ""],
  ["num", "runs", "runs"],
  ["num", "failures", "failures"],
  ["error wide", "last error", ""],
  ["next", "next run", "next run"],
  ["actions", "actions", ""],
];

export class ChildrenTable {
  /**
   * @param table the <table> (its tbody gets the rows)
   * @param onCommand (command, childName) => void, for the row's buttons
   */
  constructor(table, onCommand) {
    setHead(table, COLUMNS.map(([cls, heading]) => [heading, cls]));
    this.tbody = table.tBodies[0];
    this.rows = new Map(); // child name -> <tr>
    this.tbody.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-command]");
      if (button) onCommand(button.dataset.command, button.closest("tr").dataset.name);
    });
  }

  /** Show the children of `status` that `keep` accepts (new ones at the end). */
  render(status, keep = () => true) {
    const live = status.phase === "preflight" || status.phase === "workers";
    const seen = new Set();
    for (const child of status.children) {
      if (!keep(child)) continue;
      seen.add(child.name);
      let row = this.rows.get(child.name);
      if (!row) {
        row = newRow(child);
        this.rows.set(child.name, row);
        this.tbody.appendChild(row);
      }
      updateRow(row, child, live);
    }
    for (const [name, row] of this.rows) {
      if (!seen.has(name)) {
        row.remove();
        this.rows.delete(name);
      }
    }
  }
}

function newRow(child) {
  const row = el("tr", { data: { name: child.name, kind: child.kind } });
  for (const [cls, , label] of COLUMNS) row.appendChild(el("td", { cls, data: label ? { label } : {} }));
  row.cells[0].textContent = child.name;
  row.cells[1].appendChild(el("span", { cls: "state" }));
  row.cells[5].appendChild(el("time"));
  const commands = child.kind === "worker" ? WORKER_COMMANDS : ["restart"];
  for (const command of commands) {
    row.cells[6].appendChild(
      el("button", { text: command, cls: "small", attrs: { type: "button" }, data: { command } }),
    );
  }
  return row;
}

function updateRow(row, child, live) {
  const badge = row.cells[1].firstChild;
  setText(badge, child.state);
  badge.dataset.state = child.state;
  row.dataset.state = child.state;
  setText(row.cells[2], String(child.runs));
  setText(row.cells[3], String(child.failures));
  setText(row.cells[4], child.last_error || "");
  row.cells[4].title = child.last_error || "";
  setTime(row.cells[5].firstChild, child.next_run_at, "due");
  row.cells[5].dataset.empty = String(!child.next_run_at); // a narrow screen leaves it out
  for (const button of row.cells[6].querySelectorAll("button")) {
    const command = button.dataset.command;
    button.disabled =
      !live ||
      (command === "pause" && child.state === "paused") ||
      (command === "resume" && child.state !== "paused") ||
      child.state === "succeeded" ||
      (child.state === "pending" && command !== "restart");
  }
}

/** The repository a child works for: the part of its name after kind and task. */
export function tenantOf(name) {
  return name.split(":").slice(2).join(":").toLowerCase();
}

/** "issue-poller" of "worker:issue-poller:octo/hello". */
export function taskOf(name) {
  return name.split(":")[1] || name;
}
