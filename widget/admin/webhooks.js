/* Webhooks: where lifecycle events are posted. Each shows how its deliveries went (delivered,
 * failed, pending, dead letters, the last status or error); its dead letters can be read and
 * replayed, beside its recent delivery attempts. The signing secret is shown once, when the webhook is created. */

import { t } from '../lib/i18n.js';
import { $, h, setText } from '../lib/dom.js';
import { api, seg } from './api.js';
import { act, actions, button, copyButton, fieldError, fillTable, joined, listOf, onSubmit, row, say, when }
  from './ui.js';

const ui = {
  status: $('webhooks-status'), table: $('webhooks-table'), form: $('webhook-form'), error: $('webhook-error'),
  url: $('webhook-url'), events: $('webhook-events'), description: $('webhook-description'),
  secret: $('webhook-secret'), secretValue: $('webhook-secret-value'), secretCopy: $('webhook-secret-copy'),
  dead: $('dead-letters'), deadTitle: $('dead-title'), deadList: $('dead-list'), replay: $('dead-replay'),
  recentList: $('recent-list'),
  deadClose: $('dead-close'),
};
let shownHook = null;

function deliveries(hook) {
  return t('deliveryCounts', { delivered: hook.delivered, failed: hook.failed, pending: hook.pending, dead: hook.dead });
}

function lastDelivery(hook) {
  if (hook.last_error) {
    return t('lastError', { status: String(hook.last_status ?? ''), when: when(hook.last_error_at), error: hook.last_error });
  }
  if (hook.last_delivered_at) return t('deliveredAt', { when: when(hook.last_delivered_at), status: String(hook.last_status ?? 'ok') });
  return t('nothingYet');
}

async function showDeadLetters(hook) {
  const { dead_letters: letters } = await api('GET', `/api/v1/webhooks/${seg(hook.id)}/dead-letters`);
  shownHook = hook;
  setText(ui.deadTitle, t('deadLettersOf', { url: hook.url }));
  ui.deadList.replaceChildren(...(letters.length ? letters.map((letter) => h('li', '', '', [
    h('strong', '', String((letter.event && letter.event.type) || 'event')),
    h('span', 'muted', ' ' + t('failedAfterAttempts', { when: when(letter.failed_at), n: letter.attempts ?? '?' }) + ' '),
    h('span', '', letter.last_error || t('statusCode', { status: String(letter.last_status) })),
  ])) : [h('li', 'muted', t('noDeadLetter'))]));
  ui.replay.disabled = !letters.length;
  const { deliveries: attempts } = await api('GET', `/api/v1/webhooks/${seg(hook.id)}/deliveries`);
  ui.recentList.replaceChildren(...(attempts.length ? attempts.map((attempt) => h('li', '', '', [
    h('strong', '', attempt.event || 'event'),
    h('span', 'muted', ' ' + t('attemptAt', { when: when(attempt.at), n: attempt.attempt }) + ' '),
    h('span', '', attempt.outcome === 'delivered' ? t('deliveredStatus', { status: String(attempt.status) })
      : `${attempt.outcome === 'dead' ? t('failedForGood') : t('failedTriedAgain')}: ${attempt.error || attempt.status}`),
  ])) : [h('li', 'muted', t('noDeliveryYet'))]));
  ui.dead.hidden = false;
  ui.deadTitle.focus();
}

function hookRow(hook) {
  return row([
    hook.url, hook.events.length ? joined(hook.events) : t('all'), deliveries(hook), lastDelivery(hook),
    actions([
      button(t('deadLetters'), () => act(ui.status, '', () => showDeadLetters(hook)), 'btn btn-small',
        t('deadLettersOf', { url: hook.url })),
      button(t('delete'), () => act(ui.status, t('deleteWebhookAsk', { url: hook.url }), async () => {
        await api('DELETE', `/api/v1/webhooks/${seg(hook.id)}`);
        say(ui.status, t('webhookDeleted', { url: hook.url }));
        if (shownHook && shownHook.id === hook.id) ui.dead.hidden = true;
        await load();
      }), 'btn btn-small btn-danger', t('deleteWebhookNamed', { url: hook.url })),
    ]),
  ]);
}

export async function load() {
  const { webhooks } = await api('GET', '/api/v1/webhooks');
  fillTable(ui.table, webhooks.map(hookRow), t('noWebhookYet'));
}

async function create() {
  const url = ui.url.value.trim();
  if (!url) throw fieldError(ui.url, t('enterWebhookUrl'));
  const body = { url };
  const events = listOf(ui.events.value);
  if (events.length) body.events = events;
  if (ui.description.value.trim()) body.description = ui.description.value.trim();
  const made = await api('POST', '/api/v1/webhooks', body);
  ui.secretValue.value = made.secret;
  ui.secret.hidden = false;
  ui.form.reset();
  say(ui.status, t('webhookCreated', { url: made.url }));
  await load();
}

async function replay() {
  const hook = shownHook;
  const { replayed } = await api('POST', `/api/v1/webhooks/${seg(hook.id)}/dead-letters/replay`);
  say(ui.status, t('replayed', { n: replayed, url: hook.url }));
  await showDeadLetters(hook);
  await load();
}

export function init() {
  onSubmit(ui.form, ui.error, create);
  copyButton(ui.secretCopy, ui.secretValue, ui.status);
  ui.replay.addEventListener('click', () => act(ui.status, '', replay));
  ui.deadClose.addEventListener('click', () => { ui.dead.hidden = true; shownHook = null; });
}
