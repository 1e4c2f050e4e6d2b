/* Conversations held by this desk: their cards, their events in seq order, typing and read receipts. */

import { $, h, setText } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { isolate } from '../lib/text.js';
import {
  CLOSED_KEPT, CUSTOMER_ENDINGS, EARLY_KEPT_MS, EARLY_MAX, END_LABELS, FAIL_REASONS, HELD_KEY, S,
  TYPING_SHOWN_MS
} from './state.js';
import { agentName, focusLost, isMe } from './facts.js';
import { customerName, serverNow, timeOfDay } from './format.js';
import { announce, notice } from './notices.js';
import { removeOffer } from './offers.js';
import { richView } from './rich.js';
import { activate, focusSomewhereUseful, renderAll, renderTabs } from './chat-list.js';
import {
  nearBottom, renderComposer, renderConversationHeader, renderSide, renderTyping, scrollToEnd
} from './conversation-view.js';
import { typingForget } from './composer.js';
import { attachmentBody } from './attachments.js';

export function newConversation(card) {
  const list = h('ol', 'messages');
  return {
    id: card.conversation_id,
    card,
    events: new Map(),      // seq -> event
    nodes: new Map(),       // seq -> <li>
    lastSeq: 0,
    list,
    unread: 0,
    typing: null,           // {text, until}
    readSeq: 0,
    agentOps: new Map(),    // agent id -> seq of the last event that added or removed it
    closedLabel: '',
    open: true,
    draft: '',
    richDraft: null, // the rich message of a canned response, sent with the next message
    note: false,
    pendingBySeq: new Map(),
    pendingByClient: new Map(),
    outbox: new Map(),      // client_msg_id -> message frame whose answer was lost with the connection
    doubtfulNotes: [],      // [{text, node}] notes whose answer was lost: perhaps stored after all
    checkTimer: 0,
    tab: null,
  };
}

export function upsertConversation(card, fromAssign) {
  let conv = S.convs.get(card.conversation_id);
  if (!conv) {
    conv = newConversation(card);
    S.convs.set(conv.id, conv);
  } else {
    if (fromAssign && conv.card.session_id !== card.session_id && conv.open && conv.card.status !== 'closed') {
      localLine(conv, t('newSessionStarted'));
    }
    conv.card = card;
  }
  if (!conv.open || !S.order.includes(conv.id)) reopen(conv);
  rememberHeld();
  return conv;
}

function reopen(conv) {
  conv.open = true;
  conv.closedLabel = '';
  S.closed = S.closed.filter((c) => c !== conv.id);
  if (!S.order.includes(conv.id)) S.order.push(conv.id);
}

function rememberHeld() {
  sessionStorage.setItem(HELD_KEY, JSON.stringify(S.order));
}

export function holdEarly(frame) {
  const now = Date.now();
  S.early = S.early.filter((e) => now - e.at < EARLY_KEPT_MS).slice(-(EARLY_MAX - 1));
  S.early.push({ frame, at: now });
}

export function onAssigned(frame) {
  const card = frame.card;
  if (!card) return;
  const conv = upsertConversation(card, true);
  for (const event of frame.messages || []) addEvent(conv, event, { live: false });
  // What was pushed before this frame (the snapshot in `messages` may not have it,
  // and a later resume starts after it).
  const early = S.early.filter((e) => e.frame.conversation_id === conv.id);
  S.early = S.early.filter((e) => e.frame.conversation_id !== conv.id);
  for (const e of early) addEvent(conv, e.frame, { live: true });
  for (const [id, entry] of S.offers) {
    if (entry.frame.conversation_id === conv.id && entry.frame.session_id === card.session_id) removeOffer(id);
  }
  const mine = S.activateOnAssign.delete(conv.id);
  const shown = S.active && S.convs.get(S.active);
  if (mine || !shown || !shown.open) activate(conv.id);
  if (mine) $('composer-text').focus();
  renderAll();
}

export function onClosed(frame) {
  const conv = S.convs.get(frame.conversation_id);
  if (!conv) return;
  const wrap = frame.wrap_up || {};
  if (conv.card.session_id !== frame.session_id) {
    localLine(conv, t('earlierSessionWrapped', { label: wrap.label || '' }));
    return;
  }
  const card = conv.card;
  card.status = 'closed';
  card.wrap_up = wrap;
  // several codes (the queue's max_dispositions): every label, in the order given
  card.status_label = (wrap.codes && wrap.codes.map((c) => c.label).join(', ')) || wrap.label || t('wrapUpTimedOut');
  card.color = wrap.code ? 'gray' : CUSTOMER_ENDINGS.has(card.end_reason) ? 'white' : 'gray';
  if (S.wrapTarget === conv.id && $('dlg-wrapup').open) $('dlg-wrapup').close();
  closeConversation(conv, card.status_label);
}

