/* Building the page: the one element helper of the desk and the supervisor view.
 * Text is always set as text (textContent), never parsed as HTML. */

export const $ = (id) => document.getElementById(id);

/** An element with a class and text; children appended. Never parses HTML. */
export function h(tag, cls, text, children) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null && text !== '') node.textContent = String(text);
  for (const child of children || []) if (child) node.append(child);
  return node;
}

/** Sets the text only when it changes, so that a live region is not announced again. */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

/** A chat-bubble icon (every card's icon today), hidden from assistive technology. */
export function chatIcon(cls = 'icon') {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', cls);
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z');
  svg.append(path);
  return svg;
}
