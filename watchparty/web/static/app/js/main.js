// The web client: a router over the History API and the pages other than the room (room.js).
import { api, ApiError, checkedMovie, clearSession, saveSession, session, setUser } from "./api.js";
import { describe } from "./localfile.js";
import * as uploads from "./uploads.js";
import { rememberLocalFile, renderRoom } from "./room.js";
import { $, avatar, busy, field, formAlert, formData, h, newPasswordField, selectField, showFormError, toast } from "./ui.js";

const view = () => $("#view");
let leavePage = null;  // the current page's cleanup (the room closes its socket)

// -- routing ------------------------------------------------------------------------------------------------

const routes = [
  [/^\/$/, renderRooms],
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
      view().replaceChildren(errorPage(error));
    } finally {
      view().removeAttribute("aria-busy");
    }
    $("#view h1")?.focus({ preventScroll: true });
    return;
  }
  view().replaceChildren(errorPage(new ApiError("There is no such page.", 404)));
}

function errorPage(error) {
  return h("section", { class: "card narrow" },
    h("h1", { tabindex: "-1" }, error.status === 404 ? "Not found" : "Something went wrong"),
    h("p", {}, error.message),
    h("p", {}, h("a", { href: "/" }, "Back to the rooms")));
}

function renderNav() {
  const s = session();
  const links = [h("a", { href: "/" }, "Rooms")];
  if (s?.user?.isGuest) {  // a guest: a name only, and the way to keep it
    links.push(h("span", { class: "who" }, avatar(s.user, "small"), `${s.user.username} (guest)`));
    links.push(h("a", { href: `/signup?next=${encodeURIComponent(location.pathname)}`, class: "button" }, "Sign up to keep your name"));
    links.push(h("button", { type: "button", class: "link", onclick: signOut }, "Leave as guest"));
  } else if (s) {
    links.push(h("a", { href: "/rooms/new" }, "New room"));
    links.push(h("a", { href: "/profile", class: "who" }, avatar(s.user, "small"), s.user?.username || "Profile"));
    if (s.user?.role === "admin") links.push(h("a", { href: "/admin/queues/", "data-external": "" }, "Queues"));
    links.push(h("button", { type: "button", class: "link", onclick: signOut }, "Sign out"));
  } else {
    links.push(h("a", { href: "/signin" }, "Sign in"), h("a", { href: "/signup", class: "button" }, "Sign up"));
  }
  $("#nav").replaceChildren(...links);
}

function signOut() {
  const s = session();
  clearSession();  // at once, here: the revocation below must not be able to leave a session behind
  if (s?.refreshToken) {
    fetch("/api/auth/logout", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ refreshToken: s.refreshToken }), keepalive: true }).catch(() => {});
  }
  toast("Signed out.");
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
  const form = h("form", { class: "card narrow", novalidate: true },
    h("h1", { tabindex: "-1" }, signup ? "Create your account" : "Sign in"),
    session()?.user?.isGuest  // the guest's token goes with the request: the guest becomes (or joins) the account
      ? h("p", { class: "muted", id: "guest-note" }, `You are here as the guest ${session().user.username}. ${signup ? "Sign up" : "Sign in"} and keep your messages and rooms.`)
      : null,
    formAlert(),
    field("Email", { name: "email", type: "email", autocomplete: signup ? "email" : "username", required: true }),
    signup ? field("Username", { name: "username", autocomplete: "nickname", required: true, minlength: 3, maxlength: 30 }) : null,
    signup
      ? newPasswordField("Password", "password", () => [form?.elements.username?.value, form?.elements.email?.value, form?.elements.email?.value.split("@")[0]])
      : field("Password", { name: "password", type: "password", autocomplete: "current-password", required: true }),
    h("button", { type: "submit", class: "primary" }, signup ? "Sign up" : "Sign in"),
    h("p", { class: "muted" }, signup
      ? ["Have an account? ", h("a", { href: `/signin?next=${encodeURIComponent(next)}` }, "Sign in")]
      : ["New here? ", h("a", { href: `/signup?next=${encodeURIComponent(next)}` }, "Create an account"), " · ",
        h("a", { href: "/forgot-password" }, "Forgot your password?")]));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = formData(form);
    try {
      const result = await busy(form, () => api(signup ? "/api/auth/register" : "/api/auth/login", { method: "POST", body: data }),
        signup ? "Creating your account…" : "Signing in…");
      saveSession(result);
      toast(signup ? `Welcome, ${result.user.username}!` : `Signed in as ${result.user.username}.`, "ok");
      navigate(next, { replace: true });
    } catch (error) {
      showFormError(form, error);
    }
  });
  view().append(form);
}

