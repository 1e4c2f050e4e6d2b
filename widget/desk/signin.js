/* Signing in and out: the signed-in session (a fresh socket token for each connect), or a
 * pasted token, kept in this tab only. */

import { $, setText } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { HELD_KEY, S, TOKEN_KEY } from './state.js';
import { connect, failPending, socket } from './connection.js';
import { removeOffer } from './offers.js';
import { renderAll } from './chat-list.js';

export function readToken() {
  const hash = location.hash || '';
  const match = /^#token=(.+)$/.exec(hash);
  if (match) {
    let token = match[1];
    try { token = decodeURIComponent(token); } catch (_) { /* keep it as given */ }
    sessionStorage.setItem(TOKEN_KEY, token);
    // The token must not linger in the address bar (history, screenshots, shoulders).
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

export function showSignIn(error) {
  $('desk').hidden = true;
  $('signin').hidden = false;
  setText($('signin-error'), error || '');
  $('signin-token').value = '';
  $('signin-token').focus();
  document.title = `${t('signIn')} · ${t('switchboardDesk')}`;
}

function showDesk() {
  $('signin').hidden = true;
  $('desk').hidden = false;
}

export function signIn(token) {
  S.token = token;
  sessionStorage.setItem(TOKEN_KEY, token);
  showDesk();
  renderAll();
  connect();
}

/** The desk of the signed-in user (`GET /me`'s answer): the socket takes its tokens from the session. */
export function signInWithSession(me) {
  S.session = me;
  showDesk();
  renderAll();
  connect();
}

/** Back to the sign-in form; forgets the token and everything of this shift. */
export function signOutLocal(error) {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(HELD_KEY);
  socket.stop();
  failPending(t('signedOut'));
  for (const offer of [...S.offers.keys()]) removeOffer(offer);
  S.convs.clear();
  S.order = [];
  S.closed = [];
  S.active = null;
  S.me = null;
  S.agentState = null;
  S.token = '';
  S.session = null;
  S.bootResume = {};
  for (const id of ['tabs', 'closed-list', 'search-results', 'transcript']) $(id).replaceChildren();
  showSignIn(error);
}