export function onCard(frame) {
  const conv = S.convs.get(frame.conversation_id);
  if (!conv || !frame.card) return;
  // Only this session's card: a supervisor's desk also gets the feed's cards, and a
  // newer session's card must not replace one still waiting for this agent's wrap-up.
  if (frame.card.session_id === conv.card.session_id) conv.card = frame.card;
  renderTabs();
  if (S.active === conv.id) renderSide();
}

/** Off the tab list, into "Closed this shift"; its transcript stays searchable. */
export function closeConversation(conv, label) {
  if (!conv) return;
  conv.open = false;
  conv.closedLabel = label || conv.card.status_label;
  conv.typing = null;
  typingForget(conv.id);
  for (const clientId of conv.outbox.keys()) {
    const pending = conv.pendingByClient.get(clientId);
    if (pending) {
      pending.classList.add('failed');
      setText(pending.querySelector('.msg-time'), 'not sent: the conversation is no longer yours');
    }
  }
  conv.outbox.clear();
  S.order = S.order.filter((c) => c !== conv.id);
  S.closed = [conv.id, ...S.closed.filter((c) => c !== conv.id)];
  for (const dropped of S.closed.splice(CLOSED_KEPT)) {
    S.convs.delete(dropped);
    if (S.active === dropped) S.active = null;  // an old closed one on screen
  }
  rememberHeld();
  if (S.active === conv.id || !S.active) {
    S.active = null;
    if (S.order.length) activate(S.order[0]);
  }
  renderAll();
  if (focusLost()) focusSomewhereUseful();
}

/** A note reported as perhaps not sent turned out stored: its failed line and the
 * text put back in the box go, so that it is not sent twice. */
function dropDoubtfulNote(conv, text) {
  const i = conv.doubtfulNotes.findIndex((d) => d.text === text);
  if (i < 0) return;
  conv.doubtfulNotes[i].node.remove();
  conv.doubtfulNotes.splice(i, 1);
  const box = $('composer-text');
  if (S.active === conv.id && box.value === text) {
    box.value = '';
    setText($('composer-error'), '');
    renderComposer();
  } else if (conv.draft === text) conv.draft = '';
}

/** Adds a history event (by seq, once); updates the card from it. */
export function addEvent(conv, event, { live }) {
  const seq = event.seq;
  if (typeof seq !== 'number' || conv.events.has(seq)) return;
  // A whole history replayed after a reload is not news; what came while away is.
  if (live && S.sentResume[conv.id] === 0 && typeof event.ts === 'number' && event.ts < S.helloAt) live = false;
  const follow = S.active === conv.id && nearBottom();
  conv.events.set(seq, event);
  conv.lastSeq = Math.max(conv.lastSeq, seq);
  const node = renderEvent(conv, event);
  if (node) insertNode(conv, seq, node);
  if (event.type === 'message' || event.type.startsWith('chat.participant_')) hideRepeatedJoins(conv, event.ts);
  applyToCard(conv, event);
  if (event.type === 'message' || event.type === 'note') {
    const pending = conv.pendingBySeq.get(seq) || (event.client_msg_id && conv.pendingByClient.get(event.client_msg_id));
    if (pending) pending.remove();
    if (event.type === 'note' && isMe(event.from)) dropDoubtfulNote(conv, event.text);
    conv.pendingBySeq.delete(seq);
    if (event.client_msg_id) conv.outbox.delete(event.client_msg_id);  // stored: no need to send it again
    const role = event.from && event.from.role;
    if (live && role === 'customer') conv.typing = null;
    const fromOther = !(role === 'agent' && isMe(event.from));
    if (live && fromOther) {
      if (S.active !== conv.id || document.hidden) conv.unread += 1;
      if (S.active === conv.id) {
        const who = role === 'customer' ? customerName(conv.card.customer) : role === 'system' ? t('system') : agentName(event.from);
        announce(`${event.type === 'note' ? noteLabel(event) + ' from ' : ''}${who}: ${event.text}`);
      }
    }
  }
  if (live && (event.type === 'chat.transferred' || event.type === 'chat.participant_left')) scheduleMembershipCheck(conv);
  if (S.active === conv.id) {
    if (follow || (event.from && isMe(event.from))) scrollToEnd();
    renderConversationHeader();
    renderSide();
    renderComposer();
    renderTyping();
  }
  renderTabs();
}

