// Small DOM helpers: elements are built with text nodes only (never innerHTML), so user text cannot run.
import { fieldText } from "./api.js";
import { t } from "./i18n.js";

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export const $ = (selector, root = document) => root.querySelector(selector);

// The tab says where you are: "Friday film · WatchParty" (the room page gives its room's name).
export function setTitle(text = null) {
  document.title = text ? `${text} · WatchParty` : "WatchParty";
}

// One field with its label and a place for its error; `name` is the API's field name, so 422 details land here.
export function field(label, attrs) {
  const id = `f-${attrs.name}`;
  const input = attrs.type === "textarea" ? h("textarea", { id, ...attrs, type: undefined }) : h("input", { id, ...attrs });
  const error = h("span", { class: "field-error", id: `${id}-error`, "aria-live": "polite" });
  input.setAttribute("aria-describedby", error.id);
  return h("div", { class: "field" }, h("label", { for: id }, label), input, error);
}

// A new password's field, with a hint that updates while typing. Only a help: the server enforces the policy
// (8 to 128 characters, not a common password, not containing the username or email; users/passwords.py).
export function newPasswordField(label, name, names = () => []) {
  const wrap = field(label, { name, type: "password", autocomplete: "new-password", required: true, minlength: 8, maxlength: 128 });
  const input = wrap.querySelector("input");
  const hint = h("span", { class: "field-hint", id: `f-${name}-hint`, "aria-live": "polite" }, t("password.hint"));
  input.setAttribute("aria-describedby", `${input.getAttribute("aria-describedby")} ${hint.id}`);
  input.addEventListener("input", () => {
    const [text, level] = passwordStrength(input.value, names());
    hint.textContent = text;
    hint.dataset.level = level;
  });
  wrap.append(hint);
  return wrap;
}

export function passwordStrength(password, names = []) {
  if (!password) return [t("password.hint"), ""];
  if (password.length < 8) return [t("password.more", { count: 8 - password.length }), "weak"];
  if (password.length > 128) return [t("password.tooLong", { limit: 128 }), "weak"];
  const lower = password.toLowerCase();
  if (names.some((n) => n && n.length >= 3 && lower.includes(n.toLowerCase()))) return [t("password.noNames"), "weak"];
  const kinds = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length;
  const distinct = new Set(password).size;
  const score = password.length + 4 * kinds + distinct - (distinct < 4 ? 12 : 0);
  if (score < 20) return [t("password.weak"), "weak"];
  if (score < 30) return [t("password.fair"), "fair"];
  return [t("password.strong"), "strong"];
}

export function selectField(label, name, options, value) {
  const id = `f-${name}`;
  const select = h("select", { id, name }, options.map(([v, text]) => h("option", { value: v, selected: String(v) === String(value) }, text)));
  return h("div", { class: "field" }, h("label", { for: id }, label), select, h("span", { class: "field-error", id: `${id}-error` }));
}

// Show an API error: field details next to their inputs, the message in the form's alert.
export function showFormError(form, error) {
  for (const span of form.querySelectorAll(".field-error")) span.textContent = "";
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  let placed = 0;
  for (const d of error.details || []) {
    const name = String(d.field || "").split(".").pop();
    const input = name && form.querySelector(`[name="${CSS.escape(name)}"]`);
    if (input) {
      input.setAttribute("aria-invalid", "true");
      form.querySelector(`#${input.id}-error`).textContent = fieldText(d);
      placed++;
    }
  }
  const alert = form.querySelector(".form-alert");
  if (alert) {
    alert.textContent = placed && placed === (error.details || []).length ? t("form.correct") : error.message;
    alert.hidden = false;
  }
}

export function formAlert() {
  return h("p", { class: "form-alert", role: "alert", hidden: true });
}

// Disable a form while its request runs, and say so on its button.
export async function busy(form, work, label = t("form.working")) {
  const button = form.querySelector("button[type=submit]");
  const text = button?.textContent;
  form.setAttribute("aria-busy", "true");
  if (button) { button.disabled = true; button.textContent = label; }
  try {
    return await work();
  } finally {
    form.removeAttribute("aria-busy");
    if (button) { button.disabled = false; button.textContent = text; }
  }
}

export function formData(form) {
  const data = {};
  for (const el of form.elements) {
    if (!el.name) continue;
    if (el.type === "checkbox") data[el.name] = el.checked;
    else data[el.name] = el.type === "password" ? el.value : el.value.trim();  // a password is taken as typed
  }
  return data;
}

export function clock(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) seconds = 0;
  const s = Math.floor(seconds);
  const hours = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(hours ? 2 : 1, "0");
  const ss = String(s % 60).padStart(2, "0");
  return hours ? `${hours}:${mm}:${ss}` : `${mm}:${ss}`;
}

let toastTimer = null;
export function toast(message, kind = "info") {
  const el = $("#toast");
  el.textContent = message;
  el.className = `toast ${kind}`;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, kind === "error" ? 8000 : 4000);
}

// Icons drawn as SVG, so they never depend on an emoji font being installed; each is decorative (aria-hidden)
// unless it is given a label.
const ICONS = {
  lock: "M7 10V7a5 5 0 0 1 10 0v3h1a1 1 0 0 1 1 1v9a1 1 0 0 1-1 1H6a1 1 0 0 1-1-1v-9a1 1 0 0 1 1-1h1zm2 0h6V7a3 3 0 0 0-6 0v3z",
  play: "M8 5v14l11-7z",
  pause: "M6 5h4v14H6zm8 0h4v14h-4z",
  prev: "M6 5h2v14H6zm3.5 7L19 5v14z",
  next: "M16 5h2v14h-2zM5 5l9.5 7L5 19z",
  more: "M5 10a2 2 0 1 1 0 4 2 2 0 0 1 0-4zm7 0a2 2 0 1 1 0 4 2 2 0 0 1 0-4zm7 0a2 2 0 1 1 0 4 2 2 0 0 1 0-4z",
  people: "M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm7 0a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM1 20c0-3.3 3.6-6 8-6s8 2.7 8 6v1H1zm17 1v-1c0-1.8-.7-3.4-1.9-4.6C19.9 15.8 23 17.6 23 20v1z",
};
const SVG = "http://www.w3.org/2000/svg";

export function icon(name, label = null) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", `icon icon-${name}`);
  svg.setAttribute("fill", "currentColor");
  if (label) { svg.setAttribute("role", "img"); svg.setAttribute("aria-label", label); } else svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", ICONS[name]);
  svg.append(path);
  return svg;
}

export function avatar(user, size = "small") {
  const url = user?.avatarUrls?.thumbnail || user?.avatarUrl;
  if (url) return h("img", { class: `avatar ${size}`, src: url, alt: "" });
  return h("span", { class: `avatar ${size} initial`, "aria-hidden": "true" }, (user?.username || "?").slice(0, 1).toUpperCase());
}
