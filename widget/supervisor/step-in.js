/* Stepping in: on the monitored conversation a whisper to its agents, barging in (then
 * writing to the customer, and leaving) and reassigning it; on the agents board,
 * forcing an agent not ready or signing it out. Each is a command of the agent socket;
 * its answer is said in the panel's status line. Text is only ever set as text. */

import { t } from '../lib/i18n.js';
import { $, h, setText } from '../lib/dom.js';
import { hooks, state } from './state.js';
import { announce } from './screens.js';

const el = {
  whisperForm: $('whisper-form'), whisperText: $('whisper-text'),
  bargeForm: $('barge-form'), bargeText: $('barge-text'),
  bargeIn: $('barge-in'), bargeLeave: $('barge-leave'), foot: $('monitor-foot'),
  reassignForm: $('reassign-form'), reassignTarget: $('reassign-target'), status: $('step-in-status'),
  whisperSend: $('whisper-form').querySelector('button'), reassignSend: $('reassign-form').querySelector('button'),
  forceForm: $('force-form'), forceAgent: $('force-agent'), forceReason: $('force-reason'),
  forceSignOut: $('force-sign-out')
};

/** Whether this supervisor is in the monitored conversation (it barged in): read from its
 * events, so a reload or a reconnect that replays them lands on the same answer. */
let barged = false;

function say(text) {
  setText(el.status, text);
  announce(text);
}

/** Sends `frame`; says `done` (or the refusal) when the answer comes. */
function command(frame, done, then) {
  const sent = hooks.send(frame, (answer) => {
    if (answer.type === 'error') { say(t('refused', { reason: answer.message || answer.code })); return; }
    say(done);
    if (then) then(answer);
  });
  if (!sent) say(t('notConnectedTryAgain'));
}

function render() {
  el.bargeIn.hidden = barged;
  el.bargeLeave.hidden = !barged;
  el.bargeForm.hidden = !barged;
  el.foot.textContent = barged
    ? t('youAreInTheConversation')
    : t('silentMonitoringNobodyInThe');
}

/** What the monitored session's card allows: barging in and reassigning need an agent on it
 * (active or in conference); a whisper needs the session open. */
export function stepInFor(card) {
  const status = card && card.status;
  const live = status === 'active' || status === 'conference';
  el.bargeIn.disabled = el.reassignSend.disabled = !live;
  el.whisperSend.disabled = status === 'wrap_up' || status === 'closed';
}

/** A new conversation in the panel: nothing known about it yet. */
export function resetStepIn() {
  barged = false;
  el.status.textContent = '';
  el.whisperText.value = el.bargeText.value = '';
  render();
  refreshTargets();
}

/** An event of the monitored conversation: did this supervisor join or leave it? */
export function noteParticipation(ev) {
  const me = state.profile && state.profile.id;
  const mine = ev.agent && ev.agent.id === me;
  if (ev.type === 'chat.participant_joined' && mine) barged = true;
  else if ((ev.type === 'chat.participant_left' && mine) || ev.type === 'chat.ended') barged = false;
  else return;
  const moveFocus = !barged && el.bargeLeave.contains(document.activeElement);
  render();
  if (moveFocus) el.bargeIn.focus();
}

/** Keeps a select's options (value -> label, grouped) and its choice while it still exists. */
function fill(select, groups, placeholder) {
  const chosen = select.value;
  const wanted = JSON.stringify(groups);
  if (select.dataset.options !== wanted) {
    select.dataset.options = wanted;
    const first = h('option', null, placeholder);
    first.value = '';
    const nodes = [first];
    for (const [label, options] of groups) {
      if (!options.length) continue;
      const group = h('optgroup');
      group.label = label;
      for (const [value, text] of options) {
        const option = h('option', null, text);
        option.value = value;
        group.append(option);
      }
      nodes.push(group);
    }
    select.replaceChildren(...nodes);
  }
  select.value = [...select.options].some((o) => o.value === chosen) ? chosen : '';
}

/** The agents and queues a conversation may go to, and the agents the board acts on (never oneself). */
export function refreshTargets() {
  const me = state.profile && state.profile.id;
  const agents = state.agents.filter((a) => a.id !== me)
    .map((a) => [a.id, (a.display_name || a.id)])
    .sort((a, b) => a[1].localeCompare(b[1]));
  const queues = Object.keys(state.queueNames).sort().map((id) => ['queue:' + id, state.queueNames[id]]);
  fill(el.reassignTarget, [[t('agents'), agents.map(([id, name]) => ['agent:' + id, name])], [t('queues'), queues]], t('chooseAgentOrQueue'));
  fill(el.forceAgent, [[t('agents'), agents]], t('chooseAnAgent'));
}

function whisper(event) {
  event.preventDefault();
  const text = el.whisperText.value.trim();
  if (!text || !state.monitored) { el.whisperText.focus(); return; }
  command({ type: 'whisper', conversation_id: state.monitored, text }, t('whisperedToAgents'), () => {
    el.whisperText.value = '';
  });
}

function bargeIn() {
  if (!state.monitored) return;
  command({ type: 'barge_in', conversation_id: state.monitored }, t('youJoinedConversation'), () => {
    barged = true;
    render();
    el.bargeText.focus();
  });
}

function leave() {
  if (!state.monitored) return;
  command({ type: 'leave', conversation_id: state.monitored }, t('youLeftConversation'), () => {
    barged = false;
    render();
    el.bargeIn.focus();
  });
}

function write(event) {
  event.preventDefault();
  const text = el.bargeText.value.trim();
  if (!text || !state.monitored) { el.bargeText.focus(); return; }
  command({ type: 'message', conversation_id: state.monitored, text }, t('sentToCustomer'), () => {
    el.bargeText.value = '';
  });
}

function reassign(event) {
  event.preventDefault();
  const choice = el.reassignTarget.value;
  if (!choice || !state.monitored) { say(t('chooseReassignTarget')); el.reassignTarget.focus(); return; }
  const [kind, id] = [choice.slice(0, choice.indexOf(':')), choice.slice(choice.indexOf(':') + 1)];
  const label = el.reassignTarget.selectedOptions[0].textContent;
  command({ type: 'reassign', conversation_id: state.monitored, [kind]: id }, t('reassignedToLabel', { label }));
}

function force(agentState) {
  const agent = el.forceAgent.value;
  if (!agent) { say(t('chooseAnAgentDot')); el.forceAgent.focus(); return; }
  const name = el.forceAgent.selectedOptions[0].textContent;
  const frame = { type: 'force_state', agent, state: agentState };
  const reason = el.forceReason.value.trim();
  if (agentState === 'not_ready' && reason) frame.reason = reason;
  command(frame, agentState === 'offline' ? t('wasSignedOut', { name }) : t('isNotReadyNow', { name }));
}

export function initStepIn() {
  el.whisperForm.addEventListener('submit', whisper);
  el.bargeForm.addEventListener('submit', write);
  el.bargeIn.addEventListener('click', bargeIn);
  el.bargeLeave.addEventListener('click', leave);
  el.reassignForm.addEventListener('submit', reassign);
  el.forceForm.addEventListener('submit', (event) => { event.preventDefault(); force('not_ready'); });
  el.forceSignOut.addEventListener('click', () => force('offline'));
  // Enter sends a whisper or a message; Shift+Enter is a new line.
  for (const [area, form] of [[el.whisperText, el.whisperForm], [el.bargeText, el.bargeForm]]) {
    area.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
    });
  }
  render();
  refreshTargets();
}
