/* The mechanics every desk dialog shares: the open conversation, opening a dialog, running its command.
   Below dialogs.js and wrap-up.js, so that neither has to import the other for them. */

import { $, setText } from '../lib/dom.js';
import { S } from './state.js';
import { request } from './connection.js';

export function activeConv() {
  return S.active && S.convs.get(S.active);
}

export function openDialog(id, prepare) {
  const dialog = $(id);
  for (const err of dialog.querySelectorAll('.form-error')) setText(err, '');
  for (const b of dialog.querySelectorAll('button')) b.disabled = false;
  if (prepare) prepare(dialog);
  dialog.showModal();
  const first = dialog.querySelector('input:not([type=radio]):not([hidden]), select, textarea, input[type=radio]:checked');
  if (first) first.focus();
}

/** Runs a dialog's command; shows the refusal in the dialog, closes it on success. */
export async function submitDialog(dialogId, errorId, frame, onDone) {
  const dialog = $(dialogId);
  const buttons = dialog.querySelectorAll('button');
  for (const b of buttons) b.disabled = true;
  try {
    const ack = await request(frame);
    dialog.close();
    if (onDone) onDone(ack);
  } catch (err) {
    setText($(errorId), err.message);
  } finally {
    for (const b of buttons) b.disabled = false;
  }
}
