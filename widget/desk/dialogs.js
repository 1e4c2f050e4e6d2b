/* The dialogs: transfer, conference, help, end; verifying the contact. */

import { $, h, setText } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { isolate } from '../lib/text.js';
import { STATE_LABELS } from '../lib/labels.js';
import { S } from './state.js';
import { writable } from './facts.js';
import { customerName } from './format.js';
import { notice } from './notices.js';
import { request } from './connection.js';
import { endCard, localLine, onCard } from './conversations.js';
import { renderAll } from './chat-list.js';
import { activeConv, openDialog, submitDialog } from './dialog-box.js';
import { openWrapUp } from './wrap-up.js';

function queueLabel(qid) {
  const known = S.targets && S.targets.queues.find((q) => q.id === qid);
  if (known) return isolate(known.name);
  for (const conv of S.convs.values()) if (conv.card.queue && conv.card.queue.id === qid) return isolate(conv.card.queue.name);
  return qid;
}

/** Queues and colleagues, read afresh each time a dialog opens (states change). */
async function loadTargets() {
  const response = await fetch('/api/v1/transfer-targets', {
    headers: { Authorization: 'Bearer ' + S.token }, cache: 'no-store',
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error((body.error && body.error.message) || `HTTP ${response.status}`);
  S.targets = { queues: body.queues || [], agents: body.agents || [] };
  return S.targets;
}

/** Fills an agent picker: free colleagues first and selectable, the others shown
 * greyed with their state, so the agent sees why someone cannot be chosen. */
function fillAgentPicker(select, agents, conv) {
  const inChat = new Set((conv.card.agents || []).map((a) => a.id));
  const options = agents.filter((a) => !inChat.has(a.id)).map((a) => {
    const load = a.capacity ? ` · ${a.sessions}/${a.capacity}` : '';
    const opt = h('option', '', `${a.display_name} · ${STATE_LABELS[a.state] || a.state}${load}`);
    opt.value = a.id;
    opt.disabled = !a.free;
    return opt;
  });
  if (!options.some((o) => !o.disabled)) {
    const none = h('option', '', t('noColleagueNow'));
    none.value = '';
    options.unshift(none);
  }
  select.replaceChildren(...options);
  const first = options.find((o) => !o.disabled);
  select.value = first ? first.value : '';
}

export function openTransfer() {
  const conv = activeConv();
  if (!writable(conv)) return;
  openDialog('dlg-transfer', () => {
    $('transfer-queue').replaceChildren(h('option', '', t('loading')));
    $('transfer-agent').replaceChildren(h('option', '', t('loading')));
    syncTransferKind();
  });
  loadTargets().then((targets) => {
    const select = $('transfer-queue');
    const current = conv.card.queue && conv.card.queue.id;
    select.replaceChildren(...targets.queues.map((q) => {
      const opt = h('option', '', q.waiting ? `${q.name} · ${q.waiting} waiting` : q.name);
      opt.value = q.id;
      return opt;
    }));
    const other = targets.queues.find((q) => q.id !== current && (S.me.queues || []).includes(q.id))
      || targets.queues.find((q) => q.id !== current);
    if (other) select.value = other.id;
    fillAgentPicker($('transfer-agent'), targets.agents, conv);
  }).catch((err) => setText($('transfer-error'), t('couldNotLoadTargets', { error: err.message })));
}

export function syncTransferKind() {
  const kind = document.querySelector('input[name="transfer-kind"]:checked').value;
  $('transfer-queue-fields').hidden = kind !== 'queue';
  $('transfer-agent-fields').hidden = kind !== 'agent';
}

function agentLabel(aid) {
  const known = S.targets && S.targets.agents.find((a) => a.id === aid);
  return known ? known.display_name : aid;
}

export function submitTransfer(event) {
  event.preventDefault();
  const conv = activeConv();
  if (!conv) return;
  const kind = document.querySelector('input[name="transfer-kind"]:checked').value;
  const frame = { type: 'transfer', conversation_id: conv.id };
  if (kind === 'queue') {
    frame.queue = $('transfer-queue').value;
    if (!frame.queue) { setText($('transfer-error'), t('chooseAQueue')); return; }
  } else {
    frame.agent = $('transfer-agent').value;
    if (!frame.agent) { setText($('transfer-error'), t('chooseAColleague')); return; }
  }
  submitDialog('dlg-transfer', 'transfer-error', frame, () => {
    if (frame.agent) {
      const text = t('transferOffered', { agent: agentLabel(frame.agent) });
      notice(text);
      localLine(conv, text);
    } else {
      notice(t('transferredToQueue', { name: customerName(conv.card.customer), queue: queueLabel(frame.queue) }));
    }
  });
}

export function openConference() {
  const conv = activeConv();
  if (!writable(conv)) return;
  openDialog('dlg-conference', () => { $('conference-agent').replaceChildren(h('option', '', t('loading'))); });
  loadTargets()
    .then((targets) => fillAgentPicker($('conference-agent'), targets.agents, conv))
    .catch((err) => setText($('conference-error'), t('couldNotLoadAgents', { error: err.message })));
}

export function submitConference(event) {
  event.preventDefault();
  const conv = activeConv();
  const agent = $('conference-agent').value;
  if (!conv) return;
  if (!agent) { setText($('conference-error'), t('chooseAColleague')); return; }
  submitDialog('dlg-conference', 'conference-error', { type: 'conference', conversation_id: conv.id, agent });
}

export function submitHelp(event) {
  event.preventDefault();
  const conv = activeConv();
  if (!conv) return;
  const text = $('help-text').value.trim();
  const frame = { type: 'request_help', conversation_id: conv.id };
  if (text) frame.text = text;
  submitDialog('dlg-help', 'help-error', frame, (ack) => {
    notice(t(ack.supervisors === 1 ? 'helpRequestedOne' : 'helpRequestedMany', { n: ack.supervisors }));
  });
}

export function submitEnd(event) {
  event.preventDefault();
  const conv = activeConv();
  if (!conv) return;
  submitDialog('dlg-end', 'end-error', { type: 'end_session', conversation_id: conv.id }, () => {
    if (conv.card.status !== 'closed') endCard(conv.card, 'agent_ended', conv.card.ended_at);
    renderAll();
    openWrapUp(conv);
  });
}


export async function submitVerify(event) {
  event.preventDefault();
  const conv = activeConv();
  if (!writable(conv)) return;
  const frame = { type: 'verify_contact', conversation_id: conv.id };
  const email = $('verify-email').value.trim();
  const phone = $('verify-phone').value.trim();
  if (email && email !== (conv.card.customer.email || '')) frame.email = email;
  if (phone && phone !== (conv.card.customer.phone || '')) frame.phone = phone;
  $('verify').disabled = true;
  try {
    const ack = await request(frame);
    if (ack.card) onCard({ conversation_id: conv.id, card: ack.card });
    $('verify-details').open = false;
    notice(t('contactVerified', { name: customerName(conv.card.customer) }));
  } catch (err) {
    notice(t('couldNotVerify', { error: err.message }), 'error');
  } finally {
    $('verify').disabled = false;
  }
}

export async function simpleAction(type, done) {
  const conv = activeConv();
  if (!conv) return;
  try {
    await request({ type, conversation_id: conv.id });
    if (done) done(conv);
  } catch (err) {
    notice(err.message, 'error');
  }
}
