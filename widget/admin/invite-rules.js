/* Invitation rules: a visitor on a matching page for long enough is invited to chat. */

import { formatNumber, t } from '../lib/i18n.js';
import { $, h } from '../lib/dom.js';
import { api } from './api.js';
import { keyedSection } from './resource.js';
import { fieldError } from './ui.js';

const ui = {
  queue: $('rule-queue'), pattern: $('rule-pattern'), seconds: $('rule-seconds'), text: $('rule-text'),
  enabled: $('rule-enabled'), available: $('rule-available'),
};

function queueOptions(queues, chosen) {
  ui.queue.replaceChildren(...queues.map((queue) => {
    const option = h('option', '', `${queue.name} (${queue.id})`);
    option.value = queue.id;
    return option;
  }));
  if (chosen) ui.queue.value = chosen;
}

const section = keyedSection({
  path: '/api/v1/invite-rules',
  listKey: 'invite_rules',
  prefix: 'rule',
  status: 'rules-status',
  table: 'rules-table',
  noun: 'nounRule',
  newTitle: 'newInvitationRule',
  empty: 'noRuleYet',
  cells: (r) => [r.id, r.url_pattern, `${formatNumber(r.seconds_on_page)} s`, r.queue, r.text, r.enabled ? t('yes') : t('no')],
  label: (r) => r.id,
  fill: (r) => {
    ui.queue.value = r.queue;
    ui.pattern.value = r.url_pattern;
    ui.seconds.value = r.seconds_on_page;
    ui.text.value = r.text;
    ui.enabled.checked = r.enabled;
    ui.available.checked = r.only_when_agents_available;
  },
  clear: () => {},
  body: () => {
    if (!ui.queue.value) throw fieldError(ui.queue, 'Create a queue first: a rule invites into one.');
    if (!ui.pattern.value.trim()) throw fieldError(ui.pattern, t('enterThePattern'));
    if (!ui.text.value.trim()) throw fieldError(ui.text, t('enterInvitationText'));
    const seconds = Number(ui.seconds.value);
    if (ui.seconds.value.trim() === '' || !Number.isFinite(seconds)) {
      throw fieldError(ui.seconds, t('secondsMustBeNumber'));
    }
    return {
      queue: ui.queue.value, url_pattern: ui.pattern.value.trim(), seconds_on_page: seconds, text: ui.text.value,
      enabled: ui.enabled.checked, only_when_agents_available: ui.available.checked,
    };
  },
});

export const init = section.init;

export async function load() {
  const [{ queues }] = await Promise.all([api('GET', '/api/v1/queues'), section.load()]);
  queueOptions(queues, ui.queue.value);
}
