/* Canned responses: the texts agents insert (placeholders such as {{customer.name}} filled in),
 * each with an optional rich message (quick replies, a card, a list) the desk sends with it. */

import { t } from '../lib/i18n.js';
import { $ } from '../lib/dom.js';
import { keyedSection } from './resource.js';
import { fieldError } from './ui.js';

const ui = { title: $('canned-title-field'), text: $('canned-text'), rich: $('canned-rich') };
const PREVIEW = 120;

/** The rich message field as the body's `rich` (the server checks its shape), or nothing when empty. */
function richField() {
  const raw = ui.rich.value.trim();
  if (!raw) return {};
  try {
    return { rich: JSON.parse(raw) };
  } catch (error) {
    throw fieldError(ui.rich, t('badRichJson', { error: error.message }));
  }
}

export const { init, load } = keyedSection({
  path: '/api/v1/canned-responses',
  listKey: 'canned_responses',
  prefix: 'canned',
  status: 'canned-status',
  table: 'canned-table',
  noun: 'nounCanned',
  newTitle: 'newCannedResponse',
  empty: 'noCannedYet',
  cells: (c) => [c.id, c.title, c.text.length > PREVIEW ? c.text.slice(0, PREVIEW) + '…' : c.text],
  label: (c) => c.title,
  fill: (c) => {
    ui.title.value = c.title;
    ui.text.value = c.text;
    ui.rich.value = c.rich ? JSON.stringify(c.rich, null, 2) : '';
  },
  clear: () => {},
  body: () => {
    if (!ui.title.value.trim()) throw fieldError(ui.title, t('enterTheTitle'));
    if (!ui.text.value.trim()) throw fieldError(ui.text, t('enterTheText'));
    return { title: ui.title.value.trim(), text: ui.text.value, ...richField() };
  },
});
