// Moderation in the room page (ADR 0016): a menu on each viewer (mute, kick, ban for a time, make moderator or
// member, make host), what the room hears (`moderation` events, as lines in the chat), the moderation log with
// an Undo on what can still be undone, and this viewer's own mute. What a viewer may do is the server's answer
// (`you.can`); a refusal comes back in words and is shown as it is.
import { api } from "./api.js";
import { formatDate, t } from "./i18n.js";
import { h, icon, toast } from "./ui.js";

const BAN_CHOICES = [[3600, "mod.ban.hour"], [86400, "mod.ban.day"], [7 * 86400, "mod.ban.week"], [0, "mod.ban.lifted"]];
const MUTE_SECONDS = 600;
const ACTIONS = new Set(["kick", "ban", "unban", "mute", "unmute", "readmit", "role", "host"]);  // mod.other.*, mod.self.*

async function call(path, options) {
  try {
    return await api(path, options);
  } catch (error) {
    toast(error.message, "error");
    return null;
  }
}

function untilText(until) {
  if (until === null || until === undefined) return t("mod.untilLifted");
  const soon = until - Date.now() < 20 * 3600 * 1000;  // today's time, or a date for a longer ban
  return t("mod.until", { time: formatDate(until, soon ? { hour: "2-digit", minute: "2-digit" } : { dateStyle: "medium", timeStyle: "short" }) });
}

// The menu on one viewer; null when this viewer may do nothing to them.
export function memberMenu({ roomId, person, me, can, link }) {
  if (person.id === me.id || person.role === "host") return null;
  const entries = [];
  const base = `/api/rooms/${roomId}`;
  if (can("mute")) {
    entries.push(h("button", { type: "button", dataset: { act: "mute" }, onclick: async () => {
      if (await call(`${base}/mutes`, { method: "POST", body: { userId: person.id, durationSeconds: MUTE_SECONDS } })) toast(t("mod.muted", { name: person.username }), "ok");
    } }, t("mod.mute")));
  }
  if (can("kick")) {
    entries.push(h("button", { type: "button", dataset: { act: "kick" }, onclick: async () => {
      if (!window.confirm(t("mod.kickConfirm", { name: person.username }))) return;
      if (await call(`${base}/members/${person.id}/kick`, { method: "POST" })) toast(t("mod.kicked", { name: person.username }), "ok");
    } }, t("mod.kick")));
  }
  if (can("ban")) {
    const id = `ban-for-${person.id}`;
    const length = h("select", { id, "aria-label": t("mod.banFor", { name: person.username }) }, BAN_CHOICES.map(([s, key]) => h("option", { value: s }, t(key))));
    entries.push(h("div", { class: "ban-row" }, length, h("button", { type: "button", class: "danger", dataset: { act: "ban" }, onclick: async () => {
      const seconds = Number(length.value);
      if (!window.confirm(seconds ? t("mod.banConfirm", { name: person.username, length: length.selectedOptions[0].textContent }) : t("mod.banConfirmLifted", { name: person.username }))) return;
      const body = { userId: person.id, ...(seconds ? { durationSeconds: seconds } : {}) };
      if (await call(`${base}/bans`, { method: "POST", body })) toast(t("mod.banned", { name: person.username }), "ok");
    } }, t("mod.banButton"))));
  }
  if (can("setRole")) {
    const next = person.role === "moderator" ? "member" : "moderator";
    entries.push(h("button", { type: "button", dataset: { act: "role" }, onclick: () => link.send({ type: "setRole", userId: person.id, role: next }) },
      next === "moderator" ? t("mod.makeModerator") : t("mod.makeMember")));
  }
  if (can("handOver")) {
    entries.push(h("button", { type: "button", dataset: { act: "host" }, onclick: async () => {
      if (!window.confirm(t("mod.hostConfirm", { name: person.username }))) return;
      if (await call(`${base}/host`, { method: "PUT", body: { userId: person.id } })) toast(t("mod.isHost", { name: person.username }), "ok");
    } }, t("mod.makeHost")));
  }
  if (!entries.length) return null;
  const menu = h("details", { class: "member-menu" },
    h("summary", { "aria-label": t("mod.actionsFor", { name: person.username }) }, icon("more")),
    h("div", { class: "menu", role: "group", "aria-label": t("mod.menu", { name: person.username }) }, entries));
  menu.addEventListener("click", (event) => { if (event.target.closest("button")) menu.open = false; });
  menu.addEventListener("keydown", (event) => { if (event.key === "Escape") { menu.open = false; menu.querySelector("summary").focus(); } });
  return menu;
}

// What the room hears: a line for the chat ("ann was muted by bob until 21:10"); `nameOf` gives null for oneself.
export function moderationLine(msg, nameOf) {
  const who = nameOf(msg.userId);
  const byName = msg.by ? nameOf(msg.by) : undefined;
  const by = msg.by ? (byName === null ? t("mod.byYou") : t("mod.by", { name: byName })) : "";
  const until = msg.action === "ban" || msg.action === "mute" ? ` ${untilText(msg.until)}` : "";
  const what = ACTIONS.has(msg.action) ? t(`mod.${who === null ? "self" : "other"}.${msg.action}`, { who }) : `${who ?? ""} ${msg.action}`;
  return `${what}${by}${until}.`;
}

// This viewer's own mute: the chat box says so and refuses to send until it ends or is lifted.
export function muteGuard(input, button) {
  let timer = null;
  function set(muted) {
    clearTimeout(timer);
    const on = Boolean(muted);
    input.disabled = on;
    button.disabled = on;
    input.placeholder = on ? t("mod.youAreMuted", { until: untilText(muted.until) }) : t("chat.placeholder");
    if (on && muted.until) timer = setTimeout(() => set(null), Math.max(0, muted.until - Date.now()));
  }
  return { set, close: () => clearTimeout(timer) };
}

// The moderation log, for the host and moderators: newest first, with Undo where the server says it would work.
export function moderationLog({ roomId }) {
  const list = h("ol", { id: "modlog", class: "modlog" });
  const panel = h("details", { class: "modlog-panel", id: "modlog-panel", hidden: true },
    h("summary", {}, t("mod.log")), list);
  async function load() {
    const entries = await call(`/api/rooms/${roomId}/moderation-log?limit=50`);
    if (!entries) return;
    list.replaceChildren(...(entries.length ? entries.map(row) : [h("li", { class: "muted small" }, t("mod.nothing"))]));
  }
  function row(e) {
    const short = { dateStyle: "short", timeStyle: "short" };
    const at = formatDate(e.createdAt, short);
    const what = `${e.actor?.username || t("mod.server")}: ${e.action}${e.target ? ` ${e.target.username}` : ""}`;
    const extra = [e.details?.reason ? `“${e.details.reason}”` : null, e.details?.until ? t("mod.until", { time: formatDate(e.details.until, short) }) : null,
      e.revertedBy ? t("mod.undoneBy", { name: e.revertedBy.username }) : null].filter(Boolean).join(", ");
    const undo = e.reversible
      ? h("button", { type: "button", class: "link small", dataset: { undo: e.id }, onclick: async () => {
        if (await call(`/api/rooms/${roomId}/moderation-log/${e.id}/revert`, { method: "POST" })) { toast(t("mod.undone"), "ok"); load(); }
      } }, t("mod.undo"))
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
