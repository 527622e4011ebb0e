// The room's chat (ADR 0016): messages as text only (links become links, @names are marked, nothing is ever HTML),
// replies that quote, reactions of a fixed set that count live, deletion, and for the host and moderators the
// chat rules (slow mode, the word filter with a test box) and clearing the chat.
import { api } from "./api.js";
import { t } from "./i18n.js";
import { clock, h, toast } from "./ui.js";

export const REACTIONS = ["👍", "❤️", "😂", "😮", "😢", "🎉"];
const LINK = /(https?:\/\/[^\s<>"']+)/g;
const MENTION = /(@[\w.-]+)/g;

// Text with its links as links and its @mentions marked; built from text nodes only.
export function richText(text) {
  const out = [];
  for (const [i, part] of text.split(LINK).entries()) {
    if (i % 2) {
      out.push(h("a", { href: part, target: "_blank", rel: "noopener noreferrer nofollow" }, part));
      continue;
    }
    for (const [j, piece] of part.split(MENTION).entries()) out.push(j % 2 ? h("span", { class: "mention" }, piece) : piece);
  }
  return out;
}

export function chatPanel({ roomId, me, can, link, seekTo }) {
  const reactions = new Map();  // message id -> emoji -> Set of user ids
  const ids = new Set();
  let replyTo = null;
  let canSeek = false;  // the timestamps seek the room: only for those who control playback
  const messages = h("ol", { id: "messages", class: "messages", "aria-live": "polite", "aria-label": t("chat.messages"), tabindex: "0" });
  const input = h("input", { id: "chat-input", name: "content", maxlength: 2000, autocomplete: "off", "aria-label": t("chat.write"), placeholder: t("chat.placeholder") });
  const send = h("button", { type: "submit" }, t("chat.send"));
  const replying = h("div", { id: "replying", class: "replying", hidden: true });
  const slowNote = h("p", { id: "slow-note", class: "muted small", hidden: true });
  const form = h("form", { id: "chat-form", class: "chat-form" }, input, send);
  const panel = h("section", { class: "panel chat", "aria-labelledby": "chat-title" },
    h("h2", { id: "chat-title" }, t("room.chatToggle")), messages, replying, slowNote, form);

  function mentionsMe(text) { return text.toLowerCase().includes(`@${me.username.toLowerCase()}`); }

  function reactionRow(id) {
    const mine = reactions.get(id) || new Map();
    const counts = REACTIONS.filter((e) => mine.get(e)?.size).map((e) => {
      const pressed = mine.get(e).has(me.id);
      return h("button", { type: "button", class: "reaction", "aria-pressed": String(pressed), "aria-label": `${e} ${mine.get(e).size}${pressed ? t("chat.yours") : ""}`, onclick: () => react(id, e, !pressed) }, `${e} ${mine.get(e).size}`);
    });
    const picker = h("details", { class: "react-picker" }, h("summary", { "aria-label": t("chat.react") }, "☺"),
      h("div", { class: "menu", role: "group", "aria-label": t("chat.reactions") }, REACTIONS.map((e) => h("button", { type: "button", onclick: (ev) => { ev.target.closest("details").open = false; react(id, e, !(mine.get(e)?.has(me.id))); } }, e))));
    return h("div", { class: "reactions", dataset: { reactionsFor: id } }, counts, picker);
  }

  function render(m) {
    const at = m.videoPosition;
    const name = m.user?.username || m.authorName || t("chat.someone");
    const mayDelete = m.user?.id === me.id || can("moderateChat");
    const item = h("li", { dataset: { id: m.id }, class: mentionsMe(m.content) && m.user?.id !== me.id ? "mentioned" : "" },
      m.replyTo ? h("blockquote", { class: "quote" }, h("span", { class: "author" }, m.replyTo.authorName || t("chat.someone")), " ", m.replyTo.excerpt ?? t("chat.deleted")) : null,
      h("span", { class: "author" }, name),
      at !== null && at !== undefined
        ? h("button", { type: "button", class: "at", tabindex: "-1", disabled: !canSeek, title: t("chat.seekTitle"), "aria-label": t("chat.seekTo", { time: clock(at) }), onclick: () => seekTo(at) }, clock(at))
        : null,
      h("span", { class: "content" }, richText(m.content)),
      h("span", { class: "msg-actions" },
        h("button", { type: "button", class: "link small", "aria-label": t("chat.replyTo", { name }), onclick: () => startReply(m, name) }, t("chat.reply")),
        mayDelete ? h("button", { type: "button", class: "link small danger", "aria-label": t("chat.deleteOf", { name }), onclick: () => remove(m.id) }, t("chat.delete")) : null),
      reactionRow(m.id));
    return item;
  }

  function add(m) {
    if (ids.has(m.id)) return;
    ids.add(m.id);
    reactions.set(m.id, new Map((m.reactions || []).map((r) => [r.emoji, new Set(r.userIds)])));
    const item = render(m);
    const after = [...messages.querySelectorAll("li[data-id]")].find((li) => Number(li.dataset.id) > m.id);
    const stick = messages.scrollTop + messages.clientHeight >= messages.scrollHeight - 30;
    messages.insertBefore(item, after || null);
    if (stick || !after) messages.scrollTop = messages.scrollHeight;
    rove();
  }

  // The timestamps are one tab stop together (a roving tabindex): Tab reaches one, the arrow keys, Home and End
  // move among them. Disabled (not focusable) for those who cannot seek.
  const stamps = () => [...messages.querySelectorAll("button.at:not(:disabled)")];
  let roved = null;  // the timestamp last moved to, which keeps the tab stop; else the newest has it
  function rove(current = null) {
    if (current) roved = current;
    const all = stamps();
    const keep = all.includes(roved) ? roved : all.at(-1);
    for (const b of messages.querySelectorAll("button.at")) b.tabIndex = b === keep ? 0 : -1;
  }
  messages.addEventListener("keydown", (event) => {
    if (!event.target.matches?.("button.at")) return;
    const all = stamps();
    const i = all.indexOf(event.target);
    const to = { ArrowUp: i - 1, ArrowLeft: i - 1, ArrowDown: i + 1, ArrowRight: i + 1, Home: 0, End: all.length - 1 }[event.key];
    if (to === undefined || !all[to]) return;
    event.preventDefault();
    rove(all[to]);
    all[to].focus();
  });
  function setCanSeek(allowed) {
    if (allowed === canSeek) return;
    canSeek = allowed;
    for (const b of messages.querySelectorAll("button.at")) b.disabled = !allowed;
    rove();
  }

  function notice(text) {
    messages.append(h("li", { class: "notice", role: "status" }, text));
    messages.scrollTop = messages.scrollHeight;
  }

  function startReply(m, name) {
    replyTo = m.id;
    replying.replaceChildren(h("span", {}, t("chat.replying", { name }), " ", h("q", {}, m.content.slice(0, 80))),
      h("button", { type: "button", class: "link small", "aria-label": t("chat.cancelReply"), onclick: cancelReply }, "✕"));
    replying.hidden = false;
    input.focus();
  }
  function cancelReply() { replyTo = null; replying.hidden = true; }

  async function react(id, emoji, on) {
    try {
      await api(`/api/chat/${roomId}/messages/${id}/reactions`, { method: "PUT", body: { emoji, on } });
    } catch (error) { toast(error.message, "error"); }
  }
  async function remove(id) {
    if (!window.confirm(t("chat.deleteConfirm"))) return;
    try { await api(`/api/chat/${roomId}/messages/${id}`, { method: "DELETE" }); } catch (error) { toast(error.message, "error"); }
  }
  function drop(id) { ids.delete(id); messages.querySelector(`li[data-id="${id}"]`)?.remove(); }

  async function loadHistory() {
    try {
      const page = await api(`/api/chat/${roomId}/messages?limit=50`);
      for (const li of messages.querySelectorAll("li[data-id]")) li.remove();
      ids.clear();
      for (const m of page) add(m);
    } catch (error) { toast(t("chat.historyFailed", { reason: error.message }), "error"); }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const content = input.value.trim();
    if (!content) return;
    const body = { content, ...(replyTo ? { replyTo } : {}) };
    if (!link.send({ type: "chat", ...body })) {  // the socket is down: the REST API stores it just the same
      try {
        add(await api(`/api/chat/${roomId}/messages`, { method: "POST", body }));
      } catch (error) { toast(error.message, "error"); return; }
    }
    input.value = "";
    cancelReply();
  });

  function setSlowMode(seconds) {
    slowNote.hidden = !seconds;
    slowNote.textContent = seconds ? t("chat.slowNote", { seconds }) : "";
  }

  return {
    panel, input, send, notice, loadHistory, setSlowMode, setCanSeek,
    onChat: (msg) => add(msg.message),
    onDeleted: (msg) => msg.messageIds.forEach(drop),
    onCleared: () => { for (const id of [...ids]) drop(id); notice(t("chat.cleared")); },
    onRestored: () => loadHistory(),
    onReaction: (msg) => {
      const byEmoji = reactions.get(msg.messageId) || new Map();
      const users = byEmoji.get(msg.emoji) || new Set();
      if (msg.on) users.add(msg.userId); else users.delete(msg.userId);
      byEmoji.set(msg.emoji, users);
      reactions.set(msg.messageId, byEmoji);
      messages.querySelector(`[data-reactions-for="${msg.messageId}"]`)?.replaceWith(reactionRow(msg.messageId));
    },
  };
}

// The chat rules, for the host and moderators: slow mode, the word filter and its test box, and clearing the chat.
export function chatRulesPanel({ roomId }) {
  const slow = h("select", { id: "slow-mode", "aria-label": t("chat.slowMode") }, [[0, t("chat.off")], [5, t("chat.seconds", { count: 5 })], [10, t("chat.seconds", { count: 10 })], [30, t("chat.seconds", { count: 30 })], [60, t("chat.minutes", { count: 1 })], [300, t("chat.minutes", { count: 5 })]].map(([v, text]) => h("option", { value: v }, text)));
  const words = h("textarea", { id: "filter-words", rows: 2, placeholder: t("chat.filterPlaceholder") });
  const mode = h("select", { id: "filter-mode", "aria-label": t("chat.filterMode") }, h("option", { value: "mask" }, t("chat.mask")), h("option", { value: "block" }, t("chat.block")));
  const save = h("button", { type: "button", id: "rules-save" }, t("chat.saveRules"));
  const sample = h("input", { id: "filter-test", "aria-label": t("chat.tryLabel"), placeholder: t("chat.tryPlaceholder") });
  const verdict = h("p", { id: "filter-verdict", class: "muted small", role: "status" });
  const clear = h("button", { type: "button", id: "clear-chat", class: "danger" }, t("chat.clear"));
  const panel = h("details", { class: "modlog-panel", id: "chat-rules-panel", hidden: true },
    h("summary", {}, t("chat.rules")),
    h("div", { class: "field" }, h("label", { for: "slow-mode" }, t("chat.slowModeLabel")), slow),
    h("div", { class: "field" }, h("label", { for: "filter-words" }, t("chat.filter")), words, mode),
    save,
    h("div", { class: "field" }, sample, h("button", { type: "button", id: "filter-try" , onclick: tryIt }, t("chat.try")), verdict),
    clear);
  async function load() {
    try {
      const rules = await api(`/api/rooms/${roomId}/chat-rules`);
      slow.value = String(rules.slowModeSeconds);
      if (!slow.value) slow.append(h("option", { value: rules.slowModeSeconds, selected: true }, `${rules.slowModeSeconds} s`));
      words.value = rules.wordFilter.join("\n");
      mode.value = rules.filterMode;
    } catch (error) { toast(error.message, "error"); }
  }
  save.addEventListener("click", async () => {
    const body = { slowModeSeconds: Number(slow.value), wordFilter: words.value.split("\n").map((w) => w.trim()).filter(Boolean), filterMode: mode.value };
    try { await api(`/api/rooms/${roomId}/chat-rules`, { method: "PUT", body }); toast(t("chat.rulesSaved"), "ok"); } catch (error) { toast(error.message, "error"); }
  });
  async function tryIt() {
    if (!sample.value.trim()) return;
    try {
      const r = await api(`/api/rooms/${roomId}/chat-rules/test`, { method: "POST", body: { text: sample.value } });
      verdict.textContent = { clean: t("chat.clean"), masked: t("chat.masked", { text: r.text }), blocked: t("chat.blocked") }[r.verdict];
    } catch (error) { toast(error.message, "error"); }
  }
  clear.addEventListener("click", async () => {
    if (!window.confirm(t("chat.clearConfirm"))) return;
    try { await api(`/api/chat/${roomId}/clear`, { method: "POST" }); } catch (error) { toast(error.message, "error"); }
  });
  panel.addEventListener("toggle", () => { if (panel.open) load(); });
  return { panel, show(allowed) { panel.hidden = !allowed; } };
}
