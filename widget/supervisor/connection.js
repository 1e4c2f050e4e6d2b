/* The agent socket: connect, reconnect with backoff, commands, frames, the welcome. */

import { t } from '../lib/i18n.js';
import { $ } from '../lib/dom.js';
import { ReconnectingSocket } from '../lib/socket.js';
import { retryWithFreshToken, sessionSocketToken } from '../lib/session.js';
import { MONITOR_KEY, TOKEN_KEY, state, ui } from './state.js';
import { setConn, show, signInScreen } from './screens.js';
import { onStats, refreshFilter } from './stats.js';
import { onCard } from './cards.js';
import { onHelp } from './help.js';
import { appendEvent, monitor, showTyping } from './monitor.js';

/** The socket (`socket.ws` is null while down). */
export const socket = new ReconnectingSocket({
  onOpen: (ws) => ws.send(JSON.stringify({ type: 'hello', token: state.token })),
  onFrame: handle,
  onClose(event) {
    state.refs.clear();
    if (event.code === 4401 && state.session) return retryWithFreshToken(socket);
    if (event.code === 4401) { signInScreen('The token was refused (invalid or expired). Sign in again.'); return false; }
    if (event.code === 4403) {
      // Trying again cannot help: the server's configuration must change.
      stop();
      setConn('offline', t('originRefused'));
      return false;
    }
    return !state.stopped;
  },
  beforeConnect: () => takeSocketToken(),
  onConnecting: () => setConn('connecting', t('connecting')),
  onRetry: (delay) => setConn('connecting', t('reconnectingIn', { n: Math.ceil(delay / 1000) })),
});

export function start(token) {
  state.token = token;
  sessionStorage.setItem(TOKEN_KEY, token);
  state.stopped = false;
  socket.backoff.reset();
  ui.signinError.hidden = true;
  socket.connect();
}

/** Signed in with the session: a fresh socket token for each connect (pasted tokens are used as they are). */
async function takeSocketToken() {
  if (!state.session) return true;
  const answer = await sessionSocketToken(state.session.csrf_token);
  if (answer.token) state.token = answer.token;
  else if (answer.refused) refuse(answer.refused);
  return Boolean(answer.token);
}

/** The view of the signed-in user (`GET /me`'s answer): the socket takes its tokens from the session. */
export function startWithSession(me) {
  state.session = me;
  state.stopped = false;
  socket.backoff.reset();
  ui.signinError.hidden = true;
  socket.connect();
}

function refuse(text) {
  stop();
  show('refusal');
  setConn('offline', t('notASupervisor'));
  $('refusal-text').textContent = text;
  ui.refusalBack.textContent = state.session ? t('signOut') : t('useAnotherToken');
  ui.refusalBack.focus();
}

export function stop() {
  state.stopped = true;
  socket.stop();
}

export function send(frame, onAnswer) {
  if (!socket.open) return false;
  if (onAnswer) {
    frame.ref = 's' + (state.nextRef++);
    state.refs.set(frame.ref, onAnswer);
  }
  return socket.send(frame);
}

export function handle(frame) {
  if ((frame.type === 'ack' || frame.type === 'error') && frame.ref && state.refs.has(frame.ref)) {
    const callback = state.refs.get(frame.ref);
    state.refs.delete(frame.ref);
    callback(frame);
    return;
  }
  switch (frame.type) {
    case 'welcome': return onWelcome(frame);
    case 'stats': return onStats(frame);
    case 'card': return onCard(frame.card);
    case 'help.requested': return onHelp(frame);
    case 'message': case 'note': case 'chat.connected': case 'chat.ended':
    case 'chat.participant_joined': case 'chat.participant_left': case 'chat.transferred':
      if (frame.conversation_id === state.pendingMonitor) state.pendingFrames.push(frame);
      else if (frame.conversation_id === state.monitored) appendEvent(frame);
      return;
    case 'typing':
      if (frame.conversation_id === state.monitored) showTyping(frame);
      return;
    default: return;
  }
}

function onWelcome(frame) {
  const agent = frame.agent || {};
  state.profile = agent;
  if (agent.role !== 'supervisor') {
    sessionStorage.removeItem(TOKEN_KEY);
    refuse(t('signedInAsNotSupervisor', { name: agent.display_name || agent.id || t('anAgent') }) + ' ' +
      (state.session ? t('signOutAndSignIn') : t('useASupervisorToken')));
    return;
  }
  socket.backoff.reset();
  // The server sends every open card of our queues before its first stats:
  // open cards it does not send again closed while we were away.
  state.unconfirmed = new Set();
  state.cards.forEach((card, sid) => { if (card.status !== 'closed') state.unconfirmed.add(sid); });
  show('board');
  setConn('online', t('live'));
  ui.who.textContent = agent.display_name || agent.id;
  (agent.queues || []).forEach((q) => { if (!state.queueNames[q]) state.queueNames[q] = q; });
  refreshFilter();
  // The server keeps what we monitored across a reconnect; the panel shows one
  // conversation: ask for it again (its whole history), drop any other.
  const wanted = state.monitored || sessionStorage.getItem(MONITOR_KEY);
  (frame.monitoring || []).forEach((cid) => {
    if (cid !== wanted) send({ type: 'unmonitor', conversation_id: cid });
  });
  if (wanted) monitor(wanted, true);
}
