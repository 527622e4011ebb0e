// The player contract the sync rules drive, and its adapters (docs/adr/0017-player-interface-and-media-probe.md).
//
// A player, whatever plays the media, offers:
//   playing, position(), play(), pause(), seek(seconds), setRate(rate)   what sync does to it
//   duration (NaN while unknown), ready (it can be read and moved: metadata loaded, no seek under way),
//   canPlayOn (it has the data to move on: not stalled)                  what sync reads from it
//   rates: { continuous: true, min, max } | { continuous: false, steps: [...] }
//   on(type, fn) with "stall", "ready", "duration" and "error"          what it tells sync
//   load(source), unload(), qualities(), quality, setQuality(index)      what the page does with it
// Adapters implement it for one kind of media each: `file` (a direct WebM/MP4 on an HTML5 <video>) and `hls`
// (hls.js on the same <video>, or the browser's own HLS where it has one). `RoomPlayer` is the one the page and
// sync hold: it keeps the adapter of the loaded media's kind, and passes its events on.
import { t } from "./i18n.js";

const HLS_MODULE = "/app/vendor/hls.mjs";
const HLS_WORKER = "/app/vendor/hls.worker.js";

class Emitter {
  constructor() { this.handlers = new Map(); }
  on(type, fn) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(fn);
  }
  off(type, fn) { this.handlers.get(type)?.delete(fn); }
  emit(type, detail) { for (const fn of this.handlers.get(type) || []) fn(detail); }
}

// What every adapter on an HTML5 media element shares: the calls, the events, and a play() the browser refuses
// for want of a user gesture retried muted (`onBlocked` lets the page offer an Unmute button).
class MediaElementAdapter extends Emitter {
  constructor(video, { onBlocked = () => {} } = {}) {
    super();
    this.video = video;
    this.onBlocked = onBlocked;
    this.rates = { continuous: true, min: 0.25, max: 4 };
    this.listeners = {
      waiting: () => this.emit("stall"),
      playing: () => this.video.readyState >= 3 && this.emit("ready"),
      canplay: () => this.video.readyState >= 3 && this.emit("ready"),
      seeked: () => this.video.readyState >= 3 && this.emit("ready"),
      loadedmetadata: () => this.emit("duration", this.duration),
      durationchange: () => this.emit("duration", this.duration),
      error: () => this.emit("error", { message: mediaErrorText(this.video.error) }),
    };
  }

  attach() { for (const [type, fn] of Object.entries(this.listeners)) this.video.addEventListener(type, fn); }
  detach() { for (const [type, fn] of Object.entries(this.listeners)) this.video.removeEventListener(type, fn); }

  get playing() { return !this.video.paused; }
  get duration() { return Number.isFinite(this.video.duration) ? this.video.duration : NaN; }
  get ready() { return this.video.readyState >= 1 && !this.video.seeking; }
  get canPlayOn() { return this.video.readyState >= 3; }
  position() { return this.video.currentTime; }
  pause() { this.video.pause(); }
  seek(seconds) {
    const d = this.duration;
    this.video.currentTime = Number.isFinite(d) ? Math.min(Math.max(0, seconds), d) : Math.max(0, seconds);
  }
  setRate(rate) { if (this.video.playbackRate !== rate) this.video.playbackRate = rate; }
  play() {
    const video = this.video;
    const started = video.play();
    if (!started) return;
    started.catch((error) => {
      if (error.name !== "NotAllowedError") return;  // AbortError: a pause or a new source came first
      video.muted = true;
      this.onBlocked();
      video.play().catch(() => {});
    });
  }

  qualities() { return []; }
  get quality() { return -1; }
  setQuality() {}

  unload() {
    this.video.removeAttribute("src");
    this.video.load();
  }
}

export class FileAdapter extends MediaElementAdapter {
  async load(source) { this.video.src = source.url; }
}

// HLS through hls.js (MediaSource), served from this origin out of node_modules. Each viewer's quality is their
// own: `setQuality(-1)` is automatic, any other index pins that rendition; nothing of it goes to the room.
export class HlsAdapter extends MediaElementAdapter {
  constructor(video, options) {
    super(video, options);
    this.hls = null;
    this.levels = [];
  }

  async load(source) {
    this.destroyHls();
    let Hls = null;
    try {
      Hls = (await import(HLS_MODULE)).default;
    } catch {
      Hls = null;
    }
    if (Hls && Hls.isSupported()) {
      const hls = new Hls({ workerPath: HLS_WORKER, enableWorker: true, capLevelToPlayerSize: false });
      this.hls = hls;
      hls.on(Hls.Events.MANIFEST_PARSED, (_event, data) => {
        this.levels = data.levels.map((level, index) => ({ index, height: level.height, bitrate: level.bitrate }));
        this.emit("qualities", this.qualities());
      });
      hls.on(Hls.Events.LEVEL_SWITCHED, () => this.emit("qualities", this.qualities()));
      hls.on(Hls.Events.ERROR, (_event, data) => {
        if (!data.fatal) return;
        if (data.type === Hls.ErrorTypes.MEDIA_ERROR) { hls.recoverMediaError(); return; }
        this.emit("error", { message: hlsErrorText(data) });
      });
      hls.loadSource(source.url);
      hls.attachMedia(this.video);
    } else if (this.video.canPlayType("application/vnd.apple.mpegurl")) {
      this.video.src = source.url;  // the browser's own HLS (Safari): one quality, chosen by the browser
    } else {
      this.emit("error", { message: Hls ? t("player.noHls") : t("player.hlsMissing") });
    }
  }

