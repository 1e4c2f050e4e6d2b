/* The agent's own state (available, not ready, RONA) and changing it. */

import { $, h, setText } from '../lib/dom.js';
import { STATE_LABELS } from '../lib/labels.js';
import { S } from './state.js';
import { sampleClock, timeOfDay } from './format.js';
import { notice } from './notices.js';
import { request } from './connection.js';

export function setAgentState(state) {
  S.agentState = { state: state.state, reason: state.reason, since: state.since };
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
    const label = st.state === 'not_ready' ? `Not ready${st.reason ? ' · ' + st.reason : ''}` : STATE_LABELS[st.state] || st.state;
    const opt = h('option', '', label);
    opt.value = value;
    opt.disabled = true;
    opt.dataset.transient = '1';
    select.prepend(opt);
  }
  select.value = value;
  const since = typeof st.since === 'number' ? ` since ${timeOfDay(st.since)}` : '';
  setText($('state-since'), `${STATE_LABELS[st.state] || st.state}${st.state === 'not_ready' && st.reason ? ' (' + st.reason + ')' : ''}${since}`);
  $('rona-banner').hidden = st.state !== 'rona';
}

export async function changeState(value) {
  const [state, reason] = value.split(':');
  const frame = { type: 'set_state', state };
  if (reason) frame.reason = reason;
  try {
    const ack = await request(frame);
    sampleClock(ack.since);
    setAgentState(ack);
  } catch (err) {
    notice(`Could not change your state: ${err.message}`, 'error');
    renderAgentState();
  }
}
