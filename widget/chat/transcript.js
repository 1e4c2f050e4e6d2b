// The conversation as the customer sees it: a list of entries ordered by seq.
// An entry is {seq?, cmid?, role, name, text, rich?, ts, state?, body?} and, once drawn, its elements.
// `choose(entry, value, label)` sends the customer's pick in the entry's rich message; `body`
// is an attachment's view (chat/attachments.js).
import { element, linkify } from './elements.js';
import { richContent } from './rich.js';

// Scrolled up by less than this, the list follows new entries down.
const STICK_TO_BOTTOM_PX = 80;

/**
 * The transcript inside `scroller`. `translate` gives the words, `clock` formats times and
 * `retry(entry)` sends a failed message again.
 */
export function transcript({ translate, clock, scroller, retry, choose }) {
  const list = element('ol', { cls: 'log' });
  const bySeq = new Map(); // seq -> entry
  const seen = new Set(); // seqs of history applied: the only dedup rule
  const mine = new Map(); // client_msg_id -> an entry sent from this page

  function toBottom() {
    scroller.scrollTop = scroller.scrollHeight;
  }

  function speaker(entry) {
    if (entry.role === 'customer') {
      return translate('you');
    }
    if (entry.role === 'agent') {
      return entry.name || translate('agent');
    }
    return null;
  }

  function draw(entry) {
    const item = element('li', { cls: 'msg ' + entry.role });
    const agentName = entry.role === 'agent'
      ? element('span', { 'aria-hidden': 'true' }, entry.name || translate('agent'))
      : null;
    const meta = element('div', { cls: 'meta' }, [
      agentName,
      element('time', { datetime: new Date(entry.ts).toISOString() }, clock.format(entry.ts)),
    ]);
    const who = speaker(entry);
    item.append(
      who ? element('span', { cls: 'vh' }, who + ': ') : '',
      element('div', { cls: 'bubble' }, entry.body
        || richContent(entry.rich, (value, label) => choose(entry, value, label))
        || linkify(entry.text)),
      meta,
    );
    if (entry.role === 'customer') {
      entry.tick = element('span', { cls: 'tick', role: 'img' });
      meta.append(entry.tick);
    }
    entry.meta = meta;
    entry.el = item;
    if (entry.seq) {
      item.dataset.seq = entry.seq;
    }
    if (entry.state) {
      setState(entry, entry.state);
    }
  }

  // sending, sent or failed (with a Retry button): the customer's own messages.
  function setState(entry, state) {
    entry.state = state;
    if (!entry.tick) {
      return;
    }
    entry.tick.dataset.state = state;
    entry.tick.setAttribute('aria-label', translate(state));
    entry.el.classList.toggle('failed', state === 'failed');
    if (state === 'failed' && !entry.retry) {
      entry.retry = element('button', { onclick: () => retry(entry) }, translate('retry'));
      entry.meta.append(element('span', {}, translate('failed')), entry.retry);
    } else if (state !== 'failed' && entry.retry) {
      entry.retry.previousSibling.remove();
      entry.retry.remove();
      entry.retry = null;
    }
  }

  // Keeps the list ordered by seq; entries still without one stay at the end.
  function place(entry) {
    let next = null;
    if (entry.seq) {
      for (let node = list.lastElementChild; node; node = node.previousElementSibling) {
        if (node === entry.el) {
          continue;
        }
        const nodeSeq = Number(node.dataset.seq) || Infinity;
        if (nodeSeq > entry.seq) {
          next = node;
        } else {
          break;
        }
      }
    }
    if (entry.el.parentNode !== list || entry.el.nextElementSibling !== next) {
      list.insertBefore(entry.el, next);
    }
  }

  function add(entry) {
    const distanceFromBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight;
    const stick = distanceFromBottom < STICK_TO_BOTTOM_PX;
    entry.ts = entry.ts || Date.now();
    if (entry.seq) {
      bySeq.set(entry.seq, entry);
    }
    draw(entry);
    place(entry);
    if (stick || entry.role === 'customer') {
      toBottom();
    }
  }

  // Our own message got its seq (from its ack, or pushed back first).
  function settle(entry, seq) {
    if (entry.seq) {
      return false;
    }
    entry.seq = seq;
    entry.el.dataset.seq = seq;
    bySeq.set(seq, entry);
    seen.add(seq);
    place(entry);
    return true;
  }

  // An administrator removed a message's content (privacy law): only that it was removed stays.
  function redact(seq) {
    const entry = bySeq.get(seq);
    if (!entry) {
      return;
    }
    entry.text = translate('redacted');
    entry.el.querySelector('.bubble').replaceChildren(entry.text);
    entry.el.classList.add('redacted');
  }

  // Everything that came from the server goes; our messages still unsent stay.
  function clear() {
    list.replaceChildren();
    for (const [cmid, entry] of mine) {
      if (entry.seq) {
        mine.delete(cmid);
      } else {
        list.append(entry.el);
      }
    }
    seen.clear();
    bySeq.clear();
  }

  function forget() {
    mine.clear();
    list.replaceChildren();
  }

  return {
    list,
    mine,
    seen,
    add,
    settle,
    setState,
    redact,
    clear,
    forget,
    toBottom,
    get size() {
      return bySeq.size;
    },
  };
}