  qualities() {
    const current = this.hls ? this.hls.currentLevel : -1;
    return this.levels.map((l) => ({ ...l, label: l.height ? `${l.height}p` : `${Math.round(l.bitrate / 1000)} kb/s`, current: l.index === current }));
  }
  get quality() { return this.hls && !this.hls.autoLevelEnabled ? this.hls.currentLevel : -1; }
  get playingQuality() { return this.hls ? this.hls.currentLevel : -1; }
  setQuality(index) {
    if (!this.hls) return;
    this.hls.currentLevel = index;  // -1: automatic
    this.emit("qualities", this.qualities());
  }

  destroyHls() {
    if (this.hls) { this.hls.destroy(); this.hls = null; this.levels = []; }
  }

  unload() {
    this.destroyHls();
    super.unload();
  }
}

// YouTube through its IFrame Player API, in a frame of our own origin (/app/youtube-frame), the one page whose CSP
// lets YouTube's script in (ADR 0019). It has eight fixed rates, so the drift rules correct it by seeking only.
// The page's volume controls act on the (hidden) <video>; its volume is passed on to YouTube's player.
const YT_STATE = { UNSTARTED: -1, ENDED: 0, PLAYING: 1, PAUSED: 2, BUFFERING: 3, CUED: 5 };
const YT_ERRORS = { 2: "player.yt.noVideo", 5: "player.yt.cannot", 100: "player.yt.unavailable", 101: "player.yt.embed", 150: "player.yt.embed" };

export function youtubeRef(url) {
  try {
    const u = new URL(url);
    const host = u.hostname.toLowerCase().replace(/^(www|m|music)\./, "");
    let id = null;
    if (host === "youtu.be") id = u.pathname.split("/")[1];
    else if (host === "youtube.com" || host === "youtube-nocookie.com") {
      id = u.pathname === "/watch" ? u.searchParams.get("v") : (u.pathname.match(/^\/(?:shorts|embed|live|v|e)\/([^/]+)/) || [])[1];
    }
    if (!id || !/^[A-Za-z0-9_-]{11}$/.test(id)) return null;
    const t = u.searchParams.get("t") || u.searchParams.get("start") || new URLSearchParams(u.hash.slice(1)).get("t") || "";
    const m = t.match(/^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?$/);
    const start = m ? (Number(m[1] || 0) * 3600 + Number(m[2] || 0) * 60 + Number(m[3] || 0)) : 0;
    return { id, start };
  } catch {
    return null;
  }
}

export class YouTubeAdapter extends Emitter {
  constructor(video) {
    super();
    this.video = video;
    this.frame = null;
    this.yt = null;  // the frame's window.watchpartyYT
    this.player = null;
    this.state = YT_STATE.UNSTARTED;
    this.wanted = false;  // play() asked for, until pause()
    this.rates = { continuous: false, steps: [0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2] };
    this.onVolume = () => this.applyVolume();
  }

  attach() {
    this.video.hidden = true;
    this.video.addEventListener("volumechange", this.onVolume);
    if (this.frame) this.frame.hidden = false;
  }

  detach() {
    this.video.hidden = false;
    this.video.removeEventListener("volumechange", this.onVolume);
    if (this.frame) this.frame.hidden = true;
  }

  async ensureFrame() {
    if (this.yt) return this.yt;
    this.frame = document.createElement("iframe");
    Object.assign(this.frame, { src: "/app/youtube-frame", title: t("player.yt.title"), className: "yt-frame" });
    this.frame.setAttribute("allow", "autoplay; encrypted-media; picture-in-picture");
    this.video.after(this.frame);
    await new Promise((resolve) => this.frame.addEventListener("load", resolve, { once: true }));
    const yt = this.frame.contentWindow.watchpartyYT;
    if (!yt) throw new Error(t("player.yt.noLoad"));
    this.player = await Promise.race([yt.ready, new Promise((_, reject) => setTimeout(() => reject(new Error(t("player.yt.late"))), 15000))]);
    yt.events.addEventListener("state", (event) => this.onState(event.detail));
    yt.events.addEventListener("error", (event) => {
      this.emit("error", { message: (YT_ERRORS[event.detail] ? t(YT_ERRORS[event.detail]) : t("player.yt.refused", { code: event.detail })) });
      this.errored = true;
      this.emit("stall");  // the room waits for this viewer (up to its timeout), then goes on without them
    });
    this.yt = yt;
    this.applyVolume();
    return yt;
  }