function renderForgot() {
  const form = h("form", { class: "card narrow", novalidate: true },
    h("h1", { tabindex: "-1" }, "Reset your password"),
    h("p", {}, "We will email you a link to choose a new password."),
    formAlert(),
    field("Email", { name: "email", type: "email", autocomplete: "email", required: true }),
    h("button", { type: "submit", class: "primary" }, "Send the link"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await busy(form, () => api("/api/auth/forgot-password", { method: "POST", body: formData(form) }), "Sending…");
      form.replaceChildren(h("h1", { tabindex: "-1" }, "Check your email"),
        h("p", {}, "If an account uses that address, a reset link is on its way. It works once, for a limited time."),
        h("p", {}, h("a", { href: "/signin" }, "Back to sign in")));
    } catch (error) {
      showFormError(form, error);
    }
  });
  view().append(form);
}

function renderReset() {
  const token = new URLSearchParams(location.search).get("token") || "";
  const form = h("form", { class: "card narrow", novalidate: true },
    h("h1", { tabindex: "-1" }, "Choose a new password"),
    formAlert(),
    newPasswordField("New password", "password"),
    h("button", { type: "submit", class: "primary" }, "Set the password"));
  if (!token) {
    view().append(errorPage(new ApiError("This page needs the link from the reset email. Ask for a new one on the sign-in page.", 400)));
    return;
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await busy(form, () => api("/api/auth/reset-password", { method: "POST", body: { token, password: formData(form).password } }), "Saving…");
      toast("Your password is changed. Sign in with it.", "ok");
      navigate("/signin", { replace: true });
    } catch (error) {
      showFormError(form, error);
    }
  });
  view().append(form);
}

// -- rooms ---------------------------------------------------------------------------------------------------

async function renderRooms() {
  const params = new URLSearchParams(location.search);
  const q = params.get("q") || "";
  const page = Math.max(1, Number(params.get("page")) || 1);
  const search = h("input", { id: "room-search", type: "search", name: "q", value: q, placeholder: "Search rooms", "aria-label": "Search rooms by name" });
  const list = h("ul", { class: "room-list", "aria-live": "polite" });
  const pager = h("nav", { class: "pager", "aria-label": "Pages" });
  view().append(
    h("div", { class: "page-head" },
      h("h1", { tabindex: "-1" }, "Rooms"),
      h("form", { role: "search", class: "search", onsubmit: (e) => { e.preventDefault(); navigate(`/?q=${encodeURIComponent(search.value.trim())}`); } },
        search, h("button", { type: "submit" }, "Search")),
      session() ? h("a", { href: "/rooms/new", class: "button primary" }, "New room") : null),
    list, pager);
  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => navigate(`/?q=${encodeURIComponent(search.value.trim())}`, { replace: true }), 400);
  });
  const query = new URLSearchParams({ page, limit: 12, ...(q ? { q } : {}) });
  const body = await api(`/api/rooms?${query}`, { whole: true });
  if (!body.data.length) {
    list.append(h("li", { class: "empty" }, q ? `No rooms match “${q}”.` : "No public rooms yet. ",
      !q && session() ? h("a", { href: "/rooms/new" }, "Start one") : null));
  }
  for (const room of body.data) {
    list.append(h("li", {}, h("a", { href: `/rooms/${room.id}`, class: "room-card" },
      h("strong", {}, room.name),
      h("span", { class: "muted" }, room.movie ? `▶ ${room.movie.title}` : "No movie yet"),
      h("span", { class: "meta" }, `${room.participantCount} / ${room.capacity} · host ${room.host.username}`, room.hasPassword ? " · 🔒 password" : ""))));
  }
  const { pages } = body.pagination;
  if (pages > 1) {
    const link = (n, text) => h("a", { href: `/?${new URLSearchParams({ page: n, ...(q ? { q } : {}) })}`, class: "button" }, text);
    pager.append(page > 1 ? link(page - 1, "← Newer") : "", h("span", {}, `Page ${page} of ${pages}`), page < pages ? link(page + 1, "Older →") : "");
  }
}

