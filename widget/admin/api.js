/* The console's calls to the HTTP API, made with the signed-in session: the cookie goes by
 * itself, every change also sends the session's CSRF token (double submit). A refusal is an
 * `ApiError` with the server's own words, for the form that caused it to show. */

import { t } from '../lib/i18n.js';
import { LOGIN_REASONS, toLogin } from '../lib/session.js';

const UNREACHABLE = 'The server cannot be reached. Check your connection and try again.';
let csrfToken = '';

export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code || '';
  }
}

export function useCsrfToken(token) {
  csrfToken = token;
}

/** The JSON answer (null for 204), or throws `ApiError`. A 401 means the session is over: to /login. */
export async function api(method, path, body) {
  const init = { method, credentials: 'same-origin', cache: 'no-store', headers: {} };
  if (method !== 'GET') init.headers['X-CSRF-Token'] = csrfToken;
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let answer;
  try {
    answer = await fetch(path, init);
  } catch (_) {
    throw new ApiError(0, UNREACHABLE);
  }
  let data = null;
  if (answer.status !== 204) {
    try { data = await answer.json(); } catch (_) { /* no JSON body */ }
  }
  if (answer.status === 401) {
    toLogin(LOGIN_REASONS.ENDED);
    throw new ApiError(401, 'Your session has ended. Sign in again.');
  }
  if (!answer.ok) {
    const error = data && data.error;
    throw new ApiError(answer.status, (error && error.message) || t('serverAnswered', { status: String(answer.status) }),
      error && error.code);
  }
  return data;
}

/** A path segment of an id, encoded. */
export const seg = (id) => encodeURIComponent(id);
