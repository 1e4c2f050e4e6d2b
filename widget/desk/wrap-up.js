/* Wrap-up: the queue's codes and the dialog. */

import { $, h, setText } from '../lib/dom.js';
import { isolate } from '../lib/text.js';
import { S } from './state.js';
import { customerName } from './format.js';
import { notice } from './notices.js';
import { activeConv, openDialog, submitDialog } from './dialog-box.js';

function wrapUpCodes(qid) {
  if (!S.wrapCodes.has(qid)) {
    const promise = fetch(`/api/v1/queues/${encodeURIComponent(qid)}/wrap-up-codes`, {
      headers: { Authorization: 'Bearer ' + S.token }, cache: 'no-store',
    }).then(async (response) => {
      const body = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error((body.error && body.error.message) || `HTTP ${response.status}`);
      return body.wrap_up_codes || [];
    });
    promise.catch(() => S.wrapCodes.delete(qid));
    S.wrapCodes.set(qid, promise);
  }
  return S.wrapCodes.get(qid);
}

export function openWrapUp(conv) {
  conv = conv || activeConv();
  if (!conv || !conv.open || conv.card.status !== 'wrap_up') return;
  S.wrapTarget = conv.id;
  const qid = conv.card.queue && conv.card.queue.id;
  openDialog('dlg-wrapup', () => {
    setText($('wrapup-sub'), `${customerName(conv.card.customer)} · ${conv.card.queue ? isolate(conv.card.queue.name) : ''} · ${conv.card.status_label}`);
    $('wrapup-notes').value = '';
    $('wrapup-codes').replaceChildren(h('p', 'muted small', 'Loading the queue’s codes…'));
  });
  wrapUpCodes(qid).then((codes) => {
    if (S.wrapTarget !== conv.id) return;
    $('wrapup-codes').replaceChildren(...codes.map((c, i) => {
      const input = h('input');
      input.type = 'radio';
      input.name = 'wrapup-code';
      input.value = c.code;
      input.id = 'wrapup-code-' + i;
      const label = h('label', 'radio', null, [input, h('span', '', c.label)]);
      return label;
    }));
    const first = $('wrapup-codes').querySelector('input');
    if (first && $('dlg-wrapup').open) first.focus();
  }, (err) => {
    if (S.wrapTarget !== conv.id) return;
    const input = h('input');
    input.type = 'text';
    input.id = 'wrapup-code-text';
    input.setAttribute('aria-label', 'Wrap-up code');
    $('wrapup-codes').replaceChildren(h('p', 'form-error small', `The codes could not be loaded (${err.message}); type a code:`), input);
  });
}

export function submitWrapUp(event) {
  event.preventDefault();
  const conv = S.wrapTarget && S.convs.get(S.wrapTarget);
  if (!conv) return;
  const chosen = document.querySelector('input[name="wrapup-code"]:checked');
  const typed = $('wrapup-code-text');
  const code = chosen ? chosen.value : typed ? typed.value.trim() : '';
  if (!code) { setText($('wrapup-error'), 'Choose an outcome.'); return; }
  const frame = { type: 'wrap_up', conversation_id: conv.id, code };
  const notes = $('wrapup-notes').value.trim();
  if (notes) frame.notes = notes;
  submitDialog('dlg-wrapup', 'wrapup-error', frame, (ack) => {
    notice(`Wrapped up: ${ack.label || code}.`);
  });
}
