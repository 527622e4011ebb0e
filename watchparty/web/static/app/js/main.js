// The web client: a router over the History API and the pages other than the room (room.js).
import { api, ApiError, checkedMovie, clearSession, saveSession, session, setUser } from "./api.js";
import { describe } from "./localfile.js";
import * as uploads from "./uploads.js";
import { rememberLocalFile, renderRoom } from "./room.js";
import { formatDateTime, language, LANGUAGES, loadLanguage, setLanguage, t } from "./i18n.js";
import { $, avatar, busy, field, formAlert, formData, h, icon, newPasswordField, selectField, setTitle, showFormError, toast } from "./ui.js";

const view = () => $("#view");
let leavePage = null;  // the current page's cleanup (the room closes its socket)

// -- routing ------------------------------------------------------------------------------------------------

const routes = [
  [/^\/$/, renderFront],
  [/^\/signin$/, () => renderAuth("signin")],
  [/^\/signup$/, () => renderAuth("signup")],
  [/^\/forgot-password$/, renderForgot],
  [/^\/reset-password$/, renderReset],
  [/^\/rooms\/new$/, renderNewRoom, { auth: true }],
  // no sign-in needed to open a room's link: a room that lets guests in offers to join with a name
  [/^\/rooms\/(\d+)$/, (m) => renderRoom(Number(m[1]), { navigate, signedIn: session(), refreshNav: renderNav })],
  [/^\/invite\/([^/]+)$/, (m) => renderInvite(decodeURIComponent(m[1])), { auth: true }],
  [/^\/profile$/, renderProfile, { auth: true }],
];

export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  render();
}

async function render() {
  leavePage?.();
  leavePage = null;
  renderNav();
  const path = location.pathname;
  setTitle();
  for (const [pattern, page, options = {}] of routes) {
    const match = path.match(pattern);
    if (!match) continue;
    if (options.auth && !session()) {
      navigate(`/signin?next=${encodeURIComponent(path + location.search)}`, { replace: true });
      return;
    }
    view().replaceChildren();
    view().setAttribute("aria-busy", "true");
    try {
      leavePage = (await page(match)) || null;
    } catch (error) {
      if (error.status === 401 && !session()) {  // the session ended meanwhile: sign in, and come back here
        navigate(`/signin?next=${encodeURIComponent(path + location.search)}`, { replace: true });
        return;
      }
      view().replaceChildren(errorPage(error));
    } finally {
      view().removeAttribute("aria-busy");
    }
    $("#view h1")?.focus({ preventScroll: true });
    return;
  }
  view().replaceChildren(errorPage(new ApiError(t("notFound.text"), 404)));
  $("#view h1")?.focus({ preventScroll: true });
}

function errorPage(error) {
  const missing = error.status === 404;
  setTitle(missing ? t("notFound.title") : t("error.title"));
  return h("section", { class: "card narrow", id: missing ? "not-found" : "error-page" },
    h("h1", { tabindex: "-1" }, missing ? t("notFound.title") : t("error.title")),
    h("p", {}, error.message),
    h("p", {}, h("a", { href: "/" }, t("notFound.back"))));
}

function renderNav() {
  const s = session();
  const links = [h("a", { href: "/" }, t("nav.rooms"))];
  if (s?.user?.isGuest) {  // a guest: a name only, and the way to keep it
    links.push(h("span", { class: "who" }, avatar(s.user, "small"), t("nav.guest", { name: s.user.username })));
    links.push(h("a", { href: `/signup?next=${encodeURIComponent(location.pathname)}`, class: "button" }, t("nav.keepName")));
    links.push(h("button", { type: "button", class: "link", onclick: signOut }, t("nav.leaveGuest")));
  } else if (s) {
    links.push(h("a", { href: "/rooms/new" }, t("nav.newRoom")));
    links.push(h("a", { href: "/profile", class: "who" }, avatar(s.user, "small"), s.user?.username || t("nav.profile")));
    if (s.user?.role === "admin") links.push(h("a", { href: "/admin/queues/", "data-external": "" }, t("nav.queues")));
    links.push(h("button", { type: "button", class: "link", onclick: signOut }, t("nav.signOut")));
  } else {
    links.push(h("a", { href: "/signin" }, t("nav.signIn")), h("a", { href: "/signup", class: "button" }, t("nav.signUp")));
  }
  links.push(languagePicker());
  $("#nav").replaceChildren(...links);
  $(".brand").replaceChildren(icon("play"), " WatchParty");  // an icon, not a glyph that needs a font
  $(".skip").textContent = t("nav.skip");
  $("#progress").setAttribute("aria-label", t("nav.loading"));
  $("#nav").setAttribute("aria-label", t("nav.main"));
}

