// The REST API, with the session kept in this browser's localStorage (shared with the queue dashboard).
// Every failure becomes an ApiError whose message a person can read; 401 is retried once after a refresh.

import { formatNumber, has, t } from "./i18n.js";

const SESSION_KEY = "watchparty.session";

export class ApiError extends Error {
  constructor(message, status, code, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || [];
  }
}

export function session() {
  try { return JSON.parse(localStorage.getItem(SESSION_KEY) || "null"); } catch { return null; }
}

export function saveSession(result) {
  const s = { token: result.token, refreshToken: result.refreshToken, user: result.user || session()?.user };
  localStorage.setItem(SESSION_KEY, JSON.stringify(s));
  return s;
}

export function setUser(user) {
  const s = session();
  if (s) localStorage.setItem(SESSION_KEY, JSON.stringify({ ...s, user }));
}

// Ending the session tells the page (its navigation is drawn again); `forced`: the server ended it (a refresh
// refused: signed out everywhere, the password changed, or expired), not this person's click.
export function clearSession({ forced = false } = {}) {
  const had = localStorage.getItem(SESSION_KEY) !== null;
  localStorage.removeItem(SESSION_KEY);
  if (had) window.dispatchEvent(new CustomEvent("watchparty:session", { detail: { forced } }));
}

let refreshing = null;  // one refresh at a time: a second would reuse the rotated token and end the session

async function refresh(s) {
  refreshing ??= (async () => {
    const r = await fetch("/api/auth/refresh", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refreshToken: s.refreshToken }),
    });
    if (!r.ok) { clearSession({ forced: true }); return false; }
    saveSession((await r.json()).data);
    return true;
  })().finally(() => { refreshing = null; });
  return refreshing;
}

// A field's error in the viewer's language: from its check's code and number where the catalogue has words for it
// ("field.string_too_short"), else the server's sentence (English).
export function fieldText(detail) {
  const field = String(detail.field || "").split(".").pop();
  const label = has(`label.${field}`) ? t(`label.${field}`) : field;
  const specific = `field.${field}.${detail.code}`;
  const params = { label, limit: detail.limit, count: detail.limit, size: detail.limit === undefined ? undefined : sizeText(detail.limit) };
  for (const key of [specific, `field.${detail.code}`]) {
    const text = has(key) ? t(key, params) : null;
    if (text && !/\{\w+\}/.test(text)) return text;  // a number the words need and the detail lacks: the server's
  }
  return detail.message;
}

function explain(status, body, retryAfter) {
  const error = body?.error;
  const worded = (error?.details || []).filter((d) => d.message);  // other details are data (a ban's `until`)
  const limit = error?.details?.[0]?.limit;
  const seconds = Number(retryAfter) || undefined;
  const key = `error.${error?.code}`;
  if (error?.code && error.code !== "validation_error" && has(key)) {
    const params = { limit, seconds, count: seconds ?? limit, size: limit === undefined ? undefined : sizeText(limit) };
    const text = t(key, params);
    if (!/\{\w+\}/.test(text)) return text;  // words without their number are not shown: the server's are
  }
  if (worded.length) return worded.map(fieldText).join(" ");
  if (error?.message) return error.message;
  if (status === 0) return t("error.network");
  if (status >= 500) return t("error.server", { status });
  return t("error.failed", { status });
}

export function sizeText(bytes) {
  for (const [unit, scale] of [["GiB", 2 ** 30], ["MiB", 2 ** 20], ["KiB", 2 ** 10]]) {
    if (bytes >= scale) return `${formatNumber(Math.round((bytes / scale) * 10) / 10)} ${unit}`;
  }
  return `${bytes} B`;
}

// api("/api/rooms", { method: "POST", body: {...} }) → the envelope's data (or the whole body with `whole`).
// `raw` sends a Blob as the body itself (a chunk of an upload).
export async function api(path, { method = "GET", body, form, raw, whole = false, retried = false } = {}) {
  const s = session();
  const headers = {};
  if (s?.token) headers.Authorization = `Bearer ${s.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (raw !== undefined) headers["Content-Type"] = "application/octet-stream";
  let response;
  try {
    response = await fetch(path, { method, headers, body: raw ?? form ?? (body === undefined ? undefined : JSON.stringify(body)) });
  } catch {
    throw new ApiError(explain(0), 0, "network");
  }
  let payload = null;
  try { payload = await response.json(); } catch { /* not JSON */ }
  if (response.status === 401 && s?.refreshToken && !retried && !path.startsWith("/api/auth/login")) {
    if (await refresh(s)) return api(path, { method, body, form, raw, whole, retried: true });
  }
  if (!response.ok) {
    const message = explain(response.status, payload, response.headers.get("Retry-After"));
    throw new ApiError(message, response.status, payload?.error?.code, payload?.error?.details);
  }
  return whole ? payload : payload?.data;
}

// A movie once the server's media check has a verdict (docs/protocol.md, "The media check"), saying "checking…"
// meanwhile; after 15 s it is left checking (it may still be queued, and shows as checking).
export async function checkedMovie(movie, say = () => {}) {
  let current = movie;
  const deadline = Date.now() + 15000;
  while (current.check?.status === "checking" && Date.now() < deadline) {
    say(t("movie.checking"));
    await new Promise((resolve) => setTimeout(resolve, 300));
    current = await api(`/api/movies/${movie.id}`);
  }
  say(current.check?.status === "ready" ? t("movie.plays") : current.check?.message || "");
  return current;
}
