/* API keys for automation: created with a name and a scope, the key shown this once (only its
 * hash is kept), listed, revoked. */

import { labels, t } from '../lib/i18n.js';
import { $ } from '../lib/dom.js';
import { api, seg } from './api.js';
import { act, actions, button, copyButton, fieldError, fillTable, onSubmit, row, say, when } from './ui.js';

const ui = {
  status: $('keys-status'), table: $('keys-table'), form: $('key-form'), error: $('key-error'), name: $('key-name'),
  scope: $('key-scope'), shown: $('key-shown'), value: $('key-value'), copy: $('key-copy'),
};
const SCOPES = labels({ admin: 'admin', read: 'readOnly' });

function keyRow(key) {
  const revoked = Boolean(key.revoked_at);
  return row([
    key.name, SCOPES[key.scope] || key.scope, when(key.created_at), key.created_by,
    revoked ? t('revokedAt', { when: when(key.revoked_at) }) : actions([
      button(t('revoke'), () => act(ui.status, t('revokeKeyAsk', { name: key.name }), async () => {
        await api('DELETE', `/api/v1/api-keys/${seg(key.id)}`);
        say(ui.status, t('keyRevoked', { name: key.name }));
        await load();
      }), 'btn btn-small btn-danger', t('revokeKeyNamed', { name: key.name })),
    ]),
  ]);
}

export async function load() {
  const { api_keys: keys } = await api('GET', '/api/v1/api-keys');
  fillTable(ui.table, keys.map(keyRow), t('noApiKeyYet'));
}

async function create() {
  const name = ui.name.value.trim();
  if (!name) throw fieldError(ui.name, t('enterKeyName'));
  const made = await api('POST', '/api/v1/api-keys', { name, scope: ui.scope.value });
  ui.value.value = made.key;
  ui.shown.hidden = false;
  ui.form.reset();
  say(ui.status, t('keyCreated', { name: made.name }));
  await load();
  ui.value.focus();
}

export function init() {
  onSubmit(ui.form, ui.error, create);
  copyButton(ui.copy, ui.value, ui.status);
}
