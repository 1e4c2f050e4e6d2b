/* The conversation shown in the centre and its side panel (card, customer, actions). */

import { $, h, setText } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { statusLabel } from '../lib/labels.js';
import { codePoints, isolate } from '../lib/text.js';
import { hooks, MESSAGE_LIMIT, NOTE_LIMIT, S } from './state.js';
import { agentName, cardDuration, isMe, notesOnly, ownerOf, writable } from './facts.js';
import { socket } from './connection.js';
import { cardIcon, customerName, timeOfDay } from './format.js';
import { renderCustomerContext } from './earlier.js';
import { tickOffers } from './offers.js';

const RICH_KINDS = { quick_replies: 'richQuickReplies', card: 'richCard', list: 'richList' };

export function renderConversationHeader() {
  const conv = S.active && S.convs.get(S.active);
  if (!conv) return;
  const card = conv.card;
  $('conv-stripe').className = 'stripe color-' + (card.color || 'blue');
  setText($('conv-title'), `${customerName(card.customer)} · ${card.title || t('chat')}`);
  setText($('conv-sub'), `${card.queue ? isolate(card.queue.name) : ''} · ${cardDuration(card)}`);
  const pill = $('conv-status');
  const shownStatus = statusLabel(card.status_label);
  setText(pill, conv.open ? shownStatus || card.status : conv.closedLabel || shownStatus);
  pill.className = 'status-pill status-' + (conv.open ? card.status : 'closed');
  const banner = $('conv-banner');
  const inWrapUp = conv.open && card.status === 'wrap_up';
  banner.hidden = !inWrapUp;
  if (inWrapUp) setText($('conv-banner-text'), t('chooseWrapUpCode', { status: statusLabel(card.status_label) }));
}

export function renderTyping() {
  const conv = S.active && S.convs.get(S.active);
  const box = $('typing');
  if (!conv || !conv.typing || conv.typing.until < Date.now()) {
    if (conv) conv.typing = null;
    setText(box, '');
    return;
  }
  const typing = conv.typing;
  setText(box, `${t('isTyping', { name: typing.who })}${typing.preview ? ' “' + typing.preview + '”' : ''}`);
}

export function renderComposer() {
  const conv = S.active && S.convs.get(S.active);
  if (!conv) return;
  const afterTheEnd = notesOnly(conv);
  if (afterTheEnd) $('note-toggle').checked = true;
  const note = $('note-toggle').checked;
  const text = $('composer-text').value;
  const limit = note ? NOTE_LIMIT : MESSAGE_LIMIT;
  const n = codePoints(text);
  const counter = $('counter');
  setText(counter, `${n}/${limit}`);
  counter.classList.toggle('over', n > limit);
  const connected = Boolean(socket.ws && S.welcomed);
  const canWrite = writable(conv);
  $('composer').hidden = !conv.open;
  $('composer').classList.toggle('composer-note', note);
  $('composer-text').disabled = !canWrite && !afterTheEnd;
  $('composer-text').placeholder = afterTheEnd
    ? t('placeholderEnded')
    : !canWrite ? t('placeholderCannotWrite')
      : note ? t('placeholderNote') : t('typeAMessage');
  $('canned-open').disabled = !canWrite;
  const rich = !note && canWrite ? conv.richDraft : null;
  $('composer-rich').hidden = !rich;
  if (rich) setText($('composer-rich-text'), t('richAttached', { kind: t(RICH_KINDS[rich.kind] || 'richMessage') }));
  $('note-toggle').disabled = !canWrite;
  $('send').disabled = !(canWrite || afterTheEnd) || !connected || !text.trim() || n > limit;
  setText($('send'), note ? t('addNote') : t('send'));
  let hint = t('enterToSendShiftEnter');
  if (!connected) hint = t('hintNotConnected');
  else if (n > limit) hint = t('hintTooLong', { limit });
  setText($('composer-hint'), hint);
}

