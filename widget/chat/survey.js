// The satisfaction survey after a chat: one to five stars and an optional comment.
import { element } from './elements.js';
import { TEXT_MAX_LENGTH } from './prechat.js';

const STARS = [1, 2, 3, 4, 5];

/**
 * The survey form inside `box`. `send(frame)` sends the csat command and resolves with its ack;
 * `done()` is called once the rating is in (or was in already).
 */
export function surveyForm({ box, translate, send, done }) {
  const stars = STARS.map((n) => element('label', {}, [
    element('input', { type: 'radio', name: 'sb-rating', value: n }),
    element('span', { 'aria-hidden': 'true' }, '★'),
    element('span', { cls: 'vh' }, translate('stars', { n })),
  ]));
  const comment = element('textarea', { id: 'sb-comment', cls: 'field', rows: 2, maxlength: TEXT_MAX_LENGTH });
  const error = element('p', { cls: 'err', role: 'alert' });
  const submit = element('button', { cls: 'btn', type: 'submit' }, translate('rate'));

  function onSubmit(event) {
    event.preventDefault();
    const rating = Number(box.querySelector('input:checked')?.value);
    if (!rating) {
      error.textContent = translate('pick');
      return;
    }
    submit.disabled = true;
    const frame = { type: 'csat', rating };
    if (comment.value.trim()) {
      frame.comment = comment.value.trim();
    }
    send(frame).then(done, (refusal) => {
      submit.disabled = false;
      if (refusal.code === 'conflict' && /already rated/.test(refusal.message)) {
        done();
      } else {
        error.textContent = refusal.message;
      }
    });
  }

  return element('form', { novalidate: true, onsubmit: onSubmit }, [
    element('fieldset', {}, [
      element('legend', {}, translate('csat')),
      element('div', { cls: 'stars' }, stars),
      element('label', { for: 'sb-comment' }, translate('comment')),
      comment,
      error,
      submit,
    ]),
  ]);
}
