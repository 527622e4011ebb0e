// The sync protocol (docs/protocol.md) in the browser: clock sync, scheduled changes, drift correction and
// reports, driving a player through the contract in players.js (never a <video> directly). It follows watchparty/client (the Python client the tests and the
// simulator use) rule for rule; a change to one is a change to both.
import { api } from "./api.js";

const PINGS_AT_START = 5;
const PINGS_EARLY = 8;
const PING_EARLY_EVERY_MS = 2000;
const PING_EVERY_MS = 10000;
const CORRECT_EVERY_MS = 100;
const SETTLE_MS = 150;
const SEEK_MARGIN = 1.3;  // a paused seek is given this much more than its learned start-up before playing on
const NUDGE_MS_PER_UNIT = 500;
const BUFFERING_AFTER_MS = 500;  // a player that has waited for data this long tells the room
const DEFAULT_PARAMS = {
  leadMs: 300, nudgeFromMs: 25, nudgeUntilMs: 5, maxNudge: 0.08, seekFromMs: 400, seekCooldownMs: 1500,
  stepSeekFromMs: 250, stepSeekCooldownMs: 4000,
  waitTimeoutMs: 10000, reportIntervalMs: 3000,
};
// after these close codes the page must not reconnect by itself (docs/protocol.md, "Close codes")
export const FINAL_CLOSES = { 4001: "signed-out", 4003: "not-a-member", 4029: "too-many", 1009: "too-big" };
const RECONNECT_AT_ONCE = new Set([1001, 1012]);  // the server restarts, or rebuilt the live room
const RECONNECT_FIRST_MS = 500;
const RECONNECT_MAX_MS = 5000;
export const SEEK_MERGE_MS = 350;  // a person's seeks in a row are sent as one, this long after the last

