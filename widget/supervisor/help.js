/* Help requests from agents. */

import { t } from '../lib/i18n.js';
import { h } from '../lib/dom.js';
import { isolate } from '../lib/text.js';
import { customerName } from './names.js';
import { HELP_MAX, hooks, state, ui } from './state.js';
import { hhmm, serverNow } from './time.js';
import { announce } from './screens.js';
import { monitor, who } from './monitor.js';

export function onHelp(frame) {
  if (frame.card) hooks.onCard(frame.card);
  else addHelp(frame, serverNow());
  const who = (frame.agent && isolate(frame.agent.display_name || frame.agent.id)) || t('anAgent');
  announce(t('helpRequestedBy', { who }) + (frame.text ? ': ' + frame.text : ''));
}

/** The card says whether its session has an open help request: the server keeps
 * it until a supervisor monitors the conversation or the session closes, so a
 * view opened later still lists it. One request per session, the newest. */
export function helpFromCard(card) {
  const open = card.help && card.status !== 'closed';
  if (!open) {
    const before = state.helps.length;
    state.helps = state.helps.filter((item) => item.frame.session_id !== card.session_id);
    if (state.helps.length !== before) hooks.scheduleDraw();
    return;
  }
  const at = card.help.requested_at || serverNow();
  if (state.dismissed[card.session_id] === at) return;
  const known = state.helps.some((item) => item.frame.session_id === card.session_id && item.at === at);
  if (known) return;
  addHelp({ conversation_id: card.conversation_id, session_id: card.session_id,
    agent: card.help.agent, text: card.help.text }, at);
}

function addHelp(frame, at) {
  state.helps = state.helps.filter((item) => item.frame.session_id !== frame.session_id);
  state.helps.push({ frame, at });
  state.helps.sort((a, b) => b.at - a.at);
  state.helps = state.helps.slice(0, HELP_MAX);
  hooks.scheduleDraw();
}

export function renderHelp() {
  // Rebuilt on every card: a keyboard user keeps the button it was on.
  const focused = document.activeElement && ui.help.contains(document.activeElement) ? document.activeElement : null;
  const focusSession = focused && focused.closest('.help-item').dataset.session;
  const focusDismiss = focused && focused.classList.contains('ghost');
  ui.help.replaceChildren();
  ui.helpEmpty.hidden = state.helps.length > 0;
  ui.helpCount.textContent = String(state.helps.length);
  state.helps.forEach((item, index) => {
    const f = item.frame;
    const li = h('li', 'help-item');
    li.dataset.conversation = f.conversation_id;
    li.dataset.session = f.session_id || '';
    const head = h('div', 'help-head');
    head.appendChild(h('strong', 'help-agent', (f.agent && (f.agent.display_name || f.agent.id)) || t('agent')));
    const local = item.at - state.offset;
    const time = h('time', 'help-time', hhmm(local));
    time.dateTime = new Date(local).toISOString();
    head.appendChild(time);
    li.appendChild(head);
    const card = state.cards.get(f.session_id) || f.card;
    const about = card ? customerName(card) + ' · ' + ((card.queue && card.queue.name) || '') : f.conversation_id;
    li.appendChild(h('p', 'help-about', about));
    if (f.text) li.appendChild(h('p', 'help-text', f.text));
    const actions = h('div', 'help-actions');
    const watch = h('button', 'primary small', f.conversation_id === state.monitored ? t('monitoring') : t('monitor'));
    watch.type = 'button';
    watch.disabled = f.conversation_id === state.monitored;
    watch.addEventListener('click', () => { monitor(f.conversation_id); });
    const dismiss = h('button', 'ghost small', t('dismiss'));
    dismiss.type = 'button';
    dismiss.setAttribute('aria-label', t('dismissHelpOf', { name: (f.agent && f.agent.display_name) || t('theAgent') }));
    dismiss.addEventListener('click', () => {
      state.dismissed[f.session_id] = item.at;
      state.helps.splice(index, 1);
      renderHelp();
      const next = ui.help.querySelector('button') || ui.helpEmpty;
      if (next.focus) next.focus();
    });
    actions.appendChild(watch);
    actions.appendChild(dismiss);
    li.appendChild(actions);
    ui.help.appendChild(li);
    if (focusSession && li.dataset.session === focusSession) (focusDismiss || watch.disabled ? dismiss : watch).focus();
  });
}
