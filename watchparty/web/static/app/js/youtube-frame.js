// The YouTube player's own page (/app/youtube-frame), inside the room page as a same-origin frame: only this page
// loads YouTube's IFrame Player API, so only it needs YouTube in its Content-Security-Policy (ADR 0019). The room
// page's YouTube adapter (players.js) drives `window.watchpartyYT` here.
const PLAYER_VARS = { controls: 0, disablekb: 1, playsinline: 1, rel: 0, modestbranding: 1, iv_load_policy: 3, fs: 0 };

const events = new EventTarget();
let player = null;
let resolveReady;
const ready = new Promise((resolve) => { resolveReady = resolve; });

window.watchpartyYT = {
  ready,
  events,
  get player() { return player; },
};

window.onYouTubeIframeAPIReady = () => {
  player = new window.YT.Player("player", {
    width: "100%",
    height: "100%",
    playerVars: PLAYER_VARS,
    events: {
      onReady: () => resolveReady(player),
      onStateChange: (event) => events.dispatchEvent(new CustomEvent("state", { detail: event.data })),
      onError: (event) => events.dispatchEvent(new CustomEvent("error", { detail: event.data })),
      onPlaybackRateChange: (event) => events.dispatchEvent(new CustomEvent("rate", { detail: event.data })),
    },
  });
};
