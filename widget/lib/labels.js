/* Words the desk and the supervisor view both show, written once so that they cannot drift. */

import { labels } from './i18n.js';

export const STATE_LABELS = labels({
  available: 'available', not_ready: 'notReady', offline: 'offline', rona: 'missedAnOfferRona',
});
