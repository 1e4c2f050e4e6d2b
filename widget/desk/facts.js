/* What several sections ask of a conversation, an agent or the page: plain
 * questions over the state, with no rendering and no socket. */

import { isolate } from '../lib/text.js';
import { t } from '../lib/i18n.js';
import { S } from './state.js';
import { clock, serverNow } from './format.js';

export function agentName(agent) {
  if (!agent) return t('anAgent');
  return isolate(agent.display_name || agent.id || t('anAgent'));
}

export function isMe(agent) {
  return Boolean(agent && S.me && agent.id === S.me.id);
}

export function writable(conv) {
  return Boolean(conv && conv.open && (conv.card.status === 'active' || conv.card.status === 'conference'));
}

/** In wrap-up: the customer can no longer be written to, but internal notes still
 * go into the conversation (its agents may add them after the end). */
export function notesOnly(conv) {
  return Boolean(conv && conv.open && conv.card.status === 'wrap_up');
}

/** The owner (who may invite and end a conference): the agent connected last in
 * this session, else the first agent left (a guest takes over a lost owner). */
export function ownerOf(conv) {
  const agents = conv.card.agents || [];
  const seqs = [...conv.events.keys()].sort((a, b) => b - a);
  for (const seq of seqs) {
    const ev = conv.events.get(seq);
    if (ev.type === 'chat.connected' && ev.session_id === conv.card.session_id) {
      const found = agents.find((a) => ev.agent && a.id === ev.agent.id);
      if (found) return found;
      break;
    }
  }
  return agents[0] || null;
}

export function cardDuration(card) {
  const end = card.ended_at || serverNow();
  return clock(end - (card.queued_at || end));
}

/** Whether the keyboard focus was lost: on the body, or on an element that was
 * removed or hidden. */
export function focusLost() {
  const a = document.activeElement;
  return !a || a === document.body || !a.isConnected || !a.getClientRects().length;
}
