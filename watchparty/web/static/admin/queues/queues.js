// The queue dashboard: counts per queue, recent failed jobs with their reasons, and a retry action.
// It talks to /api/queues/* through the web client's api.js: the same session (kept in this browser's
// localStorage), the same token refresh and the same readable errors.
import { api, clearSession, saveSession, session } from "/app/js/api.js";

const QUEUE_LABELS = { email: "Email", imageProcessing: "Images", roomCleanup: "Cleanup", mediaCheck: "Media checks", transcode: "Transcodes" };
const $ = (id) => document.getElementById(id);
let timer = null;
let keepBannerUntil = 0;  // an action's outcome stays up a while, through the refreshes that follow it

function show(message, ok = false, keepMs = 0) {
  if (keepMs) keepBannerUntil = Date.now() + keepMs;
  const banner = $("banner");
  banner.textContent = message;
  banner.className = ok ? "ok" : "";
  banner.hidden = !message;
}

function cell(text, className, label) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  if (label) td.dataset.label = label;  // shown before the value on a phone, where the table becomes cards
  return td;
}

function renderCounts(stats) {
  const body = $("counts").querySelector("tbody");
  body.replaceChildren();
  for (const [queue, c] of Object.entries(stats)) {
    const tr = document.createElement("tr");
    tr.dataset.queue = queue;
    const name = document.createElement("th");
    name.scope = "row";
    name.textContent = QUEUE_LABELS[queue] || queue;
    tr.append(name, cell(c.waiting, "num", "Waiting"), cell(c.active, "num", "Active"),
      cell(c.delayed, "num", "Delayed"), cell(c.completed, "num", "Completed"),
      cell(c.failed, `num failed-count${c.failed ? " nonzero" : ""}`, "Failed"), cell(c.total, "num", "Total"));
    body.append(tr);
  }
}

function renderFailed(jobs) {
  const body = $("failed").querySelector("tbody");
  body.replaceChildren();
  $("no-failed").hidden = jobs.length > 0;
  $("failed").hidden = jobs.length === 0;
  for (const job of jobs) {
    const tr = document.createElement("tr");
    tr.dataset.job = job.id;
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Retry";
    button.setAttribute("aria-label", `Retry job ${job.id}`);
    button.addEventListener("click", () => retry(job.id, button));
    const action = document.createElement("td");
    action.append(button);
    const when = job.finishedAt ? new Date(job.finishedAt).toLocaleString() : "";
    tr.append(cell(job.id, "", "Job"), cell(job.name, "", "Name"), cell(job.attemptsMade, "num", "Attempts"),
      cell(job.failedReason || "", "reason", "Reason"), cell(when, "", "Failed at"), action);
    body.append(tr);
  }
}

async function load() {
  try {
    const data = await api("/api/queues/dashboard?limit=25");
    renderCounts(data.stats);
    renderFailed(data.failed);
    $("board").hidden = false;
    $("updated").textContent = `Updated ${new Date().toLocaleTimeString()}`;
    if (Date.now() > keepBannerUntil) show("");
  } catch (error) {
    $("board").hidden = true;
    if (error.status === 401) { signOut("Your session has ended; sign in again."); return; }
    if (error.status === 403) show("This page is for administrators, and your account is not one.");
    else show(`Could not load the queues: ${error.message}`);
  }
}

async function retry(jobId, button) {
  button.disabled = true;
  button.textContent = "Retrying…";
  try {
    await api(`/api/queues/jobs/${encodeURIComponent(jobId)}/retry`, { method: "POST" });
    show(`Job ${jobId} is queued again.`, true, 8000);
  } catch (error) {
    show(`Could not retry ${jobId}: ${error.message}`, false, 8000);
  }
  await load();
}

async function queueJob(path, body, label, button) {
  button.disabled = true;
  try {
    const job = await api(path, { method: "POST", body: body ?? undefined });
    show(`${label} queued as ${job.jobId}.`, true, 8000);
  } catch (error) {
    show(`Could not queue the ${label.toLowerCase()}: ${error.message}`, false, 8000);
  } finally {
    button.disabled = false;
  }
  await load();
}

function signOut(message = "") {
  clearSession();
  clearInterval(timer);
  $("who").hidden = true;
  $("board").hidden = true;
  $("sign-in").hidden = false;
  show(message);
}

function start() {
  const s = session();
  if (!s) { signOut(); return; }
  $("sign-in").hidden = true;
  $("who").hidden = false;
  $("who-name").textContent = s.user ? s.user.username : "";
  load();
  clearInterval(timer);
  timer = setInterval(load, 3000);
}

document.addEventListener("DOMContentLoaded", () => {
  $("sign-in").addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = event.submitter;
    if (button) button.disabled = true;
    try {
      saveSession(await api("/api/auth/login", {
        method: "POST", body: { email: $("email").value, password: $("password").value },
      }));
      $("password").value = "";
      start();
    } catch (error) {
      show(error.message);
    } finally {
      if (button) button.disabled = false;
    }
  });
  $("sign-out").addEventListener("click", () => signOut());
  $("refresh").addEventListener("click", load);
  $("cleanup").addEventListener("click", (e) => queueJob("/api/queues/cleanup", { daysInactive: 30 }, "Cleanup", e.currentTarget));
  $("report").addEventListener("click", (e) => queueJob("/api/queues/report", null, "Report", e.currentTarget));
  start();
});
