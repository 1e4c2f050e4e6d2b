/* The agent socket: connect, resume, reconnect with backoff, commands and their answers. */

import { $ } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { ReconnectingSocket } from '../lib/socket.js';
import { retryWithFreshToken, sessionSocketToken } from '../lib/session.js';
import { hooks, REQUEST_TIMEOUT_MS, RESUME_WINDOW, S } from './state.js';
import { serverNow } from './format.js';
import { notice } from './notices.js';

function resumeMap() {
  const resume = { ...S.bootResume };
  for (const cid of S.order) {
    const conv = S.convs.get(cid);
    if (conv) resume[cid] = Math.max(0, conv.lastSeq - RESUME_WINDOW);
  }
  return resume;
}

/** The socket (`socket.ws` is null while down; `socket.retryAt` says when the next try is due). */
export const socket = new ReconnectingSocket({
  onOpen: (ws) => S.clockSampled.then(() => {
    if (ws !== socket.ws || ws.readyState !== WebSocket.OPEN) return;
    S.sentResume = resumeMap();
    S.helloAt = serverNow();
    ws.send(JSON.stringify({ type: 'hello', token: S.token, resume: S.sentResume }));
  }),
  onFrame: (frame) => hooks.handle(frame),
  onClose(event) {
    S.welcomed = false;
    failPending(t('revokedDisconnected'));
    if (event.code === 4401 && S.session) return retryWithFreshToken(socket);
    if (event.code === 4401) {
      const detail = event.reason && !/invalid or expired/.test(event.reason) ? ` (${event.reason})` : '';
      hooks.signOutLocal(t('tokenInvalid', { detail }));
      return false;
    }
    if (event.code === 4403) {
      // Trying again cannot help: the server's configuration must change.
      S.refused = true;
      hooks.renderConnection();
      notice(t('originRefused'), 'error');
      return false;
    }
    return true;
  },
  beforeConnect: () => takeSocketToken(),
  onConnecting: () => hooks.renderConnection(),
  onRetry() {
    hooks.renderConnection();
    hooks.renderComposer();
  },
});

/** Signed in with the session: a fresh socket token for each connect (pasted tokens are used as they are). */
async function takeSocketToken() {
  if (!S.session) return true;
  const answer = await sessionSocketToken(S.session.csrf_token);
  if (answer.token) S.token = answer.token;
  else if (answer.refused) hooks.signOutLocal(answer.refused);
  return Boolean(answer.token);
}

export function connect() {
  S.welcomed = false;
  socket.connect();
}

export function failPending(reason) {
  for (const [ref, waiter] of S.pending) {
    clearTimeout(waiter.timer);
    waiter.reject(Object.assign(new Error(reason), { code: 'offline' }));
    S.pending.delete(ref);
  }
}

/** Sends a command with a ref; resolves with its ack, rejects with its error. */
export function request(frame) {
  const ws = socket.ws;
  if (!socket.open || !S.welcomed) {
    return Promise.reject(Object.assign(new Error('Not connected; reconnecting…'), { code: 'offline' }));
  }
  S.refSeq += 1;
  const ref = 'd' + S.refSeq;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      S.pending.delete(ref);
      reject(Object.assign(new Error(t('noAnswer')), { code: 'offline' }));
    }, REQUEST_TIMEOUT_MS);
    S.pending.set(ref, { resolve, reject, timer });
    ws.send(JSON.stringify({ ...frame, ref }));
  });
}

/** A command whose answer nobody waits for (typing). */
export function fire(frame) {
  if (S.welcomed) socket.send(frame);
}
