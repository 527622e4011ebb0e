// The room page: the synchronized <video>, controls for those who have them, who is watching (with each one's
// sync status), live chat with history, and invites.
import { api, ApiError, checkedMovie, saveSession } from "./api.js";
import { t } from "./i18n.js";
import { chatPanel, chatRulesPanel } from "./chat.js";
import { memberMenu, moderationLine, moderationLog, muteGuard } from "./moderation.js";
import { matches, describe as describeFile } from "./localfile.js";
import { playlistPanel } from "./playlist.js";
import { RoomPlayer, kindOf } from "./players.js";
import { subtitlesControl, subtitleUpload } from "./subtitles.js";
import { RoomLink, localMs } from "./sync.js";
import * as uploads from "./uploads.js";
import { $, avatar, busy, clock, field, formAlert, formData, h, icon, setTitle, showFormError, toast } from "./ui.js";

// Local-file mode: the File each viewer picked, by movie, for this page's life (a reload asks again: a page may not
// keep a file of the disk)
const localFiles = new Map();
export function rememberLocalFile(movieId, file) { localFiles.set(movieId, file); }

const STATUS_EVERY_MS = 3000;
const DEVICE_KEY = "watchparty.device";
const SWITCH_EARLY_MS = 250;  // a new item's source is set this long before its executeAt, so that it can start
const DRIFTING_MS = 100;  // a viewer further than this from the room shows as drifting
const JOINING_MS = 10000;  // a viewer without a sync report shows as "joining" this long after arriving, then "here"
const CLOSE_TEXT = {
  "signed-out": "room.closed.signedOut",
  "not-a-member": "room.closed.notMember",
  "too-many": "room.closed.tooMany",
  "too-big": "room.closed.tooBig",
};  // catalogue keys

export async function renderRoom(roomId, { navigate, signedIn, refreshNav }) {
  const view = $("#view");
  let room;
  try {
    room = await api(`/api/rooms/${roomId}`);
  } catch (error) {
    if (error.status === 404) throw new ApiError(t("error.room_not_found"), 404);
    throw error;
  }
  setTitle(room.name);
  if (!signedIn) {  // opened from a link without an account: a name is enough where the room lets guests in
    if (!room.guestsAllowed) { navigate(`/signin?next=${encodeURIComponent(location.pathname)}`, { replace: true }); return null; }
    return renderGuestJoin(room, navigate, refreshNav);
  }
  let members;
  try {
    members = await api(`/api/rooms/${roomId}/members`);
  } catch (error) {
    if (error.status !== 403) throw error;
    members = null;
  }
  const me = signedIn?.user ?? (await api("/api/auth/profile"));  // the room page needs only its id
  if (!members || !members.some((m) => m.user.id === me.id)) {
    return renderJoin(room, navigate);
  }
  return renderWatch(room, members, me, navigate, view);
}

// A random token this browser keeps: a ban of a guest also refuses new guests from the same device (ADR 0016).
function deviceToken() {
  let token = localStorage.getItem(DEVICE_KEY);
  if (!token) {
    token = `d-${crypto.randomUUID()}`;
    localStorage.setItem(DEVICE_KEY, token);
  }
  return token;
}

