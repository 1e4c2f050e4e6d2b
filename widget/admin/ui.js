/* What every section of the console builds with: table rows, buttons, forms that show the
 * server's refusal next to themselves (and keep what was typed), copy buttons, and the
 * words for lists and times. Text is always set as text, never parsed as HTML. */

import { formatDateTime, t } from '../lib/i18n.js';
import { h, setText } from '../lib/dom.js';
import { ApiError } from './api.js';

/** "en, fr" or one a line -> ["en", "fr"]. */
export function listOf(text) {
  return String(text || '').split(/[,\n]/).map((part) => part.trim()).filter(Boolean);
}

export const joined = (list) => (list || []).join(', ');

export function when(ms) {
  return ms ? formatDateTime(ms) : '';
}

export function button(label, onClick, cls = 'btn btn-small', name = '') {
  const node = h('button', cls, label);
  node.type = 'button';
  if (name) node.setAttribute('aria-label', name);
  node.addEventListener('click', onClick);
  return node;
}

/** A row of cells: strings become text cells, nodes are put in as they are. */
export function row(cells) {
  return h('tr', '', '', cells.map((cell) => (cell instanceof Node ? h('td', '', '', [cell]) : h('td', '', cell))));
}

export function actions(buttons) {
  return h('div', 'row-actions', '', buttons.filter(Boolean));
}

/** Puts `rows` into the table's body, or one row that says there is nothing. */
export function fillTable(table, rows, emptyText) {
  const body = table.tBodies[0];
  const columns = table.tHead.rows[0].cells.length;
  if (!rows.length) {
    const cell = h('td', 'empty', emptyText);
    cell.colSpan = columns;
    body.replaceChildren(h('tr', '', '', [cell]));
    return;
  }
  body.replaceChildren(...rows);
}

export function say(node, text) {
  setText(node, '');
  setText(node, text);
}

/** The message of a failure, as the admin should read it. */
export function problem(error) {
  return error instanceof ApiError ? error.message : t('somethingWentWrong', { error: error && error.message });
}

/** A form whose submit runs `save(form)`: its button is off meanwhile, a refusal is shown in
 * `errorNode` and focus goes back to the form, and nothing typed is lost. */
export function onSubmit(form, errorNode, save) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    setText(errorNode, '');
    const submit = form.querySelector('button[type=submit]');
    submit.disabled = true;
    try {
      await save(form);
    } catch (error) {
      setText(errorNode, problem(error));
      const field = error && error.field;
      if (field) {
        field.setAttribute('aria-invalid', 'true');
        field.focus();
      }
    } finally {
      submit.disabled = false;
    }
  });
  form.addEventListener('input', (event) => event.target.removeAttribute('aria-invalid'));
}

/** A refusal found before asking the server, pointing at the field to fix. */
export function fieldError(field, message) {
  const error = new Error(message);
  error.field = field;
  return error;
}

/** A row action: asks first when `question` is given; a failure is said in `statusNode`. */
export async function act(statusNode, question, work) {
  if (question && !window.confirm(question)) return;
  try {
    await work();
  } catch (error) {
    say(statusNode, problem(error));
  }
}

/** The Copy button of a read-only field (a link, a key): to the clipboard, with a word when done. */
export function copyButton(copy, field, statusNode) {
  copy.addEventListener('click', async () => {
    field.select();
    try {
      await navigator.clipboard.writeText(field.value);
      say(statusNode, t('copied'));
    } catch (_) {
      say(statusNode, t('copyNotAllowed'));
    }
  });
}

/** Shows a form as the editor of an existing thing (its title, its id fixed) or of a new one. */
export function editing(form, title, idField, cancel, existing, titles) {
  setText(title, existing ? titles.edit : titles.create);
  if (idField) idField.readOnly = Boolean(existing);
  if (cancel) cancel.hidden = !existing;
}