export function renderSide() {
  const conv = S.active && S.convs.get(S.active);
  if (!conv) return;
  const card = conv.card;
  // The card
  const box = $('card');
  box.className = 'card color-' + (card.color || 'blue');
  const rows = [
    [t('queue'), card.queue ? card.queue.name : ''],
    [t('status'), conv.open ? statusLabel(card.status_label) : conv.closedLabel || statusLabel(card.status_label)],
    [t('duration'), cardDuration(card)], [t('agents'), (card.agents || []).map(agentName).join(', ') || '—'],
    [t('queued'), timeOfDay(card.queued_at)],
  ];
  if (card.connected_at) rows.push([t('connected'), timeOfDay(card.connected_at)]);
  if (card.ended_at) rows.push([t('ended'), timeOfDay(card.ended_at)]);
  if (card.summary) rows.push([t('summary'), card.summary]);
  if (card.end_detail) rows.push([t('endedBecause'), card.end_detail]);
  if (card.wrap_up && card.wrap_up.notes) rows.push([t('wrapUpNotes'), card.wrap_up.notes]);
  if (card.csat) rows.push([t('satisfaction'), `${card.csat.rating}/5${card.csat.comment ? ' · ' + card.csat.comment : ''}`]);
  const dl = h('dl', 'card-fields');
  for (const [k, v] of rows) dl.append(h('dt', '', k), h('dd', 'card-' + k.toLowerCase().replace(/[^a-z]+/g, '-'), v || '—'));
  box.replaceChildren(
    h('div', 'card-head', null, [h('span', 'stripe'), cardIcon(card.icon || 'chat'), h('span', 'card-title', card.title), h('span', 'status-pill status-' + card.status, statusLabel(card.status_label))]),
    dl,
  );
  // Actions
  const canAct = writable(conv);
  const owner = isMe(ownerOf(conv));
  $('act-transfer').hidden = !canAct;
  $('act-conference').hidden = !canAct;
  $('act-help').hidden = !canAct;
  $('act-end').hidden = !canAct;
  $('act-end-conference').hidden = !(canAct && card.status === 'conference' && owner);
  $('act-leave').hidden = !(canAct && card.status === 'conference' && !owner);
  $('act-wrapup').hidden = !(conv.open && card.status === 'wrap_up');
  // Customer profile
  const c = card.customer || {};
  const profile = $('profile');
  const verified = h('span', c.verified ? 'badge badge-verified' : 'badge', c.verified ? t('verified') : t('notVerified'));
  profile.replaceChildren(
    h('dt', '', t('name')), h('dd', 'profile-name', c.name || t('visitor')),
    h('dt', '', t('email')), h('dd', 'profile-email', c.email || '—'),
    h('dt', '', t('phone')), h('dd', 'profile-phone', c.phone || '—'),
    ...(c.external_id ? [h('dt', '', t('customerId')), h('dd', 'profile-external-id', c.external_id)] : []),
    h('dt', '', t('contact')), h('dd', 'profile-verified', null, [verified]),
  );
  renderCustomerContext(conv);
  const form = $('verify-form');
  $('verify-details').hidden = !canAct;
  if (form.dataset.cid !== conv.id + ':' + card.session_id + ':' + c.verified) {
    form.dataset.cid = conv.id + ':' + card.session_id + ':' + c.verified;
    $('verify-email').value = c.email || '';
    $('verify-phone').value = c.phone || '';
  }
  const journey = $('journey');
  const pages = card.journey || [];
  // Rebuilt on every event: a keyboard user stays on the same page of the journey.
  const links = [...journey.querySelectorAll('.journey-link')];
  const focusedLink = links.indexOf(document.activeElement);
  const fromEnd = focusedLink < 0 ? -1 : links.length - 1 - focusedLink;  // new pages come first
  journey.replaceChildren(...pages.slice().reverse().map((page) => {
    const label = page.title || page.url;
    let link;
    if (/^https?:\/\//i.test(page.url || '')) {
      link = h('a', 'journey-link', label);
      link.href = page.url;
      link.target = '_blank';
      link.rel = 'noopener noreferrer';
    } else {
      link = h('span', 'journey-link', label);
    }
    link.title = page.url || '';
    return h('li', '', null, [link, h('time', 'muted small', timeOfDay(page.ts))]);
  }));
  if (!pages.length) journey.append(h('li', 'muted small', t('noPageViews')));
  if (fromEnd >= 0) {
    const again = [...journey.querySelectorAll('.journey-link')];
    const target = again[again.length - 1 - fromEnd];
    if (target && target.focus) target.focus();
  }
}

export function nearBottom() {
  const box = $('transcript');
  return box.scrollHeight - box.scrollTop - box.clientHeight < 120;
}

export function scrollToEnd() {
  const box = $('transcript');
  box.scrollTop = box.scrollHeight;
}

export function tick() {
  hooks.renderConnection();
  tickOffers();
  for (const cid of S.order) {
    const conv = S.convs.get(cid);
    if (conv.typing && conv.typing.until < Date.now()) {
      conv.typing = null;
      if (S.active === cid) renderTyping();
    }
    if (!conv.tab) continue;
    setText(conv.tab.querySelector('.tab-duration'), cardDuration(conv.card));
    setText(conv.tab.querySelector('.tab-typing'), conv.typing ? 'typing…' : '');
  }
  const conv = S.active && S.convs.get(S.active);
  if (conv) {
    setText($('conv-sub'), `${conv.card.queue ? isolate(conv.card.queue.name) : ''} · ${cardDuration(conv.card)}`);
    const d = $('card').querySelector('.card-duration');
    if (d) setText(d, cardDuration(conv.card));
  }
}