function languagePicker() {
  const select = h("select", { id: "language", class: "language", "aria-label": t("nav.language") },
    Object.entries(LANGUAGES).map(([code, name]) => h("option", { value: code, selected: code === language(), lang: code }, name)));
  select.addEventListener("change", async () => {
    await setLanguage(select.value);
    const s = session();
    if (s && !s.user?.isGuest) {  // their emails follow the choice
      api("/api/auth/profile", { method: "PUT", body: { language: language() } }).then(setUser).catch(() => {});
    }
    render();
  });
  return select;
}

// A session that ended elsewhere (revoked, expired, another tab signed out) must not leave the navigation saying
// "signed in": every change of the stored session, and every failed refresh, draws it again.
window.addEventListener("storage", (event) => { if (event.key === null || event.key === "watchparty.session") renderNav(); });
window.addEventListener("watchparty:session", (event) => {
  renderNav();
  if (event.detail?.forced) toast(t("nav.sessionEnded"), "error");
});

function signOut() {
  const s = session();
  clearSession();  // at once, here: the revocation below must not be able to leave a session behind
  if (s?.refreshToken) {
    fetch("/api/auth/logout", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ refreshToken: s.refreshToken }), keepalive: true }).catch(() => {});
  }
  toast(t("nav.signedOut"));
  navigate("/");
}

// Same-origin links are handled here; the queue dashboard and the API docs are pages of their own.
document.addEventListener("click", (event) => {
  const a = event.target.closest("a[href]");
  if (!a || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || a.hasAttribute("data-external") || a.target || a.hasAttribute("download")) return;
  if (url.pathname.startsWith("/admin") || url.pathname.startsWith("/docs") || url.pathname.startsWith("/api")) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});
window.addEventListener("popstate", render);

// A slow request shows a progress line at the top of the page.
let inFlight = 0;
let progressTimer = null;
const realFetch = window.fetch.bind(window);
window.fetch = async (...args) => {
  inFlight++;
  progressTimer ??= setTimeout(() => { $("#progress").hidden = false; }, 250);
  try {
    return await realFetch(...args);
  } finally {
    if (--inFlight === 0) {
      clearTimeout(progressTimer);
      progressTimer = null;
      $("#progress").hidden = true;
    }
  }
};

// -- sign in, sign up, password reset ------------------------------------------------------------------------

function nextPath() {
  const next = new URLSearchParams(location.search).get("next") || "/";
  return next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

function renderAuth(mode) {
  const signup = mode === "signup";
  const next = nextPath();
  setTitle(signup ? t("auth.signupTitle") : t("auth.signinTitle"));
  const form = h("form", { class: "card narrow", novalidate: true },
    h("h1", { tabindex: "-1" }, signup ? t("auth.signupTitle") : t("auth.signinTitle")),
    session()?.user?.isGuest  // the guest's token goes with the request: the guest becomes (or joins) the account
      ? h("p", { class: "muted", id: "guest-note" }, t(signup ? "auth.guestNoteSignup" : "auth.guestNoteSignin", { name: session().user.username }))
      : null,
    formAlert(),
    field(t("auth.email"), { name: "email", type: "email", autocomplete: signup ? "email" : "username", required: true }),
    signup ? field(t("auth.username"), { name: "username", autocomplete: "nickname", required: true, minlength: 3, maxlength: 32 }) : null,
    signup
      ? newPasswordField(t("auth.password"), "password", () => [form?.elements.username?.value, form?.elements.email?.value, form?.elements.email?.value.split("@")[0]])
      : field(t("auth.password"), { name: "password", type: "password", autocomplete: "current-password", required: true }),
    h("button", { type: "submit", class: "primary" }, signup ? t("auth.signup") : t("auth.signin")),
    h("p", { class: "muted" }, signup
      ? [t("auth.haveAccount"), " ", h("a", { href: `/signin?next=${encodeURIComponent(next)}` }, t("auth.signin"))]
      : [t("auth.newHere"), " ", h("a", { href: `/signup?next=${encodeURIComponent(next)}` }, t("auth.createAccount")), " · ",
        h("a", { href: "/forgot-password" }, t("auth.forgot"))]));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = formData(form);
    if (signup) data.language = language();  // the language of this person's emails
    try {
      const result = await busy(form, () => api(signup ? "/api/auth/register" : "/api/auth/login", { method: "POST", body: data }),
        signup ? t("auth.creating") : t("auth.signingIn"));
      saveSession(result);
      toast(signup ? t("auth.welcome", { name: result.user.username }) : t("auth.signedInAs", { name: result.user.username }), "ok");
      navigate(next, { replace: true });
    } catch (error) {
      showFormError(form, error);
    }
  });
  view().append(form);
}

