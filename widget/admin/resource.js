/* A section for a resource kept by id (`PUT` and `DELETE /api/v1/<path>/{id}`): its table with
 * Edit and Delete on each row, and the form that creates or changes one. Queues, canned
 * responses and invitation rules are each such a section with their own columns and fields. */

import { $ } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { api, seg } from './api.js';
import { act, actions, button, editing, fieldError, fillTable, onSubmit, row, say } from './ui.js';

const ID = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * `spec`: `path` (`/api/v1/queues`), `listKey` (`queues`), `prefix` of the element ids
 * (`queue`: `queue-form`, `queue-form-title`, `queue-id`, `queue-error`, `queue-cancel`),
 * `status` and `table` (element ids), `noun` and `newTitle` (catalogue keys: its name, the title
 * of a new one's form), `empty` (the key of the text of an empty table), `cells(item)`,
 * `label(item)`, `fill(item)` (the form from an item), `clear()` (the form of a new one),
 * `body()` (the form as the PUT's body; throws `fieldError` for what it can tell itself), and
 * `loaded(items)` (optional, after each load).
 */
export function keyedSection(spec) {
  const ui = {
    status: $(spec.status), table: $(spec.table), form: $(`${spec.prefix}-form`),
    title: $(`${spec.prefix}-form-title`), id: $(`${spec.prefix}-id`), error: $(`${spec.prefix}-error`),
    cancel: $(`${spec.prefix}-cancel`),
  };
  const noun = () => t(spec.noun);
  const titles = { create: t(spec.newTitle), edit: t('editTheNoun', { noun: noun() }) };

  function startNew() {
    ui.form.reset();
    editing(ui.form, ui.title, ui.id, ui.cancel, null, titles);
    spec.clear();
  }

  function edit(item) {
    ui.form.reset();
    editing(ui.form, ui.title, ui.id, ui.cancel, item, titles);
    ui.id.value = item.id;
    spec.fill(item);
    const first = ui.form.querySelector('input:not([readonly]):not([type=hidden]), textarea, select');
    if (first) first.focus();
  }

  async function save() {
    const id = ui.id.value.trim();
    if (!ID.test(id)) throw fieldError(ui.id, t('badId'));
    const saved = await api('PUT', `${spec.path}/${seg(id)}`, spec.body());
    say(ui.status, t('nounSaved', { noun: noun(), name: spec.label(saved) }));
    startNew();
    await load();
  }

  function itemRow(item) {
    const name = spec.label(item);
    return row([
      ...spec.cells(item),
      actions([
        button(t('edit'), () => edit(item), 'btn btn-small', t('editNounNamed', { noun: noun(), name })),
        button(t('delete'), () => act(ui.status, t('deleteNounAsk', { noun: noun(), name }), async () => {
          await api('DELETE', `${spec.path}/${seg(item.id)}`);
          say(ui.status, t('nounDeleted', { noun: noun(), name }));
          await load();
        }), 'btn btn-small btn-danger', t('deleteNounNamed', { noun: noun(), name })),
      ]),
    ]);
  }

  async function load() {
    const items = (await api('GET', spec.path))[spec.listKey];
    fillTable(ui.table, items.map(itemRow), t(spec.empty));
    if (spec.loaded) spec.loaded(items);
  }

  function init() {
    onSubmit(ui.form, ui.error, save);
    ui.cancel.addEventListener('click', startNew);
    startNew();
  }

  return { init, load };
}
