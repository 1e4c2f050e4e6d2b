/* The chat list: title, connection line, tabs of open conversations, closed ones, which one is shown. */

import { $, h, setText } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { statusLabel } from '../lib/labels.js';
import { isolate } from '../lib/text.js';
import { S } from './state.js';
import { agentName, cardDuration } from './facts.js';
import { socket } from './connection.js';
import { cardIcon, clock, customerName, serverNow } from './format.js';
import { renderAgentState } from './agent-state.js';
import { renderOffers } from './offers.js';
import {
  renderComposer, renderConversationHeader, renderSide, renderTyping, scrollToEnd
} from './conversation-view.js';

export function renderAll() {
  renderConnection();
  renderAgentState();
  renderOffers();
  renderTabs();
  renderClosed();
  renderActive();
}

export function renderTitle() {
  let unread = 0;
  for (const cid of S.order) unread += S.convs.get(cid).unread;
  const n = unread + S.offers.size;
  document.title = (n ? `(${n}) ` : '') + t('switchboardDesk');
}

export function renderConnection() {
  const box = $('connection');
  let text;
  let cls;
  let countdown = '';
  if (socket.ws && S.welcomed) { text = t('connected'); cls = 'ok'; }
  else if (socket.ws || socket.preparing) { text = t('connecting'); cls = 'wait'; }
  else if (S.refused) { text = t('refusedOrigin'); cls = 'bad'; }
  else if (socket.retryAt) {
    text = t('reconnecting');
    countdown = ' ' + t('inSeconds', { n: Math.max(1, Math.ceil((socket.retryAt - Date.now()) / 1000)) });
    cls = 'bad';
  } else { text = t('offline'); cls = 'bad'; }
  box.className = 'connection connection-' + cls;
  setText($('connection-state'), text);
  setText($('connection-countdown'), countdown);
  if (S.me) setText($('me-name'), `${isolate(S.me.display_name)} (${S.me.id})`);
}

export function renderTabs() {
  const tabs = $('tabs');
  const wanted = S.order.map((cid) => S.convs.get(cid));
  for (const conv of wanted) {
    if (!conv.tab) conv.tab = buildTab(conv);
    fillTab(conv);
  }
  const nodes = wanted.map((c) => c.tab);
  if (nodes.length !== tabs.children.length || nodes.some((n, i) => tabs.children[i] !== n)) tabs.replaceChildren(...nodes);
  $('no-tabs').hidden = nodes.length > 0;
  setText($('tab-count'), nodes.length ? String(nodes.length) : '');
  renderTitle();
}

function buildTab(conv) {
  const tab = h('button', 'tab');
  tab.type = 'button';
  tab.setAttribute('role', 'tab');
  tab.setAttribute('aria-controls', 'conv');
  tab.dataset.cid = conv.id;
  const stripe = h('span', 'stripe');
  stripe.setAttribute('aria-hidden', 'true');
  tab.append(
    stripe,
    h('span', 'tab-body', null, [
      h('span', 'tab-line1', null, [cardIcon(conv.card.icon || 'chat'), h('span', 'tab-name'), h('span', 'tab-unread')]),
      h('span', 'tab-line2', null, [h('span', 'tab-title'), h('span', 'tab-queue'), h('span', 'tab-duration')]),
      h('span', 'tab-line3', null, [h('span', 'tab-status'), h('span', 'tab-agents'), h('span', 'tab-typing')]),
    ]),
  );
  tab.addEventListener('click', () => activate(conv.id));
  tab.addEventListener('keydown', onTabKey);
  return tab;
}

function fillTab(conv) {
  const card = conv.card;
  const tab = conv.tab;
  const selected = S.active === conv.id;
  tab.className = `tab color-${card.color || 'blue'}${selected ? ' tab-selected' : ''}`;
  tab.setAttribute('aria-selected', String(selected));
  // One tab is in the Tab order: the selected one, else the first (a closed
  // conversation on screen has no tab).
  tab.tabIndex = selected || (!S.order.includes(S.active) && S.order[0] === conv.id) ? 0 : -1;
  setText(tab.querySelector('.tab-name'), customerName(card.customer));
  const unread = tab.querySelector('.tab-unread');
  setText(unread, conv.unread ? String(conv.unread) : '');
  unread.hidden = !conv.unread;
  if (conv.unread) unread.setAttribute('aria-label', t('unread', { n: conv.unread }));
  setText(tab.querySelector('.tab-title'), card.title || t('chat'));
  setText(tab.querySelector('.tab-queue'), card.queue ? card.queue.name : '');
  setText(tab.querySelector('.tab-duration'), cardDuration(card));
  const status = tab.querySelector('.tab-status');
  setText(status, statusLabel(card.status_label) || card.status);
  status.className = 'tab-status status-' + card.status;
  setText(tab.querySelector('.tab-agents'), (card.agents || []).map(agentName).join(', '));
  setText(tab.querySelector('.tab-typing'), conv.typing ? 'typing…' : '');
}

function onTabKey(event) {
  const i = S.order.indexOf(event.currentTarget.dataset.cid);
  let next = -1;
  if (event.key === 'ArrowDown') next = (i + 1) % S.order.length;
  else if (event.key === 'ArrowUp') next = (i - 1 + S.order.length) % S.order.length;
  else if (event.key === 'Home') next = 0;
  else if (event.key === 'End') next = S.order.length - 1;
  if (next < 0) return;
  event.preventDefault();
  activate(S.order[next]);
  S.convs.get(S.order[next]).tab.focus();
}

/** After a conversation or an offer went: the selected tab, else the offers. */
export function focusSomewhereUseful() {
  const conv = S.active && S.convs.get(S.active);
  if (conv && conv.tab && conv.tab.isConnected) conv.tab.focus();
  else if (S.order.length) S.convs.get(S.order[0]).tab.focus();
  else $('offers-heading').focus();
}

function renderClosed() {
  const list = $('closed-list');
  // Rebuilt on every change: the focus stays on the same conversation.
  const focused = list.contains(document.activeElement) ? document.activeElement.dataset.cid : null;
  list.replaceChildren(...S.closed.map((cid) => {
    const conv = S.convs.get(cid);
    const button = h('button', `closed-item color-${conv.card.color || 'gray'}${S.active === cid ? ' tab-selected' : ''}`, null, [
      h('span', 'stripe'),
      h('span', 'closed-name', customerName(conv.card.customer)),
      h('span', 'closed-label', conv.closedLabel || statusLabel(conv.card.status_label)),
    ]);
    button.type = 'button';
    button.dataset.cid = cid;
    button.addEventListener('click', () => activate(cid));
    return h('li', '', null, [button]);
  }));
  setText($('closed-count'), S.closed.length ? String(S.closed.length) : '');
  const again = focused && list.querySelector(`button[data-cid="${CSS.escape(focused)}"]`);
  if (again) again.focus();
}

export function activate(cid) {
  const previous = S.active && S.convs.get(S.active);
  if (previous) previous.draft = $('composer-text').value;
  S.active = cid;
  const conv = cid && S.convs.get(cid);
  if (conv) {
    conv.unread = 0;
    $('composer-text').value = conv.draft || '';
    $('note-toggle').checked = conv.note;
    $('transcript').replaceChildren(conv.list);
  }
  renderTabs();
  renderClosed();
  renderActive();
  scrollToEnd();
}

function renderActive() {
  const conv = S.active && S.convs.get(S.active);
  $('conv').hidden = !conv;
  $('side').hidden = !conv;
  $('conv-empty').hidden = Boolean(conv);
  if (!conv) return;
  renderConversationHeader();
  renderTyping();
  renderComposer();
  renderSide();
}

