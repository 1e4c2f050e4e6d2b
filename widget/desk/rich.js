/* A rich message as the desk shows it: its text, the options the customer sees (as labels,
 * not buttons: the customer picks) and its links; never HTML. */

import { h } from '../lib/dom.js';
import { t } from '../lib/i18n.js';

const WEB = /^https?:\/\//i;

function cardView(item) {
  const links = (item.buttons || []).map((button) => {
    if (button.url && WEB.test(button.url)) {
      const link = h('a', 'rich-option', button.label);
      link.href = button.url;
      link.target = '_blank';
      link.rel = 'noopener noreferrer nofollow';
      return link;
    }
    return h('span', 'rich-option', button.label);
  });
  return h('div', 'rich-card', null, [
    item.image_url ? h('div', 'rich-image muted small', t('richImage', { url: item.image_url })) : null,
    h('div', 'rich-title', item.title),
    item.text ? h('div', 'rich-text', item.text) : null,
    links.length ? h('div', 'rich-options', null, links) : null,
  ]);
}

/** The content of a message with `rich`; null for a kind this desk does not know. */
export function richView(rich) {
  if (!rich || typeof rich !== 'object') return null;
  if (rich.kind === 'quick_replies') {
    const options = (rich.options || []).map((option) => h('span', 'rich-option', option.label));
    return h('div', 'msg-text msg-rich', null, [h('div', 'rich-text', rich.text), h('div', 'rich-options', null, options)]);
  }
  if (rich.kind === 'card') return h('div', 'msg-text msg-rich', null, [cardView(rich)]);
  if (rich.kind === 'list') return h('div', 'msg-text msg-rich', null, (rich.items || []).map(cardView));
  return null;
}
