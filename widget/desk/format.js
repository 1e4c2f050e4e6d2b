/* The server clock as this page knows it, durations, times of day, names and icons. */

import { $, chatIcon } from '../lib/dom.js';
import { isolate } from '../lib/text.js';
import { formatTime, t } from '../lib/i18n.js';
import { S } from './state.js';


// Every card's icon is "chat" today; an unknown icon falls back to its drawing.
export const cardIcon = (name) => chatIcon('icon icon-' + name);

export function serverNow() {
  return Date.now() - (S.skewSamples.length ? Math.min(...S.skewSamples) : 0);
}

export function sampleClock(serverMs) {
  if (typeof serverMs !== 'number') return;
  S.skewSamples.push(Date.now() - serverMs);
  if (S.skewSamples.length > 20) S.skewSamples.shift();
}

/** A first clock sample before the socket's first frame: the Date header of this
 * page's own address. Until then the local clock (perhaps minutes off) would
 * judge the welcome's offers and the replayed history. */
export async function sampleHttpClock() {
  try {
    const response = await fetch(location.pathname, { method: 'HEAD', cache: 'no-store' });
    const date = Date.parse(response.headers.get('Date') || '');
    if (!Number.isNaN(date)) sampleClock(date);
  } catch (_) { /* offers wait for a sample from the socket */ }
}

export function clock(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

export function timeOfDay(ms) {
  if (typeof ms !== 'number') return '';
  return formatTime(ms + (Date.now() - serverNow()));
}

export function customerName(customer) {
  return isolate((customer && customer.name) || t('visitor'));
}
