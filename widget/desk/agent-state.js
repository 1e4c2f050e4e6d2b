/* The agent's own state (available, not ready with a reason, RONA) and changing it. */

import { $, h, setText } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { STATE_LABELS } from '../lib/labels.js';
import { S } from './state.js';
import { sampleClock, timeOfDay } from './format.js';
import { notice } from './notices.js';
import { request } from './connection.js';

export function setAgentState(state) {
  S.agentState = { state: state.state, reason: state.reason, since: state.since };
  renderAgentState();
}

/** The not-ready reasons the menu offers: the deployment's (GET /not-ready-reasons)
 * when it configured any, else the menu's own (any reason is taken then). */
export function notReadyReasons() {
  return [...$('state-reasons').querySelectorAll('option')].map((o) => o.value.slice('not_ready:'.length));
}

let builtIn = null;  // the menu's own reasons, from the page

export async function loadNotReadyReasons() {
  if (!builtIn) builtIn = notReadyReasons();
  let reasons = [];
  try {
    const response = await fetch('/api/v1/not-ready-reasons', {
      headers: { Authorization: 'Bearer ' + S.token }, cache: 'no-store',
    });
    if (!response.ok) return;  // the menu keeps its own reasons
    reasons = (await response.json()).reasons || [];
  } catch (_) {
    return;
  }
  if (!reasons.length) reasons = builtIn;
  $('state-reasons').replaceChildren(...reasons.map((reason) => {
    const opt = h('option', '', `${t('notReady')} · ${reason}`);
    opt.value = 'not_ready:' + reason;
    return opt;
  }));
  renderAgentState();
}

export function renderAgentState() {
  const st = S.agentState;
  const select = $('state-select');
  const dot = $('state-dot');
  for (const opt of [...select.querySelectorAll('option[data-transient]')]) opt.remove();
  if (!st) return;
  dot.className = 'state-dot state-' + st.state;
  let value = st.state;
  if (st.state === 'not_ready') value = 'not_ready:' + (st.reason || '');
  if (!select.querySelector(`option[value="${CSS.escape(value)}"]`)) {
    const label = st.state === 'not_ready' ? `${t('notReady')}${st.reason ? ' · ' + st.reason : ''}` : STATE_LABELS[st.state] || st.state;
    const opt = h('option', '', label);
    opt.value = value;
    opt.disabled = true;
    opt.dataset.transient = '1';
    select.prepend(opt);
  }
  select.value = value;
  const since = typeof st.since === 'number' ? ' ' + t('sinceTime', { time: timeOfDay(st.since) }) : '';
  setText($('state-since'), `${STATE_LABELS[st.state] || st.state}${st.state === 'not_ready' && st.reason ? ' (' + st.reason + ')' : ''}${since}`);
  $('rona-banner').hidden = st.state !== 'rona';
}

export async function changeState(value) {
  // a reason may hold ':' itself: only the first one separates it from the state
  const cut = value.indexOf(':');
  const [state, reason] = cut < 0 ? [value, ''] : [value.slice(0, cut), value.slice(cut + 1)];
  const frame = { type: 'set_state', state };
  if (reason) frame.reason = reason;
  try {
    const ack = await request(frame);
    sampleClock(ack.since);
    setAgentState(ack);
  } catch (err) {
    notice(t('couldNotChangeState', { error: err.message }), 'error');
    renderAgentState();
  }
}
