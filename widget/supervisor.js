/* Switchboard supervisor view: queue figures, agents, live session cards,
 * help requests, silent monitoring and stepping in, over the agent socket /ws/agent.
 * Plain JavaScript, no build step. Everything from the server is rendered
 * with textContent, never as markup. This is the entry module: it wires the
 * page to the sections in supervisor/ and starts; widget/lib/ holds what the
 * view shares with the desk. */

import { languagePicker, t, translatePage, useCatalogue } from './lib/i18n.js';
import { SHARED_STRINGS } from './lib/strings.js';
import { SUPERVISOR_STRINGS } from './supervisor/strings.js';
import { TOKEN_KEY, hooks, state, ui } from './supervisor/state.js';
import { tick } from './supervisor/time.js';
import { show, signInScreen } from './supervisor/screens.js';
import { send, start, startWithSession, stop } from './supervisor/connection.js';
import { PASTE_HASH, signOutSession, startSignedIn } from './lib/session.js';
import { onCard, renderCards, scheduleDraw } from './supervisor/cards.js';
import { renderHelp } from './supervisor/help.js';
import { refreshFilter, renderAgents } from './supervisor/stats.js';
import { stopMonitoring } from './supervisor/monitor.js';
import { initStepIn, refreshTargets } from './supervisor/step-in.js';
import { initReports } from './supervisor/reports.js';

useCatalogue(SHARED_STRINGS, SUPERVISOR_STRINGS);
translatePage();
languagePicker(document.getElementById('language'));

Object.assign(hooks, { send, stop, onCard, renderCards, scheduleDraw, renderHelp, refreshFilter, renderAgents, refreshTargets });
initStepIn();
initReports();

setInterval(tick, 1000);
ui.form.addEventListener('submit', (event) => {
  event.preventDefault();
  const token = ui.token.value.trim();
  if (!token) { ui.signinError.textContent = t('enterAToken'); ui.signinError.hidden = false; ui.token.focus(); return; }
  start(token);
});
/** Back to the sign-in form; a signed-in session is ended too (then to /login). */
function signOut() {
  const session = state.session;
  signInScreen('');
  if (session) signOutSession(session.csrf_token);
}
ui.signout.addEventListener('click', signOut);
ui.refusalBack.addEventListener('click', signOut);
ui.unmonitor.addEventListener('click', stopMonitoring);
ui.filter.addEventListener('change', renderCards);
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && !ui.monitor.hidden && ui.monitor.contains(document.activeElement)) stopMonitoring();
});

const fromHash = /(?:^#|&)token=([^&]+)/.exec(location.hash);
if (fromHash) {
  history.replaceState(null, '', location.pathname + location.search);
  let given = fromHash[1];
  try { given = decodeURIComponent(given); } catch (e) { /* keep it as given */ }
  start(given);
} else if (sessionStorage.getItem(TOKEN_KEY)) {
  start(sessionStorage.getItem(TOKEN_KEY));
} else if (location.hash === PASTE_HASH) {
  history.replaceState(null, '', location.pathname + location.search);
  show('signin');
  ui.token.focus();
} else {
  startSignedIn(startWithSession, (text) => {
    show('signin');
    ui.signinError.textContent = text;
    ui.signinError.hidden = false;
  });
}

