/* The sign-in page, /login: email and password (POST /api/v1/auth/login), or a one-time
 * link (`/login#once=<token>`, printed by `switchboard demo`: in the fragment, so it never
 * reaches a log), then on to where the user was sent from (`?next=/desk`, a path of this
 * site only) or to the page of its role. Plain ES module, no build step; every text is set
 * as text. The session cookie is HttpOnly: this page never sees it. */

import { $, setText } from './lib/dom.js';
import { LOGIN_REASONS, PASTE_HASH } from './lib/session.js';

// Where each role goes when no `next` says otherwise.
const ROLE_HOMES = { agent: '/desk', supervisor: '/supervisor', admin: '/admin' };
const NOTICES = {
  [LOGIN_REASONS.ENDED]: 'Your session has ended: you were signed out (here or elsewhere), or an administrator ' +
    'disabled your account. Sign in again.',
  [LOGIN_REASONS.SIGNED_OUT]: 'You are signed out.',
};
const ONCE_HASH = '#once=';
const PASTE_PAGES = new Set(['/desk', '/supervisor']);
const WRONG = 'Wrong email or password.';
const UNREACHABLE = 'The server cannot be reached. Check your connection and try again.';

/** `raw` when it is a path of this site (`/desk`, `/supervisor?x=1`), else null: no open redirect
 * (`//evil.example`, `/\evil.example`, `https://evil.example` and control characters are refused). */
export function safeNext(raw) {
  if (typeof raw !== 'string' || !raw.startsWith('/') || raw.startsWith('//') || raw.includes('\\')) return null;
  if (/[\u0000-\u001f\u007f]/.test(raw)) return null;
  let url;
  try { url = new URL(raw, location.origin); } catch (_) { return null; }
  if (url.origin !== location.origin || url.pathname === '/login') return null;
  return url.pathname + url.search + url.hash;
}

const params = new URLSearchParams(location.search);
const next = safeNext(params.get('next'));
const form = $('login-form');
const email = $('login-email');
const password = $('login-password');
const submit = $('login-submit');
const error = $('login-error');
let waitTimer = 0;

function showNotice(text) {
  const notice = $('login-notice');
  setText(notice, text || '');
  notice.hidden = !text;
}

function showError(text, field) {
  setText(error, text);
  if (field) field.focus();
}

/** On to `next`, else to the page of the signed-in user's role. */
function proceed(user) {
  location.assign(next || ROLE_HOMES[user && user.role] || '/desk');
}

/** A sign-in refused for a while (429): says until when, and keeps the button off until then. */
function throttled(answer) {
  const seconds = Math.max(1, parseInt(answer.headers.get('Retry-After') || '', 10) || 1);
  const until = new Date(Date.now() + seconds * 1000).toLocaleTimeString();
  showError(`Too many failed sign-ins. Try again in ${seconds} ${seconds === 1 ? 'second' : 'seconds'} (at ${until}).`);
  submit.disabled = true;
  clearTimeout(waitTimer);
  waitTimer = setTimeout(() => { submit.disabled = false; }, seconds * 1000);
}

async function post(path, body) {
  return fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function signIn(event) {
  event.preventDefault();
  const given = { email: email.value.trim(), password: password.value };
  if (!given.email) { showError('Enter your email.', email); return; }
  if (!given.password) { showError('Enter your password.', password); return; }
  showError('');
  submit.disabled = true;
  let answer;
  try {
    answer = await post('/api/v1/auth/login', given);
  } catch (_) {
    submit.disabled = false;
    showError(UNREACHABLE);
    return;
  }
  submit.disabled = false;
  if (answer.ok) { proceed((await answer.json()).user); return; }
  password.value = '';
  if (answer.status === 429) throttled(answer);
  else if (answer.status === 401) showError(WRONG, password);
  else showError(`Signing in failed (the server answered ${answer.status}). Try again later.`);
}

/** `#once=<token>`: the one-time link is used at once, and leaves the address bar first. */
async function signInOnce(token) {
  history.replaceState(null, '', location.pathname + location.search);
  showNotice('Signing you in…');
  let answer;
  try {
    answer = await post('/api/v1/auth/login-link', { token });
  } catch (_) {
    showNotice('');
    showError(UNREACHABLE);
    return;
  }
  if (answer.ok) { proceed((await answer.json()).user); return; }
  showNotice('');
  showError('This sign-in link was already used or has expired. Sign in with your email and password, ' +
    'or ask your administrator for a new link.', email);
}

function start() {
  form.addEventListener('submit', signIn);
  const nextPath = next && new URL(next, location.origin).pathname;
  $('login-paste').href = (PASTE_PAGES.has(nextPath) ? nextPath : '/desk') + PASTE_HASH;
  showNotice(NOTICES[params.get('reason')] || '');
  if (location.hash.startsWith(ONCE_HASH)) { signInOnce(location.hash.slice(ONCE_HASH.length)); return; }
  email.focus();
}

start();
