/* The desk's settings, the labels it shows and its one state object, S. */



import { labels } from '../lib/i18n.js';

export const TOKEN_KEY = 'switchboard.desk.token';          // sessionStorage
export const HELD_KEY = 'switchboard.desk.conversations';   // sessionStorage: ids to replay after a reload
export const SOUND_KEY = 'switchboard.desk.sound';          // localStorage: "off" mutes the ring
export const MESSAGE_LIMIT = 1000;
export const NOTE_LIMIT = 4000;
export const REQUEST_TIMEOUT_MS = 15000;
export const TYPING_REPEAT_MS = 3000;
export const TYPING_IDLE_MS = 4000;
export const TYPING_SHOWN_MS = 8000;
export const RING_EVERY_MS = 4000;
export const CLOSED_KEPT = 100;
// Resume this many events before the highest seq held: frames can arrive out of
// order (messages are published from the store, other events by the node), so
// the desk may hold N+1 without N when the socket drops. Duplicates are dropped.
export const RESUME_WINDOW = 20;
// History frames of a conversation not (yet) assigned to this page: a message can
// arrive before the conversation.assigned that introduces it.
export const EARLY_KEPT_MS = 10000;
export const EARLY_MAX = 200;

export const END_LABELS = labels({
  customer_ended: 'endedByCustomer',
  customer_abandoned: 'abandonedByCustomer',
  agent_ended: 'endedByAgent',
  inactivity_timeout: 'endedForInactivity',
  queue_timeout: 'queueWaitTimedOut',
});
export const CUSTOMER_ENDINGS = new Set(['customer_ended', 'customer_abandoned']);
export const REVOKE_REASONS = labels({
  timeout: 'revokedTimeout',
  customer_left: 'revokedCustomerLeft',
  taken: 'revokedTaken',
  agent_disconnected: 'revokedDisconnected',
});
export const FAIL_REASONS = labels({ declined: 'failDeclined', timeout: 'failTimeout', agent_disconnected: 'failDisconnected' });
export const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+)\}/g;
export const KNOWN_PLACEHOLDERS = new Set([
  'customer.name', 'customer.email', 'customer.phone', 'agent.display_name', 'agent.id', 'queue.name',
]);

// ------------------------------------------------------------ state

export const S = {
  token: '',
  session: null,                // signed in with the session cookie: GET /me's answer (csrf_token); else a pasted token
  welcomed: false,
  refused: false,               // closed with 4403: no reconnecting
  refSeq: 0,
  pending: new Map(),           // ref -> {resolve, reject, timer}
  me: null,                     // welcome.agent
  agentState: null,             // {state, reason?, since}
  offers: new Map(),            // offer_id -> {frame, popup, item}
  convs: new Map(),             // conversation_id -> conversation (open and closed)
  order: [],                    // open conversation ids, in tab order
  closed: [],                   // closed conversation ids, newest first
  active: null,                 // conversation id shown in the centre
  activateOnAssign: new Set(),  // conversations accepted from this page
  bootResume: {},               // ids remembered over a reload, replayed from seq 0
  sentResume: {},               // the resume map of the last hello
  helloAt: 0,
  skewSamples: [],
  clockSampled: Promise.resolve(),
  early: [],                    // [{frame, at}] history frames of conversations not held yet
  audio: null,
  soundOn: true,
  lastRing: 0,
  wrapCodes: new Map(),         // queue id -> Promise of its wrap-up codes and rules
  targets: null,                // the last GET /transfer-targets: {queues, agents}
  searchRun: 0,                 // the latest transcript search, so a late answer is dropped
  wrapTarget: null,
  wrapRules: null,              // the rules of the wrap-up dialog's queue, once loaded
  cannedSeq: 0,
  cannedItems: [],
  cannedIndex: -1,
};

/** What a lower section calls in a higher one (hand a frame to the dispatcher, sign
 * out, draw the connection line, the composer or the title again, open an earlier
 * conversation read only). The entry module,
 * desk.js, sets each of them once before it starts, so that every section imports
 * only the sections below it. */
export const hooks = {
  handle: null, signOutLocal: null,
  renderConnection: null, renderComposer: null, renderTitle: null, openEarlier: null
};
