// The pre-chat form: the queue's own fields when its welcome names them (the server checks
// them again), else the fields data-prechat asks for; the "How can we help?" box (the
// first message) and the Start chat button.
import { element } from './elements.js';

const SITE_FIELD_NAMES = ['name', 'email', 'topic'];
const CONTACT_FIELDS = ['name', 'email', 'phone']; // a queue field of these names also names the customer
const LOOSE_EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE = /^\+?[0-9][0-9 ()./-]{2,31}$/; // as domain/prechat.py checks it
const FIELD_MAX_LENGTH = 200;
const QUEUE_FIELD_MAX_LENGTH = 512;
export const TEXT_MAX_LENGTH = 4000;

function labelled(id, text, required, input) {
  const error = element('p', { cls: 'err', id: id + '-err' });
  input.setAttribute('aria-describedby', error.id);
  const label = element('label', { for: id }, text + (required ? ' *' : ''));
  const parts = input.type === 'checkbox' ? [input, label, error] : [label, input, error];
  return { input, error, box: element('div', { cls: input.type === 'checkbox' ? 'check' : '' }, parts) };
}

// A field of data-prechat ("name", "email*", "topic"): the customer's contact and topic.
function siteField(spec, { config, translate }) {
  const name = spec.replace(/\*$/, '');
  const required = spec.endsWith('*');
  if (!SITE_FIELD_NAMES.includes(name)) {
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
  const type = name === 'email' ? 'email' : 'text';
  return { name, type, required, fromQueue: false, ...labelled(id, translate(name), required, input) };
}

// A field of the queue's form ({name, label, type, required, options}), from the welcome.
function queueField(spec) {
  const id = 'sb-q-' + spec.name;
  const type = spec.type || 'text';
  const required = Boolean(spec.required);
  let input;
  if (type === 'choice') {
    const choices = (spec.options || []).map((option) => element('option', { value: option }, option));
    input = element('select', { id, cls: 'field' }, [element('option', { value: '' }, '—'), ...choices]);
  } else if (type === 'checkbox') {
    input = element('input', { id, type: 'checkbox' });
  } else {
    input = element('input', {
      id,
      cls: 'field',
      type: type === 'email' ? 'email' : type === 'phone' ? 'tel' : 'text',
      maxlength: QUEUE_FIELD_MAX_LENGTH,
      autocomplete: { name: 'name', email: 'email', phone: 'tel' }[spec.name] || 'off',
    });
  }
  input.required = required;
  return { name: spec.name, type, required, fromQueue: true, ...labelled(id, spec.label, required, input) };
}

/** The form; `onSubmit(event)` starts the chat with what `read()` gives. */
export function prechatForm({ config, translate, onSubmit }) {
  let fields = config.prechat.map((spec) => siteField(spec, { config, translate })).filter(Boolean);
  const fieldsBox = element('div', {}, fields.map((each) => each.box));
  const question = element('textarea', { id: 'sb-question', cls: 'field', rows: 3, maxlength: TEXT_MAX_LENGTH });
  const error = element('p', { cls: 'err', role: 'alert' });
  const startButton = element('button', { cls: 'btn', type: 'submit' }, translate('start'));
  const intro = element('p', { cls: 'intro' }, translate('intro'));
  const form = element('form', { cls: 'prechat', novalidate: true, onsubmit: onSubmit }, [
    intro,
    fieldsBox,
    element('label', { for: 'sb-question' }, translate('question')),
    question,
    error,
    startButton,
  ]);
  let queueForm = ''; // the queue's form as last shown: a welcome after a reconnect keeps what was typed

  function valueOf(each) {
    if (each.type === 'checkbox') {
      return each.input.checked ? 'true' : 'false';
    }
    return each.input.value.trim();
  }

  function problemOf(each, value) {
    if (each.required && (each.type === 'checkbox' ? value !== 'true' : !value)) {
      return translate('required');
    }
    if (value && each.type === 'email' && !LOOSE_EMAIL.test(value)) {
      return translate('badEmail');
    }
    if (value && each.type === 'phone' && !PHONE.test(value)) {
      return translate('badPhone');
    }
    return '';
  }

  function mark(each, problem) {
    each.input.setAttribute('aria-invalid', String(Boolean(problem)));
    each.error.textContent = problem;
  }

  // Nobody would answer now: the form leaves a message (name and email required, so the team
  // can answer), and says when the team is back. `when` formats the opening.
  function setAway(away, opensAt, when) {
    intro.textContent = !away ? translate('intro')
      : opensAt ? translate('awayUntil', { time: when(opensAt) }) : translate('away');
    startButton.textContent = translate(away ? 'sendMessage' : 'start');
    if (!away || queueForm) {
      return; // a queue's own form is as the queue wants it
    }
    replaceFields(['name*', 'email*'].map((spec) => siteField(spec, { config, translate })));
  }

  // The queue's own form replaces data-prechat's fields (an empty one leaves them).
  function useQueueFields(specs) {
    const shape = JSON.stringify(specs || []);
    if (!specs || !specs.length || shape === queueForm) {
      return;
    }
    queueForm = shape;
    replaceFields(specs.map(queueField));
  }

  // Other fields in the form, keeping what was typed into those of the same name.
  function replaceFields(next) {
    const typed = Object.fromEntries(fields.map((each) => [each.name, valueOf(each)]));
    fields = next;
    prefill(typed);
    fieldsBox.replaceChildren(...fields.map((each) => each.box));
  }

  /**
   * Checks the fields and marks the wrong ones: {invalid} (the first wrong field, focused), or
   * {customer, topic, attributes, text} for start_chat.
   */
  function read() {
    let invalid = null;
    const customer = {};
    const attributes = {};
    let topic = null;
    for (const each of fields) {
      const value = valueOf(each);
      const problem = problemOf(each, value);
      mark(each, problem);
      if (problem) {
        invalid = invalid || each.input;
      } else if (each.fromQueue) {
        if (value) {
          attributes[each.name] = value;
        }
        if (value && each.type !== 'checkbox' && CONTACT_FIELDS.includes(each.name)) {
          customer[each.name] = value;
        }
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
    return { customer, topic, attributes, text: question.value.trim() ? question.value : null };
  }

  // The server refused a field (an error frame with `field`): marked like the form's own check.
  function markField(name, message) {
    const each = fields.find((candidate) => candidate.name === name);
    if (!each) {
      return false;
    }
    mark(each, message);
    each.input.focus();
    return true;
  }

  // Switchboard.prefill: fills in the fields the form has, and the question.
  function prefill(values) {
    for (const each of fields) {
      const value = values[each.name];
      if (value == null || value === '') {
        continue;
      }
      if (each.type === 'checkbox') {
        each.input.checked = value === true || value === 'true';
      } else {
        each.input.value = String(value);
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
    useQueueFields,
    setAway,
    markField,
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
