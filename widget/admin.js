/* Switchboard admin console, /admin: users, queues, canned responses, invitation rules,
 * not-ready reasons, webhooks, API keys and the audit trail, over the HTTP API with the
 * signed-in session. Plain ES modules, no build step; every text from the server is set as
 * text. Only admins get the console: anyone else signed in is told so (and the server refuses
 * their calls anyway). This is the entry module; the sections are in admin/. */

import { $, setText } from './lib/dom.js';
import { labels, languagePicker, t, translatePage, useCatalogue } from './lib/i18n.js';
import { SHARED_STRINGS } from './lib/strings.js';
import { ADMIN_STRINGS } from './admin/strings.js';
import { signOutSession, startSignedIn } from './lib/session.js';
import { useCsrfToken } from './admin/api.js';
import { problem, say } from './admin/ui.js';
import * as users from './admin/users.js';
import * as queues from './admin/queues.js';
import * as canned from './admin/canned.js';
import * as inviteRules from './admin/invite-rules.js';
import * as notReady from './admin/not-ready.js';
import * as webhooks from './admin/webhooks.js';
import * as apiKeys from './admin/api-keys.js';
import * as audit from './admin/audit.js';

const SECTIONS = {
  users, queues, canned, 'invite-rules': inviteRules, 'not-ready': notReady, webhooks, 'api-keys': apiKeys, audit,
};
const FIRST = 'users';
const ROLE_HOMES = { agent: '/desk', supervisor: '/supervisor' };
const ROLE_NAMES = labels({ agent: 'anAgent', supervisor: 'aSupervisor' });

function show(screen) {
  for (const id of ['loading', 'refusal', 'console']) $(id).hidden = id !== screen;
}

/** Shows the section of the address's `#name` and loads it afresh; `focus` moves to its heading. */
async function open(focus) {
  const name = Object.hasOwn(SECTIONS, location.hash.slice(1)) ? location.hash.slice(1) : FIRST;
  for (const key of Object.keys(SECTIONS)) $(`section-${key}`).hidden = key !== name;
  for (const link of document.querySelectorAll('.sections-nav a')) {
    if (link.dataset.section === name) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  const section = $(`section-${name}`);
  if (focus) section.querySelector('h2').focus();
  try {
    await SECTIONS[name].load();
  } catch (error) {
    const status = section.querySelector('[role=status], [role=alert]');
    if (status) say(status, t('sectionNotLoaded', { error: problem(error) }));
  }
}

function refuse(me) {
  show('refusal');
  setText($('refusal-text'), t('signedInAsNotAdmin', { name: me.name, role: ROLE_NAMES[me.role] || me.role }));
  $('refusal-home').href = ROLE_HOMES[me.role] || '/login';
  $('refusal-signout').addEventListener('click', () => signOutSession(me.csrf_token));
}

function start(me) {
  setText($('me-name'), me.name);
  const signout = $('signout');
  signout.hidden = false;
  signout.addEventListener('click', () => signOutSession(me.csrf_token));
  if (me.role !== 'admin') { refuse(me); return; }
  useCsrfToken(me.csrf_token);
  for (const section of Object.values(SECTIONS)) section.init(me);
  show('console');
  window.addEventListener('hashchange', () => open(true));
  open(false);
}

useCatalogue(SHARED_STRINGS, ADMIN_STRINGS);
translatePage();
languagePicker($('language'));

startSignedIn(start, (text) => {
  show('refusal');
  setText($('refusal-title'), t('consoleCannotStart'));
  setText($('refusal-text'), text);
  $('refusal-home').hidden = true;
  $('refusal-signout').hidden = true;
});