/** A conference join or leave comes as an event and as a system message ("Bob
 * joined the conversation") stored at the same time; the transcript shows the
 * message only. A leave without one (an agent lost its connection) keeps its line. */
function hideRepeatedJoins(conv, ts) {
  const said = [...conv.events.values()].some((e) => e.type === 'message' && e.ts === ts && e.from && e.from.role === 'system');
  for (const [seq, e] of conv.events) {
    if (e.ts === ts && e.type.startsWith('chat.participant_')) conv.nodes.get(seq).hidden = said;
  }
}

/** An administrator redacted a message (privacy law): it shows that it was, and nothing of what it said. */
export function redactEvent(conv, seq, redacted) {
  const event = conv.events.get(seq);
  const old = conv.nodes.get(seq);
  if (!event || !old) return;
  const { text: _gone, ...kept } = event;
  const node = renderEvent(conv, { ...kept, redacted });
  if (!node) return;
  conv.events.set(seq, { ...kept, redacted });
  node.dataset.seq = String(seq);
  conv.nodes.set(seq, node);
  old.replaceWith(node);
}

function insertNode(conv, seq, node) {
  conv.nodes.set(seq, node);
  node.dataset.seq = String(seq);
  // Before the first node with a higher seq, else before the pending (unsent) ones.
  let before = null;
  for (const child of conv.list.children) {
    const other = Number(child.dataset.seq);
    if (child.dataset.seq && other > seq) { before = child; break; }
    if (!child.dataset.seq && child.classList.contains('pending')) { before = child; break; }
  }
  conv.list.insertBefore(node, before);
}

export function endCard(card, reason, ts) {
  card.status = 'wrap_up';
  card.end_reason = reason;
  card.ended_at = ts || serverNow();
  card.status_label = END_LABELS[reason] || t('ended');
  card.color = CUSTOMER_ENDINGS.has(reason) ? 'white' : 'blue';
}

/** Agents joining and leaving: last event per agent wins, so replays in any
 * amount land on the same card. */
function agentOp(conv, seq, agent, present) {
  if (!agent || !agent.id) return;
  const last = conv.agentOps.get(agent.id);
  if (last !== undefined && last > seq) return;
  conv.agentOps.set(agent.id, seq);
  const card = conv.card;
  const others = (card.agents || []).filter((a) => a.id !== agent.id);
  card.agents = present ? [...others, { id: agent.id, display_name: agent.display_name || agent.id }] : others;
  if (card.status === 'active' || card.status === 'conference') {
    card.status = card.agents.length > 1 ? 'conference' : 'active';
    card.status_label = card.status === 'conference' ? t('statusConference') : t('statusActive');
  }
}

function applyToCard(conv, event) {
  const card = conv.card;
  const sameSession = !event.session_id || event.session_id === card.session_id;
  switch (event.type) {
    case 'chat.connected':
      if (sameSession) {
        agentOp(conv, event.seq, event.agent, true);
        if (!card.connected_at) card.connected_at = event.ts;
      }
      break;
    case 'chat.participant_joined':
      if (sameSession) agentOp(conv, event.seq, event.agent, true);
      break;
    case 'chat.participant_left':
      if (sameSession) agentOp(conv, event.seq, event.agent, false);
      break;
    case 'chat.transferred':
      if (sameSession) {
        agentOp(conv, event.seq, event.from_agent, false);
        if (event.queue) card.queue = event.queue;
      }
      if (isMe(event.from_agent)) typingForget(conv.id);
      break;
    case 'chat.ended':
      if (sameSession && card.status !== 'closed') endCard(card, event.reason, event.ts);
      typingForget(conv.id);
      break;
    default:
  }
}

/** Whether this agent is still in the conversation after a transfer or a leave.
 * Waits a moment, so that a burst of replayed events is seen as a whole. */
function scheduleMembershipCheck(conv) {
  clearTimeout(conv.checkTimer);
  conv.checkTimer = setTimeout(() => {
    if (!conv.open || !S.me) return;
    const seq = conv.agentOps.get(S.me.id);
    if (seq === undefined) return;
    const event = conv.events.get(seq);
    if (!event) return;
    const gone = (event.type === 'chat.transferred' && isMe(event.from_agent))
      || (event.type === 'chat.participant_left' && isMe(event.agent));
    if (!gone) return;
    let label = t('youLeftLabel');
    if (event.type === 'chat.transferred') {
      const target = event.queue ? isolate(event.queue.name || event.queue.id) : agentName(event.agent);
      // a supervisor's reassign names the supervisor
      label = event.by ? t('reassignedToBy', { target, by: agentName(event.by) }) : t('transferredTo', { target });
    }
    notice(`${customerName(conv.card.customer)}: ${label}.`);
    closeConversation(conv, label);
  }, 200);
}

