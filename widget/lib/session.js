/* The signed-in session (the sb_session cookie), as the desk and the supervisor view use it:
 * who is signed in, a short-lived socket token for each connect, signing out, and the way
 * to /login. The cookie itself is HttpOnly: the page only ever sees the CSRF token. */

import { t } from './i18n.js';

/** Why a page sends its user to /login; the login page says it in words (never echoes the URL). */
export const LOGIN_REASONS = { ENDED: 'ended', SIGNED_OUT: 'signed_out' };
/** `/desk#paste` and `/supervisor#paste` show the form for an agent token instead (automation, tests). */
export const PASTE_HASH = '#paste';
// Socket tokens refused this many times in a row, though the session gives them: sign in again.
const SESSION_RETRIES = 3;

/** The address of the sign-in page that comes back to this page afterwards. */
export function loginUrl(reason) {
  const params = new URLSearchParams({ next: location.pathname });
  if (reason) params.set('reason', reason);
  return '/login?' + params.toString();
}

export function toLogin(reason) {
  location.assign(loginUrl(reason));
}

/** `GET /api/v1/me` with the cookie: the signed-in user (with its `csrf_token`), or null when nobody is. */
export async function signedInUser() {
  const answer = await fetch('/api/v1/me', { credentials: 'same-origin', cache: 'no-store' });
  if (answer.status === 401) return null;
  if (!answer.ok) throw new Error('GET /api/v1/me answered ' + answer.status);
  const me = await answer.json();
  return me && me.kind === 'user' ? me : null;
}

/** A page opened without a pasted token: `start(me)` for the signed-in user, else to /login
 * (which comes back here); `unreachable(text)` when the server does not answer. */
export async function startSignedIn(start, unreachable) {
  let me;
  try {
    me = await signedInUser();
  } catch (_) {
    unreachable(t('serverUnreachable'));
    return;
  }
  if (me) start(me);
  else toLogin('');
}

function post(path, csrfToken) {
  return fetch(path, { method: 'POST', credentials: 'same-origin', headers: { 'X-CSRF-Token': csrfToken } });
}

/** A fresh agent token for the socket. `{token}`; `{ended: true}` when the session is over
 * (signed out, expired, the user disabled); `{refused: message}` when this user may not
 * open the socket (an admin); throws when the server cannot be reached (try again). */
export async function socketToken(csrfToken) {
  const answer = await post('/api/v1/auth/socket-token', csrfToken);
  if (answer.ok) return { token: (await answer.json()).token };
  if (answer.status === 401) return { ended: true };
  if (answer.status === 403 || answer.status === 409) {
    let message = '';
    try { message = (await answer.json()).error.message; } catch (_) { /* no body */ }
    return { refused: message || t('userCannotOpen') };
  }
  throw new Error('POST /api/v1/auth/socket-token answered ' + answer.status);
}

/** `socketToken`, and to /login when the session has ended (its page is left: nothing more to do). */
export async function sessionSocketToken(csrfToken) {
  const answer = await socketToken(csrfToken);
  if (answer.ended) toLogin(LOGIN_REASONS.ENDED);
  return answer;
}

/** A signed-in page's socket closed with 4401: its token was revoked (the user signed out
 * elsewhere, was disabled or changed role) or expired. The next connect takes a fresh token
 * (or finds the session over and goes to /login); refused again and again, it goes to /login. */
export function retryWithFreshToken(socket) {
  if (socket.backoff.attempt < SESSION_RETRIES) return true;
  toLogin(LOGIN_REASONS.ENDED);
  return false;
}

/** Ends the session (its sockets close everywhere), then goes to /login. */
export async function signOutSession(csrfToken) {
  try { await post('/api/v1/auth/logout', csrfToken); } catch (_) { /* the sign-in page is where we go anyway */ }
  toLogin(LOGIN_REASONS.SIGNED_OUT);
}
