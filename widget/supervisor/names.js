/* How the view names a customer: never as markup, isolated for bidirectional text. */

import { isolate } from '../lib/text.js';
import { t } from '../lib/i18n.js';

export function customerName(card) {
  const c = card.customer || {};
  return isolate(c.name || c.email || c.phone || t('anonymousVisitor'));
}