/** A line that is only on this page (not history): "invitation sent" and such. */
export function localLine(conv, text) {
  const li = h('li', 'event event-local', text);
  conv.list.append(li);
  if (S.active === conv.id) scrollToEnd();
}

/** A supervisor's note is a whisper: pushed to the agents live, never to the customer. */
function noteLabel(event) {
  return event.from && event.from.role === 'supervisor' ? t('whisper') : t('internalNote');
}

function renderEvent(conv, event) {
  const ts = timeOfDay(event.ts);
  switch (event.type) {
    case 'message':
    case 'note': {
      const role = (event.from && event.from.role) || 'customer';
      const note = event.type === 'note';
      if (role === 'system' && !note) return h('li', 'event event-system', null, [h('span', '', event.text), h('time', '', ts)]);
      const mine = role === 'agent' && isMe(event.from);
      const who = role === 'customer' ? customerName(conv.card.customer)
        : role === 'bot' ? isolate((event.from && event.from.display_name) || t('bot')) : agentName(event.from);
      const li = h('li', `msg msg-${role}${mine ? ' msg-mine' : ''}${note ? ' msg-note' : ''}`);
      const meta = h('div', 'msg-meta', null, [
        note ? h('span', 'note-label', role === 'supervisor' ? t('whisperFrom') : t('internalNote')) : null,
        h('span', 'msg-who', who),
        h('time', 'msg-time', ts),
      ]);
      if (mine && !note) meta.append(h('span', 'msg-read', event.seq <= conv.readSeq ? t('seen') : ''));
      if (event.choice) meta.append(h('span', 'msg-choice', t('pickedAnOption')));
      const body = event.attachment ? attachmentBody(event.attachment) : richView(event.rich) || h('div', 'msg-text', event.text);
      li.append(meta, event.redacted ? h('div', 'msg-text msg-redacted', t('messageRedacted')) : body);
      return li;
    }
    case 'chat.connected':
      return h('li', 'event', null, [h('span', '', t('agentConnected', { name: agentName(event.agent) })), h('time', '', ts)]);
    case 'chat.transferred': {
      const to = event.queue ? t('queueNamed', { name: event.queue.name || event.queue.id }) : agentName(event.agent);
      const text = event.by ? t('supervisorReassigned', { by: agentName(event.by), to })
        : t('agentTransferred', { from: agentName(event.from_agent), to });
      return h('li', 'event', null, [h('span', '', text), h('time', '', ts)]);
    }
    case 'chat.ended':
      return h('li', 'event event-ended', null, [h('span', '', t('sessionEnded', { reason: END_LABELS[event.reason] || event.reason })), h('time', '', ts)]);
    case 'chat.participant_joined':
      return h('li', 'event event-participant', null, [h('span', '', t('agentJoined', { name: agentName(event.agent) })), h('time', '', ts)]);
    case 'chat.participant_left':
      return h('li', 'event event-participant', null, [h('span', '', t('agentLeft', { name: agentName(event.agent) })), h('time', '', ts)]);
    default:
      return null;
  }
}

export function onTyping(frame) {
  const conv = S.convs.get(frame.conversation_id);
  if (!conv || !frame.from) return;
  if (frame.from.role === 'agent' && isMe(frame.from)) return;
  if (frame.active) {
    const who = frame.from.role === 'customer' ? customerName(conv.card.customer) : agentName(frame.from);
    conv.typing = { who, preview: frame.preview || '', until: Date.now() + TYPING_SHOWN_MS };
  } else {
    conv.typing = null;
  }
  renderTyping();
  renderTabs();
}

export function onRead(frame) {
  const conv = S.convs.get(frame.conversation_id);
  if (!conv || typeof frame.seq !== 'number') return;
  conv.readSeq = Math.max(conv.readSeq, frame.seq);
  for (const [seq, node] of conv.nodes) {
    const mark = node.querySelector('.msg-read');
    if (mark) setText(mark, seq <= conv.readSeq ? t('seen') : '');
  }
}

export function onFailed(frame) {
  const conv = S.convs.get(frame.conversation_id);
  const key = frame.type === 'transfer.failed' ? 'transferFailed' : 'conferenceFailed';
  const why = FAIL_REASONS[frame.reason] || frame.reason;
  const text = t(key, { agent: agentName(frame.agent), why });
  notice(text, 'warn');
  if (conv) localLine(conv, text);
}
