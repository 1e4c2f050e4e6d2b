/* The sign-in page, /login: email and password (POST /api/v1/auth/login, and the code of the
 * user's authenticator app when the server answers `totp_required`), a one-time link
 * (`/login#once=<token>`, printed by `switchboard demo`: in the fragment, so it never
 * reaches a log), or the "Sign in with ..." link of single sign-on when the server has it
 * (GET /api/v1/auth/providers); then on to where the user was sent from (`?next=/desk`, a
 * path of this site only) or to the page of its role. Plain ES module, no build step; every
 * text is set as text. The session cookie is HttpOnly: this page never sees it. */

import { $, setText } from './lib/dom.js';
import { formatTime, t, translatePage, useCatalogue } from './lib/i18n.js';
import { SIGN_IN_STRINGS } from './login-strings.js';
import { LOGIN_REASONS, PASTE_HASH } from './lib/session.js';

// Where each role goes when no `next` says otherwise.
const ROLE_HOMES = { agent: '/desk', supervisor: '/supervisor', admin: '/admin' };
// The catalogue keys of the notices, by the reason a page sent its user here.
const NOTICES = { [LOGIN_REASONS.ENDED]: 'sessionEnded', [LOGIN_REASONS.SIGNED_OUT]: 'youAreSignedOut' };
const ONCE_HASH = '#once=';
const PASTE_PAGES = new Set(['/desk', '/supervisor']);

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
const totpField = $('login-totp-field');
const totp = $('login-totp');
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
  const until = formatTime(Date.now() + seconds * 1000, { second: '2-digit' });
  showError(t(seconds === 1 ? 'throttledOne' : 'throttledMany', { n: seconds, until }));
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
  if (!given.email) { showError(t('enterYourEmail'), email); return; }
  if (!given.password) { showError(t('enterYourPassword'), password); return; }
  if (!totpField.hidden) {
    if (!totp.value.trim()) { showError(t('codeNeeded'), totp); return; }
    given.totp = totp.value.trim();
  }
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
  const code = answer.status === 401 ? await errorCode(answer) : '';
  if (code === 'totp_required' || code === 'totp_wrong') {
    // The password was right: it stays, and the code is asked for (again).
    totpField.hidden = false;
    totp.value = '';
    showError(code === 'totp_required' ? t('codeNeeded') : t('codeWrong'), totp);
    return;
  }
  password.value = '';
  if (answer.status === 429) throttled(answer);
  else if (answer.status === 401) showError(t('wrongEmailOrPassword'), password);
  else showError(t('signInFailed', { status: String(answer.status) }));
}

/** The `error.code` of a refusal's body, or '' when it has none. */
async function errorCode(answer) {
  try {
    const body = await answer.json();
    return (body && body.error && typeof body.error.code === 'string') ? body.error.code : '';
  } catch (_) {
    return '';
  }
}

/** "Sign in with <provider>" when the server has single sign-on; it comes back to `next` too. */
async function offerSingleSignOn() {
  let offered;
  try {
    const answer = await fetch('/api/v1/auth/providers', { credentials: 'same-origin', cache: 'no-store' });
    offered = answer.ok ? (await answer.json()).single_sign_on : null;
  } catch (_) {
    return; // the password form still works; the error shows when it is used
  }
  if (!offered || typeof offered.login_url !== 'string' || !offered.login_url.startsWith('/auth/')) return;
  const link = $('login-sso-link');
  setText(link, t('signInWith', { name: offered.name }));
  link.href = offered.login_url + (next ? '?' + new URLSearchParams({ next }).toString() : '');
  $('login-sso').hidden = false;
}

/** `#once=<token>`: the one-time link is used at once, and leaves the address bar first. */
async function signInOnce(token) {
  history.replaceState(null, '', location.pathname + location.search);
  showNotice(t('signingYouIn'));
  let answer;
  try {
    answer = await post('/api/v1/auth/login-link', { token });
  } catch (_) {
    showNotice('');
    showError(t('unreachable'));
    return;
  }
  if (answer.ok) { proceed((await answer.json()).user); return; }
  showNotice('');
  showError(t('linkUsed'), email);
}

function start() {
  useCatalogue(SIGN_IN_STRINGS);
  translatePage();
  form.addEventListener('submit', signIn);
  const nextPath = next && new URL(next, location.origin).pathname;
  $('login-paste').href = (PASTE_PAGES.has(nextPath) ? nextPath : '/desk') + PASTE_HASH;
  const reason = params.get('reason');
  showNotice(Object.hasOwn(NOTICES, reason) ? t(NOTICES[reason]) : '');
  offerSingleSignOn();
  if (location.hash.startsWith(ONCE_HASH)) { signInOnce(location.hash.slice(ONCE_HASH.length)); return; }
  email.focus();
}

start();
