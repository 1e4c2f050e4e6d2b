/* API keys for automation: created with a name and a scope, the key shown this once (only its
 * hash is kept), listed, revoked. */

import { $ } from '../lib/dom.js';
import { api, seg } from './api.js';
import { act, actions, button, copyButton, fieldError, fillTable, onSubmit, row, say, when } from './ui.js';

const ui = {
  status: $('keys-status'), table: $('keys-table'), form: $('key-form'), error: $('key-error'), name: $('key-name'),
  scope: $('key-scope'), shown: $('key-shown'), value: $('key-value'), copy: $('key-copy'),
};
const SCOPES = { admin: 'Admin', read: 'Read only' };

function keyRow(key) {
  const revoked = Boolean(key.revoked_at);
  return row([
    key.name, SCOPES[key.scope] || key.scope, when(key.created_at), key.created_by,
    revoked ? `Revoked ${when(key.revoked_at)}` : actions([
      button('Revoke', () => act(ui.status, `Revoke the key ${key.name}? Whatever uses it stops working.`, async () => {
        await api('DELETE', `/api/v1/api-keys/${seg(key.id)}`);
        say(ui.status, `The key ${key.name} is revoked.`);
        await load();
      }), 'btn btn-small btn-danger', `Revoke the key ${key.name}`),
    ]),
  ]);
}

export async function load() {
  const { api_keys: keys } = await api('GET', '/api/v1/api-keys');
  fillTable(ui.table, keys.map(keyRow), 'No API key yet.');
}

async function create() {
  const name = ui.name.value.trim();
  if (!name) throw fieldError(ui.name, 'Enter a name that says what the key is for.');
  const made = await api('POST', '/api/v1/api-keys', { name, scope: ui.scope.value });
  ui.value.value = made.key;
  ui.shown.hidden = false;
  ui.form.reset();
  say(ui.status, `The key ${made.name} is created: copy it now, it is not shown again.`);
  await load();
  ui.value.focus();
}

export function init() {
  onSubmit(ui.form, ui.error, create);
  copyButton(ui.copy, ui.value, ui.status);
}