  onState(state) {
    this.state = state;
    if (state === YT_STATE.BUFFERING) this.emit("stall");  // an ad, or the network: the room may wait
    else if (state === YT_STATE.PLAYING || state === YT_STATE.PAUSED || state === YT_STATE.CUED) {
      this.emit("ready");
      const d = this.duration;
      if (Number.isFinite(d) && d !== this.lastDuration) { this.lastDuration = d; this.emit("duration", d); }
    }
  }

  applyVolume() {
    if (!this.player) return;
    this.player.setVolume(Math.round(this.video.volume * 100));
    if (this.video.muted) this.player.mute(); else this.player.unMute();
  }

  async load(source) {
    const ref = youtubeRef(source.url);
    if (!ref) { this.emit("error", { message: t("player.yt.notAddress") }); return; }
    this.errored = false;
    try {
      await this.ensureFrame();
    } catch (error) {
      this.emit("error", { message: error.message });
      return;
    }
    this.wanted = false;
    this.player.cueVideoById({ videoId: ref.id, startSeconds: ref.start });
  }

  get playing() { return this.wanted; }
  get duration() { const d = this.player?.getDuration?.(); return d > 0 ? d : NaN; }
  get ready() { return Boolean(this.player) && !this.errored && this.state !== YT_STATE.UNSTARTED; }
  get canPlayOn() { return !this.errored && this.state !== YT_STATE.BUFFERING; }
  position() { return this.player ? this.player.getCurrentTime() : 0; }
  play() { this.wanted = true; this.player?.playVideo(); }
  pause() { this.wanted = false; this.player?.pauseVideo(); }
  seek(seconds) { this.player?.seekTo(Math.max(0, seconds), true); }
  setRate(rate) {
    if (!this.player) return;
    const steps = this.player.getAvailablePlaybackRates?.() || this.rates.steps;
    const nearest = steps.reduce((a, b) => (Math.abs(b - rate) < Math.abs(a - rate) ? b : a), 1);
    if (this.player.getPlaybackRate() !== nearest) this.player.setPlaybackRate(nearest);
  }
  qualities() { return []; }
  get quality() { return -1; }
  setQuality() {}
  unload() { this.wanted = false; this.player?.stopVideo?.(); }
}

export const ADAPTERS = { file: FileAdapter, hls: HlsAdapter, youtube: YouTubeAdapter };

// A movie's kind: what the media check found (`check.kind`), else what its URL says.
export function kindOf(movie) {
  const kind = movie.check?.kind;
  if (kind === "local" || movie.videoUrl.startsWith("local:")) return "local";  // each viewer's own copy (room.js)
  if (kind && ADAPTERS[kind]) return kind;
  if (youtubeRef(movie.videoUrl)) return "youtube";
  try {
    return /\.m3u8$/i.test(new URL(movie.videoUrl, location.href).pathname) ? "hls" : "file";
  } catch {
    return "file";
  }
}

// The player the page and sync hold: the contract, forwarded to the adapter of the loaded media's kind.
export class RoomPlayer extends Emitter {
  constructor(video, options = {}) {
    super();
    this.video = video;
    this.adapters = {};
    for (const [kind, Adapter] of Object.entries(ADAPTERS)) this.adapters[kind] = new Adapter(video, options);
    this.current = this.adapters.file;
    this.forward = {};
    for (const type of ["stall", "ready", "duration", "error", "qualities"]) this.forward[type] = (detail) => this.emit(type, detail);
    this.use(this.current);
  }

  use(adapter) {
    if (this.current) {
      this.current.detach();
      for (const [type, fn] of Object.entries(this.forward)) this.current.off(type, fn);
    }
    this.current = adapter;
    adapter.attach();
    for (const [type, fn] of Object.entries(this.forward)) adapter.on(type, fn);
  }

  get kind() { return Object.keys(this.adapters).find((k) => this.adapters[k] === this.current); }
  get playing() { return this.current.playing; }
  get duration() { return this.current.duration; }
  get ready() { return this.current.ready; }
  get canPlayOn() { return this.current.canPlayOn; }
  get rates() { return this.current.rates; }
  position() { return this.current.position(); }
  play() { this.current.play(); }
  pause() { this.current.pause(); }
  seek(seconds) { this.current.seek(seconds); }
  setRate(rate) { this.current.setRate(rate); }
  qualities() { return this.current.qualities(); }
  get quality() { return this.current.quality; }
  setQuality(index) { this.current.setQuality(index); }

  async load(source) {
    this.current.unload();
    const adapter = this.adapters[source.kind] || this.adapters.file;
    if (adapter !== this.current) this.use(adapter);
    await adapter.load(source);
    this.emit("qualities", this.qualities());
  }

  unload() { this.current.unload(); }
}

function mediaErrorText(error) {
  if (error?.code === 4) return t("player.media.format");
  if (error?.code === 2) return t("player.media.network");
  if (error?.code === 3) return t("player.media.decode");
  return t("player.media.cannot");
}

function hlsErrorText(data) {
  if (data.type === "networkError") return t("player.hls.network");
  return t("player.hls.cannot", { details: data.details });
}