function renderForgot() {
  setTitle(t("forgot.title"));
  const form = h("form", { class: "card narrow", novalidate: true },
    h("h1", { tabindex: "-1" }, t("forgot.title")),
    h("p", {}, t("forgot.text")),
    formAlert(),
    field(t("auth.email"), { name: "email", type: "email", autocomplete: "email", required: true }),
    h("button", { type: "submit", class: "primary" }, t("forgot.send")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await busy(form, () => api("/api/auth/forgot-password", { method: "POST", body: formData(form) }), t("forgot.sending"));
      form.replaceChildren(h("h1", { tabindex: "-1" }, t("forgot.checkTitle")),
        h("p", {}, t("forgot.checkText")),
        h("p", {}, h("a", { href: "/signin" }, t("forgot.back"))));
    } catch (error) {
      showFormError(form, error);
    }
  });
  view().append(form);
}

function renderReset() {
  const token = new URLSearchParams(location.search).get("token") || "";
  setTitle(t("reset.title"));
  const form = h("form", { class: "card narrow", novalidate: true },
    h("h1", { tabindex: "-1" }, t("reset.title")),
    formAlert(),
    newPasswordField(t("reset.password"), "password"),
    h("button", { type: "submit", class: "primary" }, t("reset.submit")));
  if (!token) {
    view().append(errorPage(new ApiError(t("reset.noToken"), 400)));
    return;
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await busy(form, () => api("/api/auth/reset-password", { method: "POST", body: { token, password: formData(form).password } }), t("form.saving"));
      toast(t("reset.done"), "ok");
      navigate("/signin", { replace: true });
    } catch (error) {
      showFormError(form, error);
    }
  });
  view().append(form);
}

// -- the front page: what this is, the way to start, your rooms and the public ones -------------------------

function roomCard(room, badge = null) {
  const people = t("rooms.people", { count: room.participantCount, capacity: room.capacity });
  return h("li", {}, h("a", { href: `/rooms/${room.id}`, class: "room-card" },
    h("strong", {}, room.name, badge ? h("span", { class: "badge role" }, badge) : null),
    h("span", { class: "muted" }, room.movie ? [icon("play"), " ", room.movie.title] : t("rooms.noMovie")),
    h("span", { class: "meta" }, icon("people"), " ", people, " · ", t("rooms.host", { name: room.host.username }),
      room.hasPassword ? [" · ", icon("lock"), " ", t("rooms.password")] : null)));
}

async function renderFront() {
  setTitle(null);
  const s = session();
  const canCreate = s && !s.user?.isGuest;
  const start = canCreate ? "/rooms/new" : `/signup?next=${encodeURIComponent("/rooms/new")}`;
  view().append(h("section", { class: "hero" },
    h("h1", { tabindex: "-1" }, t("front.title")),
    h("p", { class: "lead" }, t("front.lead")),
    h("a", { href: start, class: "button primary big", id: "start-party" }, t("front.start")),
    canCreate ? null : h("p", { class: "muted small" }, t("front.noAccount"))));
  if (s) view().append(await yourRooms());
  view().append(await publicRooms());
}

async function yourRooms() {
  const mine = await api("/api/rooms/mine?limit=50").catch(() => []);
  const section = h("section", { class: "rooms-section", id: "your-rooms", "aria-labelledby": "your-rooms-title" });
  const list = h("ul", { class: "room-list" });
  const views = [["recent", t("front.recent")], ["host", t("front.hosting")], ["member", t("front.memberOf")]];
  const tabs = h("div", { class: "segmented", role: "group", "aria-label": t("front.yourRooms") });
  const show = (which) => {
    for (const button of tabs.children) button.setAttribute("aria-pressed", String(button.dataset.view === which));
    const chosen = mine.filter((m) => which === "recent" || (which === "host" ? m.role === "host" : m.role !== "host"));
    list.replaceChildren(...(which === "recent" ? chosen.slice(0, 6) : chosen).map((m) => roomCard(m.room, t(`role.${m.role}`))));
    if (!chosen.length) list.append(h("li", { class: "empty" }, t(`front.none.${which}`)));
  };
  for (const [key, text] of views) tabs.append(h("button", { type: "button", dataset: { view: key }, onclick: () => show(key) }, text));
  section.append(h("div", { class: "page-head" }, h("h2", { id: "your-rooms-title" }, t("front.yourRooms")), tabs), list);
  show("recent");
  return section;
}

