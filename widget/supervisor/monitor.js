/* Silent monitoring: one conversation's transcript, live. */

import { t } from '../lib/i18n.js';
import { statusLabel } from '../lib/labels.js';
import { h } from '../lib/dom.js';
import { isolate } from '../lib/text.js';
import { customerName } from './names.js';
import { hooks, MONITOR_KEY, REASONS, state, ui } from './state.js';
import { hhmm } from './time.js';
import { announce } from './screens.js';
import { noteParticipation, resetStepIn, stepInFor } from './step-in.js';

export function monitor(cid, quiet) {
  const previous = state.monitored;
  // Its events may be pushed before the ack (and be missing from its messages): kept until then.
  state.pendingMonitor = cid;
  state.pendingFrames = [];
  const ok = hooks.send({ type: 'monitor', conversation_id: cid }, (answer) => {
    const early = state.pendingMonitor === cid ? state.pendingFrames : [];
    if (state.pendingMonitor === cid) { state.pendingMonitor = null; state.pendingFrames = []; }
    if (answer.type === 'error') {
      if (state.monitored === cid) early.forEach(appendEvent);
      if (quiet) { sessionStorage.removeItem(MONITOR_KEY); state.monitored = null; ui.monitor.hidden = true; return; }
      announce('Cannot monitor: ' + (answer.message || answer.code));
      return;
    }
    if (previous && previous !== cid) hooks.send({ type: 'unmonitor', conversation_id: previous });
    state.monitored = cid;
    sessionStorage.setItem(MONITOR_KEY, cid);
    state.seen = new Set();
    state.monitoredCard = answer.card || null;
    ui.transcript.replaceChildren();
    ui.typing.hidden = true;
    resetStepIn();
    (answer.messages || []).forEach(appendEvent);
    early.forEach(appendEvent);
    if (answer.card) hooks.onCard(answer.card);
    renderMonitorMeta(answer.card || null);
    ui.monitor.hidden = false;
    hooks.renderCards();
    hooks.renderHelp();
    if (!quiet) ui.monitorTitle.focus();
  });
  if (!ok) {
    state.pendingMonitor = null;
    announce('Not connected; try again in a moment.');
  }
}

export function stopMonitoring() {
  const cid = state.monitored;
  if (!cid) return;
  hooks.send({ type: 'unmonitor', conversation_id: cid });
  state.monitored = null;
  state.monitoredCard = null;
  sessionStorage.removeItem(MONITOR_KEY);
  ui.monitor.hidden = true;
  ui.transcript.replaceChildren();
  hooks.renderCards();
  hooks.renderHelp();
  const back = ui.cards.querySelector('.card[data-conversation="' + CSS.escape(cid) + '"] button') || ui.filter;
  back.focus();
}

export function renderMonitorMeta(card) {
  if (!card) return;
  state.monitoredCard = card;
  stepInFor(card);
  ui.monitorTitle.textContent = t('monitoringCustomer', { name: customerName(card) });
  const agents = (card.agents || []).map((a) => isolate(a.display_name || a.id)).join(', ');
  ui.monitorMeta.textContent = [card.title, card.queue && isolate(card.queue.name), agents || t('noAgentYet'),
    statusLabel(card.status_label)].filter(Boolean).join(' · ');
}

export function who(from) {
  if (!from) return '';
  if (from.role === 'customer') {
    const card = state.monitoredCard;
    return isolate(from.display_name || (card && card.customer && card.customer.name) || t('customer'));
  }
  if (from.role === 'system') return t('system');
  return isolate(from.display_name || from.id || t('agent'));
}

export function appendEvent(ev) {
  if (typeof ev.seq === 'number') {
    if (state.seen.has(ev.seq)) return;
    state.seen.add(ev.seq);
  }
  noteParticipation(ev);
  let li;
  if (ev.type === 'message' || ev.type === 'note') {
    const role = ev.type === 'note' ? 'note' : ((ev.from && ev.from.role) || 'agent');
    li = h('li', 'entry ' + role);
    const meta = h('div', 'entry-meta');
    const whisper = ev.type === 'note' && ev.from && ev.from.role === 'supervisor';
    if (whisper) li.classList.add('whisper');
    meta.appendChild(h('span', 'entry-who', (whisper ? t('whisper') + ' · ' : ev.type === 'note' ? t('note') + ' · ' : '') + who(ev.from)));
    meta.appendChild(h('time', null, hhmm(ev.ts)));
    li.appendChild(meta);
    li.appendChild(h('p', 'entry-text', ev.text));
    if (ev.from && ev.from.role === 'customer') ui.typing.hidden = true;
  } else {
    const name = ev.agent && isolate(ev.agent.display_name || ev.agent.id);
    const text = {
      'chat.connected': t('joinedTheChat', { name: name || t('anAgent') }),
      'chat.participant_joined': t('joinedTheChat', { name: name || t('anAgent') }),
      'chat.participant_left': t('leftTheChat', { name: name || t('anAgent') }),
      'chat.transferred': ev.by ? t('reassignedTheChat', { name: ev.by.display_name || ev.by.id }) : t('chatTransferred'),
      'chat.ended': t('chatEnded') + (ev.reason ? ' (' + (REASONS[ev.reason] || ev.reason) + ')' : '')
    }[ev.type];
    if (!text) return;
    li = h('li', 'entry system');
    li.appendChild(h('p', 'entry-text', text + (ev.ts ? ' · ' + hhmm(ev.ts) : '')));
    if (ev.type === 'chat.ended') ui.typing.hidden = true;
  }
  const stick = ui.transcript.scrollHeight - ui.transcript.scrollTop - ui.transcript.clientHeight < 40;
  // In seq order: live events may overtake each other (and the monitor answer).
  let next = null;
  if (typeof ev.seq === 'number') {
    li.dataset.seq = String(ev.seq);
    for (let n = ui.transcript.lastElementChild; n && Number(n.dataset.seq) > ev.seq; n = n.previousElementSibling) next = n;
  }
  ui.transcript.insertBefore(li, next);
  if (stick) ui.transcript.scrollTop = ui.transcript.scrollHeight;
}

export function showTyping(frame) {
  if (!frame.active) { ui.typing.hidden = true; return; }
  ui.typing.textContent = who(frame.from || { role: 'customer' }) + ' is typing…';
  ui.typing.hidden = false;
}
