/* Canned responses: search, pick, fill in the placeholders. */

import { t } from '../lib/i18n.js';
import { $, h, setText } from '../lib/dom.js';
import { KNOWN_PLACEHOLDERS, PLACEHOLDER, S } from './state.js';
import { writable } from './facts.js';
import { renderComposer } from './conversation-view.js';

function fillPlaceholders(text, values) {
  return text.replace(PLACEHOLDER, (whole, name) => (KNOWN_PLACEHOLDERS.has(name) ? values[name] || '' : whole));
}

function placeholderValues(conv) {
  const c = (conv && conv.card.customer) || {};
  return {
    'customer.name': c.name || '',
    'customer.email': c.email || '',
    'customer.phone': c.phone || '',
    'agent.display_name': (S.me && S.me.display_name) || '',
    'agent.id': (S.me && S.me.id) || '',
    'queue.name': (conv && conv.card.queue && conv.card.queue.name) || '',
  };
}

export function openCanned() {
  const conv = S.active && S.convs.get(S.active);
  if (!writable(conv)) return;
  $('canned-search').value = '';
  $('dlg-canned').showModal();
  $('canned-search').focus();
  searchCanned('');
}

let cannedDebounce = 0;
/** Searches once the agent stops typing for a moment. */
export function searchCannedSoon(q) {
  clearTimeout(cannedDebounce);
  cannedDebounce = setTimeout(() => searchCanned(q), 150);
}

async function searchCanned(q) {
  const seq = ++S.cannedSeq;
  setText($('canned-status'), t('searching'));
  try {
    const response = await fetch('/api/v1/canned-responses?q=' + encodeURIComponent(q), {
      headers: { Authorization: 'Bearer ' + S.token }, cache: 'no-store',
    });
    const body = await response.json().catch(() => ({}));
    if (seq !== S.cannedSeq) return;
    if (!response.ok) throw new Error((body.error && body.error.message) || `HTTP ${response.status}`);
    showCanned(body.canned_responses || []);
  } catch (err) {
    if (seq !== S.cannedSeq) return;
    showCanned([]);
    setText($('canned-status'), t('couldNotLoadCanned', { error: err.message }));
  }
}

function showCanned(items) {
  S.cannedItems = items;
  S.cannedIndex = items.length ? 0 : -1;
  const list = $('canned-list');
  list.replaceChildren(...items.map((item, i) => {
    const li = h('li', 'canned-item', null, [h('span', 'canned-title', item.title), h('span', 'canned-text', item.text)]);
    li.id = 'canned-' + i;
    li.setAttribute('role', 'option');
    li.dataset.index = String(i);
    li.addEventListener('click', () => chooseCanned(i));
    return li;
  }));
  setText($('canned-status'), items.length ? t('cannedFound', { n: items.length }) : t('noCannedFound'));
  highlightCanned();
}

export function highlightCanned() {
  const list = $('canned-list');
  for (const li of list.children) li.setAttribute('aria-selected', String(Number(li.dataset.index) === S.cannedIndex));
  const current = S.cannedIndex >= 0 ? $('canned-' + S.cannedIndex) : null;
  if (current) {
    $('canned-search').setAttribute('aria-activedescendant', current.id);
    current.scrollIntoView({ block: 'nearest' });
  } else {
    $('canned-search').removeAttribute('aria-activedescendant');
  }
}

export function chooseCanned(index) {
  const item = S.cannedItems[index];
  const conv = S.active && S.convs.get(S.active);
  if (!item || !conv) return;
  const filled = fillPlaceholders(item.text, placeholderValues(conv));
  // a response's rich message (quick replies, a card, a list) goes with the next message sent
  if (item.rich) conv.richDraft = item.rich;
  const box = $('composer-text');
  const start = box.selectionStart ?? box.value.length;
  const end = box.selectionEnd ?? box.value.length;
  box.value = box.value.slice(0, start) + filled + box.value.slice(end);
  $('dlg-canned').close();
  box.focus();
  box.setSelectionRange(start + filled.length, start + filled.length);
  renderComposer();
}
