// The room's playlist panel (ADR 0015): the shared queue, kept current from `playlist` events (read again on a
// gap in the versions, docs/protocol.md "The playlist"), with what the room policy lets this viewer do: add from
// the catalogue or by URL, move (drag, buttons, or the keyboard: Alt+↑/↓ on an item), remove, vote, vote to skip,
// shuffle, loop, previous and next. It also preloads the next item 10 s before the end of the current one.
import { api, ApiError } from "./api.js";
import { kindOf } from "./players.js";
import { t } from "./i18n.js";
import { h, icon, toast } from "./ui.js";

const PRELOAD_S = 10;

export function playlistPanel({ roomId, link, player, me }) {
  let list = null;  // GET /api/rooms/{id}/playlist, kept current
  let skip = null;  // {itemId, votes, voters, needed}
  let preloaded = null;
  // a media element outside the page fetches the next item (browsers load detached media elements too)
  const preloader = Object.assign(document.createElement("video"), { preload: "auto", muted: true });

  const items = h("ol", { id: "playlist", class: "playlist", "aria-label": t("pl.label") });
  const empty = h("p", { class: "muted small", id: "playlist-empty" }, t("pl.empty"));
  const catalogue = h("select", { id: "pl-movie", "aria-label": t("pl.fromCatalogue") });
  const url = h("input", { id: "pl-url", type: "url", placeholder: t("pl.urlPlaceholder"), "aria-label": t("pl.url"), autocomplete: "off" });
  const playNext = h("input", { id: "pl-next", type: "checkbox" });
  const addForm = h("form", { id: "pl-add", class: "pl-add" }, catalogue, url,
    h("label", { class: "check small" }, playNext, t("pl.playNext")), h("button", { type: "submit" }, t("pl.add")));
  const prev = h("button", { id: "pl-prev", type: "button", "aria-label": t("pl.prev") }, icon("prev"));
  const next = h("button", { id: "pl-skip-next", type: "button", "aria-label": t("pl.next") }, icon("next"));
  const shuffle = h("button", { id: "pl-shuffle", type: "button" }, t("pl.shuffle"));
  const loop = h("select", { id: "pl-loop", "aria-label": t("pl.loop") },
    h("option", { value: "off" }, t("pl.noLoop")), h("option", { value: "one" }, t("pl.loopOne")), h("option", { value: "all" }, t("pl.loopAll")));
  const mode = h("select", { id: "pl-mode", "aria-label": t("pl.order") },
    h("option", { value: "manual" }, t("pl.manual")), h("option", { value: "vote" }, t("pl.byVotes")));
  const voteSkip = h("button", { id: "pl-vote-skip", type: "button", "aria-pressed": "false" }, t("pl.voteSkip"));
  const bar = h("div", { class: "pl-bar", role: "group", "aria-label": t("pl.controls") }, prev, next, voteSkip, shuffle, loop, mode);
  const panel = h("section", { class: "panel", "aria-labelledby": "playlist-title" },
    h("h2", { id: "playlist-title" }, t("pl.title")), bar, items, empty, addForm);

  const can = (action) => Boolean(link.you?.can?.[action]);

  async function call(path, { method = "POST", body } = {}) {
    try {
      const data = await api(`/api/rooms/${roomId}/playlist${path}`, { method, body });
      take(data.playlist || data);
      return data;
    } catch (error) {
      const current = error instanceof ApiError ? error.details?.[0]?.playlist : null;
      if (current) { take(current); toast(t("pl.stale"), "error"); }
      else toast(error.message, "error");
      return null;
    }
  }
  const based = (extra = {}) => ({ baseVersion: list?.version ?? 0, ...extra });

  async function refresh() {
    try { take(await api(`/api/rooms/${roomId}/playlist`)); } catch { /* the next event asks again */ }
  }
  function take(listing) {
    if (!list || listing.version >= list.version) { list = listing; render(); }
  }
  function onEvent(msg) {  // docs/protocol.md: a gap, or an item we do not know, means read the list again
    if (!list) { refresh(); return; }
    if (msg.version <= list.version) return;
    const known = new Map(list.items.map((i) => [i.id, i]));
    for (const item of msg.items) known.set(item.id, item);
    const whole = msg.order.every((id) => known.has(id));
    if (msg.version !== list.version + 1 || !whole) { refresh(); return; }
    list = { ...list, version: msg.version, mode: msg.mode, loop: msg.loop, currentItemId: msg.currentItemId,
      membersAdd: msg.membersAdd, skipRatio: msg.skipRatio, queueCap: msg.queueCap,
      items: msg.order.map((id) => known.get(id)) };
    list.currentIndex = list.items.findIndex((i) => i.id === list.currentItemId);
    render();
  }

  // a verdict changes no version: while an item is being checked, the list is read again now and then
  let checkPolls = 0;
  let checkTimer = null;
  function watchChecks() {
    const checking = list?.items.some((i) => i.movie.check?.status === "checking");
    if (!checking) { checkPolls = 0; return; }
    if (checkTimer || checkPolls >= 30) return;
    checkTimer = setTimeout(async () => { checkTimer = null; checkPolls++; await refresh(); }, 1000);
  }

  function render() {
    watchChecks();
    const l = list;
    empty.hidden = Boolean(l?.items.length);
    const playing = l?.currentItemId ?? null;
    const manual = l?.mode !== "vote";
    const playingIndex = l ? l.items.findIndex((i) => i.id === playing) : -1;
    items.replaceChildren(...(l?.items || []).map((item, index) => {
      const current = item.id === playing;
      const upcoming = index > playingIndex;
      const mine = item.addedBy?.id === me.id;
      const voted = item.voters.includes(me.id);
      const row = h("li", { class: `pl-item${current ? " current" : ""}`, "data-item": item.id, tabindex: "0",
        "aria-current": current ? "true" : null,
        "aria-label": `${index + 1}. ${item.movie.title}${current ? ", playing" : ""}` },
        h("span", { class: "pl-title" }, current ? h("span", { class: "badge", id: "pl-playing" }, t("pl.playing")) : null, ` ${item.movie.title}`),
        h("span", { class: "muted small" }, item.addedBy ? ` · ${item.addedBy.username}` : ""),
        checkBadge(item.movie.check));
      const actions = h("span", { class: "pl-actions" });
      if (!manual && upcoming && can("vote")) {
        actions.append(h("button", { type: "button", class: "pl-vote", "aria-pressed": String(voted), "aria-label": t("pl.voteFor", { title: item.movie.title }),
          onclick: () => call(`/items/${item.id}/vote`, { method: "PUT", body: { up: !voted } }) }, `▲ ${item.votes}`));
      }
      if (manual && can("editPlaylist")) {
        actions.append(
          h("button", { type: "button", class: "pl-up", "aria-label": t("pl.moveUp", { title: item.movie.title }), disabled: index === 0,
            onclick: () => move(item.id, index - 1) }, "↑"),
          h("button", { type: "button", class: "pl-down", "aria-label": t("pl.moveDown", { title: item.movie.title }), disabled: index === l.items.length - 1,
            onclick: () => move(item.id, index + 1) }, "↓"));
      }
      if (!current && can("control")) {
        actions.append(h("button", { type: "button", class: "pl-play", "aria-label": t("pl.jumpTo", { title: item.movie.title }),
          onclick: () => call(`/items/${item.id}/play`, { body: based() }) }, icon("play")));
      }
      if (can("editPlaylist") || mine) {
        actions.append(h("button", { type: "button", class: "pl-remove", "aria-label": t("pl.remove", { title: item.movie.title }),
          onclick: () => api(`/api/rooms/${roomId}/playlist/items/${item.id}?baseVersion=${l.version}`, { method: "DELETE" }).then(take, (e) => toast(e.message, "error")) }, "✕"));
      }
      row.append(actions);
      if (manual && can("editPlaylist")) {  // drag to reorder (the buttons and Alt+↑/↓ are the alternatives)
        row.draggable = true;
        row.addEventListener("dragstart", (event) => { event.dataTransfer.setData("text/x-playlist-item", String(item.id)); row.classList.add("dragging"); });
        row.addEventListener("dragend", () => row.classList.remove("dragging"));
        row.addEventListener("dragover", (event) => { if (event.dataTransfer.types.includes("text/x-playlist-item")) event.preventDefault(); });
        row.addEventListener("drop", (event) => {
          event.preventDefault();
          const dragged = Number(event.dataTransfer.getData("text/x-playlist-item"));
          if (dragged && dragged !== item.id) move(dragged, index);
        });
      }
      row.addEventListener("keydown", (event) => {  // the keyboard alternative to dragging
        if (!event.altKey || !manual || !can("editPlaylist")) return;
        if (event.key === "ArrowUp" && index > 0) { event.preventDefault(); move(item.id, index - 1); }
        if (event.key === "ArrowDown" && index < l.items.length - 1) { event.preventDefault(); move(item.id, index + 1); }
      });
      return row;
    }));
    const control = can("control");
    prev.disabled = next.disabled = !control || !l?.items.length;
    for (const el of [shuffle, loop, mode]) el.disabled = !can("editPlaylist");
    shuffle.hidden = !manual;
    if (l) { loop.value = l.loop; mode.value = l.mode; }
    addForm.hidden = !can("addItem");
    const mySkip = Boolean(skip && skip.itemId === playing && skip.voters.includes(me.id));
    voteSkip.hidden = !can("voteSkip") || playing === null;
    voteSkip.setAttribute("aria-pressed", String(mySkip));
    voteSkip.textContent = skip && skip.itemId === playing && skip.votes > 0
      ? `${mySkip ? t("pl.skipVoted") : t("pl.voteSkip")} (${skip.votes}/${skip.needed})` : t("pl.voteSkip");
  }

  async function move(itemId, index) {
    await call(`/items/${itemId}/position`, { method: "PUT", body: based({ index }) });
    items.querySelector(`[data-item="${itemId}"]`)?.focus();
  }

  let moviesLoaded = false;
  async function loadCatalogue() {
    if (moviesLoaded) return;
    moviesLoaded = true;
    try {
      const movies = await api("/api/movies?limit=100");
      catalogue.replaceChildren(h("option", { value: "" }, t("pl.pick")), ...movies.map((m) => h("option", { value: m.id }, m.title)));
    } catch { moviesLoaded = false; }
  }
  catalogue.addEventListener("focus", loadCatalogue);
  addForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const at = playNext.checked ? "next" : "end";
    const body = url.value.trim() ? based({ url: url.value.trim(), at }) : catalogue.value ? based({ movieId: Number(catalogue.value), at }) : null;
    if (!body) { toast(t("pl.pickFirst"), "error"); return; }
    if (await call("/items", { body })) { url.value = ""; catalogue.value = ""; }
  });
  prev.addEventListener("click", () => call("/previous", { body: based() }));
  next.addEventListener("click", () => call("/next", { body: based() }));
  shuffle.addEventListener("click", () => call("/shuffle", { body: based() }));
  loop.addEventListener("change", () => call("", { method: "PUT", body: based({ loop: loop.value }) }));
  mode.addEventListener("change", () => call("", { method: "PUT", body: based({ mode: mode.value }) }));
  voteSkip.addEventListener("click", () => {
    const playing = list?.currentItemId;
    if (playing == null) return;
    const mine = Boolean(skip && skip.itemId === playing && skip.voters.includes(me.id));
    link.send({ type: "voteSkip", itemId: playing, vote: !mine });
  });
  // a hidden page is not watching: it does not count for vote-skip (docs/protocol.md)
  const onVisibility = () => link.send({ type: "away", away: document.hidden });
  document.addEventListener("visibilitychange", onVisibility);

  // the next item, fetched ahead so that it starts at once at the hand-over
  const preloadTimer = setInterval(() => {
    const pb = link.playback;
    if (!list || !pb || pb.paused || !pb.duration) return;
    if ((player.position() || 0) < pb.duration - PRELOAD_S) return;
    const i = list.items.findIndex((item) => item.id === list.currentItemId);
    const after = list.loop === "one" ? list.items[i] : list.items[i + 1] ?? (list.loop === "all" ? list.items[0] : null);
    // a direct file is fetched ahead by a hidden <video>; an HLS stream starts from its first segments anyway
    if (after && kindOf(after.movie) === "file" && after.movie.videoUrl !== preloaded) { preloaded = after.movie.videoUrl; preloader.src = preloaded; }
  }, 1000);

  return {
    panel,
    refresh,
    onEvent,
    welcome(msg) { skip = msg.skip; refresh(); },
    skipVotes(msg) { skip = msg; render(); },
    state() { render(); },
    render,
    close() { clearTimeout(checkTimer); clearInterval(preloadTimer); document.removeEventListener("visibilitychange", onVisibility); preloader.removeAttribute("src"); },
  };
}

// What the media check said of an item's movie (docs/protocol.md, "The media check"): nothing when it plays.
function checkBadge(check) {
  if (!check || check.status === "ready") return null;
  if (check.status === "checking") return h("span", { class: "badge check", role: "status" }, t("pl.checking"));
  return h("span", { class: "badge check refused", title: check.message || "" }, t("pl.wontPlay", { reason: check.message || t("pl.refused") }));
}
