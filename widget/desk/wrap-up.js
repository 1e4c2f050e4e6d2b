/* Wrap-up: the queue's codes and rules, and the dialog (countdown, code search,
 * one or several codes, notes, the state to go to afterwards). */

import { $, h, setText } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { statusLabel } from '../lib/labels.js';
import { isolate } from '../lib/text.js';
import { S } from './state.js';
import { clock, customerName, serverNow } from './format.js';
import { notice } from './notices.js';
import { notReadyReasons } from './agent-state.js';
import { activeConv, openDialog, submitDialog } from './dialog-box.js';

const URGENT_MS = 15000;  // the countdown turns red in its last seconds

/** The queue's wrap-up codes and rules: {wrap_up_codes, wrap_up_timeout_s, max_dispositions, wrap_up_notes}. */
function wrapUpRules(qid) {
  if (!S.wrapCodes.has(qid)) {
    const promise = fetch(`/api/v1/queues/${encodeURIComponent(qid)}/wrap-up-codes`, {
      headers: { Authorization: 'Bearer ' + S.token }, cache: 'no-store',
    }).then(async (response) => {
      const body = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error((body.error && body.error.message) || `HTTP ${response.status}`);
      return body;
    });
    promise.catch(() => S.wrapCodes.delete(qid));
    S.wrapCodes.set(qid, promise);
  }
  return S.wrapCodes.get(qid);
}

/** The choices of "Afterwards": keep the state, available, or not ready with each reason. */
function fillNextState() {
  const keep = h('option', '', t('keepMyState'));
  keep.value = '';
  const available = h('option', '', t('available'));
  available.value = 'available';
  const reasons = notReadyReasons().map((reason) => {
    const opt = h('option', '', `${t('notReady')} · ${reason}`);
    opt.value = 'not_ready:' + reason;
    return opt;
  });
  const notReady = h('optgroup', '', null, reasons);
  notReady.label = t('notReady');
  $('wrapup-next').replaceChildren(keep, available, notReady);
  $('wrapup-next').value = '';
}

function codeChoice(code, index, several) {
  const input = h('input');
  input.type = several ? 'checkbox' : 'radio';
  input.name = 'wrapup-code';
  input.value = code.code;
  input.id = 'wrapup-code-' + index;
  const label = h('label', 'radio', null, [input, h('span', '', code.label)]);
  label.dataset.search = `${code.label} ${code.code}`.toLowerCase();
  return label;
}

function showRules(rules) {
  const several = rules.max_dispositions > 1;
  S.wrapRules = rules;
  const hint = $('wrapup-hint');
  hint.hidden = !several;
  setText(hint, several ? t('chooseUpToCodes', { n: rules.max_dispositions }) : '');
  $('wrapup-codes').replaceChildren(...(rules.wrap_up_codes || []).map((c, i) => codeChoice(c, i, several)));
  const required = rules.wrap_up_notes === 'required';
  setText($('wrapup-notes-label'), required ? 'Notes (required)' : 'Notes (optional)');
  $('wrapup-notes').required = required;
  filterCodes();
}

/** Shows the codes whose label or code holds the search text; says how many match. */
export function filterCodes() {
  const words = $('wrapup-search').value.trim().toLowerCase().split(/\s+/).filter(Boolean);
  const labels = [...$('wrapup-codes').querySelectorAll('label')];
  let shown = 0;
  for (const label of labels) {
    const checked = label.querySelector('input').checked;  // a chosen code stays in view
    label.hidden = !checked && !words.every((w) => label.dataset.search.includes(w));
    if (!label.hidden) shown += 1;
  }
  const all = labels.length;
  setText($('wrapup-matches'), !words.length || !all ? '' : shown ? t('codesShown', { shown, all }) : t('noCodeMatches'));
}

/** Enter in the search box picks the only code left instead of submitting the form. */
export function searchKey(event) {
  if (event.key !== 'Enter') return;
  event.preventDefault();
  const shown = [...$('wrapup-codes').querySelectorAll('label:not([hidden]) input')];
  if (shown.length === 1) {
    shown[0].checked = true;
    shown[0].focus();
  }
}

