/* The audit trail: who changed what, when and from where, newest first, filtered by actor,
 * action and time, a page at a time (the server's cursor). Before and after are shown as the
 * server gives them (it never keeps a secret). */

import { t } from '../lib/i18n.js';
import { $, h } from '../lib/dom.js';
import { api } from './api.js';
import { fillTable, onSubmit, row, say, when } from './ui.js';

const ui = {
  form: $('audit-form'), error: $('audit-error'), status: $('audit-status'), table: $('audit-table'),
  actor: $('audit-actor'), action: $('audit-action'), from: $('audit-from'), to: $('audit-to'),
  first: $('audit-first'), next: $('audit-next'),
};
const PAGE = 50;
let filters = new URLSearchParams();
let nextCursor = null;

function change(entry) {
  if (entry.before === null && entry.after === null) return '';
  const details = h('details', '', '', [
    h('summary', '', entry.before === null ? t('after2') : entry.after === null ? t('before') : t('beforeAndAfter')),
  ]);
  for (const [label, value] of [[t('before'), entry.before], [t('after2'), entry.after]]) {
    if (value === null) continue;
    const block = h('pre', 'code', `${label}: ${JSON.stringify(value, null, 2)}`);
    block.tabIndex = 0; // it may scroll: reachable by keyboard
    details.append(block);
  }
  return details;
}

/** A `datetime-local` value (local time) as ISO 8601 with its offset, as the API takes it. */
function iso(value) {
  return value ? new Date(value).toISOString() : '';
}

function readFilters() {
  const params = new URLSearchParams({ limit: String(PAGE) });
  for (const [name, value] of [['actor', ui.actor.value.trim()], ['action', ui.action.value.trim()],
    ['from', iso(ui.from.value)], ['to', iso(ui.to.value)]]) {
    if (value) params.set(name, value);
  }
  return params;
}

async function show(cursor) {
  const params = new URLSearchParams(filters);
  if (cursor) params.set('cursor', cursor);
  const page = await api('GET', '/api/v1/audit?' + params.toString());
  fillTable(ui.table, page.entries.map((e) => row([when(e.at), e.actor, e.action, e.target, e.ip || '', change(e)])),
    t('noEntryMatches'));
  nextCursor = page.next_cursor;
  ui.next.hidden = !nextCursor;
  ui.first.hidden = !cursor;
  say(ui.status, t(cursor ? 'entriesOlder' : 'entries', { n: page.entries.length }));
}

export async function load() {
  filters = readFilters();
  await show(null);
}

export function init() {
  onSubmit(ui.form, ui.error, load);
  ui.next.addEventListener('click', () => show(nextCursor).catch((error) => say(ui.error, error.message)));
  ui.first.addEventListener('click', () => show(null).catch((error) => say(ui.error, error.message)));
}
