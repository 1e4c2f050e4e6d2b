/* Switchboard agent desk: plain browser JavaScript, no framework, no build step.
 *
 * Speaks the agent socket `/ws/agent` of docs/protocol.md. Everything that comes
 * from the network is put on the page with textContent (never innerHTML), so text
 * such as `<script>` or `<img onerror>` shows as text. The page's policy allows no
 * inline script or style; this file and desk.css are all it loads.
 */
(() => {
  'use strict';

  const SUBPROTOCOL = 'switchboard.v1.json';
  const TOKEN_KEY = 'switchboard.desk.token';          // sessionStorage
  const HELD_KEY = 'switchboard.desk.conversations';   // sessionStorage: ids to replay after a reload
  const SOUND_KEY = 'switchboard.desk.sound';          // localStorage: "off" mutes the ring
  const MESSAGE_LIMIT = 1000;
  const NOTE_LIMIT = 4000;
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 10000;
  const REQUEST_TIMEOUT_MS = 15000;
  const TYPING_REPEAT_MS = 3000;
  const TYPING_IDLE_MS = 4000;
  const TYPING_SHOWN_MS = 8000;
  const RING_EVERY_MS = 4000;
  const CLOSED_KEPT = 100;
  // Resume this many events before the highest seq held: frames can arrive out of
  // order (messages are published from the store, other events by the node), so
  // the desk may hold N+1 without N when the socket drops. Duplicates are dropped.
  const RESUME_WINDOW = 20;
  // History frames of a conversation not (yet) assigned to this page: a message can
  // arrive before the conversation.assigned that introduces it.
  const EARLY_KEPT_MS = 10000;
  const EARLY_MAX = 200;

  const END_LABELS = {
    customer_ended: 'Ended by customer',
    customer_abandoned: 'Abandoned by customer',
    agent_ended: 'Ended by agent',
    inactivity_timeout: 'Ended for inactivity',
    queue_timeout: 'Queue wait timed out',
  };
  const CUSTOMER_ENDINGS = new Set(['customer_ended', 'customer_abandoned']);
  const REVOKE_REASONS = {
    timeout: 'it was not answered in time',
    customer_left: 'the customer left',
    taken: 'another agent took it',
    agent_disconnected: 'the connection was lost',
  };
  const FAIL_REASONS = { declined: 'declined', timeout: 'did not answer', agent_disconnected: 'was disconnected' };
  const STATE_LABELS = { available: 'Available', not_ready: 'Not ready', offline: 'Offline', rona: 'Missed an offer (RONA)' };
  const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+)\}/g;
  const KNOWN_PLACEHOLDERS = new Set([
    'customer.name', 'customer.email', 'customer.phone', 'agent.display_name', 'agent.id', 'queue.name',
  ]);

  // ------------------------------------------------------------ state

  const S = {
    token: '',
    ws: null,
    welcomed: false,
    attempt: 0,
    reconnectTimer: 0,
    reconnectAt: 0,
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
    wrapCodes: new Map(),         // queue id -> Promise of [{code, label}]
    targets: null,                // the last GET /transfer-targets: {queues, agents}
    searchRun: 0,                 // the latest transcript search, so a late answer is dropped
    wrapTarget: null,
    cannedSeq: 0,
    cannedItems: [],
    cannedIndex: -1,
  };

  const $ = (id) => document.getElementById(id);

  /** An element with a class and text; children appended. Never parses HTML. */
  function h(tag, cls, text, children) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null && text !== '') node.textContent = String(text);
    for (const child of children || []) if (child) node.append(child);
    return node;
  }

  function svgIcon(name) {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('class', 'icon icon-' + name);
    const path = document.createElementNS(ns, 'path');
    // Every card's icon is "chat" today; an unknown icon falls back to it.
    path.setAttribute('d', 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z');
    svg.append(path);
    return svg;
  }

  const codePoints = (text) => Array.from(text).length;

  function serverNow() {
    return Date.now() - (S.skewSamples.length ? Math.min(...S.skewSamples) : 0);
  }

  function sampleClock(serverMs) {
    if (typeof serverMs !== 'number') return;
    S.skewSamples.push(Date.now() - serverMs);
    if (S.skewSamples.length > 20) S.skewSamples.shift();
  }

  /** A first clock sample before the socket's first frame: the Date header of this
   * page's own address. Until then the local clock (perhaps minutes off) would
   * judge the welcome's offers and the replayed history. */
  async function sampleHttpClock() {
    try {
      const response = await fetch(location.pathname, { method: 'HEAD', cache: 'no-store' });
      const date = Date.parse(response.headers.get('Date') || '');
      if (!Number.isNaN(date)) sampleClock(date);
    } catch (_) { /* offers wait for a sample from the socket */ }
  }

  function clock(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    const hh = Math.floor(s / 3600);
    const mm = Math.floor((s % 3600) / 60);
    const ss = String(s % 60).padStart(2, '0');
    return hh ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
  }

  function timeOfDay(ms) {
    if (typeof ms !== 'number') return '';
    return new Date(ms + (Date.now() - serverNow())).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  function setText(node, text) {
    if (node.textContent !== text) node.textContent = text;
  }

  // A name with right-to-left text or bidi controls is isolated (FSI…PDI) wherever it
  // goes into a sentence, so that it cannot reorder the text around it.
  const BIDI = /[\u0590-\u08ff\u200f\u202a-\u202e\u2066-\u2069\ufb1d-\ufdff\ufe70-\ufefc]/;
  function isolate(text) {
    return BIDI.test(String(text)) ? '\u2068' + text + '\u2069' : text;
  }

  function customerName(customer) {
    return isolate((customer && customer.name) || 'Visitor');
  }

  // ------------------------------------------------------------ notices and announcements

  function notice(text, kind) {
    const item = h('div', 'notice' + (kind ? ' notice-' + kind : ''), null, [h('span', '', text)]);
    const close = h('button', 'notice-close', '×');
    close.type = 'button';
    close.setAttribute('aria-label', 'Dismiss');
    close.addEventListener('click', () => item.remove());
    item.append(close);
    $('notices').append(item);
    setTimeout(() => item.remove(), kind === 'error' ? 12000 : 8000);
  }

  function announce(text, urgent) {
    const region = $(urgent ? 'announcer-urgent' : 'announcer');
    region.textContent = '';
    // A separate task, so that the same text twice is announced twice.
    setTimeout(() => { region.textContent = text; }, 30);
  }

  // ------------------------------------------------------------ sign-in

  function readToken() {
    const hash = location.hash || '';
    const match = /^#token=(.+)$/.exec(hash);
    if (match) {
      let token = match[1];
      try { token = decodeURIComponent(token); } catch (_) { /* keep it as given */ }
      sessionStorage.setItem(TOKEN_KEY, token);
      // The token must not linger in the address bar (history, screenshots, shoulders).
      history.replaceState(null, '', location.pathname + location.search);
    }
    return sessionStorage.getItem(TOKEN_KEY) || '';
  }

  function showSignIn(error) {
    $('desk').hidden = true;
    $('signin').hidden = false;
    setText($('signin-error'), error || '');
    $('signin-token').value = '';
    $('signin-token').focus();
    document.title = 'Sign in · Switchboard Desk';
  }

  function showDesk() {
    $('signin').hidden = true;
    $('desk').hidden = false;
  }

  function signIn(token) {
    S.token = token;
    sessionStorage.setItem(TOKEN_KEY, token);
    showDesk();
    renderAll();
    connect();
  }

  /** Back to the sign-in form; forgets the token and everything of this shift. */
  function signOutLocal(error) {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(HELD_KEY);
    clearTimeout(S.reconnectTimer);
    const ws = S.ws;
    S.ws = null;
    if (ws) try { ws.close(1000, 'signed out'); } catch (_) { /* already closed */ }
    failPending('signed out');
    for (const offer of [...S.offers.keys()]) removeOffer(offer);
    S.convs.clear();
    S.order = [];
    S.closed = [];
    S.active = null;
    S.me = null;
    S.agentState = null;
    S.token = '';
    S.bootResume = {};
    for (const id of ['tabs', 'closed-list', 'search-results', 'transcript']) $(id).replaceChildren();
    showSignIn(error);
  }

  // ------------------------------------------------------------ the socket

  function socketUrl() {
    return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws/agent';
  }

  function resumeMap() {
    const resume = { ...S.bootResume };
    for (const cid of S.order) {
      const conv = S.convs.get(cid);
      if (conv) resume[cid] = Math.max(0, conv.lastSeq - RESUME_WINDOW);
    }
    return resume;
  }

  function connect() {
    clearTimeout(S.reconnectTimer);
    S.reconnectAt = 0;
    S.welcomed = false;
    let ws;
    try {
      ws = new WebSocket(socketUrl(), [SUBPROTOCOL]);
    } catch (_) {
      scheduleReconnect();
      return;
    }
    S.ws = ws;
    renderConnection();
    ws.addEventListener('open', () => S.clockSampled.then(() => {
      if (ws !== S.ws || ws.readyState !== WebSocket.OPEN) return;
      S.sentResume = resumeMap();
      S.helloAt = serverNow();
      ws.send(JSON.stringify({ type: 'hello', token: S.token, resume: S.sentResume }));
    }));
    ws.addEventListener('message', (event) => {
      if (ws !== S.ws) return;
      let frame;
      try { frame = JSON.parse(event.data); } catch (_) { return; }
      if (frame && typeof frame.type === 'string') handle(frame);
    });
    ws.addEventListener('close', (event) => {
      if (ws !== S.ws) return;
      S.ws = null;
      S.welcomed = false;
      failPending('the connection was lost');
      if (event.code === 4401) {
        const detail = event.reason && !/invalid or expired/.test(event.reason) ? ` (${event.reason})` : '';
        signOutLocal(`Token invalid or expired${detail}. Ask for a new one.`);
        return;
      }
      if (event.code === 4403) {
        // Trying again cannot help: the server's configuration must change.
        S.refused = true;
        renderConnection();
        notice('The server refuses this page (its origin is not allowed). Ask your administrator to add it to SWITCHBOARD_ALLOWED_ORIGINS.', 'error');
        return;
      }
      scheduleReconnect();
    });
  }

  function scheduleReconnect() {
    // Exponential backoff with jitter: 0.5 s, 1 s, 2 s ... up to 10 s, each between half and all of it.
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** S.attempt);
    const delay = Math.round(ceiling / 2 + Math.random() * ceiling / 2);
    S.attempt += 1;
    S.reconnectAt = Date.now() + delay;
    clearTimeout(S.reconnectTimer);
    S.reconnectTimer = setTimeout(connect, delay);
    renderConnection();
    renderComposer();
  }

  function failPending(reason) {
    for (const [ref, waiter] of S.pending) {
      clearTimeout(waiter.timer);
      waiter.reject(Object.assign(new Error(reason), { code: 'offline' }));
      S.pending.delete(ref);
    }
  }

  /** Sends a command with a ref; resolves with its ack, rejects with its error. */
  function request(frame) {
    const ws = S.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || !S.welcomed) {
      return Promise.reject(Object.assign(new Error('Not connected; reconnecting…'), { code: 'offline' }));
    }
    S.refSeq += 1;
    const ref = 'd' + S.refSeq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        S.pending.delete(ref);
        reject(Object.assign(new Error('No answer from the server'), { code: 'offline' }));
      }, REQUEST_TIMEOUT_MS);
      S.pending.set(ref, { resolve, reject, timer });
      ws.send(JSON.stringify({ ...frame, ref }));
    });
  }

  /** A command whose answer nobody waits for (typing). */
  function fire(frame) {
    if (S.ws && S.ws.readyState === WebSocket.OPEN && S.welcomed) S.ws.send(JSON.stringify(frame));
  }

  // ------------------------------------------------------------ frames from the server

  function handle(frame) {
    if ((frame.type === 'ack' || frame.type === 'error') && frame.ref && S.pending.has(frame.ref)) {
      const waiter = S.pending.get(frame.ref);
      S.pending.delete(frame.ref);
      clearTimeout(waiter.timer);
      if (frame.type === 'ack') waiter.resolve(frame);
      else waiter.reject(Object.assign(new Error(frame.message || frame.code), { code: frame.code }));
      return;
    }
    switch (frame.type) {
      case 'welcome': return onWelcome(frame);
      case 'error': return notice(frame.message || frame.code, 'error');
      case 'agent.state': sampleClock(frame.since); return setAgentState(frame);
      case 'offer': sampleClock(frame.offered_at); return addOffer(frame, true);
      case 'offer.revoked': return revokeOffer(frame);
      case 'conversation.assigned': return onAssigned(frame);
      case 'conversation.closed': return onClosed(frame);
      case 'card': return onCard(frame);
      case 'typing': return onTyping(frame);
      case 'read': return onRead(frame);
      case 'transfer.failed':
      case 'conference.failed': return onFailed(frame);
      case 'conference.requested': {
        const conv = S.convs.get(frame.conversation_id);
        if (conv) localLine(conv, `Invitation sent to ${agentName(frame.agent)}`);
        return;
      }
      case 'conference.started':
      case 'conference.ended': {
        const conv = S.convs.get(frame.conversation_id);
        if (conv) notice(`${agentName(frame.agent)} ${frame.type === 'conference.started' ? 'joined' : 'left'} the conference with ${customerName(conv.card.customer)}`);
        return;
      }
      default:
        if (frame.conversation_id && typeof frame.seq === 'number') {
          const conv = S.convs.get(frame.conversation_id);
          if (conv) addEvent(conv, frame, { live: true });
          else holdEarly(frame);
        }
    }
  }

  function onWelcome(frame) {
    S.welcomed = true;
    S.attempt = 0;
    S.me = frame.agent;
    setAgentState(frame.state);
    // Offers: exactly those pending now.
    const pendingIds = new Set((frame.offers || []).map((o) => o.offer_id));
    for (const id of [...S.offers.keys()]) if (!pendingIds.has(id)) removeOffer(id);
    for (const offer of frame.offers || []) if (!S.offers.has(offer.offer_id)) addOffer(offer, false);
    // Conversations: the welcome is the truth about what this agent holds.
    const held = new Set();
    const withoutHistory = [];
    for (const card of frame.conversations || []) {
      held.add(card.conversation_id);
      // Replayed after this welcome if its id was in the hello's resume; otherwise
      // (new to this page, or reopened from the closed list) it is fetched.
      upsertConversation(card, false);
      if (!(card.conversation_id in S.sentResume)) withoutHistory.push(card.conversation_id);
    }
    for (const cid of [...S.order]) {
      if (!held.has(cid)) closeConversation(S.convs.get(cid), 'No longer assigned to you');
    }
    S.bootResume = {};
    for (const cid of S.order) {
      const conv = S.convs.get(cid);
      for (const [clientId, frame] of conv.outbox) deliver(conv, frame, clientId);
    }
    if (!S.active && S.order.length) activate(S.order[0]);
    if (withoutHistory.length) fetchHistory(withoutHistory);
    renderAll();
  }

  /** Conversations held without a local history (the desk was opened in a new tab
   * while chats were going on): a second, short socket replays them from seq 0. */
  function fetchHistory(cids) {
    let ws;
    try { ws = new WebSocket(socketUrl(), [SUBPROTOCOL]); } catch (_) { return; }
    const resume = {};
    for (const cid of cids) resume[cid] = 0;
    const done = setTimeout(() => ws.close(1000), 10000);
    ws.addEventListener('open', () => {
      ws.send(JSON.stringify({ type: 'hello', token: S.token, resume }));
      // Its answer comes after the replay: the end marker (agents get `forbidden`).
      ws.send(JSON.stringify({ type: 'unmonitor', conversation_id: 'history-end', ref: 'history-end' }));
    });
    ws.addEventListener('message', (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch (_) { return; }
      if (frame.ref === 'history-end') {
        clearTimeout(done);
        ws.close(1000);
        return;
      }
      if (frame.conversation_id in resume && typeof frame.seq === 'number') {
        const conv = S.convs.get(frame.conversation_id);
        if (conv) addEvent(conv, frame, { live: false });
      }
    });
  }

  // ------------------------------------------------------------ agent state

  function setAgentState(state) {
    S.agentState = { state: state.state, reason: state.reason, since: state.since };
    renderAgentState();
  }

  function renderAgentState() {
    const st = S.agentState;
    const select = $('state-select');
    const dot = $('state-dot');
    for (const opt of [...select.querySelectorAll('option[data-transient]')]) opt.remove();
    if (!st) return;
    dot.className = 'state-dot state-' + st.state;
    let value = st.state;
    if (st.state === 'not_ready') value = 'not_ready:' + (st.reason || '');
    if (!select.querySelector(`option[value="${CSS.escape(value)}"]`)) {
      const label = st.state === 'not_ready' ? `Not ready${st.reason ? ' · ' + st.reason : ''}` : STATE_LABELS[st.state] || st.state;
      const opt = h('option', '', label);
      opt.value = value;
      opt.disabled = true;
      opt.dataset.transient = '1';
      select.prepend(opt);
    }
    select.value = value;
    const since = typeof st.since === 'number' ? ` since ${timeOfDay(st.since)}` : '';
    setText($('state-since'), `${STATE_LABELS[st.state] || st.state}${st.state === 'not_ready' && st.reason ? ' (' + st.reason + ')' : ''}${since}`);
    $('rona-banner').hidden = st.state !== 'rona';
  }

  async function changeState(value) {
    const [state, reason] = value.split(':');
    const frame = { type: 'set_state', state };
    if (reason) frame.reason = reason;
    try {
      const ack = await request(frame);
      sampleClock(ack.since);
      setAgentState(ack);
    } catch (err) {
      notice(`Could not change your state: ${err.message}`, 'error');
      renderAgentState();
    }
  }

  // ------------------------------------------------------------ offers

  function offerKind(offer) {
    const from = offer.from_agent ? agentName(offer.from_agent) : 'another agent';
    if (offer.kind === 'transfer') return `Transfer from ${from}`;
    if (offer.kind === 'conference') return `Conference invitation from ${from}`;
    return 'New chat';
  }

  function addOffer(offer, live) {
    if (S.offers.has(offer.offer_id)) return;
    const entry = { frame: offer, popup: buildOfferPopup(offer), item: buildOfferItem(offer) };
    S.offers.set(offer.offer_id, entry);
    $('offer-popups').append(entry.popup);
    $('offer-list').append(entry.item);
    renderOffers();
    tickOffers();
    const who = customerName(offer.customer);
    announce(`${offerKind(offer)}: ${who}, queue ${offer.queue ? isolate(offer.queue.name) : ''}. Alt+Shift+A accepts.`, true);
    if (live) ring();
  }

  function buildOfferPopup(offer) {
    const id = 'offer-' + offer.offer_id;
    const popup = h('section', 'offer-popup offer-' + (offer.kind || 'new'));
    popup.id = id;
    popup.setAttribute('role', 'region');
    popup.setAttribute('aria-labelledby', id + '-title');
    popup.setAttribute('aria-describedby', id + '-meta');
    popup.dataset.offerId = offer.offer_id;

    const kind = h('p', 'offer-kind', offerKind(offer));
    const title = h('h2', 'offer-title', customerName(offer.customer));
    title.id = id + '-title';
    if (offer.customer && offer.customer.verified) title.append(h('span', 'badge badge-verified', 'Verified'));
    const metaParts = [offer.queue ? isolate(offer.queue.name) : '', offer.language ? offer.language.toUpperCase() : ''];
    if (offer.skills && offer.skills.length) metaParts.push(offer.skills.join(', '));
    const meta = h('p', 'offer-meta', metaParts.filter(Boolean).join(' · '));
    meta.id = id + '-meta';
    if (offer.customer && offer.customer.email) meta.append(h('span', 'offer-email', ' · ' + offer.customer.email));

    const waited = h('span', 'offer-waited', '0:00');
    const remaining = h('span', 'offer-remaining', '');
    const timers = h('p', 'offer-timers', null, [
      h('span', 'offer-timer-label', 'In queue '), waited, h('span', 'sep', ' · '),
      h('span', 'offer-timer-label', 'answer within '), remaining,
    ]);
    const bar = h('div', 'offer-bar', null, [h('div', 'offer-bar-fill')]);
    bar.setAttribute('aria-hidden', 'true');

    const thread = h('ol', 'offer-thread');
    thread.setAttribute('aria-label', 'Messages so far');
    for (const msg of offer.thread || []) {
      const role = (msg.from && msg.from.role) || 'customer';
      const who = role === 'customer' ? customerName(offer.customer) : role === 'system' ? '' : agentName(msg.from);
      thread.append(h('li', 'offer-msg offer-msg-' + role, null, [
        who ? h('span', 'offer-msg-who', who + ': ') : null,
        h('span', 'offer-msg-text', msg.text),
      ]));
    }
    if (!thread.children.length) thread.append(h('li', 'muted small', 'No message yet.'));

    const accept = h('button', 'btn btn-primary offer-accept', 'Accept');
    accept.type = 'button';
    const decline = h('button', 'btn offer-decline', 'Decline');
    decline.type = 'button';
    accept.addEventListener('click', () => answerOffer(offer.offer_id, true));
    decline.addEventListener('click', () => answerOffer(offer.offer_id, false));
    const error = h('p', 'form-error small offer-error');
    error.setAttribute('role', 'alert');

    popup.append(
      h('div', 'offer-head', null, [h('span', 'ring-icon', null, [svgIcon('chat')]), kind]),
      title, meta, timers, bar, thread, error,
      h('div', 'offer-buttons', null, [decline, accept]),
    );
    return popup;
  }

  function buildOfferItem(offer) {
    const item = h('li', 'offer-item');
    const button = h('button', 'offer-item-button', null, [
      h('span', 'offer-item-name', customerName(offer.customer)),
      h('span', 'offer-item-meta', `${offer.queue ? isolate(offer.queue.name) : ''} · ${offerKind(offer)}`),
    ]);
    button.type = 'button';
    button.addEventListener('click', () => {
      const entry = S.offers.get(offer.offer_id);
      if (entry) entry.popup.querySelector('.offer-accept').focus();
    });
    item.append(button);
    return item;
  }

  function removeOffer(offerId, hadFocus) {
    const entry = S.offers.get(offerId);
    if (!entry) return;
    const focused = hadFocus || entry.popup.contains(document.activeElement) || entry.item.contains(document.activeElement);
    entry.popup.remove();
    entry.item.remove();
    S.offers.delete(offerId);
    renderOffers();
    if (focused && focusLost()) {
      // The next offer, else the offers heading: never the page's body.
      const next = S.offers.values().next().value;
      if (next) next.popup.querySelector('.offer-accept').focus();
      else $('offers-heading').focus();
    }
  }

  function revokeOffer(frame) {
    const entry = S.offers.get(frame.offer_id);
    if (!entry) return;
    removeOffer(frame.offer_id);
    const why = REVOKE_REASONS[frame.reason] || frame.reason;
    notice(`The chat from ${customerName(entry.frame.customer)} was withdrawn: ${why}.`, frame.reason === 'timeout' ? 'warn' : '');
  }

  async function answerOffer(offerId, accept) {
    const entry = S.offers.get(offerId);
    if (!entry) return;
    const hadFocus = !accept && entry.popup.contains(document.activeElement);  // an accept focuses the box
    for (const b of entry.popup.querySelectorAll('button')) b.disabled = true;
    if (accept) S.activateOnAssign.add(entry.frame.conversation_id);
    try {
      await request({ type: accept ? 'accept' : 'decline', offer_id: offerId });
      removeOffer(offerId, hadFocus);
    } catch (err) {
      S.activateOnAssign.delete(entry.frame.conversation_id);
      if (err.code === 'not_found' || err.code === 'conflict') {
        removeOffer(offerId);
        notice(`That chat is no longer on offer: ${err.message}`, 'warn');
      } else {
        for (const b of entry.popup.querySelectorAll('button')) b.disabled = false;
        setText(entry.popup.querySelector('.offer-error'), err.message);
      }
    }
  }

  function renderOffers() {
    const n = S.offers.size;
    setText($('offer-count'), n ? String(n) : '');
    $('no-offers').hidden = n > 0;
    renderTitle();
  }

  function tickOffers() {
    const now = serverNow();
    for (const [id, entry] of S.offers) {
      const o = entry.frame;
      if (typeof o.expires_at === 'number' && S.skewSamples.length && now > o.expires_at + 3000) {
        // Answered in another tab, or its revocation was lost with a connection.
        removeOffer(id);
        continue;
      }
      setText(entry.popup.querySelector('.offer-waited'), clock(now - (o.queued_at || o.offered_at || now)));
      const left = Math.max(0, (o.expires_at || now) - now);
      setText(entry.popup.querySelector('.offer-remaining'), `${Math.ceil(left / 1000)} s`);
      const span = Math.max(1, (o.expires_at || now) - (o.offered_at || now));
      entry.popup.querySelector('.offer-bar-fill').style.width = `${Math.min(100, (left / span) * 100)}%`;
    }
    if (S.offers.size && Date.now() - S.lastRing > RING_EVERY_MS) ring();
  }

  // ------------------------------------------------------------ ring

  function unlockAudio() {
    if (S.audio) {
      if (S.audio.state === 'suspended') S.audio.resume().catch(() => {});
      return;
    }
    try {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (Ctx) S.audio = new Ctx();
    } catch (_) {
      S.audio = null;
    }
  }

  /** Two short tones, made with the Web Audio API; silent when audio is blocked. */
  function ring() {
    S.lastRing = Date.now();
    if (!S.soundOn || !S.audio) return;
    try {
      const ctx = S.audio;
      if (ctx.state === 'suspended') ctx.resume().catch(() => {});
      const start = ctx.currentTime + 0.02;
      [[880, 0], [660, 0.22]].forEach(([freq, at]) => {
        const osc = ctx.createOscillator();
        const gain = ctx.createGain();
        osc.type = 'sine';
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.0001, start + at);
        gain.gain.exponentialRampToValueAtTime(0.2, start + at + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, start + at + 0.18);
        osc.connect(gain).connect(ctx.destination);
        osc.start(start + at);
        osc.stop(start + at + 0.2);
      });
      document.body.dataset.rang = String(Number(document.body.dataset.rang || 0) + 1);
    } catch (_) {
      // Audio is a courtesy; the pop-up is what matters.
    }
  }

  function renderSound() {
    const b = $('sound-toggle');
    b.setAttribute('aria-pressed', String(S.soundOn));
    setText(b, S.soundOn ? 'Sound on' : 'Sound off');
  }

  // ------------------------------------------------------------ conversations

  function newConversation(card) {
    const list = h('ol', 'messages');
    return {
      id: card.conversation_id,
      card,
      events: new Map(),      // seq -> event
      nodes: new Map(),       // seq -> <li>
      lastSeq: 0,
      list,
      unread: 0,
      typing: null,           // {text, until}
      readSeq: 0,
      agentOps: new Map(),    // agent id -> seq of the last event that added or removed it
      closedLabel: '',
      open: true,
      draft: '',
      note: false,
      pendingBySeq: new Map(),
      pendingByClient: new Map(),
      outbox: new Map(),      // client_msg_id -> message frame whose answer was lost with the connection
      doubtfulNotes: [],      // [{text, node}] notes whose answer was lost: perhaps stored after all
      checkTimer: 0,
      tab: null,
    };
  }

  function upsertConversation(card, fromAssign) {
    let conv = S.convs.get(card.conversation_id);
    if (!conv) {
      conv = newConversation(card);
      S.convs.set(conv.id, conv);
    } else {
      if (fromAssign && conv.card.session_id !== card.session_id && conv.open && conv.card.status !== 'closed') {
        localLine(conv, 'A new session of this conversation started');
      }
      conv.card = card;
    }
    if (!conv.open || !S.order.includes(conv.id)) reopen(conv);
    rememberHeld();
    return conv;
  }

  function reopen(conv) {
    conv.open = true;
    conv.closedLabel = '';
    S.closed = S.closed.filter((c) => c !== conv.id);
    if (!S.order.includes(conv.id)) S.order.push(conv.id);
  }

  function rememberHeld() {
    sessionStorage.setItem(HELD_KEY, JSON.stringify(S.order));
  }

  function holdEarly(frame) {
    const now = Date.now();
    S.early = S.early.filter((e) => now - e.at < EARLY_KEPT_MS).slice(-(EARLY_MAX - 1));
    S.early.push({ frame, at: now });
  }

  function onAssigned(frame) {
    const card = frame.card;
    if (!card) return;
    const conv = upsertConversation(card, true);
    for (const event of frame.messages || []) addEvent(conv, event, { live: false });
    // What was pushed before this frame (the snapshot in `messages` may not have it,
    // and a later resume starts after it).
    const early = S.early.filter((e) => e.frame.conversation_id === conv.id);
    S.early = S.early.filter((e) => e.frame.conversation_id !== conv.id);
    for (const e of early) addEvent(conv, e.frame, { live: true });
    for (const [id, entry] of S.offers) {
      if (entry.frame.conversation_id === conv.id && entry.frame.session_id === card.session_id) removeOffer(id);
    }
    const mine = S.activateOnAssign.delete(conv.id);
    const shown = S.active && S.convs.get(S.active);
    if (mine || !shown || !shown.open) activate(conv.id);
    if (mine) $('composer-text').focus();
    renderAll();
  }

  function onClosed(frame) {
    const conv = S.convs.get(frame.conversation_id);
    if (!conv) return;
    const wrap = frame.wrap_up || {};
    if (conv.card.session_id !== frame.session_id) {
      localLine(conv, `An earlier session was wrapped up: ${wrap.label || ''}`);
      return;
    }
    const card = conv.card;
    card.status = 'closed';
    card.wrap_up = wrap;
    card.status_label = wrap.label || 'Wrap-up timed out';
    card.color = wrap.code ? 'gray' : CUSTOMER_ENDINGS.has(card.end_reason) ? 'white' : 'gray';
    if (S.wrapTarget === conv.id && $('dlg-wrapup').open) $('dlg-wrapup').close();
    closeConversation(conv, card.status_label);
  }

  function onCard(frame) {
    const conv = S.convs.get(frame.conversation_id);
    if (!conv || !frame.card) return;
    // Only this session's card: a supervisor's desk also gets the feed's cards, and a
    // newer session's card must not replace one still waiting for this agent's wrap-up.
    if (frame.card.session_id === conv.card.session_id) conv.card = frame.card;
    renderTabs();
    if (S.active === conv.id) renderSide();
  }

  /** Off the tab list, into "Closed this shift"; its transcript stays searchable. */
  function closeConversation(conv, label) {
    if (!conv) return;
    conv.open = false;
    conv.closedLabel = label || conv.card.status_label;
    conv.typing = null;
    typingForget(conv.id);
    for (const clientId of conv.outbox.keys()) {
      const pending = conv.pendingByClient.get(clientId);
      if (pending) {
        pending.classList.add('failed');
        setText(pending.querySelector('.msg-time'), 'not sent: the conversation is no longer yours');
      }
    }
    conv.outbox.clear();
    S.order = S.order.filter((c) => c !== conv.id);
    S.closed = [conv.id, ...S.closed.filter((c) => c !== conv.id)];
    for (const dropped of S.closed.splice(CLOSED_KEPT)) {
      S.convs.delete(dropped);
      if (S.active === dropped) S.active = null;  // an old closed one on screen
    }
    rememberHeld();
    if (S.active === conv.id || !S.active) {
      S.active = null;
      if (S.order.length) activate(S.order[0]);
    }
    renderAll();
    if (focusLost()) focusSomewhereUseful();
  }

  function agentName(agent) {
    if (!agent) return 'An agent';
    return isolate(agent.display_name || agent.id || 'An agent');
  }

  function isMe(agent) {
    return Boolean(agent && S.me && agent.id === S.me.id);
  }

  /** A note reported as perhaps not sent turned out stored: its failed line and the
   * text put back in the box go, so that it is not sent twice. */
  function dropDoubtfulNote(conv, text) {
    const i = conv.doubtfulNotes.findIndex((d) => d.text === text);
    if (i < 0) return;
    conv.doubtfulNotes[i].node.remove();
    conv.doubtfulNotes.splice(i, 1);
    const box = $('composer-text');
    if (S.active === conv.id && box.value === text) {
      box.value = '';
      setText($('composer-error'), '');
      renderComposer();
    } else if (conv.draft === text) conv.draft = '';
  }

  /** Adds a history event (by seq, once); updates the card from it. */
  function addEvent(conv, event, { live }) {
    const seq = event.seq;
    if (typeof seq !== 'number' || conv.events.has(seq)) return;
    // A whole history replayed after a reload is not news; what came while away is.
    if (live && S.sentResume[conv.id] === 0 && typeof event.ts === 'number' && event.ts < S.helloAt) live = false;
    const follow = S.active === conv.id && nearBottom();
    conv.events.set(seq, event);
    conv.lastSeq = Math.max(conv.lastSeq, seq);
    const node = renderEvent(conv, event);
    if (node) insertNode(conv, seq, node);
    if (event.type === 'message' || event.type.startsWith('chat.participant_')) hideRepeatedJoins(conv, event.ts);
    applyToCard(conv, event);
    if (event.type === 'message' || event.type === 'note') {
      const pending = conv.pendingBySeq.get(seq) || (event.client_msg_id && conv.pendingByClient.get(event.client_msg_id));
      if (pending) pending.remove();
      if (event.type === 'note' && isMe(event.from)) dropDoubtfulNote(conv, event.text);
      conv.pendingBySeq.delete(seq);
      if (event.client_msg_id) conv.outbox.delete(event.client_msg_id);  // stored: no need to send it again
      const role = event.from && event.from.role;
      if (live && role === 'customer') conv.typing = null;
      const fromOther = !(role === 'agent' && isMe(event.from));
      if (live && fromOther) {
        if (S.active !== conv.id || document.hidden) conv.unread += 1;
        if (S.active === conv.id) {
          const who = role === 'customer' ? customerName(conv.card.customer) : role === 'system' ? 'System' : agentName(event.from);
          announce(`${event.type === 'note' ? 'Internal note from ' : ''}${who}: ${event.text}`);
        }
      }
    }
    if (live && (event.type === 'chat.transferred' || event.type === 'chat.participant_left')) scheduleMembershipCheck(conv);
    if (S.active === conv.id) {
      if (follow || (event.from && isMe(event.from))) scrollToEnd();
      renderConversationHeader();
      renderSide();
      renderComposer();
      renderTyping();
    }
    renderTabs();
  }

  /** A conference join or leave comes as an event and as a system message ("Bob
   * joined the conversation") stored at the same time; the transcript shows the
   * message only. A leave without one (an agent lost its connection) keeps its line. */
  function hideRepeatedJoins(conv, ts) {
    const said = [...conv.events.values()].some((e) => e.type === 'message' && e.ts === ts && e.from && e.from.role === 'system');
    for (const [seq, e] of conv.events) {
      if (e.ts === ts && e.type.startsWith('chat.participant_')) conv.nodes.get(seq).hidden = said;
    }
  }

  function insertNode(conv, seq, node) {
    conv.nodes.set(seq, node);
    node.dataset.seq = String(seq);
    // Before the first node with a higher seq, else before the pending (unsent) ones.
    let before = null;
    for (const child of conv.list.children) {
      const other = Number(child.dataset.seq);
      if (child.dataset.seq && other > seq) { before = child; break; }
      if (!child.dataset.seq && child.classList.contains('pending')) { before = child; break; }
    }
    conv.list.insertBefore(node, before);
  }

  function endCard(card, reason, ts) {
    card.status = 'wrap_up';
    card.end_reason = reason;
    card.ended_at = ts || serverNow();
    card.status_label = END_LABELS[reason] || 'Ended';
    card.color = CUSTOMER_ENDINGS.has(reason) ? 'white' : 'blue';
  }

  /** Agents joining and leaving: last event per agent wins, so replays in any
   * amount land on the same card. */
  function agentOp(conv, seq, agent, present) {
    if (!agent || !agent.id) return;
    const last = conv.agentOps.get(agent.id);
    if (last !== undefined && last > seq) return;
    conv.agentOps.set(agent.id, seq);
    const card = conv.card;
    const others = (card.agents || []).filter((a) => a.id !== agent.id);
    card.agents = present ? [...others, { id: agent.id, display_name: agent.display_name || agent.id }] : others;
    if (card.status === 'active' || card.status === 'conference') {
      card.status = card.agents.length > 1 ? 'conference' : 'active';
      card.status_label = card.status === 'conference' ? 'Conference' : 'Active';
    }
  }

  function applyToCard(conv, event) {
    const card = conv.card;
    const sameSession = !event.session_id || event.session_id === card.session_id;
    switch (event.type) {
      case 'chat.connected':
        if (sameSession) {
          agentOp(conv, event.seq, event.agent, true);
          if (!card.connected_at) card.connected_at = event.ts;
        }
        break;
      case 'chat.participant_joined':
        if (sameSession) agentOp(conv, event.seq, event.agent, true);
        break;
      case 'chat.participant_left':
        if (sameSession) agentOp(conv, event.seq, event.agent, false);
        break;
      case 'chat.transferred':
        if (sameSession) {
          agentOp(conv, event.seq, event.from_agent, false);
          if (event.queue) card.queue = event.queue;
        }
        if (isMe(event.from_agent)) typingForget(conv.id);
        break;
      case 'chat.ended':
        if (sameSession && card.status !== 'closed') endCard(card, event.reason, event.ts);
        typingForget(conv.id);
        break;
      default:
    }
  }

  /** Whether this agent is still in the conversation after a transfer or a leave.
   * Waits a moment, so that a burst of replayed events is seen as a whole. */
  function scheduleMembershipCheck(conv) {
    clearTimeout(conv.checkTimer);
    conv.checkTimer = setTimeout(() => {
      if (!conv.open || !S.me) return;
      const seq = conv.agentOps.get(S.me.id);
      if (seq === undefined) return;
      const event = conv.events.get(seq);
      if (!event) return;
      const gone = (event.type === 'chat.transferred' && isMe(event.from_agent))
        || (event.type === 'chat.participant_left' && isMe(event.agent));
      if (!gone) return;
      let label = 'You left';
      if (event.type === 'chat.transferred') {
        label = event.queue ? `Transferred to ${isolate(event.queue.name || event.queue.id)}` : `Transferred to ${agentName(event.agent)}`;
      }
      notice(`${customerName(conv.card.customer)}: ${label.toLowerCase()}.`);
      closeConversation(conv, label);
    }, 200);
  }

  /** A line that is only on this page (not history): "invitation sent" and such. */
  function localLine(conv, text) {
    const li = h('li', 'event event-local', text);
    conv.list.append(li);
    if (S.active === conv.id) scrollToEnd();
  }

  function renderEvent(conv, event) {
    const ts = timeOfDay(event.ts);
    switch (event.type) {
      case 'message':
      case 'note': {
        const role = (event.from && event.from.role) || 'customer';
        const note = event.type === 'note';
        if (role === 'system' && !note) return h('li', 'event event-system', null, [h('span', '', event.text), h('time', '', ts)]);
        const mine = role === 'agent' && isMe(event.from);
        const who = role === 'customer' ? customerName(conv.card.customer) : agentName(event.from);
        const li = h('li', `msg msg-${role}${mine ? ' msg-mine' : ''}${note ? ' msg-note' : ''}`);
        const meta = h('div', 'msg-meta', null, [
          note ? h('span', 'note-label', 'Internal note') : null,
          h('span', 'msg-who', who),
          h('time', 'msg-time', ts),
        ]);
        if (mine && !note) meta.append(h('span', 'msg-read', event.seq <= conv.readSeq ? 'Seen' : ''));
        li.append(meta, h('div', 'msg-text', event.text));
        return li;
      }
      case 'chat.connected':
        return h('li', 'event', null, [h('span', '', `${agentName(event.agent)} connected`), h('time', '', ts)]);
      case 'chat.transferred': {
        const to = event.queue ? `queue ${isolate(event.queue.name || event.queue.id)}` : agentName(event.agent);
        return h('li', 'event', null, [h('span', '', `${agentName(event.from_agent)} transferred the chat to ${to}`), h('time', '', ts)]);
      }
      case 'chat.ended':
        return h('li', 'event event-ended', null, [h('span', '', `Session ended: ${END_LABELS[event.reason] || event.reason}`), h('time', '', ts)]);
      case 'chat.participant_joined':
        return h('li', 'event event-participant', null, [h('span', '', `${agentName(event.agent)} joined`), h('time', '', ts)]);
      case 'chat.participant_left':
        return h('li', 'event event-participant', null, [h('span', '', `${agentName(event.agent)} left`), h('time', '', ts)]);
      default:
        return null;
    }
  }

  function onTyping(frame) {
    const conv = S.convs.get(frame.conversation_id);
    if (!conv || !frame.from) return;
    if (frame.from.role === 'agent' && isMe(frame.from)) return;
    if (frame.active) {
      const who = frame.from.role === 'customer' ? customerName(conv.card.customer) : agentName(frame.from);
      conv.typing = { who, preview: frame.preview || '', until: Date.now() + TYPING_SHOWN_MS };
    } else {
      conv.typing = null;
    }
    renderTyping();
    renderTabs();
  }

  function onRead(frame) {
    const conv = S.convs.get(frame.conversation_id);
    if (!conv || typeof frame.seq !== 'number') return;
    conv.readSeq = Math.max(conv.readSeq, frame.seq);
    for (const [seq, node] of conv.nodes) {
      const mark = node.querySelector('.msg-read');
      if (mark) setText(mark, seq <= conv.readSeq ? 'Seen' : '');
    }
  }

  function onFailed(frame) {
    const conv = S.convs.get(frame.conversation_id);
    const what = frame.type === 'transfer.failed' ? 'Transfer' : 'Conference invitation';
    const why = FAIL_REASONS[frame.reason] || frame.reason;
    const text = `${what} to ${agentName(frame.agent)} failed: ${agentName(frame.agent)} ${why}. The chat stays with you.`;
    notice(text, 'warn');
    if (conv) localLine(conv, text);
  }

  // ------------------------------------------------------------ rendering

  function renderAll() {
    renderConnection();
    renderAgentState();
    renderOffers();
    renderTabs();
    renderClosed();
    renderActive();
  }

  function renderTitle() {
    let unread = 0;
    for (const cid of S.order) unread += S.convs.get(cid).unread;
    const n = unread + S.offers.size;
    document.title = (n ? `(${n}) ` : '') + 'Switchboard Desk';
  }

  function renderConnection() {
    const box = $('connection');
    let text;
    let cls;
    let countdown = '';
    if (S.ws && S.welcomed) { text = 'Connected'; cls = 'ok'; }
    else if (S.ws) { text = 'Connecting…'; cls = 'wait'; }
    else if (S.refused) { text = 'Refused: origin not allowed'; cls = 'bad'; }
    else if (S.reconnectAt) {
      text = 'Reconnecting';
      countdown = ` in ${Math.max(1, Math.ceil((S.reconnectAt - Date.now()) / 1000))} s`;
      cls = 'bad';
    } else { text = 'Offline'; cls = 'bad'; }
    box.className = 'connection connection-' + cls;
    setText($('connection-state'), text);
    setText($('connection-countdown'), countdown);
    if (S.me) setText($('me-name'), `${isolate(S.me.display_name)} (${S.me.id})`);
  }

  function cardDuration(card) {
    const end = card.ended_at || serverNow();
    return clock(end - (card.queued_at || end));
  }

  function renderTabs() {
    const tabs = $('tabs');
    const wanted = S.order.map((cid) => S.convs.get(cid));
    for (const conv of wanted) {
      if (!conv.tab) conv.tab = buildTab(conv);
      fillTab(conv);
    }
    const nodes = wanted.map((c) => c.tab);
    if (nodes.length !== tabs.children.length || nodes.some((n, i) => tabs.children[i] !== n)) tabs.replaceChildren(...nodes);
    $('no-tabs').hidden = nodes.length > 0;
    setText($('tab-count'), nodes.length ? String(nodes.length) : '');
    renderTitle();
  }

  function buildTab(conv) {
    const tab = h('button', 'tab');
    tab.type = 'button';
    tab.setAttribute('role', 'tab');
    tab.setAttribute('aria-controls', 'conv');
    tab.dataset.cid = conv.id;
    const stripe = h('span', 'stripe');
    stripe.setAttribute('aria-hidden', 'true');
    tab.append(
      stripe,
      h('span', 'tab-body', null, [
        h('span', 'tab-line1', null, [svgIcon(conv.card.icon || 'chat'), h('span', 'tab-name'), h('span', 'tab-unread')]),
        h('span', 'tab-line2', null, [h('span', 'tab-title'), h('span', 'tab-queue'), h('span', 'tab-duration')]),
        h('span', 'tab-line3', null, [h('span', 'tab-status'), h('span', 'tab-agents'), h('span', 'tab-typing')]),
      ]),
    );
    tab.addEventListener('click', () => activate(conv.id));
    tab.addEventListener('keydown', onTabKey);
    return tab;
  }

  function fillTab(conv) {
    const card = conv.card;
    const tab = conv.tab;
    const selected = S.active === conv.id;
    tab.className = `tab color-${card.color || 'blue'}${selected ? ' tab-selected' : ''}`;
    tab.setAttribute('aria-selected', String(selected));
    // One tab is in the Tab order: the selected one, else the first (a closed
    // conversation on screen has no tab).
    tab.tabIndex = selected || (!S.order.includes(S.active) && S.order[0] === conv.id) ? 0 : -1;
    setText(tab.querySelector('.tab-name'), customerName(card.customer));
    const unread = tab.querySelector('.tab-unread');
    setText(unread, conv.unread ? String(conv.unread) : '');
    unread.hidden = !conv.unread;
    if (conv.unread) unread.setAttribute('aria-label', `${conv.unread} unread`);
    setText(tab.querySelector('.tab-title'), card.title || 'Chat');
    setText(tab.querySelector('.tab-queue'), card.queue ? card.queue.name : '');
    setText(tab.querySelector('.tab-duration'), cardDuration(card));
    const status = tab.querySelector('.tab-status');
    setText(status, card.status_label || card.status);
    status.className = 'tab-status status-' + card.status;
    setText(tab.querySelector('.tab-agents'), (card.agents || []).map(agentName).join(', '));
    setText(tab.querySelector('.tab-typing'), conv.typing ? 'typing…' : '');
  }

  function onTabKey(event) {
    const i = S.order.indexOf(event.currentTarget.dataset.cid);
    let next = -1;
    if (event.key === 'ArrowDown') next = (i + 1) % S.order.length;
    else if (event.key === 'ArrowUp') next = (i - 1 + S.order.length) % S.order.length;
    else if (event.key === 'Home') next = 0;
    else if (event.key === 'End') next = S.order.length - 1;
    if (next < 0) return;
    event.preventDefault();
    activate(S.order[next]);
    S.convs.get(S.order[next]).tab.focus();
  }

  /** Whether the keyboard focus was lost: on the body, or on an element that was
   * removed or hidden. */
  function focusLost() {
    const a = document.activeElement;
    return !a || a === document.body || !a.isConnected || !a.getClientRects().length;
  }

  /** After a conversation or an offer went: the selected tab, else the offers. */
  function focusSomewhereUseful() {
    const conv = S.active && S.convs.get(S.active);
    if (conv && conv.tab && conv.tab.isConnected) conv.tab.focus();
    else if (S.order.length) S.convs.get(S.order[0]).tab.focus();
    else $('offers-heading').focus();
  }

  function renderClosed() {
    const list = $('closed-list');
    // Rebuilt on every change: the focus stays on the same conversation.
    const focused = list.contains(document.activeElement) ? document.activeElement.dataset.cid : null;
    list.replaceChildren(...S.closed.map((cid) => {
      const conv = S.convs.get(cid);
      const button = h('button', `closed-item color-${conv.card.color || 'gray'}${S.active === cid ? ' tab-selected' : ''}`, null, [
        h('span', 'stripe'),
        h('span', 'closed-name', customerName(conv.card.customer)),
        h('span', 'closed-label', conv.closedLabel || conv.card.status_label),
      ]);
      button.type = 'button';
      button.dataset.cid = cid;
      button.addEventListener('click', () => activate(cid));
      return h('li', '', null, [button]);
    }));
    setText($('closed-count'), S.closed.length ? String(S.closed.length) : '');
    const again = focused && list.querySelector(`button[data-cid="${CSS.escape(focused)}"]`);
    if (again) again.focus();
  }

  function activate(cid) {
    const previous = S.active && S.convs.get(S.active);
    if (previous) previous.draft = $('composer-text').value;
    S.active = cid;
    const conv = cid && S.convs.get(cid);
    if (conv) {
      conv.unread = 0;
      $('composer-text').value = conv.draft || '';
      $('note-toggle').checked = conv.note;
      $('transcript').replaceChildren(conv.list);
    }
    renderTabs();
    renderClosed();
    renderActive();
    scrollToEnd();
  }

  function renderActive() {
    const conv = S.active && S.convs.get(S.active);
    $('conv').hidden = !conv;
    $('side').hidden = !conv;
    $('conv-empty').hidden = Boolean(conv);
    if (!conv) return;
    renderConversationHeader();
    renderTyping();
    renderComposer();
    renderSide();
  }

  function writable(conv) {
    return Boolean(conv && conv.open && (conv.card.status === 'active' || conv.card.status === 'conference'));
  }

  /** The owner (who may invite and end a conference): the agent connected last in
   * this session, else the first agent left (a guest takes over a lost owner). */
  function ownerOf(conv) {
    const agents = conv.card.agents || [];
    const seqs = [...conv.events.keys()].sort((a, b) => b - a);
    for (const seq of seqs) {
      const ev = conv.events.get(seq);
      if (ev.type === 'chat.connected' && ev.session_id === conv.card.session_id) {
        const found = agents.find((a) => ev.agent && a.id === ev.agent.id);
        if (found) return found;
        break;
      }
    }
    return agents[0] || null;
  }

  function renderConversationHeader() {
    const conv = S.active && S.convs.get(S.active);
    if (!conv) return;
    const card = conv.card;
    $('conv-stripe').className = 'stripe color-' + (card.color || 'blue');
    setText($('conv-title'), `${customerName(card.customer)} · ${card.title || 'Chat'}`);
    setText($('conv-sub'), `${card.queue ? isolate(card.queue.name) : ''} · ${cardDuration(card)}`);
    const pill = $('conv-status');
    setText(pill, conv.open ? card.status_label || card.status : conv.closedLabel || card.status_label);
    pill.className = 'status-pill status-' + (conv.open ? card.status : 'closed');
    const banner = $('conv-banner');
    const inWrapUp = conv.open && card.status === 'wrap_up';
    banner.hidden = !inWrapUp;
    if (inWrapUp) setText($('conv-banner-text'), `${card.status_label}. Choose a wrap-up code to free the slot.`);
  }

  function renderTyping() {
    const conv = S.active && S.convs.get(S.active);
    const box = $('typing');
    if (!conv || !conv.typing || conv.typing.until < Date.now()) {
      if (conv) conv.typing = null;
      setText(box, '');
      return;
    }
    const t = conv.typing;
    setText(box, `${t.who} is typing…${t.preview ? ' “' + t.preview + '”' : ''}`);
  }

  function renderComposer() {
    const conv = S.active && S.convs.get(S.active);
    if (!conv) return;
    const note = $('note-toggle').checked;
    const text = $('composer-text').value;
    const limit = note ? NOTE_LIMIT : MESSAGE_LIMIT;
    const n = codePoints(text);
    const counter = $('counter');
    setText(counter, `${n}/${limit}`);
    counter.classList.toggle('over', n > limit);
    const connected = Boolean(S.ws && S.welcomed);
    const canWrite = writable(conv);
    $('composer').hidden = !conv.open;
    $('composer').classList.toggle('composer-note', note);
    $('composer-text').disabled = !canWrite;
    $('composer-text').placeholder = !canWrite
      ? (conv.card.status === 'wrap_up' ? 'The session has ended.' : 'You cannot write here.')
      : note ? 'Internal note, seen by agents and supervisors only…' : 'Type a message…';
    $('canned-open').disabled = !canWrite;
    $('note-toggle').disabled = !canWrite;
    $('send').disabled = !canWrite || !connected || !text.trim() || n > limit;
    setText($('send'), note ? 'Add note' : 'Send');
    let hint = 'Enter to send · Shift+Enter for a new line';
    if (!connected) hint = 'Not connected: sending resumes when the desk is back online';
    else if (n > limit) hint = `Too long: at most ${limit} characters`;
    setText($('composer-hint'), hint);
  }

  function renderSide() {
    const conv = S.active && S.convs.get(S.active);
    if (!conv) return;
    const card = conv.card;
    // The card
    const box = $('card');
    box.className = 'card color-' + (card.color || 'blue');
    const rows = [
      ['Queue', card.queue ? card.queue.name : ''], ['Status', conv.open ? card.status_label : conv.closedLabel || card.status_label],
      ['Duration', cardDuration(card)], ['Agents', (card.agents || []).map(agentName).join(', ') || '—'],
      ['Queued', timeOfDay(card.queued_at)],
    ];
    if (card.connected_at) rows.push(['Connected', timeOfDay(card.connected_at)]);
    if (card.ended_at) rows.push(['Ended', timeOfDay(card.ended_at)]);
    if (card.wrap_up && card.wrap_up.notes) rows.push(['Wrap-up notes', card.wrap_up.notes]);
    if (card.csat) rows.push(['Satisfaction', `${card.csat.rating}/5${card.csat.comment ? ' · ' + card.csat.comment : ''}`]);
    const dl = h('dl', 'card-fields');
    for (const [k, v] of rows) dl.append(h('dt', '', k), h('dd', 'card-' + k.toLowerCase().replace(/[^a-z]+/g, '-'), v || '—'));
    box.replaceChildren(
      h('div', 'card-head', null, [h('span', 'stripe'), svgIcon(card.icon || 'chat'), h('span', 'card-title', card.title), h('span', 'status-pill status-' + card.status, card.status_label)]),
      dl,
    );
    // Actions
    const canAct = writable(conv);
    const owner = isMe(ownerOf(conv));
    $('act-transfer').hidden = !canAct;
    $('act-conference').hidden = !canAct;
    $('act-help').hidden = !canAct;
    $('act-end').hidden = !canAct;
    $('act-end-conference').hidden = !(canAct && card.status === 'conference' && owner);
    $('act-leave').hidden = !(canAct && card.status === 'conference' && !owner);
    $('act-wrapup').hidden = !(conv.open && card.status === 'wrap_up');
    // Customer profile
    const c = card.customer || {};
    const profile = $('profile');
    const verified = h('span', c.verified ? 'badge badge-verified' : 'badge', c.verified ? 'Verified' : 'Not verified');
    profile.replaceChildren(
      h('dt', '', 'Name'), h('dd', 'profile-name', c.name || 'Visitor'),
      h('dt', '', 'Email'), h('dd', 'profile-email', c.email || '—'),
      h('dt', '', 'Phone'), h('dd', 'profile-phone', c.phone || '—'),
      h('dt', '', 'Contact'), h('dd', 'profile-verified', null, [verified]),
    );
    const form = $('verify-form');
    $('verify-details').hidden = !canAct;
    if (form.dataset.cid !== conv.id + ':' + card.session_id + ':' + c.verified) {
      form.dataset.cid = conv.id + ':' + card.session_id + ':' + c.verified;
      $('verify-email').value = c.email || '';
      $('verify-phone').value = c.phone || '';
    }
    const journey = $('journey');
    const pages = card.journey || [];
    // Rebuilt on every event: a keyboard user stays on the same page of the journey.
    const links = [...journey.querySelectorAll('.journey-link')];
    const focusedLink = links.indexOf(document.activeElement);
    const fromEnd = focusedLink < 0 ? -1 : links.length - 1 - focusedLink;  // new pages come first
    journey.replaceChildren(...pages.slice().reverse().map((page) => {
      const label = page.title || page.url;
      let link;
      if (/^https?:\/\//i.test(page.url || '')) {
        link = h('a', 'journey-link', label);
        link.href = page.url;
        link.target = '_blank';
        link.rel = 'noopener noreferrer';
      } else {
        link = h('span', 'journey-link', label);
      }
      link.title = page.url || '';
      return h('li', '', null, [link, h('time', 'muted small', timeOfDay(page.ts))]);
    }));
    if (!pages.length) journey.append(h('li', 'muted small', 'No page views.'));
    if (fromEnd >= 0) {
      const again = [...journey.querySelectorAll('.journey-link')];
      const target = again[again.length - 1 - fromEnd];
      if (target && target.focus) target.focus();
    }
  }

  function nearBottom() {
    const box = $('transcript');
    return box.scrollHeight - box.scrollTop - box.clientHeight < 120;
  }

  function scrollToEnd() {
    const box = $('transcript');
    box.scrollTop = box.scrollHeight;
  }

  function tick() {
    renderConnection();
    tickOffers();
    for (const cid of S.order) {
      const conv = S.convs.get(cid);
      if (conv.typing && conv.typing.until < Date.now()) {
        conv.typing = null;
        if (S.active === cid) renderTyping();
      }
      if (!conv.tab) continue;
      setText(conv.tab.querySelector('.tab-duration'), cardDuration(conv.card));
      setText(conv.tab.querySelector('.tab-typing'), conv.typing ? 'typing…' : '');
    }
    const conv = S.active && S.convs.get(S.active);
    if (conv) {
      setText($('conv-sub'), `${conv.card.queue ? isolate(conv.card.queue.name) : ''} · ${cardDuration(conv.card)}`);
      const d = $('card').querySelector('.card-duration');
      if (d) setText(d, cardDuration(conv.card));
    }
  }

  // ------------------------------------------------------------ composing

  let typingState = { cid: null, active: false, sentAt: 0, idle: 0 };

  function typingStop() {
    clearTimeout(typingState.idle);
    if (typingState.active && typingState.cid) {
      fire({ type: 'typing', conversation_id: typingState.cid, active: false });
    }
    typingState = { cid: null, active: false, sentAt: 0, idle: 0 };
  }

  /** Forgets the typing indicator without telling the server: the conversation
   * ended or left this agent, so a `typing` would only come back as an error. */
  function typingForget(cid) {
    if (typingState.cid !== cid) return;
    clearTimeout(typingState.idle);
    typingState = { cid: null, active: false, sentAt: 0, idle: 0 };
  }

  function typingNudge(conv) {
    if (!writable(conv) || $('note-toggle').checked) return;
    if (typingState.cid !== conv.id) typingStop();
    const now = Date.now();
    if (!typingState.active || now - typingState.sentAt > TYPING_REPEAT_MS) {
      fire({ type: 'typing', conversation_id: conv.id, active: true });
      typingState.active = true;
      typingState.sentAt = now;
    }
    typingState.cid = conv.id;
    clearTimeout(typingState.idle);
    typingState.idle = setTimeout(typingStop, TYPING_IDLE_MS);
  }

  function newClientId() {
    const bytes = new Uint8Array(9);
    crypto.getRandomValues(bytes);
    return 'd' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  async function sendComposed() {
    const conv = S.active && S.convs.get(S.active);
    const box = $('composer-text');
    const text = box.value;
    const note = $('note-toggle').checked;
    const limit = note ? NOTE_LIMIT : MESSAGE_LIMIT;
    if (!conv || !writable(conv) || !text.trim() || codePoints(text) > limit || $('send').disabled) return;
    typingStop();
    const clientId = newClientId();
    const pending = h('li', `msg msg-agent msg-mine pending${note ? ' msg-note' : ''}`, null, [
      h('div', 'msg-meta', null, [note ? h('span', 'note-label', 'Internal note') : null, h('span', 'msg-who', S.me.display_name), h('span', 'msg-time', 'sending…')]),
      h('div', 'msg-text', text),
    ]);
    conv.list.append(pending);
    conv.pendingByClient.set(clientId, pending);
    scrollToEnd();
    box.value = '';
    conv.draft = '';
    setText($('composer-error'), '');
    renderComposer();
    const frame = note
      ? { type: 'note', conversation_id: conv.id, text }
      : { type: 'message', conversation_id: conv.id, text, client_msg_id: clientId };
    deliver(conv, frame, clientId);
  }

  /** Sends a message or note shown as pending. A message whose answer was lost with
   * the connection waits in the outbox and is sent again after the next welcome,
   * with the same client_msg_id: the server stores it once however often it comes. */
  async function deliver(conv, frame, clientId) {
    const pending = conv.pendingByClient.get(clientId);
    if (frame.type === 'message') conv.outbox.set(clientId, frame);
    try {
      const ack = await request(frame);
      conv.outbox.delete(clientId);
      conv.pendingByClient.delete(clientId);
      if (!pending) return;
      if (conv.events.has(ack.seq)) pending.remove();
      else conv.pendingBySeq.set(ack.seq, pending);
    } catch (err) {
      // 'offline' is this page's own code (no connection, or no answer): the message
      // waits for the next welcome. The server's `unavailable` (its store is
      // unreachable) is an answer: the message was not stored.
      if (err.code === 'offline' && conv.outbox.has(clientId)) {
        if (pending) setText(pending.querySelector('.msg-time'), 'waiting for the connection…');
        return;
      }
      conv.outbox.delete(clientId);
      conv.pendingByClient.delete(clientId);
      // A note is not sent again (it has no client_msg_id): if the connection went
      // while it was under way the server may have stored it; the replay tells.
      const doubt = err.code === 'offline' ? 'may not have been sent' : 'not sent';
      if (pending) {
        pending.classList.add('failed');
        setText(pending.querySelector('.msg-time'), `${doubt}: ${err.message}`);
        if (err.code === 'offline') conv.doubtfulNotes.push({ text: frame.text, node: pending });
      }
      const box = $('composer-text');
      if (S.active === conv.id && !box.value) {
        box.value = frame.text;
        renderComposer();
      }
      if (S.active === conv.id) setText($('composer-error'), `${doubt[0].toUpperCase()}${doubt.slice(1)}: ${err.message}`);
    }
  }

  // ------------------------------------------------------------ canned responses

  function fillPlaceholders(text, values) {
    return text.replace(PLACEHOLDER, (whole, name) => (KNOWN_PLACEHOLDERS.has(name) ? values[name] || '' : whole));
  }

  function placeholderValues(conv) {
    const c = (conv && conv.card.customer) || {};
    return {
      'customer.name': c.name || '',
      'customer.email': c.email || '',
      'customer.phone': c.phone || '',
      'agent.display_name': (S.me && S.me.display_name) || '',
      'agent.id': (S.me && S.me.id) || '',
      'queue.name': (conv && conv.card.queue && conv.card.queue.name) || '',
    };
  }

  function openCanned() {
    const conv = S.active && S.convs.get(S.active);
    if (!writable(conv)) return;
    $('canned-search').value = '';
    $('dlg-canned').showModal();
    $('canned-search').focus();
    searchCanned('');
  }

  let cannedDebounce = 0;
  async function searchCanned(q) {
    const seq = ++S.cannedSeq;
    setText($('canned-status'), 'Searching…');
    try {
      const response = await fetch('/api/v1/canned-responses?q=' + encodeURIComponent(q), {
        headers: { Authorization: 'Bearer ' + S.token }, cache: 'no-store',
      });
      const body = await response.json().catch(() => ({}));
      if (seq !== S.cannedSeq) return;
      if (!response.ok) throw new Error((body.error && body.error.message) || `HTTP ${response.status}`);
      showCanned(body.canned_responses || []);
    } catch (err) {
      if (seq !== S.cannedSeq) return;
      showCanned([]);
      setText($('canned-status'), `Could not load canned responses: ${err.message}`);
    }
  }

  function showCanned(items) {
    S.cannedItems = items;
    S.cannedIndex = items.length ? 0 : -1;
    const list = $('canned-list');
    list.replaceChildren(...items.map((item, i) => {
      const li = h('li', 'canned-item', null, [h('span', 'canned-title', item.title), h('span', 'canned-text', item.text)]);
      li.id = 'canned-' + i;
      li.setAttribute('role', 'option');
      li.dataset.index = String(i);
      li.addEventListener('click', () => chooseCanned(i));
      return li;
    }));
    setText($('canned-status'), items.length ? `${items.length} found · ↑↓ to choose, Enter to insert` : 'No canned response found.');
    highlightCanned();
  }

  function highlightCanned() {
    const list = $('canned-list');
    for (const li of list.children) li.setAttribute('aria-selected', String(Number(li.dataset.index) === S.cannedIndex));
    const current = S.cannedIndex >= 0 ? $('canned-' + S.cannedIndex) : null;
    if (current) {
      $('canned-search').setAttribute('aria-activedescendant', current.id);
      current.scrollIntoView({ block: 'nearest' });
    } else {
      $('canned-search').removeAttribute('aria-activedescendant');
    }
  }

  function chooseCanned(index) {
    const item = S.cannedItems[index];
    const conv = S.active && S.convs.get(S.active);
    if (!item || !conv) return;
    const filled = fillPlaceholders(item.text, placeholderValues(conv));
    const box = $('composer-text');
    const start = box.selectionStart ?? box.value.length;
    const end = box.selectionEnd ?? box.value.length;
    box.value = box.value.slice(0, start) + filled + box.value.slice(end);
    $('dlg-canned').close();
    box.focus();
    box.setSelectionRange(start + filled.length, start + filled.length);
    renderComposer();
  }

  // ------------------------------------------------------------ dialogs

  function activeConv() {
    return S.active && S.convs.get(S.active);
  }

  function openDialog(id, prepare) {
    const dialog = $(id);
    for (const err of dialog.querySelectorAll('.form-error')) setText(err, '');
    for (const b of dialog.querySelectorAll('button')) b.disabled = false;
    if (prepare) prepare(dialog);
    dialog.showModal();
    const first = dialog.querySelector('input:not([type=radio]):not([hidden]), select, textarea, input[type=radio]:checked');
    if (first) first.focus();
  }

  /** Runs a dialog's command; shows the refusal in the dialog, closes it on success. */
  async function submitDialog(dialogId, errorId, frame, onDone) {
    const dialog = $(dialogId);
    const buttons = dialog.querySelectorAll('button');
    for (const b of buttons) b.disabled = true;
    try {
      const ack = await request(frame);
      dialog.close();
      if (onDone) onDone(ack);
    } catch (err) {
      setText($(errorId), err.message);
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  }

  function queueLabel(qid) {
    const known = S.targets && S.targets.queues.find((q) => q.id === qid);
    if (known) return isolate(known.name);
    for (const conv of S.convs.values()) if (conv.card.queue && conv.card.queue.id === qid) return isolate(conv.card.queue.name);
    return qid;
  }

  /** Queues and colleagues, read afresh each time a dialog opens (states change). */
  async function loadTargets() {
    const response = await fetch('/api/v1/transfer-targets', {
      headers: { Authorization: 'Bearer ' + S.token }, cache: 'no-store',
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error((body.error && body.error.message) || `HTTP ${response.status}`);
    S.targets = { queues: body.queues || [], agents: body.agents || [] };
    return S.targets;
  }

  /** Fills an agent picker: free colleagues first and selectable, the others shown
   * greyed with their state, so the agent sees why someone cannot be chosen. */
  function fillAgentPicker(select, agents, conv) {
    const inChat = new Set((conv.card.agents || []).map((a) => a.id));
    const options = agents.filter((a) => !inChat.has(a.id)).map((a) => {
      const load = a.capacity ? ` · ${a.sessions}/${a.capacity}` : '';
      const opt = h('option', '', `${a.display_name} · ${STATE_LABELS[a.state] || a.state}${load}`);
      opt.value = a.id;
      opt.disabled = !a.free;
      return opt;
    });
    if (!options.some((o) => !o.disabled)) {
      const none = h('option', '', 'No colleague can take it now');
      none.value = '';
      options.unshift(none);
    }
    select.replaceChildren(...options);
    const first = options.find((o) => !o.disabled);
    select.value = first ? first.value : '';
  }

  function openTransfer() {
    const conv = activeConv();
    if (!writable(conv)) return;
    openDialog('dlg-transfer', () => {
      $('transfer-queue').replaceChildren(h('option', '', 'Loading…'));
      $('transfer-agent').replaceChildren(h('option', '', 'Loading…'));
      syncTransferKind();
    });
    loadTargets().then((targets) => {
      const select = $('transfer-queue');
      const current = conv.card.queue && conv.card.queue.id;
      select.replaceChildren(...targets.queues.map((q) => {
        const opt = h('option', '', q.waiting ? `${q.name} · ${q.waiting} waiting` : q.name);
        opt.value = q.id;
        return opt;
      }));
      const other = targets.queues.find((q) => q.id !== current && (S.me.queues || []).includes(q.id))
        || targets.queues.find((q) => q.id !== current);
      if (other) select.value = other.id;
      fillAgentPicker($('transfer-agent'), targets.agents, conv);
    }).catch((err) => setText($('transfer-error'), `Could not load the queues and agents: ${err.message}`));
  }

  function syncTransferKind() {
    const kind = document.querySelector('input[name="transfer-kind"]:checked').value;
    $('transfer-queue-fields').hidden = kind !== 'queue';
    $('transfer-agent-fields').hidden = kind !== 'agent';
  }

  function agentLabel(aid) {
    const known = S.targets && S.targets.agents.find((a) => a.id === aid);
    return known ? known.display_name : aid;
  }

  function submitTransfer(event) {
    event.preventDefault();
    const conv = activeConv();
    if (!conv) return;
    const kind = document.querySelector('input[name="transfer-kind"]:checked').value;
    const frame = { type: 'transfer', conversation_id: conv.id };
    if (kind === 'queue') {
      frame.queue = $('transfer-queue').value;
      if (!frame.queue) { setText($('transfer-error'), 'Choose a queue.'); return; }
    } else {
      frame.agent = $('transfer-agent').value;
      if (!frame.agent) { setText($('transfer-error'), 'Choose a colleague who is available.'); return; }
    }
    submitDialog('dlg-transfer', 'transfer-error', frame, () => {
      if (frame.agent) {
        const text = `Transfer offered to ${agentLabel(frame.agent)}; the chat stays with you until they accept.`;
        notice(text);
        localLine(conv, text);
      } else {
        notice(`${customerName(conv.card.customer)} was transferred to queue ${queueLabel(frame.queue)}.`);
      }
    });
  }

  function openConference() {
    const conv = activeConv();
    if (!writable(conv)) return;
    openDialog('dlg-conference', () => { $('conference-agent').replaceChildren(h('option', '', 'Loading…')); });
    loadTargets()
      .then((targets) => fillAgentPicker($('conference-agent'), targets.agents, conv))
      .catch((err) => setText($('conference-error'), `Could not load the agents: ${err.message}`));
  }

  function submitConference(event) {
    event.preventDefault();
    const conv = activeConv();
    const agent = $('conference-agent').value;
    if (!conv) return;
    if (!agent) { setText($('conference-error'), 'Choose a colleague who is available.'); return; }
    submitDialog('dlg-conference', 'conference-error', { type: 'conference', conversation_id: conv.id, agent });
  }

  function submitHelp(event) {
    event.preventDefault();
    const conv = activeConv();
    if (!conv) return;
    const text = $('help-text').value.trim();
    const frame = { type: 'request_help', conversation_id: conv.id };
    if (text) frame.text = text;
    submitDialog('dlg-help', 'help-error', frame, (ack) => {
      notice(`Help requested: ${ack.supervisors} supervisor${ack.supervisors === 1 ? '' : 's'} asked.`);
    });
  }

  function submitEnd(event) {
    event.preventDefault();
    const conv = activeConv();
    if (!conv) return;
    submitDialog('dlg-end', 'end-error', { type: 'end_session', conversation_id: conv.id }, () => {
      if (conv.card.status !== 'closed') endCard(conv.card, 'agent_ended', conv.card.ended_at);
      renderAll();
      openWrapUp(conv);
    });
  }

  function wrapUpCodes(qid) {
    if (!S.wrapCodes.has(qid)) {
      const promise = fetch(`/api/v1/queues/${encodeURIComponent(qid)}/wrap-up-codes`, {
        headers: { Authorization: 'Bearer ' + S.token }, cache: 'no-store',
      }).then(async (response) => {
        const body = await response.json().catch(() => ({}));
        if (!response.ok) throw new Error((body.error && body.error.message) || `HTTP ${response.status}`);
        return body.wrap_up_codes || [];
      });
      promise.catch(() => S.wrapCodes.delete(qid));
      S.wrapCodes.set(qid, promise);
    }
    return S.wrapCodes.get(qid);
  }

  function openWrapUp(conv) {
    conv = conv || activeConv();
    if (!conv || !conv.open || conv.card.status !== 'wrap_up') return;
    S.wrapTarget = conv.id;
    const qid = conv.card.queue && conv.card.queue.id;
    openDialog('dlg-wrapup', () => {
      setText($('wrapup-sub'), `${customerName(conv.card.customer)} · ${conv.card.queue ? isolate(conv.card.queue.name) : ''} · ${conv.card.status_label}`);
      $('wrapup-notes').value = '';
      $('wrapup-codes').replaceChildren(h('p', 'muted small', 'Loading the queue’s codes…'));
    });
    wrapUpCodes(qid).then((codes) => {
      if (S.wrapTarget !== conv.id) return;
      $('wrapup-codes').replaceChildren(...codes.map((c, i) => {
        const input = h('input');
        input.type = 'radio';
        input.name = 'wrapup-code';
        input.value = c.code;
        input.id = 'wrapup-code-' + i;
        const label = h('label', 'radio', null, [input, h('span', '', c.label)]);
        return label;
      }));
      const first = $('wrapup-codes').querySelector('input');
      if (first && $('dlg-wrapup').open) first.focus();
    }, (err) => {
      if (S.wrapTarget !== conv.id) return;
      const input = h('input');
      input.type = 'text';
      input.id = 'wrapup-code-text';
      input.setAttribute('aria-label', 'Wrap-up code');
      $('wrapup-codes').replaceChildren(h('p', 'form-error small', `The codes could not be loaded (${err.message}); type a code:`), input);
    });
  }

  function submitWrapUp(event) {
    event.preventDefault();
    const conv = S.wrapTarget && S.convs.get(S.wrapTarget);
    if (!conv) return;
    const chosen = document.querySelector('input[name="wrapup-code"]:checked');
    const typed = $('wrapup-code-text');
    const code = chosen ? chosen.value : typed ? typed.value.trim() : '';
    if (!code) { setText($('wrapup-error'), 'Choose an outcome.'); return; }
    const frame = { type: 'wrap_up', conversation_id: conv.id, code };
    const notes = $('wrapup-notes').value.trim();
    if (notes) frame.notes = notes;
    submitDialog('dlg-wrapup', 'wrapup-error', frame, (ack) => {
      notice(`Wrapped up: ${ack.label || code}.`);
    });
  }

  async function submitVerify(event) {
    event.preventDefault();
    const conv = activeConv();
    if (!writable(conv)) return;
    const frame = { type: 'verify_contact', conversation_id: conv.id };
    const email = $('verify-email').value.trim();
    const phone = $('verify-phone').value.trim();
    if (email && email !== (conv.card.customer.email || '')) frame.email = email;
    if (phone && phone !== (conv.card.customer.phone || '')) frame.phone = phone;
    $('verify').disabled = true;
    try {
      const ack = await request(frame);
      if (ack.card) onCard({ conversation_id: conv.id, card: ack.card });
      $('verify-details').open = false;
      notice(`${customerName(conv.card.customer)}: contact verified.`);
    } catch (err) {
      notice(`Could not verify: ${err.message}`, 'error');
    } finally {
      $('verify').disabled = false;
    }
  }

  async function simpleAction(type, done) {
    const conv = activeConv();
    if (!conv) return;
    try {
      await request({ type, conversation_id: conv.id });
      if (done) done(conv);
    } catch (err) {
      notice(err.message, 'error');
    }
  }

  // ------------------------------------------------------------ transcript search (this desk's shift)

  function searchTranscripts(q) {
    const results = $('search-results');
    const words = q.toLocaleLowerCase().split(/\s+/).filter(Boolean);
    if (!words.length) { results.replaceChildren(); return; }
    const found = [];
    for (const cid of [...S.order, ...S.closed]) {
      const conv = S.convs.get(cid);
      const name = customerName(conv.card.customer);
      for (const [seq, ev] of [...conv.events].sort((a, b) => a[0] - b[0])) {
        if ((ev.type !== 'message' && ev.type !== 'note') || typeof ev.text !== 'string') continue;
        const hay = (ev.text + ' ' + name).toLocaleLowerCase();
        if (words.every((w) => hay.includes(w))) found.push({ conv, seq, ev, name });
      }
    }
    const mine = ++S.searchRun;
    searchEarlier(q, mine);
    if (!found.length) {
      results.replaceChildren(h('li', 'muted small', 'Nothing found in this shift’s conversations.'));
      return;
    }
    results.replaceChildren(...found.slice(0, 30).map(({ conv, seq, ev, name }) => {
      const text = ev.text.length > 80 ? ev.text.slice(0, 80) + '…' : ev.text;
      const button = h('button', 'search-hit', null, [
        h('span', 'search-hit-head', `${name} · ${timeOfDay(ev.ts)}${conv.open ? '' : ' · closed'}`),
        h('span', 'search-hit-text', text),
      ]);
      button.type = 'button';
      button.addEventListener('click', () => {
        activate(conv.id);
        const node = conv.nodes.get(seq);
        if (node) {
          node.scrollIntoView({ block: 'center' });
          node.classList.remove('flash');
          void node.offsetWidth;
          node.classList.add('flash');
        }
      });
      return h('li', '', null, [button]);
    }));
  }

  /** The server's search among every conversation this agent took part in: those
   * not on this desk any more are listed under "Earlier conversations". */
  async function searchEarlier(q, run) {
    let cards = [];
    try {
      const response = await fetch('/api/v1/conversations?limit=20&q=' + encodeURIComponent(q), {
        headers: { Authorization: 'Bearer ' + S.token }, cache: 'no-store',
      });
      if (!response.ok) return;
      cards = (await response.json()).conversations || [];
    } catch (err) {
      return;  // the shift's own results are still there
    }
    if (run !== S.searchRun) return;  // a newer search started meanwhile
    const earlier = cards.filter((card) => !S.convs.has(card.conversation_id));
    if (!earlier.length) return;
    const results = $('search-results');
    results.append(h('li', 'search-group muted small', 'Earlier conversations'), ...earlier.map((card) => {
      const when = new Date(card.ended_at || card.queued_at);
      const button = h('button', 'search-hit search-earlier', null, [
        h('span', 'search-hit-head', `${customerName(card.customer)} · ${when.toLocaleDateString()} ${timeOfDay(when.getTime())}`),
        h('span', 'search-hit-text', `${card.queue ? card.queue.name : ''} · ${card.status_label}`),
      ]);
      button.type = 'button';
      button.addEventListener('click', () => openEarlier(card.conversation_id));
      return h('li', '', null, [button]);
    }));
  }

  /** Loads a past conversation's transcript (read only) into "Closed this shift". */
  async function openEarlier(cid) {
    if (S.convs.has(cid)) { activate(cid); return; }
    let body;
    try {
      const response = await fetch(`/api/v1/conversations/${encodeURIComponent(cid)}`, {
        headers: { Authorization: 'Bearer ' + S.token }, cache: 'no-store',
      });
      body = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error((body.error && body.error.message) || `HTTP ${response.status}`);
    } catch (err) {
      notice(`Could not open the conversation: ${err.message}`, 'error');
      return;
    }
    const conv = newConversation(body.card);
    conv.open = false;
    S.convs.set(cid, conv);
    const entries = [...(body.messages || []), ...(body.notes || []), ...(body.events || [])];
    for (const event of entries.sort((a, b) => a.seq - b.seq)) addEvent(conv, event, { live: false });
    conv.card = body.card;  // the stored card is the truth, whatever the replay inferred
    conv.closedLabel = `Earlier · ${body.card.status_label}`;
    S.closed = [cid, ...S.closed.filter((c) => c !== cid)];
    for (const dropped of S.closed.splice(CLOSED_KEPT)) S.convs.delete(dropped);
    activate(cid);
    renderAll();
  }

  // ------------------------------------------------------------ wiring

  function onGlobalKey(event) {
    if (event.altKey && event.shiftKey && !event.ctrlKey && !event.metaKey) {
      const first = S.offers.values().next().value;
      if (event.code === 'KeyA' && first) { event.preventDefault(); answerOffer(first.frame.offer_id, true); }
      else if (event.code === 'KeyD' && first) { event.preventDefault(); answerOffer(first.frame.offer_id, false); }
      else if (event.code === 'KeyN') { event.preventDefault(); const t = $('note-toggle'); if (!t.disabled) { t.checked = !t.checked; onNoteToggle(); } }
      else if (event.code === 'KeyF') { event.preventDefault(); $('search-input').focus(); }
      return;
    }
    if (event.altKey && !event.shiftKey && (event.key === 'ArrowUp' || event.key === 'ArrowDown') && S.order.length) {
      event.preventDefault();
      const i = S.order.indexOf(S.active);
      const step = event.key === 'ArrowDown' ? 1 : -1;
      activate(S.order[(i + step + S.order.length) % S.order.length]);
    }
  }

  function onNoteToggle() {
    const conv = activeConv();
    if (conv) conv.note = $('note-toggle').checked;
    if ($('note-toggle').checked) typingStop();
    renderComposer();
    $('composer-text').focus();
  }

  function wire() {
    $('signin-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const token = $('signin-token').value.trim();
      if (!token) { setText($('signin-error'), 'Enter your agent token.'); return; }
      signIn(token);
    });
    $('signout').addEventListener('click', async () => {
      try { await request({ type: 'set_state', state: 'offline' }); } catch (_) { /* signing out anyway */ }
      signOutLocal('');
    });
    $('sound-toggle').addEventListener('click', () => {
      S.soundOn = !S.soundOn;
      localStorage.setItem(SOUND_KEY, S.soundOn ? 'on' : 'off');
      renderSound();
      if (S.soundOn) ring();
    });
    // Arrow keys on a closed <select> fire `change` on some systems (Chrome and Edge
    // on Windows): passing over "Available" would bring an offer. A choice made with
    // the keyboard applies on Enter or when the menu loses the focus.
    const stateSelect = $('state-select');
    let keyed = false;
    let unapplied = false;
    const applyState = () => {
      if (unapplied) changeState(stateSelect.value);
      unapplied = false;
    };
    stateSelect.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') applyState();
      else keyed = /^(Arrow|Home|End|Page)/.test(event.key) || event.key.length === 1;
    });
    stateSelect.addEventListener('pointerdown', () => { keyed = false; });
    stateSelect.addEventListener('change', () => {
      unapplied = true;
      if (!keyed) applyState();
    });
    stateSelect.addEventListener('blur', applyState);
    $('rona-available').addEventListener('click', () => changeState('available'));

    const box = $('composer-text');
    box.addEventListener('input', () => {
      const conv = activeConv();
      if (conv) conv.draft = box.value;
      renderComposer();
      if (conv && box.value) typingNudge(conv);
      else typingStop();
    });
    box.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        sendComposed();
      } else if (event.key === '/' && !box.value && !event.ctrlKey && !event.altKey && !event.metaKey) {
        event.preventDefault();
        openCanned();
      }
    });
    box.addEventListener('blur', () => { if (typingState.active) typingStop(); });
    $('composer').addEventListener('submit', (event) => { event.preventDefault(); sendComposed(); });
    $('note-toggle').addEventListener('change', onNoteToggle);

    $('canned-open').addEventListener('click', openCanned);
    $('canned-search').addEventListener('input', (event) => {
      clearTimeout(cannedDebounce);
      const q = event.target.value;
      cannedDebounce = setTimeout(() => searchCanned(q), 150);
    });
    $('canned-search').addEventListener('keydown', (event) => {
      const n = S.cannedItems.length;
      if (event.key === 'ArrowDown' && n) { event.preventDefault(); S.cannedIndex = (S.cannedIndex + 1) % n; highlightCanned(); }
      else if (event.key === 'ArrowUp' && n) { event.preventDefault(); S.cannedIndex = (S.cannedIndex - 1 + n) % n; highlightCanned(); }
      else if (event.key === 'Enter') { event.preventDefault(); if (S.cannedIndex >= 0) chooseCanned(S.cannedIndex); }
    });

    for (const dialog of document.querySelectorAll('dialog')) {
      for (const b of dialog.querySelectorAll('[data-close]')) b.addEventListener('click', () => dialog.close());
      // The button that opened it may be hidden by now (the conversation moved on).
      dialog.addEventListener('close', () => { if (focusLost()) focusSomewhereUseful(); });
    }
    for (const radio of document.querySelectorAll('input[name="transfer-kind"]')) radio.addEventListener('change', syncTransferKind);
    $('act-transfer').addEventListener('click', openTransfer);
    $('transfer-form').addEventListener('submit', submitTransfer);
    $('act-conference').addEventListener('click', openConference);
    $('conference-form').addEventListener('submit', submitConference);
    $('act-help').addEventListener('click', () => {
      if (writable(activeConv())) openDialog('dlg-help', () => { $('help-text').value = ''; });
    });
    $('help-form').addEventListener('submit', submitHelp);
    $('act-end').addEventListener('click', () => { if (writable(activeConv())) openDialog('dlg-end'); });
    $('end-form').addEventListener('submit', submitEnd);
    $('act-wrapup').addEventListener('click', () => openWrapUp());
    $('conv-banner-wrapup').addEventListener('click', () => openWrapUp());
    $('wrapup-form').addEventListener('submit', submitWrapUp);
    $('dlg-wrapup').addEventListener('close', () => { S.wrapTarget = null; });
    $('act-end-conference').addEventListener('click', () => simpleAction('end_conference'));
    $('act-leave').addEventListener('click', () => simpleAction('leave', (conv) => closeConversation(conv, 'You left')));
    $('verify-form').addEventListener('submit', submitVerify);

    let searchDebounce = 0;
    $('search-input').addEventListener('input', (event) => {
      clearTimeout(searchDebounce);
      const q = event.target.value;
      searchDebounce = setTimeout(() => searchTranscripts(q), 120);
    });
    $('search-form').addEventListener('submit', (event) => { event.preventDefault(); searchTranscripts($('search-input').value); });

    document.addEventListener('keydown', onGlobalKey);
    // Browsers let a page make sound only after the user interacted with it.
    for (const type of ['pointerdown', 'keydown']) document.addEventListener(type, unlockAudio, { capture: true });
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden && S.active && S.convs.get(S.active)) {
        S.convs.get(S.active).unread = 0;
        renderTabs();
      }
    });
    setInterval(tick, 500);
  }

  function start() {
    // The hello waits for it, but not for long.
    S.clockSampled = Promise.race([sampleHttpClock(), new Promise((resolve) => setTimeout(resolve, 3000))]);
    S.soundOn = localStorage.getItem(SOUND_KEY) !== 'off';
    renderSound();
    wire();
    const token = readToken();
    if (!token) {
      showSignIn('');
      return;
    }
    try {
      for (const cid of JSON.parse(sessionStorage.getItem(HELD_KEY) || '[]')) {
        if (typeof cid === 'string') S.bootResume[cid] = 0;
      }
    } catch (_) { /* nothing to replay */ }
    signIn(token);
  }

  start();
})();
