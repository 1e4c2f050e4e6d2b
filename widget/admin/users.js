/* Users: the people who sign in. Create (with a role, queues and, for agents and supervisors,
 * the routing profile of `PUT /api/v1/agents/{id}`), invite by email or a link to pass on,
 * reset a password or a second factor, disable, enable and delete. */

import { labels, t } from '../lib/i18n.js';
import { $, h, setText } from '../lib/dom.js';
import { api, seg } from './api.js';
import { act, actions, button, copyButton, fieldError, fillTable, joined, listOf, onSubmit, row, say }
  from './ui.js';

const ROLE_NAMES = labels({ agent: 'agent', supervisor: 'supervisor', admin: 'admin' });
const PAGE = 200;
const ui = {
  status: $('users-status'), table: $('users-table'), more: $('users-more'),
  form: $('user-form'), title: $('user-form-title'), id: $('user-id'), email: $('user-email'), name: $('user-name'),
  role: $('user-role'), queues: $('user-queues'), profile: $('user-profile'), languages: $('user-languages'),
  skills: $('user-skills'), capacity: $('user-capacity'), invite: $('user-invite'), inviteRow: $('user-invite-row'),
  error: $('user-error'), submit: $('user-submit'), cancel: $('user-cancel'),
  link: $('user-link'), linkText: $('user-link-text'), linkValue: $('user-link-value'), linkCopy: $('user-link-copy'),
};
let users = [];
let cursor = null;
let knownQueues = [];
let myId = '';
// Whether the server has `DELETE /api/v1/users/{id}/totp`; found out by the first use.
let totpResettable = true;

const isAgent = (role) => role === 'agent' || role === 'supervisor';

function queueChecks(queueIds, chosen) {
  const legend = h('legend', '', t('queues'));
  const boxes = queueIds.map((qid) => {
    const box = h('input');
    box.type = 'checkbox';
    box.name = 'queue';
    box.value = qid;
    box.checked = chosen.includes(qid);
    return h('label', 'radio', '', [box, document.createTextNode(' ' + qid)]);
  });
  ui.queues.replaceChildren(legend, ...(boxes.length ? boxes : [h('p', 'muted small', t('noQueueYet'))]));
}

function chosenQueues() {
  return [...ui.queues.querySelectorAll('input[name=queue]:checked')].map((box) => box.value);
}

function showProfile() {
  ui.profile.hidden = !isAgent(ui.role.value);
}

/** The link of an invitation or reset: said to have gone by email, or shown to pass on. */
function showLink(user, sent, what) {
  ui.link.hidden = false;
  ui.linkValue.value = sent.link;
  setText(ui.linkText, sent.emailed
    ? t(`${what}Emailed`, { email: sent.email })
    : t(`${what}NotEmailed`, { problem: sent.problem, name: user.name }));
}

async function sendLink(user, kind) {
  const sent = await api('POST', `/api/v1/users/${seg(user.id)}/${kind}`);
  showLink(user, sent, kind === 'invitation' ? 'invitation' : 'reset');
}

async function resetTotp(user) {
  try {
    await api('DELETE', `/api/v1/users/${seg(user.id)}/totp`);
    say(ui.status, t('totpReset', { name: user.name }));
  } catch (error) {
    if (error.status !== 404 && error.status !== 405) throw error;
    totpResettable = false;
    say(ui.status, t('totpResetUnavailable'));
    render();
  }
}

function userRow(user) {
  const me = user.id === myId; // no disabling or deleting oneself: the console would lock its own admin out
  const status = user.disabled ? t('disabled') : user.has_password ? t('active') : t('noPasswordYet');
  const named = (key) => t(key, { name: user.name });
  return row([
    user.name, user.email, ROLE_NAMES[user.role] || user.role, joined(user.queues), status,
    actions([
      button(t('edit'), () => edit(user), 'btn btn-small', named('editNamed')),
      !user.disabled && button(user.has_password ? t('resetPassword') : t('inviteButton'), () => act(ui.status, '',
        () => sendLink(user, user.has_password ? 'password-reset' : 'invitation')), 'btn btn-small',
      named(user.has_password ? 'resetPasswordOf' : 'inviteNamed')),
      totpResettable && user.has_totp && button(t('resetSecondFactor'), () => act(ui.status,
        named('resetTotpAsk'), () => resetTotp(user)), 'btn btn-small', named('resetTotpOf')),
      !me && button(user.disabled ? t('enable') : t('disable'), () => act(ui.status,
        user.disabled ? '' : named('disableAsk'),
        async () => {
          await api('PATCH', `/api/v1/users/${seg(user.id)}`, { disabled: !user.disabled });
          say(ui.status, named(user.disabled ? 'userEnabled' : 'userDisabled'));
          await load();
        }), user.disabled ? 'btn btn-small' : 'btn btn-small btn-danger', named(user.disabled ? 'enableNamed' : 'disableNamed')),
      !me && button(t('delete'), () => act(ui.status, named('deleteUserAsk'), async () => {
        await api('DELETE', `/api/v1/users/${seg(user.id)}`);
        say(ui.status, named('userDeleted'));
        await load();
      }), 'btn btn-small btn-danger', named('deleteNamed')),
    ]),
  ]);
}

