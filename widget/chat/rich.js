// Rich messages (quick replies, a card, a list of cards) drawn from their data: every text
// as text, links only to http(s) addresses, images only from https. A pick sends the
// option's value with the seq of the message it answers; the server names its label.

import { element } from './elements.js';

const WEB = /^https?:\/\//i;
const SECURE = /^https:\/\//i;

function choiceButton(label, value, pick) {
  return element('button', { cls: 'choice', onclick: (event) => pick(value, label, event.currentTarget) }, label);
}

function card(item, pick) {
  const parts = [];
  if (item.image_url && SECURE.test(item.image_url)) {
    parts.push(element('img', {
      cls: 'card-image', src: item.image_url, alt: item.title, loading: 'lazy', referrerpolicy: 'no-referrer',
    }));
  }
  parts.push(element('p', { cls: 'card-title' }, item.title));
  if (item.text) {
    parts.push(element('p', { cls: 'card-text' }, item.text));
  }
  const buttons = (item.buttons || []).map((button) => {
    if (button.url && WEB.test(button.url)) {
      return element('a', {
        cls: 'choice', href: button.url, target: '_blank', rel: 'noopener noreferrer nofollow',
      }, button.label);
    }
    return button.value ? choiceButton(button.label, button.value, pick) : null;
  });
  parts.push(element('div', { cls: 'choices' }, buttons));
  return element('div', { cls: 'rich-card' }, parts);
}

/**
 * The message's content, or null when `rich` is not one this widget knows (its text is
 * shown then). `choose(value, label)` sends the pick; the message's buttons are disabled
 * once one was picked.
 */
export function richContent(rich, choose) {
  if (!rich || typeof rich !== 'object') {
    return null;
  }
  let box = null;
  const pick = (value, label) => {
    for (const button of box.querySelectorAll('button.choice')) {
      button.disabled = true;
    }
    choose(value, label);
  };
  if (rich.kind === 'quick_replies') {
    const options = (rich.options || []).map((option) => choiceButton(option.label, option.value, pick));
    box = element('div', { cls: 'rich' }, [element('p', {}, rich.text), element('div', { cls: 'choices' }, options)]);
  } else if (rich.kind === 'card') {
    box = element('div', { cls: 'rich' }, [card(rich, pick)]);
  } else if (rich.kind === 'list') {
    box = element('div', { cls: 'rich' }, (rich.items || []).map((item) => card(item, pick)));
  }
  return box;
}
