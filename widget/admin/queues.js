/* Queues: the common settings in a form, everything else a queue has (routing steps, business
 * hours and closed dates, wrap-up rules, overflow, timeouts, and whatever the server adds) in a
 * JSON editor beside it. `PUT /api/v1/queues/{id}` checks the whole; its refusal is shown next
 * to the form, and nothing typed is lost. */

import { formatNumber, t } from '../lib/i18n.js';
import { $ } from '../lib/dom.js';
import { keyedSection } from './resource.js';
import { fieldError, joined, listOf } from './ui.js';

const ui = {
  name: $('queue-name'), languages: $('queue-languages'), skills: $('queue-skills'), priority: $('queue-priority'),
  accept: $('queue-accept'), offer: $('queue-offer'), retention: $('queue-retention'), origins: $('queue-origins'),
  codes: $('queue-codes'), more: $('queue-more'),
};
// What the form itself edits, and what a queue's view shows but is not configuration.
const IN_FORM = ['name', 'languages', 'skills', 'priority', 'accept_mode', 'offer_timeout_s', 'retention_days',
  'allowed_origins', 'wrap_up_codes'];
const LIVE = ['id', 'waiting', 'longest_wait_ms', 'agents_available'];

/** "resolved: Resolved" lines -> wrap-up codes; a line without a colon is its own label. */
function codesOf(text) {
  return String(text).split('\n').map((line) => line.trim()).filter(Boolean).map((line) => {
    const at = line.indexOf(':');
    return at < 0 ? { code: line, label: line } : { code: line.slice(0, at).trim(), label: line.slice(at + 1).trim() };
  });
}

function rest(queue) {
  const others = {};
  for (const [name, value] of Object.entries(queue)) {
    if (!IN_FORM.includes(name) && !LIVE.includes(name)) others[name] = value;
  }
  return others;
}

function fill(queue) {
  ui.name.value = queue.name;
  ui.languages.value = joined(queue.languages);
  ui.skills.value = joined(queue.skills);
  ui.priority.value = queue.priority;
  ui.accept.value = queue.accept_mode;
  ui.offer.value = queue.offer_timeout_s;
  ui.retention.value = queue.retention_days ?? '';
  ui.origins.value = joined(queue.allowed_origins);
  ui.codes.value = (queue.wrap_up_codes || []).map((c) => `${c.code}: ${c.label}`).join('\n');
  ui.more.value = JSON.stringify(rest(queue), null, 2);
}

function number(field, what) {
  const value = Number(field.value);
  if (field.value.trim() === '' || !Number.isFinite(value)) throw fieldError(field, t('mustBeNumber', { what: t(what) }));
  return value;
}

function body() {
  if (!ui.name.value.trim()) throw fieldError(ui.name, t('enterTheName'));
  let more;
  try {
    more = JSON.parse(ui.more.value.trim() || '{}');
  } catch (error) {
    throw fieldError(ui.more, t('badMoreJson', { error: error.message }));
  }
  if (!more || typeof more !== 'object' || Array.isArray(more)) {
    throw fieldError(ui.more, '"More settings" must be a JSON object ({ ... }).');
  }
  const origins = listOf(ui.origins.value);
  const codes = codesOf(ui.codes.value);
  const config = {
    ...more,
    name: ui.name.value.trim(),
    languages: listOf(ui.languages.value),
    skills: listOf(ui.skills.value),
    priority: number(ui.priority, 'fieldPriority'),
    accept_mode: ui.accept.value,
    offer_timeout_s: number(ui.offer, 'fieldOfferTimeout'),
    allowed_origins: origins.length ? origins : null,
    retention_days: ui.retention.value.trim() === '' ? null : number(ui.retention, 'fieldRetention'),
  };
  if (codes.length) config.wrap_up_codes = codes;
  return config;
}

export const { init, load } = keyedSection({
  path: '/api/v1/queues',
  listKey: 'queues',
  prefix: 'queue',
  status: 'queues-status',
  table: 'queues-table',
  noun: 'nounQueue',
  newTitle: 'newQueue',
  empty: 'noQueueYetCreate',
  cells: (q) => [q.id, q.name, joined(q.languages), formatNumber(q.waiting), formatNumber(q.agents_available)],
  label: (q) => q.name,
  fill,
  clear: () => { ui.more.value = '{}'; },
  body,
});
