/* Webhooks: where lifecycle events are posted. Each shows how its deliveries went (delivered,
 * failed, pending, dead letters, the last status or error); its dead letters can be read and
 * replayed, beside its recent delivery attempts. The signing secret is shown once, when the webhook is created. */

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
  return `${hook.delivered} delivered, ${hook.failed} failed, ${hook.pending} pending, ${hook.dead} dead letters`;
}

function lastDelivery(hook) {
  if (hook.last_error) return `Error ${hook.last_status ?? ''} at ${when(hook.last_error_at)}: ${hook.last_error}`;
  if (hook.last_delivered_at) return `Delivered at ${when(hook.last_delivered_at)} (${hook.last_status ?? 'ok'})`;
  return 'Nothing yet';
}

async function showDeadLetters(hook) {
  const { dead_letters: letters } = await api('GET', `/api/v1/webhooks/${seg(hook.id)}/dead-letters`);
  shownHook = hook;
  setText(ui.deadTitle, `Dead letters of ${hook.url}`);
  ui.deadList.replaceChildren(...(letters.length ? letters.map((letter) => h('li', '', '', [
    h('strong', '', String((letter.event && letter.event.type) || 'event')),
    h('span', 'muted', ` failed ${when(letter.failed_at)} after ${letter.attempts ?? '?'} attempts: `),
    h('span', '', letter.last_error || `status ${letter.last_status}`),
  ])) : [h('li', 'muted', 'No dead letter.')]));
  ui.replay.disabled = !letters.length;
  const { deliveries: attempts } = await api('GET', `/api/v1/webhooks/${seg(hook.id)}/deliveries`);
  ui.recentList.replaceChildren(...(attempts.length ? attempts.map((attempt) => h('li', '', '', [
    h('strong', '', attempt.event || 'event'),
    h('span', 'muted', ` ${when(attempt.at)}, attempt ${attempt.attempt}: `),
    h('span', '', attempt.outcome === 'delivered' ? `delivered (${attempt.status})`
      : `${attempt.outcome === 'dead' ? 'failed for good' : 'failed, tried again'}: ${attempt.error || attempt.status}`),
  ])) : [h('li', 'muted', 'No delivery yet.')]));
  ui.dead.hidden = false;
  ui.deadTitle.focus();
}

function hookRow(hook) {
  return row([
    hook.url, hook.events.length ? joined(hook.events) : 'All', deliveries(hook), lastDelivery(hook),
    actions([
      button('Dead letters', () => act(ui.status, '', () => showDeadLetters(hook)), 'btn btn-small',
        `Dead letters of ${hook.url}`),
      button('Delete', () => act(ui.status, `Delete the webhook to ${hook.url}?`, async () => {
        await api('DELETE', `/api/v1/webhooks/${seg(hook.id)}`);
        say(ui.status, `The webhook to ${hook.url} is deleted.`);
        if (shownHook && shownHook.id === hook.id) ui.dead.hidden = true;
        await load();
      }), 'btn btn-small btn-danger', `Delete the webhook to ${hook.url}`),
    ]),
  ]);
}

export async function load() {
  const { webhooks } = await api('GET', '/api/v1/webhooks');
  fillTable(ui.table, webhooks.map(hookRow), 'No webhook yet.');
}

async function create() {
  const url = ui.url.value.trim();
  if (!url) throw fieldError(ui.url, 'Enter the address the events are posted to.');
  const body = { url };
  const events = listOf(ui.events.value);
  if (events.length) body.events = events;
  if (ui.description.value.trim()) body.description = ui.description.value.trim();
  const made = await api('POST', '/api/v1/webhooks', body);
  ui.secretValue.value = made.secret;
  ui.secret.hidden = false;
  ui.form.reset();
  say(ui.status, `The webhook to ${made.url} is created; copy its signing secret now.`);
  await load();
}

async function replay() {
  const hook = shownHook;
  const { replayed } = await api('POST', `/api/v1/webhooks/${seg(hook.id)}/dead-letters/replay`);
  say(ui.status, `${replayed} dead letters of ${hook.url} are queued for delivery again.`);
  await showDeadLetters(hook);
  await load();
}

export function init() {
  onSubmit(ui.form, ui.error, create);
  copyButton(ui.secretCopy, ui.secretValue, ui.status);
  ui.replay.addEventListener('click', () => act(ui.status, '', replay));
  ui.deadClose.addEventListener('click', () => { ui.dead.hidden = true; shownHook = null; });
}