async function renderNewRoom() {
  // refused movies are never offered; nothing is preselected but the sample clip the server ships (never
  // someone else's newest movie, which may not play)
  const movies = (await api("/api/movies?limit=100")).filter((m) => m.check?.status !== "refused");
  const movieOptions = [["", "No movie for now"], ...movies.map((m) => [m.id, m.check?.status === "checking" ? `${m.title} (checking…)` : m.title]),
    ["new", "A new movie, by its video URL…"], ["local", "A file on my computer (everyone plays their own copy)…"],
    ["upload", "Upload a video file (the server streams it to everyone)…"]];
  const sample = movies.find((m) => m.videoUrl === "/sample/countdown.webm");
  const checkNote = h("p", { class: "muted small", id: "check-note", role: "status" });
  const newMovie = h("fieldset", { class: "new-movie", hidden: true },
    h("legend", {}, "New movie"),
    field("Title", { name: "title", maxlength: 200 }),
    field("Video URL (a WebM or MP4 file, or an HLS .m3u8 stream)", { name: "videoUrl", type: "url", placeholder: "https://…/movie.mp4" }),
    checkNote);
  const localNote = h("p", { class: "muted small", id: "local-note", role: "status" },
    "The file stays on your computer. Everyone in the room picks their own copy; the room checks that it is the same film.");
  const localFile = h("fieldset", { class: "new-movie", hidden: true },
    h("legend", {}, "A file on your computer"),
    h("div", { class: "field" }, h("label", { for: "f-local" }, "Your video file"), h("input", { id: "f-local", name: "localFile", type: "file", accept: "video/*" })),
    localNote);
  const uploadBar = h("progress", { id: "upload-progress", max: 1, value: 0, "aria-label": "Upload progress" });
  const uploadNote = h("p", { class: "muted small", id: "upload-note", role: "status" },
    "Any video file FFmpeg reads (MP4, MKV, MOV, WebM, AVI…). It is uploaded once; the server makes it streamable in two qualities, and the room can start after the first seconds are ready.");
  const uploadFile = h("fieldset", { class: "new-movie", hidden: true },
    h("legend", {}, "Upload a video"),
    h("div", { class: "field" }, h("label", { for: "f-upload" }, "File to upload"), h("input", { id: "f-upload", type: "file", accept: "video/*,.mkv,.avi" })),
    uploadBar, uploadNote);
  const form = h("form", { class: "card", novalidate: true },
    h("h1", { tabindex: "-1" }, "New room"),
    formAlert(),
    field("Name", { name: "name", required: true, maxlength: 100 }),
    field("Description (optional)", { name: "description", type: "textarea", maxlength: 1000, rows: 2 }),
    selectField("Who can find and join it", "visibility", [["public", "Public: listed, anyone can join"], ["unlisted", "Unlisted: anyone with the link"], ["private", "Private: invited people only"]], "public"),
    field("Password (optional, at least 4 characters)", { name: "password", type: "password", autocomplete: "new-password" }),
    selectField("Movie", "movieId", movieOptions, sample?.id ?? ""),
    newMovie,
    localFile,
    uploadFile,
    h("button", { type: "submit", class: "primary" }, "Create the room"));
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
          if (!file) throw new ApiError("Pick the video file to upload first.", 422);
          const say = (text, fraction) => { uploadNote.textContent = text; uploadBar.value = fraction; };
          movieId = (await uploads.uploadVideo(file, say)).movieId;
        }
        if (data.movieId === "local") {
          const file = form.querySelector("#f-local").files[0];
          if (!file) throw new ApiError("Pick the video file on your computer first.", 422);
          localNote.textContent = "Reading the file…";
          const facts = await describe(file);
          if (!Number.isFinite(facts.duration)) throw new ApiError(`This browser cannot play ${file.name} (is it MP4 or WebM?).`, 422);
          const movie = await api("/api/movies", { method: "POST", body: { title: file.name.replace(/\.[^.]+$/, "").slice(0, 200) || "My file", localFile: facts } });
          movieId = movie.id;
          rememberLocalFile(movie.id, file);
        }
        if (data.movieId === "new") {
          const movie = await api("/api/movies", { method: "POST", body: { title: data.title, videoUrl: data.videoUrl } });
          movieId = movie.id;
          const verdict = await checkedMovie(movie, (text) => { checkNote.textContent = text; });
          if (verdict.check.status === "refused") throw new ApiError(`That video cannot be played: ${verdict.check.message}`, 422);
        }
        const body = { name: data.name, visibility: data.visibility, movieId };
        if (data.description) body.description = data.description;
        if (data.password) body.password = data.password;
        return api("/api/rooms", { method: "POST", body });
      }, "Creating…");
      navigate(`/rooms/${room.id}`, { replace: true });
    } catch (error) {
      showFormError(form, error);
    }
  });
  view().append(form);
}

