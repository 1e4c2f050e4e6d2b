/* Switchboard supervisor view: queue figures, agents, live session cards,
 * help requests and silent monitoring, over the agent socket /ws/agent.
 * Plain JavaScript, no build step. Everything from the server is rendered
 * with textContent, never as markup. */
import { $, chatIcon, h } from './lib/dom.js';
import { STATE_LABELS } from './lib/labels.js';
import { Backoff, SUBPROTOCOL, agentSocketUrl, parseFrame } from './lib/socket.js';
import { isolate } from './lib/text.js';

const TOKEN_KEY = 'switchboard.supervisor.token';
const MONITOR_KEY = 'switchboard.supervisor.monitoring';
const RECENT_MAX = 12;
const HELP_MAX = 30;
const STATE_ORDER = { available: 0, rona: 1, not_ready: 2, offline: 3 };
const REASONS = {
  customer_abandoned: 'abandoned by the customer', customer_ended: 'ended by the customer',
  agent_ended: 'ended by the agent', inactivity_timeout: 'ended for inactivity', queue_timeout: 'queue wait timed out'
};

const ui = {
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

const state = {
  token: null, ws: null, backoff: new Backoff(), retryTimer: null, stopped: true,
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

// ------------------------------------------------------------ time

function serverNow() { return Date.now() + state.offset; }
function clock(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  const mm = String(m).padStart(2, '0') + ':' + String(r).padStart(2, '0');
  return hours ? hours + ':' + mm : mm;
}
function hhmm(ts) {
  const d = new Date(ts || Date.now());
  return String(d.getHours()).padStart(2, '0') + ':' + String(d.getMinutes()).padStart(2, '0');
}
function percent(rate) { return rate === null || rate === undefined ? '–' : (rate * 100).toFixed(rate === 1 ? 0 : 1).replace(/\.0$/, '') + '%'; }
function seconds(ms) { return ms === null || ms === undefined ? '–' : (ms < 60000 ? Math.round(ms / 1000) + ' s' : clock(ms)); }

/** An element whose text is the time elapsed since a server timestamp, kept ticking. */
function ticker(cls, since) {
  const node = h('span', 'tick ' + (cls || ''));
  node.dataset.since = String(since);
  node.textContent = clock(serverNow() - since);
  return node;
}
function tick() {
  const now = serverNow();
  document.querySelectorAll('.tick[data-since]').forEach((node) => {
    node.textContent = clock(now - Number(node.dataset.since));
  });
}
setInterval(tick, 1000);

// ------------------------------------------------------------ screens

function show(screen) {
  ui.signin.hidden = screen !== 'signin';
  ui.refusal.hidden = screen !== 'refusal';
  ui.board.hidden = screen !== 'board';
  ui.signout.hidden = screen === 'signin';
  ui.who.hidden = screen !== 'board';
}
function setConn(kind, text) { ui.conn.dataset.state = kind; ui.conn.textContent = text; }
function announce(text) { ui.announcer.textContent = ''; setTimeout(() => { ui.announcer.textContent = text; }, 50); }

/** Back to the sign-in form. Everything the previous user saw goes: the next one
 * on this tab may be someone else (after a refused token or a non-supervisor). */
function signInScreen(error) {
  stop();
  state.token = null;
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
  renderAgents();
  refreshFilter();
  renderCards();
  renderHelp();
  show('signin');
  setConn('offline', 'Signed out');
  ui.signinError.hidden = !error;
  ui.signinError.textContent = error || '';
  ui.token.value = '';
  ui.token.focus();
}

// ------------------------------------------------------------ socket

function start(token) {
  state.token = token;
  sessionStorage.setItem(TOKEN_KEY, token);
  state.stopped = false;
  state.backoff.reset();
  ui.signinError.hidden = true;
  connect();
}

function stop() {
  state.stopped = true;
  clearTimeout(state.retryTimer);
  if (state.ws) {
    const ws = state.ws;
    state.ws = null;
    ws.onclose = null;
    try { ws.close(1000, 'signed out'); } catch (e) { /* already closed */ }
  }
}

function connect() {
  clearTimeout(state.retryTimer);
  setConn('connecting', 'Connecting…');
  const ws = new WebSocket(agentSocketUrl(), [SUBPROTOCOL]);
  state.ws = ws;
  ws.onopen = () => { ws.send(JSON.stringify({ type: 'hello', token: state.token })); };
  ws.onmessage = (event) => {
    if (ws !== state.ws) return;
    const frame = parseFrame(event.data);
    if (frame) handle(frame);
  };
  ws.onclose = (event) => {
    if (ws !== state.ws) return;
    state.ws = null;
    state.refs.clear();
    if (event.code === 4401) { signInScreen('The token was refused (invalid or expired). Sign in again.'); return; }
    if (event.code === 4403) {
      // Trying again cannot help: the server's configuration must change.
      stop();
      setConn('offline', 'Refused: this page\'s origin is not allowed (SWITCHBOARD_ALLOWED_ORIGINS)');
      return;
    }
    if (state.stopped) return;
    const delay = state.backoff.next();
    setConn('connecting', 'Reconnecting in ' + Math.ceil(delay / 1000) + ' s…');
    state.retryTimer = setTimeout(connect, delay);
  };
}

function send(frame, onAnswer) {
  if (!state.ws || state.ws.readyState !== WebSocket.OPEN) return false;
  if (onAnswer) {
    frame.ref = 's' + (state.nextRef++);
    state.refs.set(frame.ref, onAnswer);
  }
  state.ws.send(JSON.stringify(frame));
  return true;
}

function handle(frame) {
  if ((frame.type === 'ack' || frame.type === 'error') && frame.ref && state.refs.has(frame.ref)) {
    const callback = state.refs.get(frame.ref);
    state.refs.delete(frame.ref);
    callback(frame);
    return;
  }
  switch (frame.type) {
    case 'welcome': return onWelcome(frame);
    case 'stats': return onStats(frame);
    case 'card': return onCard(frame.card);
    case 'help.requested': return onHelp(frame);
    case 'message': case 'note': case 'chat.connected': case 'chat.ended':
    case 'chat.participant_joined': case 'chat.participant_left': case 'chat.transferred':
      if (frame.conversation_id === state.pendingMonitor) state.pendingFrames.push(frame);
      else if (frame.conversation_id === state.monitored) appendEvent(frame);
      return;
    case 'typing':
      if (frame.conversation_id === state.monitored) showTyping(frame);
      return;
    default: return;
  }
}

function onWelcome(frame) {
  const agent = frame.agent || {};
  state.profile = agent;
  if (agent.role !== 'supervisor') {
    stop();
    sessionStorage.removeItem(TOKEN_KEY);
    show('refusal');
    setConn('offline', 'Not a supervisor');
    $('refusal-text').textContent = 'You are signed in as ' + (agent.display_name || agent.id || 'an agent') +
      ', who is not a supervisor: this view is for supervisors. Use a supervisor\'s token.';
    ui.refusalBack.focus();
    return;
  }
  state.backoff.reset();
  // The server sends every open card of our queues before its first stats:
  // open cards it does not send again closed while we were away.
  state.unconfirmed = new Set();
  state.cards.forEach((card, sid) => { if (card.status !== 'closed') state.unconfirmed.add(sid); });
  show('board');
  setConn('online', 'Live');
  ui.who.textContent = agent.display_name || agent.id;
  (agent.queues || []).forEach((q) => { if (!state.queueNames[q]) state.queueNames[q] = q; });
  refreshFilter();
  // The server keeps what we monitored across a reconnect; the panel shows one
  // conversation: ask for it again (its whole history), drop any other.
  const wanted = state.monitored || sessionStorage.getItem(MONITOR_KEY);
  (frame.monitoring || []).forEach((cid) => {
    if (cid !== wanted) send({ type: 'unmonitor', conversation_id: cid });
  });
  if (wanted) monitor(wanted, true);
}

// ------------------------------------------------------------ stats

function onStats(frame) {
  if (typeof frame.ts === 'number') state.offset = frame.ts - Date.now();
  if (state.unconfirmed) {
    state.unconfirmed.forEach((sid) => {
      state.cards.delete(sid);
      state.helps = state.helps.filter((item) => item.frame.session_id !== sid);
    });
    state.unconfirmed = null;
    scheduleDraw();
  }
  state.queues = frame.queues || [];
  state.agents = frame.agents || [];
  state.queues.forEach((q) => { state.queueNames[q.id] = q.name || q.id; });
  ui.window.textContent = frame.window_s ? 'last ' + Math.round(frame.window_s / 60) + ' min' : '';
  renderTiles(frame.ts || serverNow());
  renderAgents();
  refreshFilter();
}

function figure(label, value, extra) {
  const box = h('div', 'fig' + (extra ? ' ' + extra : ''));
  const dt = h('dt', null, label);
  const dd = h('dd');
  if (value instanceof Node) dd.appendChild(value); else dd.textContent = value;
  box.appendChild(dt);
  box.appendChild(dd);
  return box;
}

function renderTiles(ts) {
  ui.tiles.replaceChildren();
  ui.tilesEmpty.hidden = state.queues.length > 0;
  state.queues.forEach((q) => {
    const tile = h('li', 'tile');
    tile.dataset.queue = q.id;
    const busy = state.agents.filter((a) => (a.queues || []).indexOf(q.id) >= 0 && a.sessions > 0).length;
    const counts = q.agents || {};
    if (q.waiting > 0) tile.classList.add('has-waiting');
    if (q.service_level !== null && q.service_level !== undefined && q.service_level < 0.8) tile.classList.add('sl-low');
    tile.appendChild(h('h3', 'tile-name', q.name || q.id));
    const dl = h('dl', 'figs');
    dl.appendChild(figure('Waiting', String(q.waiting || 0), 'big waiting'));
    const longest = q.waiting > 0 && q.longest_wait_ms !== null && q.longest_wait_ms !== undefined
      ? ticker('longest', ts - q.longest_wait_ms) : h('span', null, '00:00');
    dl.appendChild(figure('Longest wait', longest, 'big longest'));
    dl.appendChild(figure('Service level', percent(q.service_level), 'sl'));
    dl.appendChild(figure('Abandoned', percent(q.abandonment_rate), 'abandon'));
    dl.appendChild(figure('Avg. answer', seconds(q.average_speed_of_answer_ms), 'asa'));
    dl.appendChild(figure('Available', String(counts.available || 0), 'available'));
    dl.appendChild(figure('Busy', String(busy), 'busy'));
    tile.appendChild(dl);
    const sub = h('p', 'tile-sub', (q.answered || 0) + ' answered · ' + (q.abandoned || 0) + ' abandoned · SL ' + (q.service_level_s || 20) + ' s');
    tile.appendChild(sub);
    ui.tiles.appendChild(tile);
  });
}

function renderAgents() {
  ui.agents.replaceChildren();
  const rows = state.agents.slice().sort((a, b) => (STATE_ORDER[a.state] - STATE_ORDER[b.state]) || String(a.display_name).localeCompare(String(b.display_name)));
  if (!rows.length) {
    const tr = h('tr'); const td = h('td', 'empty', 'No agent in these queues.'); td.colSpan = 4;
    tr.appendChild(td); ui.agents.appendChild(tr); return;
  }
  rows.forEach((a) => {
    const tr = h('tr');
    tr.dataset.agent = a.id;
    tr.appendChild(h('td', 'agent-name', a.display_name || a.id));
    const stateCell = h('td');
    const badge = h('span', 'badge state-' + a.state, STATE_LABELS[a.state] || a.state);
    stateCell.appendChild(badge);
    tr.appendChild(stateCell);
    const since = h('td', 'num');
    if (typeof a.since === 'number') since.appendChild(ticker('in-state', a.since)); else since.textContent = '–';
    tr.appendChild(since);
    const load = h('td', 'num load', (a.sessions || 0) + '/' + (a.capacity || 0));
    if (a.capacity && a.sessions >= a.capacity) load.classList.add('full');
    tr.appendChild(load);
    ui.agents.appendChild(tr);
  });
}

function refreshFilter() {
  const current = ui.filter.value;
  const ids = Object.keys(state.queueNames).sort();
  const have = Array.prototype.map.call(ui.filter.options, (o) => o.value).slice(1);
  if (have.join('\n') === ids.join('\n')) {
    Array.prototype.forEach.call(ui.filter.options, (o) => { if (o.value) o.textContent = state.queueNames[o.value]; });
    return;
  }
  while (ui.filter.options.length > 1) ui.filter.remove(1);
  ids.forEach((id) => {
    const option = h('option', null, state.queueNames[id]);
    option.value = id;
    ui.filter.appendChild(option);
  });
  ui.filter.value = ids.indexOf(current) >= 0 ? current : '';
}

// ------------------------------------------------------------ cards

/** A queue of this supervisor's profile (the stats follow a changed profile). */
function ownQueue(id) {
  return ((state.profile && state.profile.queues) || []).indexOf(id) >= 0 ||
    state.queues.some((q) => q.id === id);
}

function onCard(card) {
  if (!card || !card.session_id) return;
  if (state.unconfirmed) state.unconfirmed.delete(card.session_id);
  if (card.conversation_id === state.monitored) renderMonitorMeta(card);
  if (!card.queue || !ownQueue(card.queue.id)) {
    // Transferred to another queue (the last card this view gets of it), or a help
    // request of a foreign queue: nothing would ever take it off the list.
    state.cards.delete(card.session_id);
    state.helps = state.helps.filter((item) => item.frame.session_id !== card.session_id);
    scheduleDraw();
    return;
  }
  state.cards.set(card.session_id, card);
  if (card.queue && card.queue.id && !state.queueNames[card.queue.id]) {
    state.queueNames[card.queue.id] = card.queue.name || card.queue.id;
    refreshFilter();
  }
  helpFromCard(card);
  scheduleDraw();
}

/** Many cards come at once when the view joins: draw once per frame. */
function scheduleDraw() {
  if (state.drawPending) return;
  state.drawPending = true;
  requestAnimationFrame(() => {
    state.drawPending = false;
    renderCards();
    renderHelp();
  });
}

function customerName(card) {
  const c = card.customer || {};
  return isolate(c.name || c.email || c.phone || 'Anonymous visitor');
}

function cardNode(card, recent) {
  const li = h('li', 'card');
  li.dataset.session = card.session_id;
  li.dataset.conversation = card.conversation_id;
  li.dataset.color = card.color || 'blue';
  li.dataset.status = card.status || '';
  const head = h('div', 'card-head');
  const title = h('span', 'card-title');
  if ((card.icon || 'chat') === 'chat') title.appendChild(chatIcon());
  title.appendChild(h('span', null, card.title || 'Chat'));
  head.appendChild(title);
  head.appendChild(h('span', 'status', card.status_label || card.status));
  li.appendChild(head);
  li.appendChild(h('p', 'customer', customerName(card)));
  const meta = h('dl', 'card-meta');
  meta.appendChild(figure('Queue', (card.queue && (card.queue.name || card.queue.id)) || '–'));
  const agents = (card.agents || []).map((a) => isolate(a.display_name || a.id)).join(', ');
  meta.appendChild(figure('Agents', agents || '–', 'agents-list'));
  const open = !card.ended_at && card.status !== 'closed';
  const duration = open && typeof card.queued_at === 'number'
    ? ticker('duration', card.queued_at) : h('span', 'duration', clock((card.duration_s || 0) * 1000));
  meta.appendChild(figure('Duration', duration));
  li.appendChild(meta);
  if (!recent) {
    const button = h('button', 'monitor-btn', 'Monitor');
    button.type = 'button';
    button.setAttribute('aria-label', 'Monitor ' + customerName(card) + ' (' + (card.status_label || card.status) + ')');
    if (card.conversation_id === state.monitored) {
      button.disabled = true;
      button.textContent = 'Monitoring';
      button.setAttribute('aria-label', 'Monitoring ' + customerName(card));
    }
    button.addEventListener('click', () => { monitor(card.conversation_id); });
    li.appendChild(button);
  }
  return li;
}

function renderCards() {
  const filter = ui.filter.value;
  const all = Array.from(state.cards.values());
  const visible = all.filter((c) => !filter || (c.queue && c.queue.id === filter));
  const live = visible.filter((c) => c.status !== 'closed')
    .sort((a, b) => (a.queued_at || 0) - (b.queued_at || 0));
  const closed = visible.filter((c) => c.status === 'closed')
    .sort((a, b) => (b.ended_at || 0) - (a.ended_at || 0));
  // forget old closed cards
  const allClosed = all.filter((c) => c.status === 'closed')
    .sort((a, b) => (b.ended_at || 0) - (a.ended_at || 0));
  allClosed.slice(RECENT_MAX).forEach((c) => { state.cards.delete(c.session_id); });
  const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest('.card');
  const focusSession = focused ? focused.dataset.session : null;
  ui.cards.replaceChildren();
  ui.recent.replaceChildren();
  live.forEach((c) => { ui.cards.appendChild(cardNode(c, false)); });
  closed.slice(0, RECENT_MAX).forEach((c) => { ui.recent.appendChild(cardNode(c, true)); });
  ui.cardsCount.textContent = String(live.length);
  ui.cardsEmpty.hidden = live.length > 0;
  if (focusSession) {
    const again = ui.cards.querySelector('.card[data-session="' + CSS.escape(focusSession) + '"] button');
    if (again && !again.disabled) again.focus();
  }
}

// ------------------------------------------------------------ help requests

function onHelp(frame) {
  if (frame.card) onCard(frame.card);
  else addHelp(frame, serverNow());
  const who = (frame.agent && isolate(frame.agent.display_name || frame.agent.id)) || 'An agent';
  announce('Help requested by ' + who + (frame.text ? ': ' + frame.text : ''));
}

/** The card says whether its session has an open help request: the server keeps
 * it until a supervisor monitors the conversation or the session closes, so a
 * view opened later still lists it. One request per session, the newest. */
function helpFromCard(card) {
  const open = card.help && card.status !== 'closed';
  if (!open) {
    const before = state.helps.length;
    state.helps = state.helps.filter((item) => item.frame.session_id !== card.session_id);
    if (state.helps.length !== before) scheduleDraw();
    return;
  }
  const at = card.help.requested_at || serverNow();
  if (state.dismissed[card.session_id] === at) return;
  const known = state.helps.some((item) => item.frame.session_id === card.session_id && item.at === at);
  if (known) return;
  addHelp({ conversation_id: card.conversation_id, session_id: card.session_id,
    agent: card.help.agent, text: card.help.text }, at);
}

function addHelp(frame, at) {
  state.helps = state.helps.filter((item) => item.frame.session_id !== frame.session_id);
  state.helps.push({ frame, at });
  state.helps.sort((a, b) => b.at - a.at);
  state.helps = state.helps.slice(0, HELP_MAX);
  scheduleDraw();
}

function renderHelp() {
  // Rebuilt on every card: a keyboard user keeps the button it was on.
  const focused = document.activeElement && ui.help.contains(document.activeElement) ? document.activeElement : null;
  const focusSession = focused && focused.closest('.help-item').dataset.session;
  const focusDismiss = focused && focused.classList.contains('ghost');
  ui.help.replaceChildren();
  ui.helpEmpty.hidden = state.helps.length > 0;
  ui.helpCount.textContent = String(state.helps.length);
  state.helps.forEach((item, index) => {
    const f = item.frame;
    const li = h('li', 'help-item');
    li.dataset.conversation = f.conversation_id;
    li.dataset.session = f.session_id || '';
    const head = h('div', 'help-head');
    head.appendChild(h('strong', 'help-agent', (f.agent && (f.agent.display_name || f.agent.id)) || 'Agent'));
    const local = item.at - state.offset;
    const time = h('time', 'help-time', hhmm(local));
    time.dateTime = new Date(local).toISOString();
    head.appendChild(time);
    li.appendChild(head);
    const card = state.cards.get(f.session_id) || f.card;
    const about = card ? customerName(card) + ' · ' + ((card.queue && card.queue.name) || '') : f.conversation_id;
    li.appendChild(h('p', 'help-about', about));
    if (f.text) li.appendChild(h('p', 'help-text', f.text));
    const actions = h('div', 'help-actions');
    const watch = h('button', 'primary small', f.conversation_id === state.monitored ? 'Monitoring' : 'Monitor');
    watch.type = 'button';
    watch.disabled = f.conversation_id === state.monitored;
    watch.addEventListener('click', () => { monitor(f.conversation_id); });
    const dismiss = h('button', 'ghost small', 'Dismiss');
    dismiss.type = 'button';
    dismiss.setAttribute('aria-label', 'Dismiss the help request of ' + ((f.agent && f.agent.display_name) || 'the agent'));
    dismiss.addEventListener('click', () => {
      state.dismissed[f.session_id] = item.at;
      state.helps.splice(index, 1);
      renderHelp();
      const next = ui.help.querySelector('button') || ui.helpEmpty;
      if (next.focus) next.focus();
    });
    actions.appendChild(watch);
    actions.appendChild(dismiss);
    li.appendChild(actions);
    ui.help.appendChild(li);
    if (focusSession && li.dataset.session === focusSession) (focusDismiss || watch.disabled ? dismiss : watch).focus();
  });
}

// ------------------------------------------------------------ monitoring

function monitor(cid, quiet) {
  const previous = state.monitored;
  // Its events may be pushed before the ack (and be missing from its messages): kept until then.
  state.pendingMonitor = cid;
  state.pendingFrames = [];
  const ok = send({ type: 'monitor', conversation_id: cid }, (answer) => {
    const early = state.pendingMonitor === cid ? state.pendingFrames : [];
    if (state.pendingMonitor === cid) { state.pendingMonitor = null; state.pendingFrames = []; }
    if (answer.type === 'error') {
      if (state.monitored === cid) early.forEach(appendEvent);
      if (quiet) { sessionStorage.removeItem(MONITOR_KEY); state.monitored = null; ui.monitor.hidden = true; return; }
      announce('Cannot monitor: ' + (answer.message || answer.code));
      return;
    }
    if (previous && previous !== cid) send({ type: 'unmonitor', conversation_id: previous });
    state.monitored = cid;
    sessionStorage.setItem(MONITOR_KEY, cid);
    state.seen = new Set();
    state.monitoredCard = answer.card || null;
    ui.transcript.replaceChildren();
    ui.typing.hidden = true;
    (answer.messages || []).forEach(appendEvent);
    early.forEach(appendEvent);
    if (answer.card) onCard(answer.card);
    renderMonitorMeta(answer.card || null);
    ui.monitor.hidden = false;
    renderCards();
    renderHelp();
    if (!quiet) ui.monitorTitle.focus();
  });
  if (!ok) {
    state.pendingMonitor = null;
    announce('Not connected; try again in a moment.');
  }
}

function stopMonitoring() {
  const cid = state.monitored;
  if (!cid) return;
  send({ type: 'unmonitor', conversation_id: cid });
  state.monitored = null;
  state.monitoredCard = null;
  sessionStorage.removeItem(MONITOR_KEY);
  ui.monitor.hidden = true;
  ui.transcript.replaceChildren();
  renderCards();
  renderHelp();
  const back = ui.cards.querySelector('.card[data-conversation="' + CSS.escape(cid) + '"] button') || ui.filter;
  back.focus();
}

function renderMonitorMeta(card) {
  if (!card) return;
  state.monitoredCard = card;
  ui.monitorTitle.textContent = 'Monitoring ' + customerName(card);
  const agents = (card.agents || []).map((a) => isolate(a.display_name || a.id)).join(', ');
  ui.monitorMeta.textContent = [card.title, card.queue && isolate(card.queue.name), agents || 'no agent yet',
    card.status_label].filter(Boolean).join(' · ');
}

function who(from) {
  if (!from) return '';
  if (from.role === 'customer') {
    const card = state.monitoredCard;
    return isolate(from.display_name || (card && card.customer && card.customer.name) || 'Customer');
  }
  if (from.role === 'system') return 'System';
  return isolate(from.display_name || from.id || 'Agent');
}

function appendEvent(ev) {
  if (typeof ev.seq === 'number') {
    if (state.seen.has(ev.seq)) return;
    state.seen.add(ev.seq);
  }
  let li;
  if (ev.type === 'message' || ev.type === 'note') {
    const role = ev.type === 'note' ? 'note' : ((ev.from && ev.from.role) || 'agent');
    li = h('li', 'entry ' + role);
    const meta = h('div', 'entry-meta');
    meta.appendChild(h('span', 'entry-who', (ev.type === 'note' ? 'Note · ' : '') + who(ev.from)));
    meta.appendChild(h('time', null, hhmm(ev.ts)));
    li.appendChild(meta);
    li.appendChild(h('p', 'entry-text', ev.text));
    if (ev.from && ev.from.role === 'customer') ui.typing.hidden = true;
  } else {
    const name = ev.agent && isolate(ev.agent.display_name || ev.agent.id);
    const text = {
      'chat.connected': (name || 'An agent') + ' joined the chat',
      'chat.participant_joined': (name || 'An agent') + ' joined the chat',
      'chat.participant_left': (name || 'An agent') + ' left the chat',
      'chat.transferred': 'The chat was transferred',
      'chat.ended': 'Chat ended' + (ev.reason ? ' (' + (REASONS[ev.reason] || ev.reason) + ')' : '')
    }[ev.type];
    if (!text) return;
    li = h('li', 'entry system');
    li.appendChild(h('p', 'entry-text', text + (ev.ts ? ' · ' + hhmm(ev.ts) : '')));
    if (ev.type === 'chat.ended') ui.typing.hidden = true;
  }
  const stick = ui.transcript.scrollHeight - ui.transcript.scrollTop - ui.transcript.clientHeight < 40;
  // In seq order: live events may overtake each other (and the monitor answer).
  let next = null;
  if (typeof ev.seq === 'number') {
    li.dataset.seq = String(ev.seq);
    for (let n = ui.transcript.lastElementChild; n && Number(n.dataset.seq) > ev.seq; n = n.previousElementSibling) next = n;
  }
  ui.transcript.insertBefore(li, next);
  if (stick) ui.transcript.scrollTop = ui.transcript.scrollHeight;
}

function showTyping(frame) {
  if (!frame.active) { ui.typing.hidden = true; return; }
  ui.typing.textContent = who(frame.from || { role: 'customer' }) + ' is typing…';
  ui.typing.hidden = false;
}

// ------------------------------------------------------------ start

ui.form.addEventListener('submit', (event) => {
  event.preventDefault();
  const token = ui.token.value.trim();
  if (!token) { ui.signinError.textContent = 'Enter a token.'; ui.signinError.hidden = false; ui.token.focus(); return; }
  start(token);
});
ui.signout.addEventListener('click', () => { signInScreen(''); });
ui.refusalBack.addEventListener('click', () => { signInScreen(''); });
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
} else {
  show('signin');
  ui.token.focus();
}