function render() {
  fillTable(ui.table, users.map(userRow), t('noUserYet'));
  ui.more.hidden = !cursor;
}

function startNew() {
  ui.form.reset();
  ui.id.value = '';
  ui.cancel.hidden = true;
  setText(ui.title, t('newUser'));
  setText(ui.submit, t('createTheUser'));
  ui.inviteRow.hidden = false;
  queueChecks(knownQueues, []);
  showProfile();
}

async function edit(user) {
  // The profile first, so that nothing typed meanwhile is overwritten by it.
  const agent = user.agent_id ? await api('GET', `/api/v1/agents/${seg(user.agent_id)}`).catch(() => null) : null;
  ui.form.reset();
  ui.id.value = user.id;
  ui.email.value = user.email;
  ui.name.value = user.name;
  ui.role.value = user.role;
  queueChecks(knownQueues, user.queues || []);
  if (agent) {
    ui.languages.value = joined(agent.languages);
    ui.skills.value = joined(agent.skills);
    ui.capacity.value = agent.capacity;
  }
  setText(ui.title, t('editNamed', { name: user.name }));
  setText(ui.submit, t('saveTheUser'));
  ui.cancel.hidden = false;
  ui.inviteRow.hidden = true;
  showProfile();
  ui.name.focus();
}

/** The routing profile of an agent or supervisor user: what the form says, and what it does not from before. */
async function putProfile(user, form) {
  const capacity = Number(form.capacity.value || 3);
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > 50) {
    throw fieldError(ui.capacity, t('badCapacity'));
  }
  const before = await api('GET', `/api/v1/agents/${seg(user.id)}`).catch(() => ({}));
  await api('PUT', `/api/v1/agents/${seg(user.id)}`, {
    display_name: user.name,
    role: user.role,
    languages: listOf(form.languages.value),
    skills: listOf(form.skills.value),
    proficiency: before.proficiency || {},
    queues: chosenQueues(),
    capacity,
  });
}

async function save(form) {
  const body = { email: form.email.value.trim(), name: form.name.value.trim(), role: form.role.value,
    queues: chosenQueues() };
  if (!body.email) throw fieldError(ui.email, t('enterTheEmail'));
  if (!body.name) throw fieldError(ui.name, t('enterTheName'));
  let user;
  if (ui.id.value) {
    user = await api('PATCH', `/api/v1/users/${seg(ui.id.value)}`, body);
  } else {
    user = await api('POST', '/api/v1/users', body);
    ui.id.value = user.id; // made: a retry after a profile's refusal changes it, not a second user
  }
  if (isAgent(user.role)) await putProfile(user, form);
  const invite = !ui.inviteRow.hidden && ui.invite.checked;
  say(ui.status, t('userSaved', { name: user.name }));
  if (invite) await sendLink(user, 'invitation');
  startNew();
  await load();
}

export async function load() {
  const [page, queues] = await Promise.all([api('GET', `/api/v1/users?limit=${PAGE}`), api('GET', '/api/v1/queues')]);
  users = page.users;
  cursor = page.next_cursor;
  knownQueues = queues.queues.map((queue) => queue.id);
  if (!ui.id.value) queueChecks(knownQueues, chosenQueues());
  render();
}

async function more() {
  const page = await api('GET', `/api/v1/users?limit=${PAGE}&cursor=${seg(cursor)}`);
  users = users.concat(page.users);
  cursor = page.next_cursor;
  render();
}

export function init(me) {
  myId = me.id;
  onSubmit(ui.form, ui.error, save);
  ui.role.addEventListener('change', showProfile);
  ui.cancel.addEventListener('click', startNew);
  ui.more.addEventListener('click', () => act(ui.status, '', more));
  copyButton(ui.linkCopy, ui.linkValue, ui.status);
  showProfile();
}
