/* Words the desk and the supervisor view both show, written once so that they cannot drift. */

import { labels } from './i18n.js';

export const STATE_LABELS = labels({
  available: 'available', not_ready: 'notReady', offline: 'offline', rona: 'missedAnOfferRona',
});

// The server's words for a card's status (domain/cards.py) in the page's language; a wrap-up
// code's label is the deployment's own and shows as it is.
const SERVER_STATUS_LABELS = labels({
  'With a bot': 'statusBot', Waiting: 'statusWaiting', Offered: 'statusOffered', Active: 'statusActive',
  Conference: 'statusConference', Closed: 'statusClosed', 'Ended by customer': 'endedByCustomer',
  'Abandoned by customer': 'abandonedByCustomer', 'Ended by agent': 'endedByAgent',
  'Ended for inactivity': 'endedForInactivity', 'Queue wait timed out': 'queueWaitTimedOut', Erased: 'statusErased',
  'Ended by automation': 'statusApiEnded', 'Wrap-up timed out': 'wrapUpTimedOut',
});

/** A card's `status_label` as this page says it. */
export function statusLabel(label) {
  return SERVER_STATUS_LABELS[label] || label;
}
