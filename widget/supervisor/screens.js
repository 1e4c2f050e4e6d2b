/* Which screen shows (sign-in, refusal, board), the connection line, announcements. */

import { t } from '../lib/i18n.js';
import { hooks, MONITOR_KEY, state, TOKEN_KEY, ui } from './state.js';

export function show(screen) {
  ui.signin.hidden = screen !== 'signin';
  ui.refusal.hidden = screen !== 'refusal';
  ui.board.hidden = screen !== 'board';
  ui.signout.hidden = screen === 'signin';
  ui.who.hidden = screen !== 'board';
}
export function setConn(kind, text) { ui.conn.dataset.state = kind; ui.conn.textContent = text; }
export function announce(text) { ui.announcer.textContent = ''; setTimeout(() => { ui.announcer.textContent = text; }, 50); }

/** Back to the sign-in form. Everything the previous user saw goes: the next one
 * on this tab may be someone else (after a refused token or a non-supervisor). */
export function signInScreen(error) {
  hooks.stop();
  state.token = state.session = null;
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(MONITOR_KEY);
  state.monitored = state.monitoredCard = state.pendingMonitor = state.unconfirmed = state.profile = null;
  state.pendingFrames = [];
  state.seen = new Set();
  state.cards.clear();
  state.helps = [];
  state.dismissed = {};
  state.queueNames = {};
  state.queues = [];
  state.agents = [];
  ui.monitor.hidden = true;
  ui.monitorTitle.textContent = ui.monitorMeta.textContent = ui.who.textContent = '';
  ui.typing.hidden = true;
  ui.transcript.replaceChildren();
  ui.tiles.replaceChildren();
  hooks.renderAgents();
  hooks.refreshFilter();
  hooks.refreshTargets();
  hooks.renderCards();
  hooks.renderHelp();
  show('signin');
  setConn('offline', t('signedOut'));
  ui.signinError.hidden = !error;
  ui.signinError.textContent = error || '';
  ui.token.value = '';
  ui.token.focus();
}
