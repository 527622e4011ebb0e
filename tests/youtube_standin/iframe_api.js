// A local stand-in for YouTube's IFrame Player API (https://developers.google.com/youtube/iframe_api_reference),
// for the browser tests: there is no internet in CI. It implements the documented calls and events the web
// client uses (YT.Player with onReady, onStateChange, onError and onPlaybackRateChange; cueVideoById,
// loadVideoById, playVideo, pauseVideo, stopVideo, seekTo, getCurrentTime, getDuration, getPlayerState,
// setPlaybackRate, getPlaybackRate, getAvailablePlaybackRates, setVolume, mute, unMute, isMuted, getVideoData),
// with YouTube's fixed rates and start-up delays: 150-350 ms to start playing, 250-500 ms of buffering after a
// seek. Video ids with a meaning here: "unavailabl1" gives error 100, "noembedding" error 150, and "adsfirst001"
// buffers 3 s before it plays (an ad). Every other id is a 120 s video.
(function () {
  const State = { UNSTARTED: -1, ENDED: 0, PLAYING: 1, PAUSED: 2, BUFFERING: 3, CUED: 5 };
  const RATES = [0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2];
  const DURATION = 120;
  const now = () => performance.now() / 1000;
  const between = (a, b) => a + Math.random() * (b - a);

  class Player {
    constructor(element, options) {
      const el = typeof element === "string" ? document.getElementById(element) : element;
      this.box = document.createElement("div");
      this.box.id = "standin";
      this.box.style.cssText = "width:100%;height:100%;color:#fff;font:24px monospace;display:flex;align-items:center;justify-content:center";
      el.replaceWith(this.box);
      this.events = options.events || {};
      this.state = State.UNSTARTED;
      this.rate = 1;
      this.base = 0;  // position at baseAt (s) ...
      this.baseAt = now();
      this.movingFrom = Infinity;  // ... and it moves from this moment on (start-up, buffering)
      this.videoId = null;
      this.volume = 100;
      this.muted = false;
      this.timers = [];
      setInterval(() => { this.box.textContent = `${this.videoId || "-"} ${this.getCurrentTime().toFixed(2)} s`; }, 100);
      setTimeout(() => this.fire("onReady"), 50);
    }

    fire(name, data) { const fn = this.events[name]; if (fn) setTimeout(() => fn({ target: this, data }), 0); }
    setState(state) { if (state !== this.state) { this.state = state; this.fire("onStateChange", state); } }
    later(seconds, fn) { this.timers.push(setTimeout(fn, seconds * 1000)); }
    cancel() { for (const t of this.timers) clearTimeout(t); this.timers = []; }
    rebase() { this.base = this.getCurrentTime(); this.baseAt = now(); if (this.movingFrom < Infinity) this.movingFrom = Math.max(this.movingFrom, this.baseAt); }

    cueVideoById(arg, start) {
      const { videoId, startSeconds } = typeof arg === "object" ? arg : { videoId: arg, startSeconds: start };
      this.cancel();
      this.videoId = videoId;
      this.base = startSeconds || 0;
      this.baseAt = now();
      this.movingFrom = Infinity;
      // an error is the video's, as YouTube's is: a seek or a play that follows does not take it back
      const refused = { unavailabl1: 100, noembedding: 150 }[videoId];
      if (refused) { setTimeout(() => { if (this.videoId === videoId) this.fire("onError", refused); }, 200); return; }
      this.adPending = videoId === "adsfirst001";
      this.later(0.1, () => this.setState(State.CUED));
    }
    loadVideoById(arg, start) { this.cueVideoById(arg, start); this.playVideo(); }

    playVideo() {
      if (!this.videoId || this.state === State.PLAYING) return;
      this.cancel();
      this.rebase();
      const ad = this.adPending ? 3 : 0;
      this.adPending = false;
      const delay = ad + between(0.15, 0.35);
      this.movingFrom = now() + delay;
      this.setState(State.BUFFERING);
      this.later(delay, () => this.setState(State.PLAYING));
    }
    pauseVideo() {
      this.cancel();
      this.base = this.getCurrentTime();
      this.baseAt = now();
      this.movingFrom = Infinity;
      this.setState(State.PAUSED);
    }
    stopVideo() { this.pauseVideo(); this.videoId = null; this.setState(State.UNSTARTED); }
    seekTo(seconds) {
      const playing = this.movingFrom < Infinity;
      this.cancel();
      this.base = Math.max(0, Math.min(DURATION, seconds));
      this.baseAt = now();
      if (!playing) return;  // paused: it shows that frame, and stays paused
      const delay = between(0.25, 0.5);
      this.movingFrom = now() + delay;
      this.setState(State.BUFFERING);
      this.later(delay, () => this.setState(State.PLAYING));
    }
    getCurrentTime() {
      const t = now();
      const moved = this.movingFrom < Infinity && t > this.movingFrom ? (t - Math.max(this.movingFrom, this.baseAt)) * this.rate : 0;
      return Math.min(DURATION, this.base + moved);
    }
    getDuration() { return this.videoId ? DURATION : 0; }
    getPlayerState() { return this.state; }
    getAvailablePlaybackRates() { return RATES.slice(); }
    getPlaybackRate() { return this.rate; }
    setPlaybackRate(rate) {
      const nearest = RATES.reduce((a, b) => (Math.abs(b - rate) < Math.abs(a - rate) ? b : a));
      this.rebase();
      this.rate = nearest;
      this.fire("onPlaybackRateChange", nearest);
    }
    setVolume(v) { this.volume = v; }
    getVolume() { return this.volume; }
    mute() { this.muted = true; }
    unMute() { this.muted = false; }
    isMuted() { return this.muted; }
    getVideoData() { return { video_id: this.videoId, title: `Stand-in video ${this.videoId}` }; }
    destroy() { this.cancel(); }
  }

  window.YT = { Player, PlayerState: State, loaded: 1 };
  setTimeout(() => window.onYouTubeIframeAPIReady && window.onYouTubeIframeAPIReady(), 0);
})();
