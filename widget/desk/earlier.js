/* The customer's context in the side panel: the chat's details (attributes: pre-chat
 * fields, topic, a bot's variables) and the customer's earlier conversations with their
 * satisfaction, from GET /api/v1/conversations?visitor= and, once the customer's email is
 * verified, ?email= (the same customer on another device; the server lets an agent who
 * serves a customer see them). */

import { $, h } from '../lib/dom.js';
import { formatDate, t } from '../lib/i18n.js';
import { statusLabel } from '../lib/labels.js';
import { hooks, S } from './state.js';
import { timeOfDay } from './format.js';

const EARLIER_LIMIT = 10;
const FRESH_MS = 60_000; // a customer's list is asked for again after this

const lists = new Map(); // customerKey(card) -> {at, cards | null (loading), failed}

/** Which filters find this customer's conversations: its visitor, and its email once verified. */
function customerQueries(card) {
  const queries = [];
  if (card.visitor_id) queries.push('visitor=' + encodeURIComponent(card.visitor_id));
  const customer = card.customer || {};
  if (customer.verified && customer.email) queries.push('email=' + encodeURIComponent(customer.email));
  return queries;
}

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
  const queries = customerQueries(conv.card);
  const box = $('earlier');
  if (!queries.length) {
    box.replaceChildren(h('li', 'muted small', t('notKnownForChat')));
    return;
  }
  const key = queries.join('&');
  const known = lists.get(key);
  if (!known || (known.cards && Date.now() - known.at > FRESH_MS)) {
    load(key, queries);
  }
  const shown = lists.get(key);
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
      h('span', 'search-hit-text', `${card.queue ? card.queue.name : ''} · ${statusLabel(card.status_label)}`),
    ]);
    button.type = 'button';
    if (card.csat) button.setAttribute('aria-description', t('satisfactionOf5', { n: card.csat.rating }));
    button.addEventListener('click', () => hooks.openEarlier(card.conversation_id));
    return h('li', '', null, [button]);
  }));
}

async function fetchCards(query) {
  const response = await fetch(`/api/v1/conversations?${query}&limit=${EARLIER_LIMIT + 1}`, {
    headers: { Authorization: 'Bearer ' + S.token }, cache: 'no-store',
  });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return (await response.json()).conversations || [];
}

/** Each filter's conversations, one list (newest first, each conversation once). */
async function load(key, queries) {
  const previous = lists.get(key);
  lists.set(key, { at: Date.now(), cards: previous ? previous.cards : null, failed: false });
  let cards = null;
  try {
    const byId = new Map();
    for (const found of await Promise.all(queries.map(fetchCards))) {
      for (const card of found) byId.set(card.conversation_id, card);
    }
    const when = (card) => card.ended_at || card.queued_at;
    cards = [...byId.values()].sort((a, b) => when(b) - when(a)).slice(0, EARLIER_LIMIT + 1);
  } catch (err) {
    cards = null;
  }
  lists.set(key, { at: Date.now(), cards: cards || (previous && previous.cards) || null, failed: !cards });
  const active = S.active && S.convs.get(S.active);
  if (active && customerQueries(active.card).join('&') === key) renderEarlier(active);
}