// The wait before reconnect attempt `retries` (0, 1, …): doubling from 0.5 s to at most 5 s, each with "equal
// jitter" (half fixed, half random), so that a room's viewers do not all come back at the same instant.
export function reconnectDelayMs(retries, random = Math.random) {
  const ceiling = Math.min(RECONNECT_MAX_MS, RECONNECT_FIRST_MS * 2 ** Math.min(retries, 10));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export const localMs = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

export function positionAt(st, serverMs) {
  if (st.paused || serverMs <= st.anchorServerTime) return st.position;
  const at = st.position + ((serverMs - st.anchorServerTime) / 1000) * st.rate;
  return st.duration ? Math.min(at, st.duration) : at;  // never past the end of the media
}

export class ClockSync {
  constructor(keep = 8) { this.keep = keep; this.samples = []; }

  add(t0, t1, t2, t3) {
    const sample = { rttMs: Math.max(0, t3 - t0 - (t2 - t1)), offsetMs: (t1 - t0 + (t2 - t3)) / 2 };
    this.samples.push(sample);
    if (this.samples.length > this.keep) this.samples.shift();
    return sample;
  }

  get best() {
    return this.samples.reduce((a, b) => (b.rttMs < a.rttMs ? b : a), this.samples[0] || { rttMs: 0, offsetMs: 0 });
  }

  get offsetMs() { return this.best.offsetMs; }
  get rttMs() { return this.best.rttMs; }
  serverMs(local) { return local + this.offsetMs; }
  localMs(server) { return server - this.offsetMs; }
}

export class Corrector {
  constructor(params) { this.params = params; this.lastSeekMs = -Infinity; this.nudging = false; }

  seeked(nowMs) { this.lastSeekMs = nowMs; }

  // expected/actual in seconds of media → {kind: "none" | "rate" | "seek", rate, position}. A player whose rates
  // are steps (nudges: false, YouTube) is corrected by seeking alone, from stepSeekFromMs, each stepSeekCooldownMs.
  decide(expected, actual, roomRate, nowMs, { paused, seekDelayMs, nudges = true }) {
    const p = this.params;
    const offMs = (expected - actual) * 1000;  // positive: the player is behind
    const cooled = nowMs - this.lastSeekMs >= (nudges ? p.seekCooldownMs : p.stepSeekCooldownMs);
    if (paused) {
      this.nudging = false;
      if (Math.abs(offMs) > p.nudgeUntilMs && cooled) {
        this.seeked(nowMs);
        return { kind: "seek", rate: roomRate, position: expected };
      }
      return { kind: "none" };
    }
    const seekFrom = nudges ? p.seekFromMs : p.stepSeekFromMs;
    if (Math.abs(offMs) > seekFrom && cooled) {
      this.seeked(nowMs);
      this.nudging = false;
      return { kind: "seek", rate: roomRate, position: expected + (seekDelayMs / 1000) * roomRate };
    }
    if (!nudges) return { kind: "none" };
    if (Math.abs(offMs) > p.nudgeFromMs || (this.nudging && Math.abs(offMs) > p.nudgeUntilMs)) {
      this.nudging = true;
      const nudge = Math.min(p.maxNudge, Math.abs(offMs) / NUDGE_MS_PER_UNIT);
      return { kind: "rate", rate: roomRate * (offMs > 0 ? 1 + nudge : 1 - nudge) };
    }
    if (this.nudging) {
      this.nudging = false;
      return { kind: "rate", rate: roomRate };
    }
    return { kind: "none" };
  }
}

// One viewer's live connection to a room: ticket, hello (with lastSeq on a reconnect), clock, scheduled changes,
// drift correction, reports, buffering and chat. `on` receives every server message by type.
export class RoomLink {
  constructor(roomId, player, on = {}) {
    this.roomId = roomId;
    this.player = player;
    this.on = on;
    this.clock = new ClockSync();
    this.params = { ...DEFAULT_PARAMS };
    this.corrector = new Corrector(this.params);
    this.playback = null;
    this.watching = true;  // false while this viewer has nothing to play (no local copy picked): no reports
    this.seq = 0;
    this.epoch = null;
    this.you = null;
    this.playDelayMs = 60;
    this.seekDelayMs = 120;
    this.buffering = false;
    this.settlingUntil = 0;
    this.pendingLearnAt = 0;
    this.applyGen = 0;
    this.pingId = 0;
    this.pings = new Map();
    this.timers = [];
    this.ws = null;
    this.closedFor = null;
    this.retries = 0;
    this.stopped = false;
    this.clockReady = false;
    this.waitStarted = 0;
    this.retryTimer = null;
    this.pendingSeek = null;  // the position of seeks not sent yet (merged), and the version they wait on
    this.seekTimer = null;
    this.seekAwaits = null;
    this.onStall = this.onStall.bind(this);
    this.onReady = this.onReady.bind(this);
    // back in the foreground, or the network is back: try at once instead of waiting out the backoff
    this.onWake = () => { if (document.visibilityState !== "hidden") this.reconnectNow(); };
    document.addEventListener("visibilitychange", this.onWake);
    window.addEventListener("online", this.onWake);
    this.reportDuration = this.reportDuration.bind(this);
    player.on("stall", this.onStall);
    player.on("ready", this.onReady);
    player.on("duration", this.reportDuration);
  }

  // -- connecting -------------------------------------------------------------------------------------------

  async connect() {
    const { ticket } = await api(`/api/rooms/${this.roomId}/ws-ticket`, { method: "POST" });
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/api/rooms/${this.roomId}/ws?ticket=${encodeURIComponent(ticket)}`);
    this.ws = ws;
    ws.onopen = () => {
      this.retries = 0;
      this.send(this.seq > 0 && this.epoch ? { type: "hello", v: 1, lastSeq: this.seq, epoch: this.epoch } : { type: "hello", v: 1 });
      this.startTimers();
      this.on.connection?.("open");
    };
    ws.onmessage = (event) => {
      const arrived = localMs();
      let msg;
      try { msg = JSON.parse(event.data); } catch { return; }
      this.handle(msg, arrived);
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.stopTimers();
      if (this.stopped) return;
      const final = FINAL_CLOSES[event.code];
      if (final) {
        this.closedFor = final;
        this.on.connection?.(final);
        return;
      }
      this.on.connection?.("reconnecting");
      this.scheduleReconnect(RECONNECT_AT_ONCE.has(event.code) ? 100 : reconnectDelayMs(this.retries++));
    };
  }

  scheduleReconnect(ms) {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => { this.retryTimer = null; this.reconnect(); }, ms);
  }

  // Only while waiting to retry: never a second socket, and never after a final close.
  reconnectNow() {
    if (this.retryTimer === null || this.stopped || this.ws || this.closedFor) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.reconnect();
  }

  async reconnect() {
    if (this.stopped || this.ws) return;
    try {
      await this.connect();
    } catch (error) {
      if (error.status === 403 || error.status === 404 || error.status === 401) {
        this.closedFor = "not-a-member";
        this.on.connection?.("not-a-member");
        return;
      }
      this.on.connection?.("reconnecting");
      this.scheduleReconnect(reconnectDelayMs(this.retries++));
    }
  }

  close() {
    this.stopped = true;
    this.applyGen++;
    this.stopTimers();
    this.player.off("stall", this.onStall);
    this.player.off("ready", this.onReady);
    this.player.off("duration", this.reportDuration);
    document.removeEventListener("visibilitychange", this.onWake);
    window.removeEventListener("online", this.onWake);
    clearTimeout(this.retryTimer);
    clearTimeout(this.seekTimer);
    this.ws?.close(1000);
    this.ws = null;
  }

  get open() { return this.ws?.readyState === WebSocket.OPEN; }

  send(message) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  command(action, fields = {}) {
    return this.send({ type: "command", action, baseVersion: this.playback ? this.playback.version : 0, ...fields });
  }

  // Seeks in a row from this person (arrow keys, ±10): one command with the last position, sent SEEK_MERGE_MS after
  // the last, and never while the previous one is still unanswered: each is based on the version it moves from,
  // so none is refused as stale. `targetPosition` is where the pending ones lead (the next +10 adds to it).
  seekSoon(position) {
    this.pendingSeek = position;
    clearTimeout(this.seekTimer);
    this.seekTimer = setTimeout(() => { this.seekTimer = null; this.flushSeek(); }, SEEK_MERGE_MS);
  }

  get targetPosition() { return this.pendingSeek ?? this.expectedPosition(); }

  flushSeek() {
    if (this.pendingSeek === null || this.seekTimer !== null) return;
    if (this.seekAwaits !== null && this.playback && this.playback.version <= this.seekAwaits) return;  // on its state
    const position = this.pendingSeek;
    if (!this.command("seek", { position })) return;  // the socket is down: kept for when it is back
    this.pendingSeek = null;
    this.seekAwaits = this.playback ? this.playback.version : 0;
  }

  // -- timers -----------------------------------------------------------------------------------------------

  startTimers() {
    this.stopTimers();
    const every = (ms, fn) => this.timers.push(setInterval(fn, ms));
    const at = (ms, fn) => this.timers.push(setTimeout(fn, ms));
    for (let i = 0; i < PINGS_AT_START; i++) at(i * 100, () => this.ping());
    for (let i = 1; i <= PINGS_EARLY; i++) at(PINGS_AT_START * 100 + i * PING_EARLY_EVERY_MS, () => this.ping());
    at(PINGS_AT_START * 100 + PINGS_EARLY * PING_EARLY_EVERY_MS, () => every(PING_EVERY_MS, () => this.ping()));
    every(CORRECT_EVERY_MS, () => this.correct());
    every(this.params.reportIntervalMs, () => this.report());
  }

  stopTimers() {
    for (const t of this.timers) { clearTimeout(t); clearInterval(t); }
    this.timers = [];
  }

  ping() {
    const id = ++this.pingId;
    const t0 = localMs();
    this.pings.set(id, t0);
    this.send({ type: "ping", id, t0 });
  }

  report() {
    if (!this.clockReady || !this.playback || !this.watching) return;
    const now = localMs();
    this.send({
      type: "report",
      position: Math.max(0, this.player.position()),
      serverTime: this.clock.serverMs(now),
      rtt: this.clock.rttMs,
      offset: this.clock.offsetMs,
      paused: !this.player.playing,
      buffering: this.buffering,
      startupMs: Math.round(Math.max(this.playDelayMs, this.seekDelayMs * SEEK_MARGIN)),
    });
  }

  // -- receiving --------------------------------------------------------------------------------------------

  handle(msg, arrived) {
    // a welcome starts the numbering afresh: a rebuilt live room (a new epoch) counts from its own start
    if (Number.isInteger(msg.seq) && (msg.seq > this.seq || msg.type === "welcome")) this.seq = msg.seq;
    switch (msg.type) {
      case "welcome":
        this.you = msg.you;
        this.epoch = msg.epoch;
        Object.assign(this.params, msg.params || {});
        this.newState(msg.state, msg.state.anchorServerTime);
        this.seekAnswered(true);
        break;
      case "pong":
        if (this.pings.delete(msg.id)) {
          this.clock.add(msg.t0, msg.t1, msg.t2, arrived);
          if (this.clock.samples.length >= 3 && !this.clockReady) {
            this.clockReady = true;
            if (this.pendingState) this.newState(...this.pendingState);
          }
        }
        break;
      case "state":
        this.newState(msg.state, msg.executeAt);
        this.seekAnswered();
        break;
      case "rejected":
        this.seekAnswered(true);
        break;
      case "you":  // what the room policy now lets this viewer do (after a role or open-control change)
        this.you = { userId: msg.userId, role: msg.role, can: msg.can };
        break;
      default:
        break;
    }
    this.on[msg.type]?.(msg);
  }

  seekAnswered(anyway = false) {
    if (this.seekAwaits === null || (!anyway && this.playback && this.playback.version <= this.seekAwaits)) return;
    this.seekAwaits = null;
    this.flushSeek();
  }

  // -- playback ---------------------------------------------------------------------------------------------

  expectedPosition(now = localMs()) {
    return this.playback ? positionAt(this.playback, this.clock.serverMs(now)) : null;
  }

  // how far this player is from the room, in ms (+: ahead)
  offsetFromRoomMs() {
    const expected = this.expectedPosition();
    return expected === null ? null : (this.player.position() - expected) * 1000;
  }

  // The room stops at the end of its media; when the catalogue has no duration, the first player that knows it
  // tells the room (docs/protocol.md, "The end of the media").
  reportDuration() {
    const d = this.player.duration;
    const pb = this.playback;
    if (pb && pb.mediaId && (pb.duration === null || pb.duration === undefined) && Number.isFinite(d) && d > 0) {
      this.send({ type: "duration", mediaId: pb.mediaId, seconds: d });
    }
  }

  newState(state, executeAt) {
    this.playback = state;
    if (state.duration === null || state.duration === undefined) setTimeout(this.reportDuration, 0);
    if (!this.clockReady) {  // applied once the clock is known (three pongs, within about 300 ms)
      this.pendingState = [state, executeAt];
      return;
    }
    this.pendingState = null;
    this.apply(state, executeAt);
  }

  async apply(st, executeAt) {
    const gen = ++this.applyGen;
    const alive = () => gen === this.applyGen && !this.stopped;
    const until = async (local) => { await sleep(local - localMs()); return alive(); };
    const p = this.player;
    this.settlingUntil = Infinity;  // the corrector keeps off until this change has settled
    let learn = null;
    try {
      let at = this.clock.localMs(executeAt);
      let now = localMs();
      if (st.paused) {
        if (!(await until(at))) return;
        p.pause();
        p.setRate(st.rate);
        if (Math.abs(p.position() - st.position) > 0.001) p.seek(st.position);
      } else if (!p.playing && now <= at - this.playDelayMs) {  // on time: in place now, start early
        if (Math.abs(p.position() - st.position) > 0.001) p.seek(st.position);
        p.setRate(st.rate);
        if (!(await until(at - this.playDelayMs))) return;
        p.play();
        learn = "play";
      } else if (!p.playing) {  // late (a join into a playing room): meet the room where it will be
        p.setRate(st.rate);
        const readyIn = Math.max(this.playDelayMs, this.seekDelayMs);
        p.seek(positionAt(st, this.clock.serverMs(now + readyIn)));
        p.play();
        this.corrector.seeked(now);
        at = now + readyIn;
      } else if (Math.abs(p.position() + ((at - now) / 1000) * st.rate - st.position) * 1000 > this.params.seekFromMs) {
        // a jump while playing: seek while paused, then start as a play starts (a seek's start-up varies more
        // than a play's, and paused it is over before the moment)
        p.pause();
        const starts = Math.max(at - this.playDelayMs, now + this.seekDelayMs * SEEK_MARGIN);
        p.seek(positionAt(st, this.clock.serverMs(starts + this.playDelayMs)));
        p.setRate(st.rate);
        this.corrector.seeked(now);
        if (!(await until(starts))) return;
        p.play();
        learn = starts === at - this.playDelayMs ? "play" : null;
        at = Math.max(at, starts + this.playDelayMs);
      } else {  // a small change while playing (a rate change, a seek to about here): in place
        if (!(await until(at - this.seekDelayMs))) return;
        now = localMs();
        const lands = now + this.seekDelayMs;
        const willBe = p.position() + (this.seekDelayMs / 1000) * st.rate;
        const target = positionAt(st, this.clock.serverMs(lands));
        if (Math.abs(willBe - target) * 1000 > this.params.nudgeFromMs) {
          p.seek(target);
          this.corrector.seeked(now);
          learn = lands <= at + 1 ? "seek" : null;
          at = Math.max(at, lands);
        }
        if (!(await until(at))) return;
        p.setRate(st.rate);
      }
      this.corrector.nudging = false;
      if (!(await until(at + SETTLE_MS))) return;
      if (learn) this.learn(learn);
    } finally {
      if (alive()) this.settlingUntil = 0;
    }
  }

  // "Resync me": meet the room where it is now, at once (a seek aimed past the player's start-up), whatever the
  // corrector's cooldown; what the room does is not changed.
  resync() {
    if (!this.playback || !this.clockReady) return;
    this.corrector.lastSeekMs = -Infinity;
    this.settlingUntil = 0;
    this.apply(this.playback, this.clock.serverMs(localMs()));
  }

  // After a start, the player's lag from the room is mostly our error about its start-up delay.
  learn(what) {
    const expected = this.expectedPosition();
    if (expected === null || this.buffering) return;
    const lagMs = (expected - this.player.position()) * 1000;
    if (Math.abs(lagMs) > this.params.seekFromMs) return;  // something else happened (a stall)
    const clamp = (v) => Math.min(1000, Math.max(0, v));
    if (what === "play") this.playDelayMs = clamp(this.playDelayMs + 0.8 * lagMs);
    else this.seekDelayMs = clamp(this.seekDelayMs + 0.8 * lagMs);
  }

  correct() {
    const now = localMs();
    const pb = this.playback;
    const p = this.player;
    if (!pb || !this.clockReady || this.buffering || now < this.settlingUntil) return;
    if (!p.ready) return;  // nothing loaded yet, or a seek under way
    if (this.pendingLearnAt && now >= this.pendingLearnAt) {
      this.pendingLearnAt = 0;
      this.learn("seek");
    }
    const expected = this.expectedPosition(now);
    const atEnd = Number.isFinite(p.duration) && expected >= p.duration - 0.05;
    if (pb.paused || atEnd) {
      if (p.playing) p.pause();
    } else if (!p.playing) {
      p.play();
    }
    if (atEnd) return;
    const c = this.corrector.decide(expected, p.position(), pb.rate, now, { paused: pb.paused, seekDelayMs: this.seekDelayMs, nudges: p.rates.continuous });
    if (c.kind === "seek") {
      p.seek(c.position);
      if (!pb.paused) this.settlingUntil = this.pendingLearnAt = now + this.seekDelayMs + SETTLE_MS / 2;
    } else if (c.kind === "rate") {
      p.setRate(c.rate);
    }
  }

  // -- buffering --------------------------------------------------------------------------------------------

  onStall() {
    const since = (this.waitStarted = localMs());
    setTimeout(() => {
      const roomPlays = this.playback && !this.playback.paused;
      if (this.waitStarted === since && roomPlays && !this.player.canPlayOn && !this.buffering) {
        this.buffering = true;
        this.send({ type: "buffering" });
        this.on.buffering?.(true);
      }
    }, BUFFERING_AFTER_MS);
  }

  onReady() {
    this.waitStarted = 0;
    if (this.buffering) {
      this.buffering = false;
      this.send({ type: "ready" });
      this.on.buffering?.(false);
    }
  }
}
