/* The live session cards and the recently closed ones. */

import { t } from '../lib/i18n.js';
import { statusLabel } from '../lib/labels.js';
import { chatIcon, h } from '../lib/dom.js';
import { isolate } from '../lib/text.js';
import { customerName } from './names.js';
import { RECENT_MAX, state, ui } from './state.js';
import { clock, ticker } from './time.js';
import { figure, refreshFilter } from './stats.js';
import { helpFromCard, renderHelp } from './help.js';
import { monitor, renderMonitorMeta } from './monitor.js';

/** A queue of this supervisor's profile (the stats follow a changed profile). */
function ownQueue(id) {
  return ((state.profile && state.profile.queues) || []).indexOf(id) >= 0 ||
    state.queues.some((q) => q.id === id);
}

export function onCard(card) {
  if (!card || !card.session_id) return;
  if (state.unconfirmed) state.unconfirmed.delete(card.session_id);
  if (card.conversation_id === state.monitored) renderMonitorMeta(card);
  if (!card.queue || !ownQueue(card.queue.id)) {
    // Transferred to another queue (the last card this view gets of it), or a help
    // request of a foreign queue: nothing would ever take it off the list.
    state.cards.delete(card.session_id);
    state.helps = state.helps.filter((item) => item.frame.session_id !== card.session_id);
    scheduleDraw();
    return;
  }
  state.cards.set(card.session_id, card);
  if (card.queue && card.queue.id && !state.queueNames[card.queue.id]) {
    state.queueNames[card.queue.id] = card.queue.name || card.queue.id;
    refreshFilter();
  }
  helpFromCard(card);
  scheduleDraw();
}

/** Many cards come at once when the view joins: draw once per frame. */
export function scheduleDraw() {
  if (state.drawPending) return;
  state.drawPending = true;
  requestAnimationFrame(() => {
    state.drawPending = false;
    renderCards();
    renderHelp();
  });
}

function cardNode(card, recent) {
  const li = h('li', 'card');
  li.dataset.session = card.session_id;
  li.dataset.conversation = card.conversation_id;
  li.dataset.color = card.color || 'blue';
  li.dataset.status = card.status || '';
  const head = h('div', 'card-head');
  const title = h('span', 'card-title');
  if ((card.icon || 'chat') === 'chat') title.appendChild(chatIcon());
  title.appendChild(h('span', null, card.title || t('chat')));
  head.appendChild(title);
  head.appendChild(h('span', 'status', statusLabel(card.status_label) || card.status));
  li.appendChild(head);
  li.appendChild(h('p', 'customer', customerName(card)));
  const meta = h('dl', 'card-meta');
  meta.appendChild(figure(t('queue'), (card.queue && (card.queue.name || card.queue.id)) || '–'));
  const agents = (card.agents || []).map((a) => isolate(a.display_name || a.id)).join(', ');
  meta.appendChild(figure(t('agents'), agents || '–', 'agents-list'));
  const open = !card.ended_at && card.status !== 'closed';
  const duration = open && typeof card.queued_at === 'number'
    ? ticker('duration', card.queued_at) : h('span', 'duration', clock((card.duration_s || 0) * 1000));
  meta.appendChild(figure(t('duration'), duration));
  li.appendChild(meta);
  if (!recent) {
    const button = h('button', 'monitor-btn', t('monitor'));
    button.type = 'button';
    button.setAttribute('aria-label', t('monitorCustomer', { name: customerName(card), status: statusLabel(card.status_label) || card.status }));
    if (card.conversation_id === state.monitored) {
      button.disabled = true;
      button.textContent = t('monitoring');
      button.setAttribute('aria-label', t('monitoringCustomer', { name: customerName(card) }));
    }
    button.addEventListener('click', () => { monitor(card.conversation_id); });
    li.appendChild(button);
  }
  return li;
}

export function renderCards() {
  const filter = ui.filter.value;
  const all = Array.from(state.cards.values());
  const visible = all.filter((c) => !filter || (c.queue && c.queue.id === filter));
  const live = visible.filter((c) => c.status !== 'closed')
    .sort((a, b) => (a.queued_at || 0) - (b.queued_at || 0));
  const closed = visible.filter((c) => c.status === 'closed')
    .sort((a, b) => (b.ended_at || 0) - (a.ended_at || 0));
  // forget old closed cards
  const allClosed = all.filter((c) => c.status === 'closed')
    .sort((a, b) => (b.ended_at || 0) - (a.ended_at || 0));
  allClosed.slice(RECENT_MAX).forEach((c) => { state.cards.delete(c.session_id); });
  const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest('.card');
  const focusSession = focused ? focused.dataset.session : null;
  ui.cards.replaceChildren();
  ui.recent.replaceChildren();
  live.forEach((c) => { ui.cards.appendChild(cardNode(c, false)); });
  closed.slice(0, RECENT_MAX).forEach((c) => { ui.recent.appendChild(cardNode(c, true)); });
  ui.cardsCount.textContent = String(live.length);
  ui.cardsEmpty.hidden = live.length > 0;
  if (focusSession) {
    const again = ui.cards.querySelector('.card[data-session="' + CSS.escape(focusSession) + '"] button');
    if (again && !again.disabled) again.focus();
  }
}
