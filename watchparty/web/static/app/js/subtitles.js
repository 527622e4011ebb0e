// Each viewer's own subtitles (ADR 0018): the tracks of the playing movie as <track> elements (WebVTT from our
// own origin), the track and its offset (±10 s in 50 ms steps) chosen here and remembered in this browser, by
// language (else label), so that the choice carries over reconnects and to the next movie. Nothing of it goes
// to the room; a viewer who has chosen nothing sees the room's default language, if the movie has it.
import { api } from "./api.js";
import { t } from "./i18n.js";
import { h, toast } from "./ui.js";

const KEY = "watchparty.subtitles";
const MAX_OFFSET_S = 10;

function saved() {
  try { return JSON.parse(localStorage.getItem(KEY)) || {}; } catch { return {}; }
}
function save(value) { localStorage.setItem(KEY, JSON.stringify({ ...saved(), ...value })); }
const keyOf = (t) => (t.language ? `lang:${t.language.toLowerCase()}` : `label:${t.label}`);

export function subtitlesControl({ video, roomDefault = () => null }) {
  const select = h("select", { id: "subtitles", "aria-label": t("subs.select") }, h("option", { value: "off" }, t("subs.off")));
  const offset = h("input", { id: "subtitle-offset", type: "number", min: -MAX_OFFSET_S, max: MAX_OFFSET_S, step: 0.05,
    value: Number(saved().offsetS || 0).toFixed(2), "aria-label": t("subs.delayLabel"), title: t("subs.delay") });
  const wrap = h("span", { class: "subtitles", hidden: true }, select, offset);
  let tracks = [];  // [{ meta, el }]
  const original = new WeakMap();  // cue -> its times in the file

  function offsetS() {
    const v = Math.round(Number(offset.value) * 20) / 20;  // 50 ms steps
    return Number.isFinite(v) ? Math.max(-MAX_OFFSET_S, Math.min(MAX_OFFSET_S, v)) : 0;
  }

  function shift(textTrack) {
    const off = offsetS();
    for (const cue of Array.from(textTrack.cues || [])) {
      if (!original.has(cue)) original.set(cue, [cue.startTime, cue.endTime]);
      const [start, end] = original.get(cue);
      cue.startTime = Math.max(0, start + off);
      cue.endTime = Math.max(0, end + off);
    }
  }

  function apply() {
    for (const t of tracks) {
      const chosen = select.value === String(t.meta.id);
      t.el.track.mode = chosen ? "showing" : "disabled";
      if (chosen) shift(t.el.track);
    }
  }

  function choose() {
    const mine = saved().choice;  // "off", a track key, or nothing yet
    const wanted = mine ?? (roomDefault() ? `lang:${roomDefault().toLowerCase()}` : "off");
    const match = tracks.find((t) => keyOf(t.meta) === wanted);
    select.value = match ? String(match.meta.id) : "off";
    apply();
  }

  async function load(movieId) {
    for (const t of tracks) t.el.remove();
    tracks = [];
    select.replaceChildren(h("option", { value: "off" }, t("subs.off")));
    wrap.hidden = true;
    if (!movieId) return;
    let list = [];
    try { list = await api(`/api/movies/${movieId}/subtitles`); } catch { return; }
    for (const meta of list) {
      const el = h("track", { kind: "subtitles", src: meta.url, label: meta.label, srclang: meta.language || "", "data-track": meta.id });
      el.addEventListener("load", () => { if (select.value === String(meta.id)) shift(el.track); });
      video.append(el);
      tracks.push({ meta, el });
      select.append(h("option", { value: meta.id }, meta.language ? `${meta.label} (${meta.language})` : meta.label));
    }
    wrap.hidden = !tracks.length;
    choose();
  }

  select.addEventListener("change", () => {
    const t = tracks.find((x) => String(x.meta.id) === select.value);
    save(t ? { choice: keyOf(t.meta), lastOn: keyOf(t.meta) } : { choice: "off" });
    apply();
  });
  offset.addEventListener("change", () => {
    offset.value = offsetS().toFixed(2);
    save({ offsetS: offsetS() });
    apply();
  });

  return {
    element: wrap,
    load,
    refresh: choose,  // the room's default changed
    get tracks() { return tracks.map((t) => t.meta); },
    // C: this viewer's subtitles on (the last track they chose, else the first) and off
    toggle() {
      if (!tracks.length) return;
      const last = tracks.find((t) => keyOf(t.meta) === saved().lastOn) || tracks[0];
      select.value = select.value === "off" ? String(last.meta.id) : "off";
      select.dispatchEvent(new Event("change"));
    },
  };
}

// The host's panel: add a subtitle file to the playing movie, and set the room's default language.
export function subtitleUpload({ movieId, onAdded }) {
  const file = h("input", { id: "sub-file", type: "file", accept: ".srt,.vtt,.ass,.ssa,text/vtt", "aria-label": t("subs.file") });
  const label = h("input", { id: "sub-label", type: "text", maxlength: 60, placeholder: "English", "aria-label": t("subs.trackName") });
  const language = h("input", { id: "sub-language", type: "text", maxlength: 16, placeholder: "en", "aria-label": t("subs.language") });
  const add = h("button", { type: "button", id: "sub-add" }, t("subs.add"));
  add.addEventListener("click", async () => {
    const id = movieId();
    if (!id || !file.files.length) { toast(t("subs.pickFirst"), "error"); return; }
    const form = new FormData();
    form.append("file", file.files[0]);
    form.append("label", label.value.trim() || file.files[0].name.replace(/\.[^.]+$/, ""));
    if (language.value.trim()) form.append("language", language.value.trim());
    try {
      await api(`/api/movies/${id}/subtitles`, { method: "POST", form });
      toast(t("subs.added"), "ok");
      file.value = "";
      onAdded();
    } catch (error) { toast(error.message, "error"); }
  });
  return h("div", { class: "field sub-upload" }, h("label", { for: "sub-file" }, t("subs.forMovie")), file, label, language, add);
}
