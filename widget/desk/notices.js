/* Notices on the page and announcements for screen readers. */

import { $, h } from '../lib/dom.js';
import { t } from '../lib/i18n.js';

export function notice(text, kind) {
  const item = h('div', 'notice' + (kind ? ' notice-' + kind : ''), null, [h('span', '', text)]);
  const close = h('button', 'notice-close', '×');
  close.type = 'button';
  close.setAttribute('aria-label', t('dismiss'));
  close.addEventListener('click', () => item.remove());
  item.append(close);
  $('notices').append(item);
  setTimeout(() => item.remove(), kind === 'error' ? 12000 : 8000);
}

export function announce(text, urgent) {
  const region = $(urgent ? 'announcer-urgent' : 'announcer');
  region.textContent = '';
  // A separate task, so that the same text twice is announced twice.
  setTimeout(() => { region.textContent = text; }, 30);
}
