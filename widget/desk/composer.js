/* The composer: typing indicators, sending messages and notes, delivery by client_msg_id. */

import { $, h, setText } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { richView } from './rich.js';
import { codePoints } from '../lib/text.js';
import { MESSAGE_LIMIT, NOTE_LIMIT, S, TYPING_IDLE_MS, TYPING_REPEAT_MS } from './state.js';
import { notesOnly, writable } from './facts.js';
import { fire, request } from './connection.js';
import { renderComposer, scrollToEnd } from './conversation-view.js';

export let typingState = { cid: null, active: false, sentAt: 0, idle: 0 };

export function typingStop() {
  clearTimeout(typingState.idle);
  if (typingState.active && typingState.cid) {
    fire({ type: 'typing', conversation_id: typingState.cid, active: false });
  }
  typingState = { cid: null, active: false, sentAt: 0, idle: 0 };
}

/** Forgets the typing indicator without telling the server: the conversation
 * ended or left this agent, so a `typing` would only come back as an error. */
export function typingForget(cid) {
  if (typingState.cid !== cid) return;
  clearTimeout(typingState.idle);
  typingState = { cid: null, active: false, sentAt: 0, idle: 0 };
}

export function typingNudge(conv) {
  if (!writable(conv) || $('note-toggle').checked) return;
  if (typingState.cid !== conv.id) typingStop();
  const now = Date.now();
  if (!typingState.active || now - typingState.sentAt > TYPING_REPEAT_MS) {
    fire({ type: 'typing', conversation_id: conv.id, active: true });
    typingState.active = true;
    typingState.sentAt = now;
  }
  typingState.cid = conv.id;
  clearTimeout(typingState.idle);
  typingState.idle = setTimeout(typingStop, TYPING_IDLE_MS);
}

function newClientId() {
  const bytes = new Uint8Array(9);
  crypto.getRandomValues(bytes);
  return 'd' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export async function sendComposed() {
  const conv = S.active && S.convs.get(S.active);
  const box = $('composer-text');
  const text = box.value;
  const note = notesOnly(conv) || $('note-toggle').checked;
  const limit = note ? NOTE_LIMIT : MESSAGE_LIMIT;
  if (!conv || !(writable(conv) || notesOnly(conv)) || !text.trim() || codePoints(text) > limit || $('send').disabled) return;
  typingStop();
  const clientId = newClientId();
  const rich = note ? null : conv.richDraft;
  conv.richDraft = null;
  const pending = h('li', `msg msg-agent msg-mine pending${note ? ' msg-note' : ''}`, null, [
    h('div', 'msg-meta', null, [
      note ? h('span', 'note-label', t('internalNote')) : null, h('span', 'msg-who', S.me.display_name), h('span', 'msg-time', t('sending')),
    ]),
    richView(rich) || h('div', 'msg-text', text),
  ]);
  conv.list.append(pending);
  conv.pendingByClient.set(clientId, pending);
  scrollToEnd();
  box.value = '';
  conv.draft = '';
  setText($('composer-error'), '');
  renderComposer();
  const frame = note
    ? { type: 'note', conversation_id: conv.id, text }
    : { type: 'message', conversation_id: conv.id, text, client_msg_id: clientId, ...(rich ? { rich } : {}) };
  deliver(conv, frame, clientId);
}

/** Sends a message or note shown as pending. A message whose answer was lost with
 * the connection waits in the outbox and is sent again after the next welcome,
 * with the same client_msg_id: the server stores it once however often it comes. */
export async function deliver(conv, frame, clientId) {
  const pending = conv.pendingByClient.get(clientId);
  if (frame.type === 'message') conv.outbox.set(clientId, frame);
  try {
    const ack = await request(frame);
    conv.outbox.delete(clientId);
    conv.pendingByClient.delete(clientId);
    if (!pending) return;
    if (conv.events.has(ack.seq)) pending.remove();
    else conv.pendingBySeq.set(ack.seq, pending);
  } catch (err) {
    // 'offline' is this page's own code (no connection, or no answer): the message
    // waits for the next welcome. The server's `unavailable` (its store is
    // unreachable) is an answer: the message was not stored.
    if (err.code === 'offline' && conv.outbox.has(clientId)) {
      if (pending) setText(pending.querySelector('.msg-time'), t('waitingForConnection'));
      return;
    }
    conv.outbox.delete(clientId);
    conv.pendingByClient.delete(clientId);
    // A note is not sent again (it has no client_msg_id): if the connection went
    // while it was under way the server may have stored it; the replay tells.
    const doubt = err.code === 'offline' ? t('mayNotHaveBeenSent') : t('notSent');
    if (pending) {
      pending.classList.add('failed');
      setText(pending.querySelector('.msg-time'), `${doubt}: ${err.message}`);
      if (err.code === 'offline') conv.doubtfulNotes.push({ text: frame.text, node: pending });
    }
    const box = $('composer-text');
    if (S.active === conv.id && !box.value) {
      box.value = frame.text;
      renderComposer();
    }
    if (S.active === conv.id) setText($('composer-error'), `${doubt[0].toUpperCase()}${doubt.slice(1)}: ${err.message}`);
  }
}
