/* The customer's context in the side panel: the chat's details (attributes: pre-chat
 * fields, topic, a bot's variables) and the customer's earlier conversations with their
 * satisfaction, from GET /api/v1/conversations?visitor= (the server lets an agent who
 * serves a customer see them). */

import { $, h } from '../lib/dom.js';
import { formatDate, t } from '../lib/i18n.js';
import { hooks, S } from './state.js';
import { timeOfDay } from './format.js';

const EARLIER_LIMIT = 10;
const FRESH_MS = 60_000; // a customer's list is asked for again after this

const lists = new Map(); // visitor id -> {at, cards | null (loading), failed}

export function renderCustomerContext(conv) {
  renderAttributes(conv.card.attributes || {});
  renderEarlier(conv);
}

function renderAttributes(attributes) {
  const names = Object.keys(attributes).sort();
  $('attributes-head').hidden = !names.length;
  $('attributes').replaceChildren(...names.flatMap((name) => [h('dt', '', name), h('dd', '', attributes[name])]));
}

function renderEarlier(conv) {
  const visitor = conv.card.visitor_id;
  const box = $('earlier');
  if (!visitor) {
    box.replaceChildren(h('li', 'muted small', t('notKnownForChat')));
    return;
  }
  const known = lists.get(visitor);
  if (!known || (known.cards && Date.now() - known.at > FRESH_MS)) {
    load(visitor);
  }
  const shown = lists.get(visitor);
  if (!shown.cards) {
    box.replaceChildren(h('li', 'muted small', shown.failed ? t('couldNotLoadThem') : t('loading')));
    return;
  }
  const earlier = shown.cards.filter((card) => card.conversation_id !== conv.id);
  if (!earlier.length) {
    box.replaceChildren(h('li', 'muted small', t('noneFirstContact')));
    return;
  }
  box.replaceChildren(...earlier.map((card) => {
    const when = new Date(card.ended_at || card.queued_at);
    const satisfaction = card.csat ? ` · ${card.csat.rating}/5` : '';
    const button = h('button', 'search-hit earlier-hit', null, [
      h('span', 'search-hit-head', `${formatDate(when.getTime())} ${timeOfDay(when.getTime())}${satisfaction}`),
      h('span', 'search-hit-text', `${card.queue ? card.queue.name : ''} · ${card.status_label}`),
    ]);
    button.type = 'button';
    if (card.csat) button.setAttribute('aria-description', t('satisfactionOf5', { n: card.csat.rating }));
    button.addEventListener('click', () => hooks.openEarlier(card.conversation_id));
    return h('li', '', null, [button]);
  }));
}

async function load(visitor) {
  const previous = lists.get(visitor);
  lists.set(visitor, { at: Date.now(), cards: previous ? previous.cards : null, failed: false });
  let cards = null;
  try {
    const query = `visitor=${encodeURIComponent(visitor)}&limit=${EARLIER_LIMIT + 1}`;
    const response = await fetch(`/api/v1/conversations?${query}`, {
      headers: { Authorization: 'Bearer ' + S.token }, cache: 'no-store',
    });
    if (response.ok) cards = (await response.json()).conversations || [];
  } catch (err) {
    cards = null;
  }
  lists.set(visitor, { at: Date.now(), cards: cards || (previous && previous.cards) || null, failed: !cards });
  const active = S.active && S.convs.get(S.active);
  if (active && active.card.visitor_id === visitor) renderEarlier(active);
}
