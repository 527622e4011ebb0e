// Small DOM helpers: elements are built with text nodes only (never innerHTML), so user text cannot run.

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
  const hint = h("span", { class: "field-hint", id: `f-${name}-hint`, "aria-live": "polite" }, "At least 8 characters. Common passwords are refused.");
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
  if (!password) return ["At least 8 characters. Common passwords are refused.", ""];
  if (password.length < 8) return [`${8 - password.length} more character${password.length === 7 ? "" : "s"} needed.`, "weak"];
  if (password.length > 128) return ["At most 128 characters.", "weak"];
  const lower = password.toLowerCase();
  if (names.some((n) => n && n.length >= 3 && lower.includes(n.toLowerCase()))) return ["Leave your name and email out of it.", "weak"];
  const kinds = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length;
  const distinct = new Set(password).size;
  const score = password.length + 4 * kinds + distinct - (distinct < 4 ? 12 : 0);
  if (score < 20) return ["Weak: longer is stronger; a few words make a good password.", "weak"];
  if (score < 30) return ["Fair: a little longer would make it strong.", "fair"];
  return ["Strong.", "strong"];
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
      form.querySelector(`#${input.id}-error`).textContent = d.message;
      placed++;
    }
  }
  const alert = form.querySelector(".form-alert");
  if (alert) {
    alert.textContent = placed && placed === (error.details || []).length ? "Please correct the fields marked below." : error.message;
    alert.hidden = false;
  }
}

export function formAlert() {
  return h("p", { class: "form-alert", role: "alert", hidden: true });
}

// Disable a form while its request runs, and say so on its button.
export async function busy(form, work, label = "Working…") {
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

export function avatar(user, size = "small") {
  const url = user?.avatarUrls?.thumbnail || user?.avatarUrl;
  if (url) return h("img", { class: `avatar ${size}`, src: url, alt: "" });
  return h("span", { class: `avatar ${size} initial`, "aria-hidden": "true" }, (user?.username || "?").slice(0, 1).toUpperCase());
}
