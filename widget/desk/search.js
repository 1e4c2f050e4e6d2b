/* Transcript search over this agent's shift. */

import { $, h } from '../lib/dom.js';
import { formatDate, t } from '../lib/i18n.js';
import { statusLabel } from '../lib/labels.js';
import { CLOSED_KEPT, S } from './state.js';
import { customerName, timeOfDay } from './format.js';
import { notice } from './notices.js';
import { addEvent, newConversation } from './conversations.js';
import { activate, renderAll } from './chat-list.js';

export function searchTranscripts(q) {
  const results = $('search-results');
  const words = q.toLocaleLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) { results.replaceChildren(); return; }
  const found = [];
  for (const cid of [...S.order, ...S.closed]) {
    const conv = S.convs.get(cid);
    const name = customerName(conv.card.customer);
    for (const [seq, ev] of [...conv.events].sort((a, b) => a[0] - b[0])) {
      if ((ev.type !== 'message' && ev.type !== 'note') || typeof ev.text !== 'string') continue;
      const hay = (ev.text + ' ' + name).toLocaleLowerCase();
      if (words.every((w) => hay.includes(w))) found.push({ conv, seq, ev, name });
    }
  }
  const mine = ++S.searchRun;
  searchEarlier(q, mine);
  if (!found.length) {
    results.replaceChildren(h('li', 'muted small', t('nothingFoundInShift')));
    return;
  }
  results.replaceChildren(...found.slice(0, 30).map(({ conv, seq, ev, name }) => {
    const text = ev.text.length > 80 ? ev.text.slice(0, 80) + '…' : ev.text;
    const button = h('button', 'search-hit', null, [
      h('span', 'search-hit-head', `${name} · ${timeOfDay(ev.ts)}${conv.open ? '' : ' · closed'}`),
      h('span', 'search-hit-text', text),
    ]);
    button.type = 'button';
    button.addEventListener('click', () => {
      activate(conv.id);
      const node = conv.nodes.get(seq);
      if (node) {
        node.scrollIntoView({ block: 'center' });
        node.classList.remove('flash');
        void node.offsetWidth;
        node.classList.add('flash');
      }
    });
    return h('li', '', null, [button]);
  }));
}

/** The server's search among every conversation this agent took part in: those
 * not on this desk any more are listed under "Earlier conversations". */
async function searchEarlier(q, run) {
  let cards = [];
  try {
    const response = await fetch('/api/v1/conversations?limit=20&q=' + encodeURIComponent(q), {
      headers: { Authorization: 'Bearer ' + S.token }, cache: 'no-store',
    });
    if (!response.ok) return;
    cards = (await response.json()).conversations || [];
  } catch (err) {
    return;  // the shift's own results are still there
  }
  if (run !== S.searchRun) return;  // a newer search started meanwhile
  const earlier = cards.filter((card) => !S.convs.has(card.conversation_id));
  if (!earlier.length) return;
  const results = $('search-results');
  results.append(h('li', 'search-group muted small', t('earlierConversations')), ...earlier.map((card) => {
    const when = new Date(card.ended_at || card.queued_at);
    const button = h('button', 'search-hit search-earlier', null, [
      h('span', 'search-hit-head', `${customerName(card.customer)} · ${formatDate(when.getTime())} ${timeOfDay(when.getTime())}`),
      h('span', 'search-hit-text', `${card.queue ? card.queue.name : ''} · ${statusLabel(card.status_label)}`),
    ]);
    button.type = 'button';
    button.addEventListener('click', () => openEarlier(card.conversation_id));
    return h('li', '', null, [button]);
  }));
}

/** Loads a past conversation's transcript (read only) into "Closed this shift". */
export async function openEarlier(cid) {
  if (S.convs.has(cid)) { activate(cid); return; }
  let body;
  try {
    const response = await fetch(`/api/v1/conversations/${encodeURIComponent(cid)}`, {
      headers: { Authorization: 'Bearer ' + S.token }, cache: 'no-store',
    });
    body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error((body.error && body.error.message) || `HTTP ${response.status}`);
  } catch (err) {
    notice(t('couldNotOpen', { error: err.message }), 'error');
    return;
  }
  const conv = newConversation(body.card);
  conv.open = false;
  S.convs.set(cid, conv);
  const entries = [...(body.messages || []), ...(body.notes || []), ...(body.events || [])];
  for (const event of entries.sort((a, b) => a.seq - b.seq)) addEvent(conv, event, { live: false });
  conv.card = body.card;  // the stored card is the truth, whatever the replay inferred
  conv.closedLabel = `${t('earlier')} · ${statusLabel(body.card.status_label)}`;
  S.closed = [cid, ...S.closed.filter((c) => c !== cid)];
  for (const dropped of S.closed.splice(CLOSED_KEPT)) S.convs.delete(dropped);
  activate(cid);
  renderAll();
}
