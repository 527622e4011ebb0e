// Local-file mode (issue 21, ADR 0020): everyone plays their own copy of a file; only positions travel. A file
// never leaves its owner's machine: the room knows its name, size, length and a fingerprint (SHA-256 of its first
// MiB followed by its last MiB), and each viewer's copy is checked against those in their own browser.
import { t } from "./i18n.js";

const MIB = 1024 * 1024;

export async function fingerprint(file) {
  const head = await file.slice(0, MIB).arrayBuffer();
  const tail = await file.slice(Math.max(0, file.size - MIB)).arrayBuffer();
  const both = new Uint8Array(head.byteLength + tail.byteLength);
  both.set(new Uint8Array(head), 0);
  both.set(new Uint8Array(tail), head.byteLength);
  const digest = await crypto.subtle.digest("SHA-256", both);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

// The file's length as this browser's player reads it (NaN if it cannot play it at all).
export function durationOf(file) {
  return new Promise((resolve) => {
    const probe = document.createElement("video");
    const url = URL.createObjectURL(file);
    const done = (value) => { URL.revokeObjectURL(url); probe.removeAttribute("src"); resolve(value); };
    probe.preload = "metadata";
    probe.muted = true;
    probe.addEventListener("loadedmetadata", () => done(Number.isFinite(probe.duration) ? probe.duration : NaN), { once: true });
    probe.addEventListener("error", () => done(NaN), { once: true });
    setTimeout(() => done(NaN), 15000);
    probe.src = url;
  });
}

export async function describe(file) {
  const [print, duration] = await Promise.all([fingerprint(file), durationOf(file)]);
  return { name: file.name, size: file.size, duration, fingerprint: print };
}

const mb = (bytes) => `${(bytes / MIB).toFixed(1)} MB`;
const secs = (s) => `${Math.floor(s / 60)}:${String(Math.round(s % 60)).padStart(2, "0")}`;

// Does `mine` match the room's file? The same fingerprint, or else a length within ±1 s (another encode of the
// same film); anything else is refused, with the reason in words.
export function matches(room, mine) {
  if (!Number.isFinite(mine.duration)) {
    return { ok: false, why: t("local.cannotPlay", { mine: mine.name, room: room.name }) };
  }
  if (mine.fingerprint === room.fingerprint && mine.size === room.size) return { ok: true, same: true, why: t("local.same") };
  if (Math.abs(mine.duration - room.duration) <= 1) {
    return { ok: true, same: false, why: t("local.sameLength", { length: secs(mine.duration) }) };
  }
  return {
    ok: false,
    why: t("local.different", { room: room.name, roomLength: secs(room.duration), roomSize: mb(room.size), mine: mine.name, mineLength: secs(mine.duration), mineSize: mb(mine.size) }),
  };
}
