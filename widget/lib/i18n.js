/* The agent side's language: English, German or French, chosen from the browser
 * (navigator.languages) unless the user picked one (remembered in localStorage).
 * Each page passes its catalogue ({en: {...}, de: {...}, fr: {...}}, the same keys in
 * each) to `useCatalogue` before it draws; `t(key, values)` then gives its words.
 * Static markup names its words with data-i18n="key" (its text) and
 * data-i18n-<attribute>="key" (aria-label, placeholder, title, label); `translatePage`
 * fills them in. Every text is set as text, never parsed as HTML. Dates, times and
 * numbers go through Intl in the chosen language. */

export const LANGUAGES = { en: 'English', de: 'Deutsch', fr: 'Français' };
const STORAGE_KEY = 'switchboard.language';
const TRANSLATED_ATTRIBUTES = ['aria-label', 'placeholder', 'title', 'label'];

// Right-to-left text (a customer's name) put into a sentence is isolated, as in the widget.
const RIGHT_TO_LEFT_OR_EMBEDDING = /[\u0590-\u08ff\u202a-\u202e\u2066-\u2069]/;

let language = 'en';
let words = {};

function supported(tag) {
  const base = String(tag || '').toLowerCase().split('-')[0];
  return Object.hasOwn(LANGUAGES, base) ? base : null;
}

function storedLanguage() {
  try { return supported(localStorage.getItem(STORAGE_KEY)); } catch (_) { return null; }
}

/** The user's pick, else the first of the browser's languages this side speaks, else English. */
export function preferredLanguage() {
  const stored = storedLanguage();
  if (stored) return stored;
  for (const tag of navigator.languages || [navigator.language]) {
    const found = supported(tag);
    if (found) return found;
  }
  return 'en';
}

/** Takes this page's catalogues in the preferred language (English fills a gap) and sets `<html lang>`. */
export function useCatalogue(...catalogues) {
  language = preferredLanguage();
  words = Object.assign({}, ...catalogues.map((catalogue) => ({ ...catalogue.en, ...catalogue[language] })));
  document.documentElement.lang = language;
  return language;
}

/** The language the page shows (for what keeps its own strings table, as the reports page). */
export function currentLanguage() { return language; }

function isolated(value) {
  const text = String(value);
  return RIGHT_TO_LEFT_OR_EMBEDDING.test(text) ? '\u2068' + text + '\u2069' : text;
}

/** The words for `key`, each {placeholder} filled from `values` (numbers in the user's locale). */
export function t(key, values) {
  const template = Object.hasOwn(words, key) ? words[key] : key;
  if (!values) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name) => {
    if (!Object.hasOwn(values, name)) return whole;
    const value = values[name];
    return typeof value === 'number' ? formatNumber(value) : isolated(value);
  });
}

/** A table of labels by value (`{ended: 'endedKey'}`) read in the current language when used. */
export function labels(keys) {
  return new Proxy(keys, { get: (table, name) => (Object.hasOwn(table, name) ? t(table[name]) : undefined) });
}

/** Fills in the words of every data-i18n element (and translated attribute) under `root`. */
export function translatePage(root = document) {
  root.querySelectorAll('[data-i18n]').forEach((node) => { node.textContent = t(node.dataset.i18n); });
  for (const attribute of TRANSLATED_ATTRIBUTES) {
    root.querySelectorAll(`[data-i18n-${attribute}]`).forEach((node) => {
      node.setAttribute(attribute, t(node.getAttribute(`data-i18n-${attribute}`)));
    });
  }
}

/** A <select> of the languages; a change is remembered and the page drawn again in it. */
export function languagePicker(select) {
  select.replaceChildren(...Object.entries(LANGUAGES).map(([code, name]) => {
    const option = document.createElement('option');
    option.value = code;
    option.lang = code;
    option.textContent = name;
    return option;
  }));
  select.value = language;
  select.addEventListener('change', () => {
    try { localStorage.setItem(STORAGE_KEY, select.value); } catch (_) { /* private mode: this page only */ }
    // Every view draws most of its words as data arrive; reloading redraws them all in the new language.
    location.reload();
  });
}

export function formatNumber(value, options) {
  return new Intl.NumberFormat(language, options).format(value);
}

export function formatPercent(rate) {
  return formatNumber(rate, { style: 'percent', maximumFractionDigits: 1 });
}

/** Hours and minutes; `hourCycle: 'h23'` where a view always showed a 24-hour clock. */
export function formatTime(ms, options) {
  return new Intl.DateTimeFormat(language, { hour: '2-digit', minute: '2-digit', ...options }).format(new Date(ms));
}

export function formatDate(ms) {
  return new Intl.DateTimeFormat(language, { dateStyle: 'medium' }).format(new Date(ms));
}

export function formatDateTime(ms) {
  return new Intl.DateTimeFormat(language, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(ms));
}
