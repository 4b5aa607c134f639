// Talking to the endpoint: GET its JSON routes, POST /api/control (the
// control socket's protocol). The token never passes through here: the
// browser sends it as an HttpOnly cookie, set when /?token=… was opened;
// without it the endpoint answers 401 and the page goes to /, which asks
// for the token.
"use strict";

import { $, setServerDate } from "./dom.js";

export class Unauthorized extends Error {}

let lastAnswerAt = 0; // Date.now() of the last answer, for the connection note

export function lastAnswer() {
  return lastAnswerAt;
}

/** GET (or any method) a JSON route: {ok, status, body}. */
export async function request(path, options = {}) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  const response = await fetch(path, { ...options, headers, cache: "no-store", credentials: "same-origin" });
  setServerDate(response.headers.get("Date"));
  if (response.status === 401) throw new Unauthorized("token required");
  lastAnswerAt = Date.now();
  const body = await response.json();
  return { ok: response.ok, status: response.status, body };
}

/** POST one control request; the daemon's answer ({"ok": ...}). */
export async function control(document_) {
  const { body } = await request("/api/control", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(document_),
  });
  return body;
}

/** Say how a request went, in the message line under the banner. */
export function say(text, ok) {
  const element = $("#message");
  element.textContent = text;
  element.dataset.ok = String(ok);
  element.hidden = false;
}

/** A request that failed: the token is gone (go and ask for it), or the daemon is. */
export function handleError(error) {
  if (error instanceof Unauthorized) {
    location.assign("/"); // the token changed (a reload): the endpoint asks for it
  } else {
    lastAnswerAt = Math.min(lastAnswerAt, Date.now() - 60000);
  }
}
