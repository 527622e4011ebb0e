// The client's words come from message catalogues (../locales/en.json, ../locales/ru.json): t("front.title").
// The language is the one chosen here (remembered in localStorage), else the browser's first that we have, else
// English. A key missing in the chosen language falls back to English (CI fails on a missing key: the catalogue
// test). Values may hold {name} placeholders, and a plural value is an object of Intl.PluralRules categories.

export const LANGUAGES = { en: "English", ru: "Русский" };
const KEY = "watchparty.lang";
let lang = "en";
let messages = {};
let english = {};
let plurals = new Intl.PluralRules("en");

function chosen() {
  const saved = localStorage.getItem(KEY);
  if (saved in LANGUAGES) return saved;
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (base in LANGUAGES) return base;
  }
  return "en";
}

async function catalogue(code) {
  const response = await fetch(`/app/locales/${code}.json`);
  if (!response.ok) throw new Error(`the ${code} catalogue did not load (${response.status})`);
  return response.json();
}

// Load the language to use (before the first page is drawn).
export async function loadLanguage(code = chosen()) {
  english = Object.keys(english).length ? english : await catalogue("en");
  messages = code === "en" ? english : await catalogue(code).catch(() => english);
  lang = messages === english ? "en" : code;
  plurals = new Intl.PluralRules(lang);
  document.documentElement.lang = lang;
}

// Choose a language and remember it; the caller draws the page again.
export async function setLanguage(code) {
  if (!(code in LANGUAGES)) return;
  localStorage.setItem(KEY, code);
  await loadLanguage(code);
}

export const language = () => lang;

export function has(key) {
  return key in messages || key in english;
}

export function t(key, params = {}) {
  let text = messages[key] ?? english[key];
  if (text === undefined) return key;
  if (typeof text === "object") text = text[plurals.select(Number(params.count ?? 0))] ?? text.other;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (params[name] ?? whole));
}

// Dates and times in the viewer's language and time zone.
export function formatDate(value, options = { dateStyle: "medium" }) {
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? "" : new Intl.DateTimeFormat(lang, options).format(date);
}

export const formatDateTime = (value) => formatDate(value, { dateStyle: "medium", timeStyle: "short" });
export const formatTime = (value) => formatDate(value, { timeStyle: "short" });
export const formatNumber = (value) => new Intl.NumberFormat(lang).format(value);
