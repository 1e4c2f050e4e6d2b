/* How the view names a customer: never as markup, isolated for bidirectional text. */

import { isolate } from '../lib/text.js';

export function customerName(card) {
  const c = card.customer || {};
  return isolate(c.name || c.email || c.phone || 'Anonymous visitor');
}
