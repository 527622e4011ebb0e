// Uploading a video (ADR 0021): in chunks, resumable (a page reload or a dropped connection goes on from where the
// server stands, which it says), then the server makes HLS of it; the movie can be played once its first segments
// exist, while the rest is made. docs/protocol.md, "Uploads", is the contract.
import { api, ApiError } from "./api.js";
import { t } from "./i18n.js";

const KEY = "watchparty.uploads";  // file → upload id, so that the same file picked again resumes
const RETRIES = 5;

const fileKey = (file) => `${file.name}|${file.size}|${file.lastModified}`;
const remembered = () => { try { return JSON.parse(localStorage.getItem(KEY)) || {}; } catch { return {}; } };
function remember(file, id) {
  const all = remembered();
  if (id === null) delete all[fileKey(file)]; else all[fileKey(file)] = id;
  localStorage.setItem(KEY, JSON.stringify(all));
}

export const megabytes = (n) => `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)} MB`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The upload of `file`: an earlier one of the same file that is still receiving, else a new one.
async function begin(file, title) {
  const known = remembered()[fileKey(file)];
  if (known) {
    try {
      const upload = await api(`/api/uploads/${known}`);
      if (upload.status !== "failed") return upload;
    } catch { /* gone: start again */ }
  }
  const upload = await api("/api/uploads", { method: "POST", body: { title, filename: file.name.slice(0, 255), size: file.size } });
  remember(file, upload.id);
  return upload;
}

// Sends every byte of `file`; `say(text, fraction)` hears how far it is. Returns the upload once all of it is in.
export async function send(file, title, say) {
  let upload = await begin(file, title);
  let failures = 0;
  while (upload.status === "receiving") {
    const from = upload.received;
    say(t("upload.progress", { done: megabytes(from), total: megabytes(file.size) }), from / file.size);
    try {
      upload = await api(`/api/uploads/${upload.id}?offset=${from}`, { method: "PUT", raw: file.slice(from, from + upload.chunkBytes) });
      failures = 0;
    } catch (error) {
      if (error.code === "upload_offset_mismatch") {  // the server has more (or less) than we thought: go on from there
        upload = await api(`/api/uploads/${upload.id}`);
        continue;
      }
      if ((error.status === 0 || error.status >= 500 || error.code === "chunk_cut_off") && failures < RETRIES) {
        failures += 1;
        say(t("upload.retry", { from: megabytes(from), n: failures, of: RETRIES }), from / file.size);
        await sleep(500 * 2 ** failures);
        upload = await api(`/api/uploads/${upload.id}`).catch(() => upload);
        continue;
      }
      throw error;
    }
  }
  remember(file, null);
  return upload;
}

// Waits until viewers can start (the first segments exist: `movieId`), or the upload failed (thrown, in its words).
export async function playable(upload, say) {
  let current = upload;
  while (current.status === "processing" && current.movieId === null) {
    say(t("upload.preparing", { percent: Math.floor(current.progress * 100) }), current.progress);
    await sleep(500);
    current = await api(`/api/uploads/${upload.id}`);
  }
  if (current.status === "failed") throw new ApiError(t("upload.failed", { reason: current.error.message }), 422, current.error.code);
  say(current.status === "ready" ? t("upload.ready") : t("upload.readyToStart", { percent: Math.floor(current.progress * 100) }), 1);
  return current;
}

// The whole flow both pages use: send the file (titled after it), then wait until viewers can start. Returns the
// upload, with its `movieId`.
export async function uploadVideo(file, say) {
  const sent = await send(file, file.name.replace(/\.[^.]+$/, "").slice(0, 200) || t("upload.myVideo"), say);
  return playable(sent, say);
}