function renderGuestJoin(room, navigate, refreshNav) {
  const next = encodeURIComponent(location.pathname);
  const form = h("form", { class: "card narrow", id: "guest-join", novalidate: true },
    h("h1", { tabindex: "-1" }, room.name),
    h("p", { class: "muted" }, room.movie ? t("room.watching", { title: room.movie.title }) : t("rooms.noMovie"), " · ", t("room.here", { count: room.participantCount }), " · ", t("rooms.host", { name: room.host.username })),
    formAlert(),
    field(t("room.guestName"), { name: "displayName", autocomplete: "nickname", required: true, minlength: 2, maxlength: 24 }),
    room.hasPassword ? field(t("room.password"), { name: "password", type: "password", autocomplete: "off" }) : null,
    full(room) ? h("p", { class: "notice", id: "room-full", role: "status" }, t("room.full")) : null,
    h("button", { type: "submit", class: "primary", disabled: full(room) }, t("room.joinGuest")),
    h("p", { class: "muted small" }, t("room.noAccount"), " ", h("a", { href: `/signin?next=${next}` }, t("auth.signin")), " · ",
      h("a", { href: `/signup?next=${next}` }, t("auth.signup"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = formData(form);
    try {
      await busy(form, async () => {
        saveSession(await api("/api/auth/guest", { method: "POST", body: { displayName: data.displayName, deviceToken: deviceToken() } }));
        await api(`/api/rooms/${room.id}/join`, { method: "POST", body: data.password ? { password: data.password } : {} });
      }, t("room.joining"));
      refreshNav?.();
      navigate(`/rooms/${room.id}`, { replace: true });
    } catch (error) {
      showFormError(form, error);
    }
  });
  $("#view").append(form);
  form.querySelector("input").focus();
}

const full = (room) => room.participantCount >= room.capacity;

function renderJoin(room, navigate) {
  const form = h("form", { class: "card narrow", novalidate: true },
    h("h1", { tabindex: "-1" }, room.name),
    room.description ? h("p", {}, room.description) : null,
    h("p", { class: "muted" }, room.movie ? t("room.watching", { title: room.movie.title }) : t("rooms.noMovie"), " · ", t("rooms.people", { count: room.participantCount, capacity: room.capacity }), " · ", t("rooms.host", { name: room.host.username })),
    formAlert(),
    room.hasPassword ? h("div", { class: "field" }, h("label", { for: "f-password" }, t("room.password")),
      h("input", { id: "f-password", name: "password", type: "password", autocomplete: "off" }), h("span", { class: "field-error", id: "f-password-error" })) : null,
    full(room) ? h("p", { class: "notice", id: "room-full", role: "status" }, t("room.full")) : null,
    h("button", { type: "submit", class: "primary", disabled: full(room) }, t("room.join")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const data = formData(form);
      await busy(form, () => api(`/api/rooms/${room.id}/join`, { method: "POST", body: data.password ? { password: data.password } : {} }), t("room.joining"));
      navigate(`/rooms/${room.id}`, { replace: true });
    } catch (error) {
      showFormError(form, error);
    }
  });
  $("#view").append(form);
}

function renderWatch(room, memberList, me, navigate, view) {
  const people = new Map(memberList.map((m) => [m.user.id, { ...m.user, role: m.role, online: false, buffering: false, skew: null }]));
  let movie = room.movie;
  let openControl = false;
  let waitingFor = [];
  let welcomed = false;  // a first welcome has come (a later one is a reconnect without a replay)
  let scrubbing = false;
  let leaving = false;  // this person's own leave: the socket's close that follows (4003) is no error to show

  // -- the page --
  const video = h("video", { id: "video", playsinline: true, preload: "auto", "aria-label": t("room.video") });
  const unmute = h("button", { id: "unmute", type: "button", class: "unmute", hidden: true }, t("room.unmute"));
  const localPick = h("input", { id: "local-pick", type: "file", accept: "video/*", "aria-label": t("room.localCopy") });
  const localWhy = h("p", { id: "local-why", role: "status" });
  const localCard = h("div", { class: "local-card", hidden: true }, h("label", { for: "local-pick", id: "local-label" }, t("room.pickCopy")), localPick, localWhy);
  const overlay = h("div", { id: "overlay", class: "overlay", hidden: true, role: "status" });
  const playButton = h("button", { id: "play", type: "button", class: "primary", "aria-label": t("room.play") }, icon("play"));
  const scrub = h("input", { id: "scrub", type: "range", min: 0, max: 30, step: 0.1, value: 0, "aria-label": t("room.position") });
  const time = h("span", { id: "time", class: "time" }, "0:00 / 0:00");
  const rate = h("select", { id: "rate", "aria-label": t("room.speed") }, [0.5, 0.75, 1, 1.25, 1.5, 2].map((r) => h("option", { value: r, selected: r === 1 }, `${r}×`)));
  // each viewer's own choice (HLS renditions), never the room's: shown when the media has more than one
  const quality = h("select", { id: "quality", "aria-label": t("room.quality"), hidden: true });
  const subs = subtitlesControl({ video, roomDefault: () => room.subtitleLanguage });
  // the room's controls (for those allowed), then each viewer's own: volume, fullscreen, theatre, picture in picture
  const back10 = h("button", { id: "back10", type: "button", "aria-label": t("room.back10Label"), title: t("room.back10") }, "−10");
  const ahead10 = h("button", { id: "ahead10", type: "button", "aria-label": t("room.ahead10Label"), title: t("room.ahead10") }, "+10");
  const muteButton = h("button", { id: "mute", type: "button", "aria-label": t("room.muteKey"), "aria-pressed": "false", title: t("room.muteKey") }, t("room.mute"));
  const volume = h("input", { id: "volume", type: "range", min: 0, max: 1, step: 0.05, value: 1, "aria-label": t("room.volume") });
  const resync = h("button", { id: "resync", type: "button", title: t("room.resyncTitle") }, t("room.resync"));
  const theatre = h("button", { id: "theatre", type: "button", "aria-pressed": "false", title: t("room.theatreTitle") }, t("room.theatre"));
  const fullscreen = h("button", { id: "fullscreen", type: "button", "aria-label": t("room.fullscreenKey"), title: t("room.fullscreenKey") }, t("room.fullscreen"));
  const pip = document.pictureInPictureEnabled
    ? h("button", { id: "pip", type: "button", "aria-label": t("room.pipLabel"), title: t("room.pipTitle") }, "PiP") : null;
  const chatToggle = h("button", { id: "chat-toggle", type: "button", class: "chat-toggle", "aria-pressed": "true", title: t("room.chatToggleTitle") }, t("room.chatToggle"));
  const controls = h("div", { class: "controls", role: "group", "aria-label": t("room.controls") },
    playButton, back10, ahead10, scrub, time, rate,
    h("span", { class: "own-controls", role: "group", "aria-label": t("room.ownPlayer") }, muteButton, volume, quality, subs.element, resync, theatre, pip, fullscreen, chatToggle));
  const controlNote = h("p", { class: "muted small", id: "control-note" });
  const connection = h("span", { id: "connection", class: "pill", role: "status" }, t("room.connecting"));
  const mySync = h("span", { id: "my-sync", class: "pill" });
  const movieSelect = h("select", { id: "movie-select", "aria-label": t("room.changeMovie") });
  const openToggle = h("input", { id: "open-control", type: "checkbox" });
  const subDefault = h("select", { id: "sub-default" });
  // upload a video and switch the room to it once its first segments can play (js/uploads.js, ADR 0021)
  const roomUpload = h("input", { id: "room-upload", type: "file", accept: "video/*,.mkv,.avi" });
  const roomUploadBar = h("progress", { id: "room-upload-progress", max: 1, value: 0, hidden: true, "aria-label": t("newRoom.uploadProgress") });
  const roomUploadNote = h("p", { class: "muted small", id: "room-upload-note", role: "status" });
  const hostPanel = h("details", { class: "host-panel", hidden: true },
    h("summary", {}, t("room.hostSettings")),
    h("div", { class: "field" }, h("label", { for: "movie-select" }, t("newRoom.movie")), movieSelect),
    h("div", { class: "field" }, h("label", { for: "room-upload" }, t("room.uploadForRoom")), roomUpload, roomUploadBar, roomUploadNote),
    h("label", { class: "check" }, openToggle, t("room.openControl")),
    h("div", { class: "field" }, h("label", { for: "sub-default" }, t("room.subDefault")), subDefault),
    subtitleUpload({ movieId: () => movie?.id, onAdded: () => { subs.load(movie?.id); fillSubDefault(); } }));
  const peopleList = h("ul", { id: "people", class: "people" });
  const peopleTitle = h("h2", {}, t("room.people", { count: 0 }));
  // the link is made below; the chat sends through it once it exists
  const chat = chatPanel({ roomId: room.id, me, can, link: { send: (m) => link.send(m) }, seekTo });
  const rules = chatRulesPanel({ roomId: room.id });
  chat.setSlowMode(room.slowModeSeconds);
  const mute = muteGuard(chat.input, chat.send);
  const modlog = moderationLog({ roomId: room.id });
  let removedWhy = null;  // a kick or ban says why just before the socket closes
  const inviteForm = h("form", { id: "invite-form", class: "invite-form", novalidate: true }, formAlert(),
    h("div", { class: "field" }, h("label", { for: "f-email" }, t("room.inviteByEmail")),
      h("input", { id: "f-email", name: "email", type: "email", autocomplete: "off", placeholder: "friend@example.com" }),
      h("span", { class: "field-error", id: "f-email-error" })),
    h("button", { type: "submit" }, t("room.sendInvite")));
  const copyLink = h("button", { id: "copy-link", type: "button" }, t("room.copyLink"));

  view.append(h("div", { class: "room" },
    h("section", { class: "stage", "aria-labelledby": "room-title" },
      h("div", { class: "room-head" },
        h("div", {}, h("h1", { id: "room-title", tabindex: "-1" }, room.name), h("p", { class: "muted", id: "movie-title" })),
        h("div", { class: "status-pills" }, connection, mySync)),
      h("div", { class: "video-wrap" }, video, overlay, unmute, localCard),
      controls, controlNote, hostPanel, modlog.panel, rules.panel),
    h("aside", { class: "side" },
      h("section", { class: "panel", "aria-labelledby": "people-title" }, Object.assign(peopleTitle, { id: "people-title" }), peopleList),
      chat.panel,
      h("section", { class: "panel", "aria-labelledby": "invite-title" }, h("h2", { id: "invite-title" }, t("invite.title")),
        h("p", { class: "muted small" }, room.visibility === "private" ? t("room.privateNote") : t("room.linkNote")),
        room.visibility === "private" ? null : copyLink, me.isGuest ? null : inviteForm),  // a private room's link admits nobody
      h("p", {}, h("button", { type: "button", class: "link danger", id: "leave", onclick: leave }, t("room.leave"))))));

  // -- the player and the link --
  const player = new RoomPlayer(video, { onBlocked: () => { unmute.hidden = false; } });
  let queue = null;  // the playlist panel, made once the link exists
  unmute.addEventListener("click", () => { video.muted = false; unmute.hidden = true; video.focus?.(); });
  video.addEventListener("volumechange", () => { if (!video.muted) unmute.hidden = true; });
  const link = new RoomLink(room.id, player, {
    connection: (what) => {
      connection.textContent = { open: t("room.live"), reconnecting: t("room.reconnecting") }[what] || t("room.disconnected");
      connection.className = `pill ${what === "open" ? "ok" : "warn"}`;
      renderControls();
      if (what === "not-a-member" && removedWhy) {
        view.replaceChildren(h("section", { class: "card narrow", id: "removed", role: "alert" },
          h("h1", {}, t("room.removedTitle")), h("p", {}, removedWhy), h("p", {}, h("a", { href: "/" }, t("room.findAnother")))));
        return;
      }
      if (leaving) return;
      if (CLOSE_TEXT[what]) {
        toast(t(CLOSE_TEXT[what]), "error");
        if (what === "signed-out") navigate(`/signin?next=/rooms/${room.id}`);
      }
    },
    welcome: (msg) => {
      // a welcome on a reconnect means no replay could be made: what was said meanwhile is read again
      if (welcomed) chat.loadHistory();
      welcomed = true;
      openControl = Boolean(msg.openControl);
      for (const p of people.values()) p.online = false;
      for (const v of msg.viewers) upsert(v.userId, { online: true, role: v.role, buffering: v.buffering });
      loadMedia(msg.state.mediaId);
      mute.set(msg.muted);
      queue?.welcome(msg);
      renderPeople();
      renderControls();
    },
    state: (msg) => {
      // another item: the old one plays on until the new one starts (docs/protocol.md, "The playlist")
      const switchIn = msg.state.mediaId !== loadedMedia ? link.clock.localMs(msg.executeAt) - localMs() - SWITCH_EARLY_MS : 0;
      if (switchIn > 0) setTimeout(() => { if (link.playback === msg.state) loadMedia(msg.state.mediaId); }, switchIn);
      else loadMedia(msg.state.mediaId);
      renderControls();
      queue?.state();
    },
    playlist: (msg) => queue?.onEvent(msg),
    skipVotes: (msg) => queue?.skipVotes(msg),
    rejected: (msg) => toast(msg.reason === "forbidden" ? t("room.onlyHost") : msg.reason === "stale_version" ? t("room.stale") : msg.message, "error"),
    error: (msg) => {
      if (msg.code === "kicked" || msg.code === "banned") { removedWhy = msg.message; return; }
      toast(msg.message || t("room.refused"), "error");
    },
    moderation: (msg) => {
      if (msg.userId === me.id && (msg.action === "mute" || msg.action === "unmute")) mute.set(msg.action === "mute" ? { until: msg.until } : null);
      if (msg.action === "kick" || msg.action === "ban") people.delete(msg.userId);
      if (msg.action === "readmit" || msg.action === "unban") refreshMembers();
      chat.notice(moderationLine(msg, (id) => (id === me.id ? null : people.get(id)?.username || lastNames.get(id) || `#${id}`)));
      renderPeople();
      modlog.refresh();
    },
    chat: (msg) => chat.onChat(msg),
    chatDeleted: (msg) => chat.onDeleted(msg),
    chatCleared: (msg) => chat.onCleared(msg),
    chatRestored: (msg) => chat.onRestored(msg),
    reaction: (msg) => chat.onReaction(msg),
    chatRules: (msg) => chat.setSlowMode(msg.slowModeSeconds),
    presence: (msg) => {
      const known = people.has(msg.user.id);
      if (!known && msg.event === "leave") return;  // removed already (a kick): not a member to list
      upsert(msg.user.id, { username: msg.user.username, online: msg.event === "join" });
      // a new member: their role and avatar come from the member list; one who left it is listed no more
      if (!known || msg.event === "leave") refreshMembers();
      renderPeople();
    },
    role: (msg) => { upsert(msg.userId, { role: msg.role }); renderPeople(); renderControls(); modlog.refresh(); },
    you: (msg) => { upsert(msg.userId, { role: msg.role }); renderPeople(); renderControls(); queue?.render(); },
    control: (msg) => { openControl = msg.open; renderControls(); },
    waiting: (msg) => { waitingFor = msg.buffering; showOverlay(); renderPeople(); },
    waitingEnded: () => { waitingFor = []; showOverlay(); renderPeople(); },
    buffering: () => renderPeople(),
    sync: (msg) => {  // the server pushes the room's skew summary when it changes: no polling
      for (const v of msg.perViewer) {
        const p = people.get(v.userId);
        if (p) Object.assign(p, { skew: v.ageMs < STATUS_EVERY_MS * 3 ? v.skewMs : null, buffering: v.buffering });
      }
      renderPeople();
    },
  });

  queue = playlistPanel({ roomId: room.id, link, player, me });
  $(".side", view).prepend(queue.panel);

  const lastNames = new Map();  // a removed person's name, for the line that says so
  function upsert(id, fields) {
    const before = people.get(id) || { id, username: `#${id}`, role: "member" };
    const since = fields.online && !before.online ? Date.now() : before.onlineSince;  // "joining" for a while only
    people.set(id, { ...before, ...fields, onlineSince: since });
    lastNames.set(id, people.get(id).username);
  }

  // One read of the member list for any number of arrivals close together (a full room arriving at once).
  let membersTimer = null;
  function refreshMembers() {
    membersTimer ??= setTimeout(async () => {
      try {
        const list = await api(`/api/rooms/${room.id}/members`);
        for (const m of list) upsert(m.user.id, { username: m.user.username, avatarUrl: m.user.avatarUrl, role: m.role });
        const members = new Set(list.map((m) => m.user.id));
        for (const [id, p] of people) if (!members.has(id) && !p.online) people.delete(id);  // left the room
        renderPeople();
      } catch { /* the next presence event tries again */ }
      membersTimer = null;
    }, 500);
  }

  let loadedMedia;
  async function loadMedia(mediaId) {
    const id = mediaId ?? room.movie?.id ?? null;
    if (id === loadedMedia) return;
    loadedMedia = id;
    if (id === null) {
      movie = null;
      player.unload();
      subs.load(null);
      $("#movie-title").textContent = t("room.noMovie");
      return;
    }
    try {
      movie = id === room.movie?.id ? room.movie : await api(`/api/movies/${id}`);
      if (movie.check?.status === "checking") {  // queued before its verdict: say so, and wait for it
        $("#movie-title").textContent = t("room.movieChecking", { title: movie.title });
        movie = await checkedMovie(movie);
        if (loadedMedia !== id) return;
      }
      if (movie.check?.status === "refused") {
        player.unload();
        $("#movie-title").textContent = t("room.movieRefused", { title: movie.title, reason: movie.check.message });
        return;
      }
      if (movie.check?.kind === "local") {  // each viewer's own copy, checked here against the host's
        await playLocal(movie, id);
        return;
      }
      link.watching = true;
      await player.load({ kind: kindOf(movie), url: movie.videoUrl });
      $("#movie-title").textContent = t("room.movie", { title: movie.title });
      await subs.load(movie.id);
      fillSubDefault();
      movieSelect.value = String(id);
    } catch (error) {
      $("#movie-title").textContent = t("room.movieFailed", { reason: error.message });
    }
  }
  player.on("error", (error) => toast(error.message, "error"));

  // Local-file mode: pick your copy; it plays from this browser (an object URL) once it matches the room's
  let localObjectUrl = null;
  async function useLocal(movie, file) {
    const facts = movie.check.localFile;
    localWhy.textContent = t("room.checkingFile");
    const verdict = matches(facts, await describeFile(file));
    localWhy.textContent = verdict.why;
    localCard.classList.toggle("refused", !verdict.ok);
    if (!verdict.ok) return;
    localFiles.set(movie.id, file);
    if (localObjectUrl) URL.revokeObjectURL(localObjectUrl);
    localObjectUrl = URL.createObjectURL(file);
    await player.load({ kind: "file", url: localObjectUrl });
    link.watching = true;
    localCard.hidden = verdict.same;
  }
  async function playLocal(movie, id) {
    const facts = movie.check.localFile;
    player.unload();
    link.watching = false;  // until a matching copy is picked: not "in sync", and no reports of a blank player
    $("#movie-title").textContent = t("room.movieLocal", { title: movie.title });
    $("#local-label").textContent = t("room.pickCopyOf", { name: facts.name });
    localWhy.textContent = t("room.localWhy");
    localCard.classList.remove("refused");
    localCard.hidden = false;
    localPick.onchange = () => { if (localPick.files[0] && loadedMedia === id) useLocal(movie, localPick.files[0]); };
    const known = localFiles.get(movie.id);
    if (known) await useLocal(movie, known);
  }
  player.on("qualities", (levels) => {
    quality.hidden = !levels || levels.length < 2;
    if (quality.hidden) return;
    const chosen = player.quality;
    const playing = levels.find((l) => l.current);
    quality.replaceChildren(h("option", { value: -1, selected: chosen === -1 }, chosen === -1 && playing ? t("room.autoQuality", { label: playing.label }) : t("room.auto")),
      ...[...levels].reverse().map((l) => h("option", { value: l.index, selected: chosen === l.index }, l.label)));
  });
  quality.addEventListener("change", () => player.setQuality(Number(quality.value)));

  // what this viewer may do is the server's answer (welcome.you.can, then `you` messages), never a role set here
  function can(action) { return Boolean(link.you?.can?.[action]); }
  function canControl() { return can("control"); }

  let moviesLoaded = false;
  async function loadMovieChoices() {
    if (moviesLoaded) return;
    moviesLoaded = true;
    try {
      const movies = await api("/api/movies?limit=100");
      movieSelect.replaceChildren(...movies.map((m) => h("option", { value: m.id }, m.title)));
      if (movie && !movies.some((m) => m.id === movie.id)) movieSelect.prepend(h("option", { value: movie.id }, movie.title));
      if (movie) movieSelect.value = String(movie.id);
    } catch (error) {
      moviesLoaded = false;
      toast(t("room.catalogueFailed", { reason: error.message }), "error");
    }
  }

  function renderControls() {
    const allowed = canControl();
    const live = link.open;  // while the socket reconnects, no control can reach the room: they say so
    for (const el of [playButton, scrub, rate, back10, ahead10]) el.disabled = !allowed || !live;
    controls.classList.toggle("reconnecting", !live);
    playButton.title = live ? "" : t("room.reconnecting");
    chat.setCanSeek(allowed && live);
    const paused = link.playback ? link.playback.paused : true;
    playButton.replaceChildren(icon(paused ? "play" : "pause"));
    playButton.setAttribute("aria-label", paused ? t("room.play") : t("room.pause"));
    rate.value = String(link.playback?.rate ?? 1);
    const ended = link.playback?.paused && link.playback.duration && link.playback.position >= link.playback.duration - 0.05;
    controlNote.textContent = !live && link.playback ? t("room.reconnectingNote")
      : ended ? (allowed ? t("room.endAgain") : t("room.end"))
      : allowed ? t("room.yourControls") : t("room.hostControls");
    const settings = can("changeMedia") || can("openControl");
    hostPanel.hidden = !settings;
    movieSelect.disabled = !can("changeMedia");
    openToggle.disabled = !can("openControl");
    subDefault.disabled = !can("editRoom");
    if (settings) loadMovieChoices();
    openToggle.checked = openControl;
    modlog.show(can("moderationLog"));
    rules.show(can("moderateChat"));
  }

  function showOverlay() {
    // never "Waiting for <you>": this viewer is told that its own video is loading
    const others = waitingFor.filter((id) => id !== me.id).map((id) => people.get(id)?.username || `#${id}`);
    overlay.hidden = !waitingFor.length;
    overlay.textContent = others.length ? t("room.waitingFor", { names: others.join(", ") }) : waitingFor.length ? t("room.loading") : "";
  }

  function statusOf(p) {
    if (!p.online) return ["away", t("status.away")];
    if (p.id === me.id && !link.watching) return ["unknown", t("status.noCopy")];
    if (waitingFor.includes(p.id) || p.buffering || (p.id === me.id && link.buffering)) return ["buffering", t("status.buffering")];
    const skew = p.id === me.id ? link.offsetFromRoomMs() : p.skew;
    if (skew === null || skew === undefined) return ["unknown", Date.now() - (p.onlineSince || 0) < JOINING_MS ? t("status.joining") : t("status.here")];
    return Math.abs(skew) > DRIFTING_MS ? ["drifting", t("status.drifting", { ms: `${skew > 0 ? "+" : ""}${Math.round(skew)}` })] : ["in-sync", t("status.inSync")];
  }

  function renderPeople() {
    const online = [...people.values()].filter((p) => p.online);
    peopleTitle.textContent = t("room.people", { count: online.length });
    const openMenu = peopleList.querySelector(".member-menu[open]")?.closest("li");  // kept as it is while in use
    peopleList.replaceChildren(...[...online, ...[...people.values()].filter((p) => !p.online)].map((p) => {
      if (openMenu && Number(openMenu.dataset.user) === p.id) return openMenu;
      const [cls, text] = statusOf(p);
      return h("li", { class: p.online ? "" : "offline", dataset: { user: p.id } },
        avatar(p, "small"),
        h("span", { class: "name" }, p.username, p.id === me.id ? ` ${t("room.you")}` : ""),
        p.role !== "member" ? h("span", { class: "role" }, t(`role.${p.role}`)) : null,
        h("span", { class: `sync ${cls}`, dataset: { status: cls } }, text),
        memberMenu({ roomId: room.id, person: p, me, can, link }));
    }));
    const mine = statusOf({ ...(people.get(me.id) || { id: me.id }), online: true });
    mySync.textContent = mine[1];
    mySync.className = `pill ${mine[0]}`;
  }

  function seekTo(position) {
    if (!canControl()) { toast(t("room.onlyHostSeek"), "error"); return; }
    link.command("seek", { position });
  }

  // -- each viewer's own player: remembered in this browser, never sent to the room --
  const VOLUME_KEY = "watchparty.volume";
  try {
    const v = JSON.parse(localStorage.getItem(VOLUME_KEY)) || {};
    if (Number.isFinite(v.volume)) video.volume = Math.min(1, Math.max(0, v.volume));
    if (v.muted) video.muted = true;
  } catch { /* a fresh browser */ }
  function showVolume() {
    volume.value = String(video.volume);
    muteButton.setAttribute("aria-pressed", String(video.muted));  // a toggle: one name, its state pressed or not
  }
  video.addEventListener("volumechange", () => {
    showVolume();
    if (unmute.hidden) localStorage.setItem(VOLUME_KEY, JSON.stringify({ volume: video.volume, muted: video.muted }));
  });
  volume.addEventListener("input", () => { video.volume = Number(volume.value); if (video.volume > 0) video.muted = false; });
  muteButton.addEventListener("click", () => { video.muted = !video.muted; unmute.hidden = true; });
  const roomEl = () => view.querySelector(".room");
  theatre.addEventListener("click", () => {
    const on = roomEl().classList.toggle("theatre");
    theatre.setAttribute("aria-pressed", String(on));
  });
  chatToggle.addEventListener("click", () => {
    const hidden = roomEl().classList.toggle("chat-hidden");
    chatToggle.setAttribute("aria-pressed", String(!hidden));
  });
  // fullscreen is the whole room, so that the chat can stay over the video (and be hidden)
  function toggleFullscreen() {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    else roomEl().requestFullscreen?.().catch((error) => toast(t("room.noFullscreen", { reason: error.message }), "error"));
  }
  fullscreen.addEventListener("click", toggleFullscreen);
  const onFullscreen = () => roomEl()?.classList.toggle("fullscreen", document.fullscreenElement === roomEl());
  document.addEventListener("fullscreenchange", onFullscreen);
  pip?.addEventListener("click", async () => {
    try {
      if (document.pictureInPictureElement) await document.exitPictureInPicture();
      else await video.requestPictureInPicture();
    } catch (error) { toast(t("room.noPip", { reason: error.message }), "error"); }
  });
  resync.addEventListener("click", () => { link.resync(); toast(t("room.backWithRoom"), "ok"); });
  function skip(seconds) {
    if (!canControl()) { toast(t("room.onlyHostSeek"), "error"); return; }
    const at = link.targetPosition ?? 0;  // after the seeks still being merged
    const end = Number.isFinite(player.duration) ? player.duration : Infinity;
    link.seekSoon(Math.max(0, Math.min(end, at + seconds)));
  }
  back10.addEventListener("click", () => skip(-10));
  ahead10.addEventListener("click", () => skip(10));
  showVolume();

  // -- controls --
  playButton.addEventListener("click", () => {
    if (video.muted && !unmute.hidden) { video.muted = false; unmute.hidden = true; }  // this click is a gesture
    const paused = link.playback ? link.playback.paused : true;
    if (paused) link.command("play", { position: link.expectedPosition() ?? 0 });
    else link.command("pause");
  });
  scrub.addEventListener("input", () => { scrubbing = true; time.textContent = `${clock(Number(scrub.value))} / ${clock(player.duration)}`; });
  // each arrow key on the slider is a change: merged like the other seeks in a row
  scrub.addEventListener("change", () => { scrubbing = false; link.seekSoon(Number(scrub.value)); });
  rate.addEventListener("change", () => link.command("setRate", { rate: Number(rate.value) }));
  movieSelect.addEventListener("change", async () => {
    const mediaId = Number(movieSelect.value);
    try {  // one call: the server switches every live viewer (docs/protocol.md, "Durable room facts")
      await api(`/api/rooms/${room.id}`, { method: "PUT", body: { movieId: mediaId } });
    } catch (error) { toast(error.message, "error"); }
  });
  roomUpload.addEventListener("change", async () => {
    const file = roomUpload.files[0];
    if (!file) return;
    roomUpload.disabled = true;
    roomUploadBar.hidden = false;
    const say = (text, fraction) => { roomUploadNote.textContent = text; roomUploadBar.value = fraction; };
    try {
      const ready = await uploads.uploadVideo(file, say);
      await api(`/api/rooms/${room.id}`, { method: "PUT", body: { movieId: ready.movieId } });
      moviesLoaded = false;
    } catch (error) {
      say(error.message, 0);
      toast(error.message, "error");
    } finally {
      roomUpload.disabled = false;
      roomUpload.value = "";
    }
  });
  hostPanel.addEventListener("toggle", () => {  // the catalogue may have grown since: read it again
    if (hostPanel.open) { moviesLoaded = false; loadMovieChoices(); }
  });
  openToggle.addEventListener("change", () => link.send({ type: "setOpenControl", open: openToggle.checked }));
  // the room's default subtitle language: the languages of the playing movie's tracks, or none
  function fillSubDefault() {
    const languages = [...new Set(subs.tracks.map((t) => t.language).filter(Boolean))];
    if (room.subtitleLanguage && !languages.includes(room.subtitleLanguage)) languages.push(room.subtitleLanguage);
    subDefault.replaceChildren(h("option", { value: "" }, t("room.none")), ...languages.map((l) => h("option", { value: l, selected: l === room.subtitleLanguage }, l)));
  }
  subDefault.addEventListener("change", async () => {
    try {
      const updated = await api(`/api/rooms/${room.id}`, { method: "PUT", body: { subtitleLanguage: subDefault.value || null } });
      room.subtitleLanguage = updated.subtitleLanguage;
      subs.refresh();
      toast(updated.subtitleLanguage ? t("room.subDefaultSet", { language: updated.subtitleLanguage }) : t("room.subDefaultNone"), "ok");
    } catch (error) { toast(error.message, "error"); }
  });
  player.on("duration", (d) => { scrub.max = Number.isFinite(d) ? d : 0; });

  copyLink.addEventListener("click", async () => {
    const url = `${location.origin}/rooms/${room.id}`;
    try {
      await navigator.clipboard.writeText(url);
      toast(t("room.linkCopied"), "ok");
    } catch {
      window.prompt(t("room.copyThis"), url);
    }
  });
  inviteForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const invite = await busy(inviteForm, () => api(`/api/rooms/${room.id}/invite`, { method: "POST", body: formData(inviteForm) }), t("forgot.sending"));
      inviteForm.reset();
      inviteForm.querySelector(".form-alert").hidden = true;
      toast(t("room.inviteSent", { email: invite.email }), "ok");
    } catch (error) {
      showFormError(inviteForm, error);
    }
  });
  async function leave() {
    if (!window.confirm(t("room.leaveConfirm"))) return;
    leaving = true;
    try {
      await api(`/api/rooms/${room.id}/leave`, { method: "POST" });
      toast(t("room.left"), "ok");
      navigate("/");
    } catch (error) {
      leaving = false;
      toast(error.message, "error");
    }
  }

  // The usual player keys, unless the focus is where typing happens: Space or K plays and pauses, ← and → seek
  // 10 s for the room (those allowed), F is fullscreen, M mutes, C turns this viewer's subtitles on and off
  function onKey(event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest?.("input, textarea, select, button, a, [contenteditable]")) return;
    const keys = {
      " ": () => { if (!playButton.disabled) playButton.click(); },
      k: () => { if (!playButton.disabled) playButton.click(); },
      ArrowLeft: () => { if (canControl()) skip(-10); },
      ArrowRight: () => { if (canControl()) skip(10); },
      f: toggleFullscreen,
      m: () => muteButton.click(),
      c: () => subs.toggle(),
    };
    const action = keys[event.key.length === 1 ? event.key.toLowerCase() : event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  }
  document.addEventListener("keydown", onKey);

  // -- keeping the page current --
  const tick = setInterval(() => {
    const at = player.position() || 0;
    if (!scrubbing) {
      scrub.value = String(at);
      time.textContent = `${clock(at)} / ${clock(player.duration)}`;
    }
  }, 250);
  const statusTimer = setInterval(renderPeople, STATUS_EVERY_MS);  // my own status is measured here, locally

  chat.loadHistory();
  loadMedia(room.movie?.id ?? null);
  renderPeople();
  renderControls();
  link.connect().catch((error) => {
    connection.textContent = t("room.disconnected");
    toast(t("room.connectFailed", { reason: error.message }), "error");
  });
  window.watchparty = { link, video, player, localMs };  // for the browser tests and the curious

  return () => {
    clearInterval(tick);
    clearInterval(statusTimer);
    mute.close();
    document.removeEventListener("keydown", onKey);
    document.removeEventListener("fullscreenchange", onFullscreen);
    link.close();
    queue.close();
    player.unload();
    delete window.watchparty;
  };
}