async function publicRooms() {
  const params = new URLSearchParams(location.search);
  const q = params.get("q") || "";
  const page = Math.max(1, Number(params.get("page")) || 1);
  const search = h("input", { id: "room-search", type: "search", name: "q", value: q, placeholder: t("rooms.search"), "aria-label": t("rooms.searchLabel") });
  const list = h("ul", { class: "room-list", "aria-live": "polite" });
  const pager = h("nav", { class: "pager", "aria-label": t("rooms.pages") });
  const section = h("section", { class: "rooms-section", "aria-labelledby": "public-rooms-title" },
    h("div", { class: "page-head" },
      h("h2", { id: "public-rooms-title" }, t("rooms.public")),
      h("form", { role: "search", class: "search", onsubmit: (e) => { e.preventDefault(); navigate(`/?q=${encodeURIComponent(search.value.trim())}`); } },
        search, h("button", { type: "submit" }, t("rooms.searchButton")))),
    list, pager);
  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => navigate(`/?q=${encodeURIComponent(search.value.trim())}`, { replace: true }), 400);
  });
  const query = new URLSearchParams({ page, limit: 12, ...(q ? { q } : {}) });
  const body = await api(`/api/rooms?${query}`, { whole: true });
  if (!body.data.length) list.append(h("li", { class: "empty" }, q ? t("rooms.noMatch", { q }) : t("rooms.nonePublic")));
  for (const room of body.data) list.append(roomCard(room));
  const { pages } = body.pagination;
  if (pages > 1) {
    const link = (n, text) => h("a", { href: `/?${new URLSearchParams({ page: n, ...(q ? { q } : {}) })}`, class: "button" }, text);
    pager.append(page > 1 ? link(page - 1, t("rooms.newer")) : "", h("span", {}, t("rooms.pageOf", { page, pages })), page < pages ? link(page + 1, t("rooms.older")) : "");
  }
  return section;
}

// -- a new room ----------------------------------------------------------------------------------------------

