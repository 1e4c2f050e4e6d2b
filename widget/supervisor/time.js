/* The server clock as this page knows it; durations, rates and ticking timers. */

import { h } from '../lib/dom.js';
import { formatNumber, formatPercent, formatTime } from '../lib/i18n.js';
import { state } from './state.js';

export function serverNow() { return Date.now() + state.offset; }
export function clock(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  const mm = String(m).padStart(2, '0') + ':' + String(r).padStart(2, '0');
  return hours ? hours + ':' + mm : mm;
}
export function hhmm(ts) { return formatTime(ts || Date.now(), { hourCycle: 'h23' }); }
export function percent(rate) { return rate === null || rate === undefined ? '–' : formatPercent(rate); }
export function seconds(ms) { return ms === null || ms === undefined ? '–' : (ms < 60000 ? formatNumber(Math.round(ms / 1000)) + ' s' : clock(ms)); }

/** An element whose text is the time elapsed since a server timestamp, kept ticking. */
export function ticker(cls, since) {
  const node = h('span', 'tick ' + (cls || ''));
  node.dataset.since = String(since);
  node.textContent = clock(serverNow() - since);
  return node;
}
export function tick() {
  const now = serverNow();
  document.querySelectorAll('.tick[data-since]').forEach((node) => {
    node.textContent = clock(now - Number(node.dataset.since));
  });
}
