/* The reports page's side of the reports API (GET /api/v1/reports/{queues,agents,interactions}):
 * the period asked for, the requests (JSON, and CSV downloaded through a Blob), and the
 * figures written in the browser's locale. */

import { state } from './state.js';
import { clock } from './time.js';
import { currentLanguage } from '../lib/i18n.js';

export const REPORT_PATH = '/api/v1/reports/';
export const INTERVALS = ['15m', 'hour', 'day', 'week', 'month'];
export const DEFAULT_INTERVAL = 'hour';

/** The browser's IANA time zone: the reports' intervals start at its midnights and hours. */
export function browserZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

const pad = (n) => String(n).padStart(2, '0');

/** A day as an `<input type="date">` holds it (YYYY-MM-DD), in local time. */
export function dayString(date) {
  return date.getFullYear() + '-' + pad(date.getMonth() + 1) + '-' + pad(date.getDate());
}

/** Yesterday in local time. */
export function yesterday(now = new Date()) {
  return dayString(new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1));
}

/** A local time in ISO 8601 with its offset (`2026-12-03T00:00:00+01:00`): the API's `from` and `to`. */
export function isoWithOffset(date) {
  const minutes = -date.getTimezoneOffset();
  const sign = minutes >= 0 ? '+' : '-';
  const offset = sign + pad(Math.floor(Math.abs(minutes) / 60)) + ':' + pad(Math.abs(minutes) % 60);
  return dayString(date) + 'T' + pad(date.getHours()) + ':' + pad(date.getMinutes()) + ':' + pad(date.getSeconds()) + offset;
}

/** The period of the days `fromDay` to `toDay` (both YYYY-MM-DD, both included): from the first
 * one's local midnight to the midnight after the last one; null when the end comes first. */
export function period(fromDay, toDay) {
  const [fy, fm, fd] = fromDay.split('-').map(Number);
  const [ty, tm, td] = toDay.split('-').map(Number);
  const from = new Date(fy, fm - 1, fd);
  const to = new Date(ty, tm - 1, td + 1);
  if (!(to > from)) return null;
  return { from: isoWithOffset(from), to: isoWithOffset(to) };
}

/** The address of a report: `kind` is queues, agents or interactions; empty filters are left out. */
export function reportUrl(kind, query) {
  const params = new URLSearchParams();
  Object.entries(query).forEach(([name, value]) => {
    if (value !== null && value !== undefined && value !== '') params.append(name, value);
  });
  return REPORT_PATH + kind + '?' + params.toString();
}

/** A pasted agent token goes as a bearer token; a signed-in page's cookie goes by itself. */
function authHeaders(accept) {
  const headers = { Accept: accept };
  if (!state.session && state.token) headers.Authorization = 'Bearer ' + state.token;
  return headers;
}

/** The API's error message of a failed answer, else its status. */
async function failure(answer) {
  try { return (await answer.json()).error.message; } catch (_) { return 'HTTP ' + answer.status; }
}

/** GETs `url` as JSON; throws an Error with the server's message when it fails. */
export async function getJson(url) {
  const answer = await fetch(url, { headers: authHeaders('application/json'), credentials: 'same-origin', cache: 'no-store' });
  if (!answer.ok) throw new Error(await failure(answer));
  return answer.json();
}

/** GETs `url` as CSV (`Accept: text/csv`) and hands it to the browser as a download named `filename`. */
export async function downloadCsv(url, filename) {
  const answer = await fetch(url, { headers: authHeaders('text/csv'), credentials: 'same-origin', cache: 'no-store' });
  if (!answer.ok) throw new Error(await failure(answer));
  const link = document.createElement('a');
  link.href = URL.createObjectURL(await answer.blob());
  link.download = filename;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // the download has its own copy by now; the object URL would keep the Blob alive
  setTimeout(() => URL.revokeObjectURL(link.href), 60000);
}

/* ------------------------------------------------------------------ the user's locale */

/** The locale of the view's language (lib/i18n.js): the browser's own tag of that language where it
 * has one (en-GB writes dates as en-GB does), else the language. */
export function reportLocale() {
  const language = currentLanguage();
  const own = (navigator.languages || []).find((tag) => tag.toLowerCase().split('-')[0] === language);
  return own || language;
}

// Intl formats are costly to make and a report has thousands of cells: made once per locale.
const made = new Map();
function format(name, make) {
  const key = reportLocale() + ' ' + name;
  if (!made.has(key)) made.set(key, make(reportLocale()));
  return made.get(key);
}
const number = (name, options) => format(name, (locale) => new Intl.NumberFormat(locale, options));
const dateTime = (name, options) => format(name, (locale) => new Intl.DateTimeFormat(locale, options));

const counts = () => number('count', { maximumFractionDigits: 0 });
const decimals = () => number('decimal', { maximumFractionDigits: 2 });
const ratios = () => number('ratio', { style: 'percent', maximumFractionDigits: 1 });
const secondsUnit = () => number('seconds', { style: 'unit', unit: 'second', unitDisplay: 'narrow', maximumFractionDigits: 1 });
const MINUTE_S = 60;

const missing = (value) => value === null || value === undefined;

export function formatCount(value) { return missing(value) ? '–' : counts().format(value); }
export function formatDecimal(value) { return missing(value) ? '–' : decimals().format(value); }
export function formatRatio(value) { return missing(value) ? '–' : ratios().format(value); }

/** Seconds: "42.5s" under a minute, then as the live view's clocks show durations (05:00, 1:05:00). */
export function formatSeconds(value) {
  if (missing(value)) return '–';
  return value < MINUTE_S ? secondsUnit().format(value) : clock(Math.round(value) * 1000);
}

const START_FORMATS = {
  '15m': { dateStyle: 'short', timeStyle: 'short' },
  hour: { dateStyle: 'short', timeStyle: 'short' },
  day: { dateStyle: 'medium' },
  week: { dateStyle: 'medium' },
  month: { year: 'numeric', month: 'long' }
};
const MOMENT = { dateStyle: 'short', timeStyle: 'short' };

/** An interval's start as the interval's length calls for (a month by its name, an hour with its time). */
export function formatIntervalStart(iso, interval) {
  if (missing(iso)) return '–';
  const kind = Object.hasOwn(START_FORMATS, interval) ? interval : 'hour';
  return dateTime('start ' + kind, START_FORMATS[kind]).format(new Date(iso));
}

/** A moment (an ISO 8601 time or epoch milliseconds) as date and time. */
export function formatMoment(value) {
  return missing(value) ? '–' : dateTime('moment', MOMENT).format(new Date(value));
}

/** Times of day ('hours') or days ('days') for a chart's time axis. */
export function axisTime(value, scale) {
  const options = scale === 'hours' ? { hour: 'numeric', minute: '2-digit' } : { month: 'short', day: 'numeric' };
  return dateTime('axis ' + scale, options).format(new Date(value));
}
