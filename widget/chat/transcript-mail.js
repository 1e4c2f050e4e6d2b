// After a chat: the customer asks for the conversation by email (request_transcript). The
// address is optional: the server takes the one given for the chat when it is left empty.
import { element } from './elements.js';

/** The form; `send(frame)` sends the command and resolves with its ack. */
export function transcriptForm({ translate, send }) {
  const email = element('input', { id: 'sb-transcript-email', cls: 'field', type: 'email', maxlength: 254, autocomplete: 'email' });
  const status = element('p', { role: 'status' });
  const submit = element('button', { cls: 'btn alt', type: 'submit' }, translate('transcriptSend'));

  function onSubmit(event) {
    event.preventDefault();
    const frame = { type: 'request_transcript' };
    if (email.value.trim()) {
      frame.email = email.value.trim();
    }
    submit.disabled = true;
    status.textContent = '';
    send(frame).then(() => {
      status.textContent = translate('transcriptSent');
    }, (refusal) => {
      status.textContent = refusal.message;
    }).finally(() => {
      submit.disabled = false;
    });
  }

  return element('form', { cls: 'transcript-mail', novalidate: true, onsubmit: onSubmit }, [
    element('label', { for: 'sb-transcript-email' }, translate('transcriptLabel')),
    email,
    submit,
    status,
  ]);
}