async function renderNewRoom() {
  setTitle(t("newRoom.title"));
  // refused movies are never offered; nothing is preselected but the sample clip the server ships (never
  // someone else's newest movie, which may not play)
  const movies = (await api("/api/movies?limit=100")).filter((m) => m.check?.status !== "refused");
  const movieOptions = [["", t("newRoom.noMovie")], ...movies.map((m) => [m.id, m.check?.status === "checking" ? t("newRoom.checkingMovie", { title: m.title }) : m.title]),
    ["new", t("newRoom.byUrl")], ["local", t("newRoom.byLocal")], ["upload", t("newRoom.byUpload")]];
  const sample = movies.find((m) => m.videoUrl === "/sample/countdown.webm");
  const checkNote = h("p", { class: "muted small", id: "check-note", role: "status" });
  const newMovie = h("fieldset", { class: "new-movie", hidden: true },
    h("legend", {}, t("newRoom.newMovie")),
    field(t("newRoom.movieTitle"), { name: "title", maxlength: 200 }),
    field(t("newRoom.videoUrl"), { name: "videoUrl", type: "url", placeholder: "https://…/movie.mp4" }),
    checkNote);
  const localNote = h("p", { class: "muted small", id: "local-note", role: "status" }, t("newRoom.localNote"));
  const localFile = h("fieldset", { class: "new-movie", hidden: true },
    h("legend", {}, t("newRoom.localLegend")),
    h("div", { class: "field" }, h("label", { for: "f-local" }, t("newRoom.localFile")), h("input", { id: "f-local", name: "localFile", type: "file", accept: "video/*" })),
    localNote);
  const uploadBar = h("progress", { id: "upload-progress", max: 1, value: 0, "aria-label": t("newRoom.uploadProgress") });
  const uploadNote = h("p", { class: "muted small", id: "upload-note", role: "status" }, t("newRoom.uploadNote"));
  const uploadFile = h("fieldset", { class: "new-movie", hidden: true },
    h("legend", {}, t("newRoom.uploadLegend")),
    h("div", { class: "field" }, h("label", { for: "f-upload" }, t("newRoom.uploadFile")), h("input", { id: "f-upload", type: "file", accept: "video/*,.mkv,.avi" })),
    uploadBar, uploadNote);
  const form = h("form", { class: "card", novalidate: true },
    h("h1", { tabindex: "-1" }, t("newRoom.title")),
    formAlert(),
    field(t("newRoom.name"), { name: "name", required: true, maxlength: 100 }),
    field(t("newRoom.description"), { name: "description", type: "textarea", maxlength: 1000, rows: 2 }),
    selectField(t("newRoom.visibility"), "visibility", [["public", t("newRoom.public")], ["unlisted", t("newRoom.unlisted")], ["private", t("newRoom.private")]], "public"),
    field(t("newRoom.password"), { name: "password", type: "password", autocomplete: "new-password" }),
    selectField(t("newRoom.movie"), "movieId", movieOptions, sample?.id ?? ""),
    newMovie,
    localFile,
    uploadFile,
    h("button", { type: "submit", class: "primary" }, t("newRoom.create")));
  const movieSelect = form.querySelector("[name=movieId]");
  movieSelect.addEventListener("change", () => {
    newMovie.hidden = movieSelect.value !== "new";
    localFile.hidden = movieSelect.value !== "local";
    uploadFile.hidden = movieSelect.value !== "upload";
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = formData(form);
    try {
      const room = await busy(form, async () => {
        let movieId = /^\d+$/.test(data.movieId || "") ? Number(data.movieId) : null;
        if (data.movieId === "upload") {
          const file = form.querySelector("#f-upload").files[0];
          if (!file) throw new ApiError(t("newRoom.pickUpload"), 422);
          const say = (text, fraction) => { uploadNote.textContent = text; uploadBar.value = fraction; };
          movieId = (await uploads.uploadVideo(file, say)).movieId;
        }
        if (data.movieId === "local") {
          const file = form.querySelector("#f-local").files[0];
          if (!file) throw new ApiError(t("newRoom.pickLocal"), 422);
          localNote.textContent = t("newRoom.reading");
          const facts = await describe(file);
          if (!Number.isFinite(facts.duration)) throw new ApiError(t("newRoom.cannotPlay", { name: file.name }), 422);
          const movie = await api("/api/movies", { method: "POST", body: { title: file.name.replace(/\.[^.]+$/, "").slice(0, 200) || t("newRoom.myFile"), localFile: facts } });
          movieId = movie.id;
          rememberLocalFile(movie.id, file);
        }
        if (data.movieId === "new") {
          const movie = await api("/api/movies", { method: "POST", body: { title: data.title, videoUrl: data.videoUrl } });
          movieId = movie.id;
          const verdict = await checkedMovie(movie, (text) => { checkNote.textContent = text; });
          if (verdict.check.status === "refused") throw new ApiError(t("newRoom.refused", { reason: verdict.check.message }), 422);
        }
        const body = { name: data.name, visibility: data.visibility, movieId };
        if (data.description) body.description = data.description;
        if (data.password) body.password = data.password;
        return api("/api/rooms", { method: "POST", body });
      }, t("newRoom.creating"));
      navigate(`/rooms/${room.id}`, { replace: true });
    } catch (error) {
      showFormError(form, error);
    }
  });
  view().append(form);
}

async function renderInvite(token) {
  setTitle(t("invite.title"));
  const roomId = Number(new URLSearchParams(location.search).get("room"));
  if (!roomId) throw new ApiError(t("invite.incomplete"), 400);
  const card = h("section", { class: "card narrow" }, h("h1", { tabindex: "-1" }, t("invite.joining")), h("p", { class: "muted" }, t("invite.checking")));
  view().append(card);
  try {
    await api(`/api/rooms/${roomId}/join`, { method: "POST", body: { inviteToken: token } });
  } catch (error) {
    const when = error.details?.[0]?.usedAt || error.details?.[0]?.expiredAt;
    const said = error.code === "invite_used" ? t("invite.used", { date: formatDateTime(when) })
      : error.code === "invite_expired" ? t("invite.expired", { date: formatDateTime(when) }) : error.message;
    card.replaceChildren(h("h1", { tabindex: "-1" }, t("invite.cannot")), h("p", { id: "invite-problem" }, said),
      h("p", {}, t("invite.askHost")), h("p", {}, h("a", { href: "/" }, t("notFound.back"))));
    return;
  }
  navigate(`/rooms/${roomId}`, { replace: true });
}

