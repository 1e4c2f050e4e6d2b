/* Words the desk and the supervisor view both show, written once so that they cannot drift. */

export const STATE_LABELS = {
  available: 'Available', not_ready: 'Not ready', offline: 'Offline', rona: 'Missed an offer (RONA)',
};
