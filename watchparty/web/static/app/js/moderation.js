// Moderation in the room page (ADR 0016): a menu on each viewer (mute, kick, ban for a time, make moderator or
// member, make host), what the room hears (`moderation` events, as lines in the chat), the moderation log with
// an Undo on what can still be undone, and this viewer's own mute. What a viewer may do is the server's answer
// (`you.can`); a refusal comes back in words and is shown as it is.
import { api } from "./api.js";
import { h, icon, toast } from "./ui.js";

const BAN_CHOICES = [[3600, "1 hour"], [86400, "1 day"], [7 * 86400, "1 week"], [0, "until lifted"]];
const MUTE_SECONDS = 600;
const ACTION_TEXT = {
  kick: "removed", ban: "banned", unban: "let back in (ban lifted)", mute: "muted", unmute: "unmuted",
  readmit: "let back in", role: "given another role", host: "made host",
};

async function call(path, options) {
  try {
    return await api(path, options);
  } catch (error) {
    toast(error.message, "error");
    return null;
  }
}

function untilText(until) {
  if (until === null || until === undefined) return "until a moderator lifts it";
  const soon = until - Date.now() < 20 * 3600 * 1000;  // today's time, or a date for a longer ban
  return `until ${soon ? new Date(until).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : new Date(until).toLocaleString([], { dateStyle: "medium", timeStyle: "short" })}`;
}

// The menu on one viewer; null when this viewer may do nothing to them.
export function memberMenu({ roomId, person, me, can, link }) {
  if (person.id === me.id || person.role === "host") return null;
  const entries = [];
  const base = `/api/rooms/${roomId}`;
  if (can("mute")) {
    entries.push(h("button", { type: "button", dataset: { act: "mute" }, onclick: async () => {
      if (await call(`${base}/mutes`, { method: "POST", body: { userId: person.id, durationSeconds: MUTE_SECONDS } })) toast(`${person.username} is muted for 10 minutes.`, "ok");
    } }, "Mute 10 min"));
  }
  if (can("kick")) {
    entries.push(h("button", { type: "button", dataset: { act: "kick" }, onclick: async () => {
      if (!window.confirm(`Remove ${person.username} from the room? They can join again.`)) return;
      if (await call(`${base}/members/${person.id}/kick`, { method: "POST" })) toast(`${person.username} was removed.`, "ok");
    } }, "Kick"));
  }
  if (can("ban")) {
    const id = `ban-for-${person.id}`;
    const length = h("select", { id, "aria-label": `Ban ${person.username} for` }, BAN_CHOICES.map(([s, text]) => h("option", { value: s }, text)));
    entries.push(h("div", { class: "ban-row" }, length, h("button", { type: "button", class: "danger", dataset: { act: "ban" }, onclick: async () => {
      const seconds = Number(length.value);
      if (!window.confirm(`Ban ${person.username} ${seconds ? `for ${length.selectedOptions[0].textContent}` : "until you lift it"}?`)) return;
      const body = { userId: person.id, ...(seconds ? { durationSeconds: seconds } : {}) };
      if (await call(`${base}/bans`, { method: "POST", body })) toast(`${person.username} is banned.`, "ok");
    } }, "Ban")));
  }
  if (can("setRole")) {
    const next = person.role === "moderator" ? "member" : "moderator";
    entries.push(h("button", { type: "button", dataset: { act: "role" }, onclick: () => link.send({ type: "setRole", userId: person.id, role: next }) },
      next === "moderator" ? "Make moderator" : "Make member"));
  }
  if (can("handOver")) {
    entries.push(h("button", { type: "button", dataset: { act: "host" }, onclick: async () => {
      if (!window.confirm(`Make ${person.username} the host? You become a moderator.`)) return;
      if (await call(`${base}/host`, { method: "PUT", body: { userId: person.id } })) toast(`${person.username} is the host now.`, "ok");
    } }, "Make host"));
  }
  if (!entries.length) return null;
  const menu = h("details", { class: "member-menu" },
    h("summary", { "aria-label": `Actions for ${person.username}` }, icon("more")),
    h("div", { class: "menu", role: "group", "aria-label": `${person.username}: moderation` }, entries));
  menu.addEventListener("click", (event) => { if (event.target.closest("button")) menu.open = false; });
  menu.addEventListener("keydown", (event) => { if (event.key === "Escape") { menu.open = false; menu.querySelector("summary").focus(); } });
  return menu;
}

// What the room hears: a line for the chat ("ann was muted by bob until 21:10"); `nameOf` gives null for oneself.
export function moderationLine(msg, nameOf) {
  const who = nameOf(msg.userId);
  const by = msg.by ? ` by ${nameOf(msg.by) ?? "you"}` : "";
  const until = msg.action === "ban" || msg.action === "mute" ? ` ${untilText(msg.until)}` : "";
  return `${who === null ? "You were" : `${who} was`} ${ACTION_TEXT[msg.action] || msg.action}${by}${until}.`;
}

// This viewer's own mute: the chat box says so and refuses to send until it ends or is lifted.
export function muteGuard(input, button) {
  let timer = null;
  function set(muted) {
    clearTimeout(timer);
    const on = Boolean(muted);
    input.disabled = on;
    button.disabled = on;
    input.placeholder = on ? `You are muted ${untilText(muted.until)}.` : "Say something…";
    if (on && muted.until) timer = setTimeout(() => set(null), Math.max(0, muted.until - Date.now()));
  }
  return { set, close: () => clearTimeout(timer) };
}

// The moderation log, for the host and moderators: newest first, with Undo where the server says it would work.
export function moderationLog({ roomId }) {
  const list = h("ol", { id: "modlog", class: "modlog" });
  const panel = h("details", { class: "modlog-panel", id: "modlog-panel", hidden: true },
    h("summary", {}, "Moderation log"), list);
  async function load() {
    const entries = await call(`/api/rooms/${roomId}/moderation-log?limit=50`);
    if (!entries) return;
    list.replaceChildren(...(entries.length ? entries.map(row) : [h("li", { class: "muted small" }, "Nothing yet.")]));
  }
  function row(e) {
    const at = new Date(e.createdAt).toLocaleString([], { dateStyle: "short", timeStyle: "short" });
    const what = `${e.actor?.username || "the server"}: ${e.action}${e.target ? ` ${e.target.username}` : ""}`;
    const extra = [e.details?.reason ? `“${e.details.reason}”` : null, e.details?.until ? `until ${new Date(e.details.until).toLocaleString([], { dateStyle: "short", timeStyle: "short" })}` : null,
      e.revertedBy ? `undone by ${e.revertedBy.username}` : null].filter(Boolean).join(", ");
    const undo = e.reversible
      ? h("button", { type: "button", class: "link small", dataset: { undo: e.id }, onclick: async () => {
        if (await call(`/api/rooms/${roomId}/moderation-log/${e.id}/revert`, { method: "POST" })) { toast("Undone.", "ok"); load(); }
      } }, "Undo")
      : null;
    return h("li", { dataset: { entry: e.id, action: e.action } }, h("span", { class: "muted small" }, at), " ", what, extra ? h("span", { class: "muted small" }, ` (${extra})`) : null, " ", undo);
  }
  panel.addEventListener("toggle", () => { if (panel.open) load(); });
  return {
    panel,
    show(allowed) { panel.hidden = !allowed; },
    refresh() { if (panel.open) load(); },
  };
}
