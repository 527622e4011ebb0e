// The REST API, with the session kept in this browser's localStorage (shared with the queue dashboard).
// Every failure becomes an ApiError whose message a person can read; 401 is retried once after a refresh.

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

export function clearSession() {
  localStorage.removeItem(SESSION_KEY);
}

let refreshing = null;  // one refresh at a time: a second would reuse the rotated token and end the session

async function refresh(s) {
  refreshing ??= (async () => {
    const r = await fetch("/api/auth/refresh", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refreshToken: s.refreshToken }),
    });
    if (!r.ok) { clearSession(); return false; }
    saveSession((await r.json()).data);
    return true;
  })().finally(() => { refreshing = null; });
  return refreshing;
}

function explain(status, body) {
  const error = body?.error;
  const worded = (error?.details || []).filter((d) => d.message);  // other details are data (a ban's `until`)
  if (worded.length) return worded.map((d) => (d.field ? `${d.field}: ${d.message}` : d.message)).join("; ");
  if (error?.message) return error.message;
  if (status === 0) return "The server cannot be reached. Check your connection and try again.";
  if (status >= 500) return `The server had a problem (${status}). Please try again in a moment.`;
  return `The request failed (${status}).`;
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
    let message = explain(response.status, payload);
    const retry = response.headers.get("Retry-After");
    if (response.status === 429 && retry) message += ` Try again in ${retry} s.`;
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
    say("Checking that the video plays…");
    await new Promise((resolve) => setTimeout(resolve, 300));
    current = await api(`/api/movies/${movie.id}`);
  }
  say(current.check?.status === "ready" ? "It plays." : current.check?.message || "");
  return current;
}