// -- profile -------------------------------------------------------------------------------------------------

async function renderProfile() {
  setTitle(t("profile.title"));
  const user = await api("/api/auth/profile");
  setUser(user);
  renderNav();
  const picture = h("div", { class: "avatar-box" }, avatar(user, "large"));
  const status = h("p", { class: "muted", "aria-live": "polite" });
  const progress = h("progress", { max: 100, value: 0, hidden: true, "aria-label": t("profile.avatarProgress") });
  const file = h("input", { id: "avatar-file", type: "file", name: "profilePicture", accept: "image/jpeg,image/png,image/webp" });
  const upload = h("form", { id: "avatar-form", class: "card", novalidate: true },
    h("h2", {}, t("profile.picture")), picture, formAlert(),
    h("div", { class: "field" }, h("label", { for: "avatar-file" }, t("profile.pictureKinds", { size: "5 MiB" })), file,
      h("span", { class: "field-error", id: "avatar-file-error" })),
    progress, status, h("button", { type: "submit" }, t("profile.upload")));
  upload.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!file.files.length) { showFormError(upload, new ApiError(t("profile.choosePicture"), 400)); return; }
    const form = new FormData();
    form.append("profilePicture", file.files[0]);
    try {
      await busy(upload, async () => {
        progress.hidden = false;
        progress.value = 10;
        status.textContent = t("profile.uploading");
        const job = await api("/api/auth/upload-profile-picture", { method: "POST", form });
        progress.value = 40;
        status.textContent = t("profile.processing");
        for (let i = 0; i < 60; i++) {
          const state = await api(`/api/queues/jobs/${encodeURIComponent(job.jobId)}`);
          if (state.state === "completed") break;
          if (state.state === "failed") throw new ApiError(t("profile.failed", { reason: state.failedReason || "?" }), 422);
          progress.value = Math.min(95, 40 + i * 5);
          await new Promise((r) => setTimeout(r, 500));
        }
        const fresh = await api("/api/auth/profile");
        setUser(fresh);
        picture.replaceChildren(avatar(fresh, "large"));
        renderNav();
        progress.value = 100;
        status.textContent = fresh.avatarUrls ? t("profile.done") : t("profile.still");
      }, t("profile.uploading"));
      upload.querySelector(".form-alert").hidden = true;
    } catch (error) {
      progress.hidden = true;
      status.textContent = "";
      showFormError(upload, error);
    }
  });

  const details = h("form", { class: "card", novalidate: true },
    h("h1", { tabindex: "-1" }, t("profile.title")), formAlert(),
    h("p", { class: "muted" }, `${user.email} · ${t(`userRole.${user.role}`)}`),
    field(t("auth.username"), { name: "username", value: user.username, maxlength: 32 }),
    h("button", { type: "submit" }, t("form.save")));
  details.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const fresh = await busy(details, () => api("/api/auth/profile", { method: "PUT", body: { username: formData(details).username } }), t("form.saving"));
      setUser(fresh);
      renderNav();
      toast(t("form.saved"), "ok");
    } catch (error) {
      showFormError(details, error);
    }
  });

  const password = h("form", { class: "card", novalidate: true },
    h("h2", {}, t("profile.changePassword")), formAlert(),
    field(t("profile.currentPassword"), { name: "currentPassword", type: "password", autocomplete: "current-password" }),
    newPasswordField(t("reset.password"), "newPassword", () => [user.username, user.email, user.email?.split("@")[0]]),
    h("button", { type: "submit" }, t("profile.changeSubmit")),
    h("button", { type: "button", class: "link danger", onclick: async () => {
      await api("/api/auth/logout-all", { method: "POST" }).catch(() => {});
      clearSession();
      navigate("/signin");
    } }, t("profile.signOutEverywhere")));
  password.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const result = await busy(password, () => api("/api/auth/change-password", { method: "POST", body: formData(password) }), t("form.saving"));
      if (result?.token) saveSession(result);
      password.reset();
      toast(t("profile.passwordChanged"), "ok");
    } catch (error) {
      showFormError(password, error);
    }
  });
  view().append(h("div", { class: "grid" }, details, upload, password));
}

await loadLanguage();
render();
