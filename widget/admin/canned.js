/* Canned responses: the texts agents insert (placeholders such as {{customer.name}} filled in). */

import { t } from '../lib/i18n.js';
import { $ } from '../lib/dom.js';
import { keyedSection } from './resource.js';
import { fieldError } from './ui.js';

const ui = { title: $('canned-title-field'), text: $('canned-text') };
const PREVIEW = 120;

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
  fill: (c) => { ui.title.value = c.title; ui.text.value = c.text; },
  clear: () => {},
  body: () => {
    if (!ui.title.value.trim()) throw fieldError(ui.title, t('enterTheTitle'));
    if (!ui.text.value.trim()) throw fieldError(ui.text, t('enterTheText'));
    return { title: ui.title.value.trim(), text: ui.text.value };
  },
});
