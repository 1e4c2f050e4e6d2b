/* The page an invitation's or password reset's link opens: /password#token=<token> (in the
 * fragment, so the token never reaches a log). The user chooses a password twice; POST
 * /api/v1/auth/password sets it and signs the user in, then on to the page of its role.
 * The token leaves the address bar at once and is kept only in this page's memory. */

import { $, setText } from './lib/dom.js';
import { t, translatePage, useCatalogue } from './lib/i18n.js';
import { SIGN_IN_STRINGS } from './login-strings.js';
import { codePoints } from './lib/text.js';

const TOKEN_HASH = '#token=';
const MIN_LENGTH = 10;
const ROLE_HOMES = { agent: '/desk', supervisor: '/supervisor', admin: '/admin' };

const form = $('password-form');
const password = $('password-new');
const confirmation = $('password-confirm');
const submit = $('password-submit');
const error = $('password-error');
let token = '';

function showError(text, field) {
  setText(error, text);
  if (field) {
    field.setAttribute('aria-invalid', 'true');
    field.focus();
  }
}

function clearError() {
  setText(error, '');
  password.removeAttribute('aria-invalid');
  confirmation.removeAttribute('aria-invalid');
}

/** The server's words for a refusal, else a sentence with its status. */
async function refusal(answer) {
  try {
    const body = await answer.json();
    if (body && body.error && body.error.message) return t('serverRefused', { message: body.error.message });
  } catch (_) { /* no JSON body */ }
  return t('settingPasswordFailed', { status: String(answer.status) });
}

async function choose(event) {
  event.preventDefault();
  clearError();
  if (!token) { showError(t('passwordLinkUsed')); return; }
  if (codePoints(password.value) < MIN_LENGTH) {
    showError(t('passwordTooShort', { n: MIN_LENGTH }), password);
    return;
  }
  if (password.value !== confirmation.value) { showError(t('passwordsDiffer'), confirmation); return; }
  submit.disabled = true;
  let answer;
  try {
    answer = await fetch('/api/v1/auth/password', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token, password: password.value }),
    });
  } catch (_) {
    submit.disabled = false;
    showError(t('unreachable'));
    return;
  }
  if (answer.ok) {
    const signedIn = await answer.json();
    location.assign(ROLE_HOMES[signedIn.user && signedIn.user.role] || '/desk');
    return;
  }
  submit.disabled = false;
  if (answer.status === 401) {
    token = '';
    showError(t('passwordLinkUsed'));
  } else {
    showError(await refusal(answer), password);
  }
}

function start() {
  useCatalogue(SIGN_IN_STRINGS);
  translatePage();
  if (location.hash.startsWith(TOKEN_HASH)) token = location.hash.slice(TOKEN_HASH.length);
  history.replaceState(null, '', location.pathname);
  form.addEventListener('submit', choose);
  if (!token) {
    showError(t('needsTheLink'));
    submit.disabled = true;
    return;
  }
  password.focus();
}

start();
