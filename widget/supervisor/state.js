/* The view's settings, its page elements (ui) and its one state object. */

import { $ } from '../lib/dom.js';
import { labels } from '../lib/i18n.js';

export const TOKEN_KEY = 'switchboard.supervisor.token';
export const MONITOR_KEY = 'switchboard.supervisor.monitoring';
export const RECENT_MAX = 12;
export const HELP_MAX = 30;
export const STATE_ORDER = { available: 0, rona: 1, not_ready: 2, offline: 3 };
export const REASONS = labels({
  customer_abandoned: 'reasonAbandoned', customer_ended: 'reasonCustomerEnded',
  agent_ended: 'reasonAgentEnded', inactivity_timeout: 'reasonInactivity', queue_timeout: 'reasonQueueTimeout'
});

export const ui = {
  conn: $('conn'), who: $('who'), signout: $('signout'),
  signin: $('signin'), form: $('signin-form'), token: $('token'), signinError: $('signin-error'),
  refusal: $('refusal'), refusalBack: $('refusal-back'),
  board: $('board'), tiles: $('tiles'), tilesEmpty: $('tiles-empty'), window: $('window'),
  cards: $('cards'), cardsEmpty: $('cards-empty'), cardsCount: $('cards-count'), recent: $('recent'),
  filter: $('queue-filter'),
  help: $('help'), helpEmpty: $('help-empty'), helpCount: $('help-count'),
  agents: $('agents').querySelector('tbody'),
  monitor: $('monitor'), monitorTitle: $('monitor-title'), monitorMeta: $('monitor-meta'),
  unmonitor: $('unmonitor'), transcript: $('transcript'), typing: $('typing'),
  announcer: $('announcer')
};

export const state = {
  token: null, stopped: true,
  session: null,                       // signed in with the session cookie: GET /me's answer; else a pasted token
  profile: null, offset: 0,            // server clock minus local clock (ms)
  queues: [], agents: [], queueNames: {},
  cards: new Map(),                    // session_id -> card (newest wins)
  helps: [],                           // open help requests, newest first: {frame, at (server ms)}
  dismissed: {},                       // session_id -> requested_at of a request dismissed here
  drawPending: false,
  unconfirmed: null,                   // open cards not yet sent again since the last welcome
  monitored: null,                     // conversation id shown in the panel
  pendingMonitor: null,                // conversation id asked for, its ack not in yet
  pendingFrames: [],                   // its events pushed before that ack
  seen: new Set(),                     // seqs already in the transcript
  refs: new Map(), nextRef: 1
};

/** What a lower section calls in a higher one (send a frame, stop the socket, draw the
 * board again). The entry module, supervisor.js, sets each of them once before it
 * starts, so that every section imports only the sections below it. */
export const hooks = {
  send: null, stop: null, onCard: null,
  renderCards: null, scheduleDraw: null, renderHelp: null,
  refreshFilter: null, renderAgents: null, refreshTargets: null
};