/** Keeps the number of checked codes within the queue's max_dispositions. */
export function limitCodes(event) {
  const rules = S.wrapRules;
  const box = event.target;
  if (!rules || box.type !== 'checkbox' || !box.checked) return;
  const chosen = $('wrapup-codes').querySelectorAll('input:checked').length;
  if (chosen > rules.max_dispositions) {
    box.checked = false;
    setText($('wrapup-error'), t('atMostCodes', { n: rules.max_dispositions }));
  } else {
    setText($('wrapup-error'), '');
  }
}

/** The wrap-up time left, from the end of the session and the queue's wrap_up_timeout_s. */
export function tickWrapUp() {
  const box = $('wrapup-countdown');
  const conv = S.wrapTarget && S.convs.get(S.wrapTarget);
  const rules = S.wrapRules;
  if (!conv || !rules || !conv.card.ended_at || !$('dlg-wrapup').open) {
    box.hidden = true;
    return;
  }
  const left = conv.card.ended_at + rules.wrap_up_timeout_s * 1000 - serverNow();
  box.hidden = false;
  box.classList.toggle('urgent', left < URGENT_MS);
  const fallback = rules.default_wrap_up_code ? ' ' + t('thenClosesAs', { label: codeLabel(rules.default_wrap_up_code) }) : '';
  setText(box, left > 0 ? t('timeLeft', { time: clock(left) }) + fallback : t('wrapUpTimeOver'));
}

function codeLabel(code) {
  const known = S.wrapRules && (S.wrapRules.wrap_up_codes || []).find((c) => c.code === code);
  return known ? known.label : code;
}

export function openWrapUp(conv) {
  conv = conv || activeConv();
  if (!conv || !conv.open || conv.card.status !== 'wrap_up') return;
  S.wrapTarget = conv.id;
  S.wrapRules = null;
  const qid = conv.card.queue && conv.card.queue.id;
  openDialog('dlg-wrapup', () => {
    setText($('wrapup-sub'), `${customerName(conv.card.customer)} · ${conv.card.queue ? isolate(conv.card.queue.name) : ''} · ${statusLabel(conv.card.status_label)}`);
    $('wrapup-notes').value = '';
    $('wrapup-search').value = '';
    setText($('wrapup-matches'), '');
    $('wrapup-hint').hidden = true;
    fillNextState();
    $('wrapup-codes').replaceChildren(h('p', 'muted small', t('loadingCodes')));
  });
  wrapUpRules(qid).then((rules) => {
    if (S.wrapTarget !== conv.id) return;
    showRules(rules);
    tickWrapUp();
  }, (err) => {
    if (S.wrapTarget !== conv.id) return;
    const input = h('input');
    input.type = 'text';
    input.id = 'wrapup-code-text';
    input.setAttribute('aria-label', t('wrapUpCode'));
    $('wrapup-codes').replaceChildren(h('p', 'form-error small', t('codesNotLoaded', { error: err.message })), input);
  });
}

export function submitWrapUp(event) {
  event.preventDefault();
  const conv = S.wrapTarget && S.convs.get(S.wrapTarget);
  if (!conv) return;
  const chosen = [...document.querySelectorAll('input[name="wrapup-code"]:checked')].map((input) => input.value);
  const typed = $('wrapup-code-text');
  const codes = chosen.length ? chosen : typed && typed.value.trim() ? [typed.value.trim()] : [];
  if (!codes.length) { setText($('wrapup-error'), t('chooseAnOutcome')); return; }
  const notes = $('wrapup-notes').value.trim();
  if ($('wrapup-notes').required && !notes) {
    setText($('wrapup-error'), 'This queue needs wrap-up notes.');
    $('wrapup-notes').focus();
    return;
  }
  // `code` stays the contract; further codes go in `codes`
  const frame = { type: 'wrap_up', conversation_id: conv.id, code: codes[0] };
  if (codes.length > 1) frame.codes = codes;
  if (notes) frame.notes = notes;
  const next = $('wrapup-next').value;
  if (next) {
    const cut = next.indexOf(':');
    frame.next_state = cut < 0 ? next : next.slice(0, cut);
    if (cut >= 0) frame.reason = next.slice(cut + 1);
  }
  submitDialog('dlg-wrapup', 'wrapup-error', frame, (ack) => {
    const labels = ack.codes ? ack.codes.map((c) => c.label).join(', ') : ack.label || codes[0];
    notice(t('wrappedUp', { labels }));
  });
}