async function renderInvite(token) {
  const roomId = Number(new URLSearchParams(location.search).get("room"));
  if (!roomId) throw new ApiError("This invite link is incomplete. Ask for a new one.", 400);
  const card = h("section", { class: "card narrow" }, h("h1", { tabindex: "-1" }, "Joining the room…"), h("p", { class: "muted" }, "Checking your invite."));
  view().append(card);
  try {
    await api(`/api/rooms/${roomId}/join`, { method: "POST", body: { inviteToken: token } });
  } catch (error) {
    card.replaceChildren(h("h1", { tabindex: "-1" }, "This invite cannot be used"), h("p", {}, error.message),
      h("p", {}, "An invite works once and expires after a few days. Ask the host for a new one."), h("p", {}, h("a", { href: "/" }, "Back to the rooms")));
    return;
  }
  navigate(`/rooms/${roomId}`, { replace: true });
}

// -- profile -------------------------------------------------------------------------------------------------

async function renderProfile() {
  const user = await api("/api/auth/profile");
  setUser(user);
  renderNav();
  const picture = h("div", { class: "avatar-box" }, avatar(user, "large"));
  const status = h("p", { class: "muted", "aria-live": "polite" });
  const progress = h("progress", { max: 100, value: 0, hidden: true, "aria-label": "Avatar upload" });
  const file = h("input", { id: "avatar-file", type: "file", name: "profilePicture", accept: "image/jpeg,image/png,image/webp" });
  const upload = h("form", { id: "avatar-form", class: "card", novalidate: true },
    h("h2", {}, "Profile picture"), picture, formAlert(),
    h("div", { class: "field" }, h("label", { for: "avatar-file" }, "JPEG, PNG or WebP, up to 5 MiB"), file,
      h("span", { class: "field-error", id: "avatar-file-error" })),
    progress, status, h("button", { type: "submit" }, "Upload"));
  upload.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!file.files.length) { showFormError(upload, new ApiError("Choose a picture first.", 400)); return; }
    const form = new FormData();
    form.append("profilePicture", file.files[0]);
    try {
      await busy(upload, async () => {
        progress.hidden = false;
        progress.value = 10;
        status.textContent = "Uploading…";
        const job = await api("/api/auth/upload-profile-picture", { method: "POST", form });
        progress.value = 40;
        status.textContent = "Processing the picture…";
        for (let i = 0; i < 60; i++) {
          const state = await api(`/api/queues/jobs/${encodeURIComponent(job.jobId)}`);
          if (state.state === "completed") break;
          if (state.state === "failed") throw new ApiError(`The picture could not be processed: ${state.failedReason || "unknown reason"}`, 422);
          progress.value = Math.min(95, 40 + i * 5);
          await new Promise((r) => setTimeout(r, 500));
        }
        const fresh = await api("/api/auth/profile");
        setUser(fresh);
        picture.replaceChildren(avatar(fresh, "large"));
        renderNav();
        progress.value = 100;
        status.textContent = fresh.avatarUrls ? "Done: this is your new picture." : "Still processing; it will appear here soon.";
      }, "Uploading…");
      upload.querySelector(".form-alert").hidden = true;
    } catch (error) {
      progress.hidden = true;
      status.textContent = "";
      showFormError(upload, error);
    }
  });

  const details = h("form", { class: "card", novalidate: true },
    h("h1", { tabindex: "-1" }, "Your profile"), formAlert(),
    h("p", { class: "muted" }, `${user.email} · ${user.role}`),
    field("Username", { name: "username", value: user.username, maxlength: 30 }),
    h("button", { type: "submit" }, "Save"));
  details.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const fresh = await busy(details, () => api("/api/auth/profile", { method: "PUT", body: { username: formData(details).username } }), "Saving…");
      setUser(fresh);
      renderNav();
      toast("Saved.", "ok");
    } catch (error) {
      showFormError(details, error);
    }
  });

  const password = h("form", { class: "card", novalidate: true },
    h("h2", {}, "Change your password"), formAlert(),
    field("Current password", { name: "currentPassword", type: "password", autocomplete: "current-password" }),
    newPasswordField("New password", "newPassword", () => [user.username, user.email, user.email?.split("@")[0]]),
    h("button", { type: "submit" }, "Change the password"),
    h("button", { type: "button", class: "link danger", onclick: async () => {
      await api("/api/auth/logout-all", { method: "POST" }).catch(() => {});
      clearSession();
      navigate("/signin");
    } }, "Sign out everywhere"));
  password.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const result = await busy(password, () => api("/api/auth/change-password", { method: "POST", body: formData(password) }), "Saving…");
      if (result?.token) saveSession(result);
      password.reset();
      toast("Password changed.", "ok");
    } catch (error) {
      showFormError(password, error);
    }
  });
  view().append(h("div", { class: "grid" }, details, upload, password));
}

render();
