// The pre-chat form: the fields data-prechat asks for, the "How can we help?" box
// (the first message) and the Start chat button.
import { element } from './elements.js';

const FIELD_NAMES = ['name', 'email', 'topic'];
const LOOSE_EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const FIELD_MAX_LENGTH = 200;
export const TEXT_MAX_LENGTH = 4000;

function field(spec, { config, translate }) {
  const name = spec.replace(/\*$/, '');
  const required = spec.endsWith('*');
  if (!FIELD_NAMES.includes(name)) {
    return null;
  }
  const id = 'sb-' + name;
  let input;
  if (name === 'topic' && config.topics.length) {
    const choices = config.topics.map((topic) => element('option', { value: topic }, topic));
    input = element('select', { id, cls: 'field' }, [element('option', { value: '' }, '—'), ...choices]);
  } else {
    input = element('input', {
      id,
      cls: 'field',
      type: name === 'email' ? 'email' : 'text',
      maxlength: FIELD_MAX_LENGTH,
      autocomplete: name === 'topic' ? 'off' : name,
      required,
    });
  }
  const error = element('p', { cls: 'err', id: id + '-err' });
  input.setAttribute('aria-describedby', error.id);
  const label = element('label', { for: id }, translate(name) + (required ? ' *' : ''));
  return { name, required, input, error, box: element('div', {}, [label, input, error]) };
}

/** The form; `onSubmit(event)` starts the chat with what `read()` gives. */
export function prechatForm({ config, translate, onSubmit }) {
  const fields = config.prechat.map((spec) => field(spec, { config, translate })).filter(Boolean);
  const question = element('textarea', { id: 'sb-question', cls: 'field', rows: 3, maxlength: TEXT_MAX_LENGTH });
  const error = element('p', { cls: 'err', role: 'alert' });
  const startButton = element('button', { cls: 'btn', type: 'submit' }, translate('start'));
  const form = element('form', { cls: 'prechat', novalidate: true, onsubmit: onSubmit }, [
    element('p', { cls: 'intro' }, translate('intro')),
    ...fields.map((each) => each.box),
    element('label', { for: 'sb-question' }, translate('question')),
    question,
    error,
    startButton,
  ]);

  function problemOf(each, value) {
    if (each.required && !value) {
      return translate('required');
    }
    if (value && each.name === 'email' && !LOOSE_EMAIL.test(value)) {
      return translate('badEmail');
    }
    return '';
  }

  /**
   * Checks the fields and marks the wrong ones: {invalid} (the first wrong field, focused), or
   * {customer, topic, text} for start_chat.
   */
  function read() {
    let invalid = null;
    const customer = {};
    let topic = null;
    for (const each of fields) {
      const value = each.input.value.trim();
      const problem = problemOf(each, value);
      each.input.setAttribute('aria-invalid', String(Boolean(problem)));
      each.error.textContent = problem;
      if (problem) {
        invalid = invalid || each.input;
      } else if (value && each.name === 'topic') {
        topic = value;
      } else if (value) {
        customer[each.name] = value;
      }
    }
    if (invalid) {
      invalid.focus();
      return { invalid };
    }
    return { customer, topic, text: question.value.trim() ? question.value : null };
  }

  // Switchboard.prefill: fills in the fields the form has, and the question.
  function prefill(values) {
    for (const each of fields) {
      if (values[each.name] != null) {
        each.input.value = String(values[each.name]);
      }
    }
    if (values.question != null) {
      question.value = String(values.question);
    }
  }

  function setStarting(on) {
    startButton.disabled = on;
    if (on) {
      error.textContent = '';
    }
  }

  return {
    form,
    read,
    prefill,
    setStarting,
    showError(message) {
      error.textContent = message;
    },
    clearQuestion() {
      question.value = '';
    },
    firstInput() {
      return fields.length ? fields[0].input : question;
    },
  };
}
