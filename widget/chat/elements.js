// The only way the widget creates elements: attributes are set one by one and
// children are nodes or strings (set as text), never HTML.

/**
 * `element('button', {cls: 'btn', onclick: go}, 'Send')`: props starting with `on` are
 * listeners, `cls` is the class, true is an empty attribute, null and false are left out.
 */
export function element(tag, props, children) {
  const node = document.createElement(tag);
  if (tag === 'button') {
    node.type = 'button';
  }
  for (const [name, value] of Object.entries(props || {})) {
    if (value == null || value === false) {
      continue;
    }
    if (name.startsWith('on')) {
      node.addEventListener(name.slice(2), value);
    } else if (name === 'cls') {
      node.className = value;
    } else {
      node.setAttribute(name, value === true ? '' : value);
    }
  }
  const kids = [children].flat().filter((child) => child != null);
  node.append(...kids);
  return node;
}

// An http(s) address, without the punctuation that usually ends the sentence around it.
const WEB_ADDRESS = /\bhttps?:\/\/[^\s<>"']*[^\s<>"'.,;:!?)\]]/gi;

/** The text as text nodes, its http(s) addresses as links (new tab, no opener). */
export function linkify(text) {
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(WEB_ADDRESS)) {
    if (match.index > last) {
      parts.push(text.slice(last, match.index));
    }
    parts.push(element('a', { href: match[0], target: '_blank', rel: 'noopener noreferrer nofollow' }, match[0]));
    last = match.index + match[0].length;
  }
  parts.push(text.slice(last));
  return parts;
}
