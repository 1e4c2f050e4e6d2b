/* Frames from the server: dispatch, the welcome, the history replay. */

import { $ } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { SUBPROTOCOL, agentSocketUrl } from '../lib/socket.js';
import { S } from './state.js';
import { agentName } from './facts.js';
import { socket } from './connection.js';
import { customerName, sampleClock } from './format.js';
import { notice } from './notices.js';
import { loadNotReadyReasons, setAgentState } from './agent-state.js';
import { addOffer, removeOffer, revokeOffer } from './offers.js';
import {
  addEvent, closeConversation, holdEarly, localLine, onAssigned, onCard, onClosed, onFailed, onRead,
  onTyping, redactEvent, upsertConversation
} from './conversations.js';
import { activate, renderAll } from './chat-list.js';
import { deliver } from './composer.js';

export function handle(frame) {
  if ((frame.type === 'ack' || frame.type === 'error') && frame.ref && S.pending.has(frame.ref)) {
    const waiter = S.pending.get(frame.ref);
    S.pending.delete(frame.ref);
    clearTimeout(waiter.timer);
    if (frame.type === 'ack') waiter.resolve(frame);
    else waiter.reject(Object.assign(new Error(frame.message || frame.code), { code: frame.code }));
    return;
  }
  switch (frame.type) {
    case 'welcome': return onWelcome(frame);
    case 'error': return notice(frame.message || frame.code, 'error');
    case 'agent.state': sampleClock(frame.since); return setAgentState(frame);
    case 'offer': sampleClock(frame.offered_at); return addOffer(frame, true);
    case 'offer.revoked': return revokeOffer(frame);
    case 'conversation.assigned': return onAssigned(frame);
    case 'conversation.closed': return onClosed(frame);
    case 'card': return onCard(frame);
    case 'typing': return onTyping(frame);
    case 'read': return onRead(frame);
    case 'transfer.failed':
    case 'conference.failed': return onFailed(frame);
    case 'conference.requested': {
      const conv = S.convs.get(frame.conversation_id);
      if (conv) localLine(conv, t('invitationSentTo', { name: agentName(frame.agent) }));
      return;
    }
    case 'message.redacted': {
      const conv = S.convs.get(frame.conversation_id);
      if (conv) redactEvent(conv, frame.seq, frame.redacted);
      return;
    }
    case 'conference.started':
    case 'conference.ended': {
      const conv = S.convs.get(frame.conversation_id);
      if (conv) {
        const key = frame.type === 'conference.started' ? 'joinedConferenceWith' : 'leftConferenceWith';
        notice(t(key, { agent: agentName(frame.agent), customer: customerName(conv.card.customer) }));
      }
      return;
    }
    default:
      if (frame.conversation_id && typeof frame.seq === 'number') {
        const conv = S.convs.get(frame.conversation_id);
        if (conv) addEvent(conv, frame, { live: true });
        else holdEarly(frame);
      }
  }
}

function onWelcome(frame) {
  S.welcomed = true;
  socket.backoff.reset();
  S.me = frame.agent;
  setAgentState(frame.state);
  loadNotReadyReasons();  // read afresh at each welcome: the administrator may have changed them
  // Offers: exactly those pending now.
  const pendingIds = new Set((frame.offers || []).map((o) => o.offer_id));
  for (const id of [...S.offers.keys()]) if (!pendingIds.has(id)) removeOffer(id);
  for (const offer of frame.offers || []) if (!S.offers.has(offer.offer_id)) addOffer(offer, false);
  // Conversations: the welcome is the truth about what this agent holds.
  const held = new Set();
  const withoutHistory = [];
  for (const card of frame.conversations || []) {
    held.add(card.conversation_id);
    // Replayed after this welcome if its id was in the hello's resume; otherwise
    // (new to this page, or reopened from the closed list) it is fetched.
    upsertConversation(card, false);
    if (!(card.conversation_id in S.sentResume)) withoutHistory.push(card.conversation_id);
  }
  for (const cid of [...S.order]) {
    if (!held.has(cid)) closeConversation(S.convs.get(cid), t('noLongerAssigned'));
  }
  S.bootResume = {};
  for (const cid of S.order) {
    const conv = S.convs.get(cid);
    for (const [clientId, frame] of conv.outbox) deliver(conv, frame, clientId);
  }
  if (!S.active && S.order.length) activate(S.order[0]);
  if (withoutHistory.length) fetchHistory(withoutHistory);
  renderAll();
}

/** Conversations held without a local history (the desk was opened in a new tab
 * while chats were going on): a second, short socket replays them from seq 0. */
function fetchHistory(cids) {
  let ws;
  try { ws = new WebSocket(agentSocketUrl(), [SUBPROTOCOL]); } catch (_) { return; }
  const resume = {};
  for (const cid of cids) resume[cid] = 0;
  const done = setTimeout(() => ws.close(1000), 10000);
  ws.addEventListener('open', () => {
    ws.send(JSON.stringify({ type: 'hello', token: S.token, resume }));
    // Its answer comes after the replay: the end marker (agents get `forbidden`).
    ws.send(JSON.stringify({ type: 'unmonitor', conversation_id: 'history-end', ref: 'history-end' }));
  });
  ws.addEventListener('message', (event) => {
    let frame;
    try { frame = JSON.parse(event.data); } catch (_) { return; }
    if (frame.ref === 'history-end') {
      clearTimeout(done);
      ws.close(1000);
      return;
    }
    if (frame.conversation_id in resume && typeof frame.seq === 'number') {
      const conv = S.convs.get(frame.conversation_id);
      if (conv) addEvent(conv, frame, { live: false });
    }
  });
}
