/* Not-ready reasons: the list agents choose from when they step away (none: any reason). */

import { $ } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { api } from './api.js';
import { onSubmit, say } from './ui.js';

const ui = { form: $('reasons-form'), text: $('reasons-text'), error: $('reasons-error'), status: $('reasons-status') };

export async function load() {
  // Not editable until the saved list is in: what was typed meanwhile would be overwritten.
  ui.text.disabled = true;
  try {
    const { reasons } = await api('GET', '/api/v1/not-ready-reasons');
    ui.text.value = reasons.join('\n');
  } finally {
    ui.text.disabled = false;
  }
}

export function init() {
  onSubmit(ui.form, ui.error, async () => {
    const reasons = String(ui.text.value).split('\n').map((line) => line.trim()).filter(Boolean);
    const saved = await api('PUT', '/api/v1/not-ready-reasons', { reasons });
    ui.text.value = saved.reasons.join('\n');
    say(ui.status, saved.reasons.length ? t('savedReasons', { n: saved.reasons.length }) : t('savedAnyReason'));
  });
}
