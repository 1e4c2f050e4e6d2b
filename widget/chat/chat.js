// The open widget: the customer socket, the panel (pre-chat form, transcript, composer,
// satisfaction survey) and proactive invitations. switchboard.js imports it and calls
// start(); see widget/README.md for what it does and docs/protocol.md for the frames.
import { attachmentView, FILE_WORDS, fileControls } from './attachments.js';
import { botStage } from './bot.js';
import { customerConnection } from './connection.js';
import { element } from './elements.js';
import { currentPage, followJourney } from './journey.js';
import { prechatForm, TEXT_MAX_LENGTH } from './prechat.js';
import { visitorStorage } from './storage.js';
import { PANEL_CSS, PHONE_SCREEN } from './styles.js';
import { translator } from './strings.js';
import { surveyForm } from './survey.js';
import { transcriptForm } from './transcript-mail.js';
import { transcript as createTranscript } from './transcript.js';

// Frames may arrive slightly out of seq order: a resume asks again for the last few.
const RESUME_WINDOW = 20;
// Where a card's status puts the panel.
const PHASE_OF_STATUS = { bot: 'queued', waiting: 'queued', offered: 'queued', active: 'connected', conference: 'connected' };
const COMPOSER_MAX_HEIGHT_PX = 140;
const TYPING_IDLE_MS = 3000; // typing stops being announced after this long without a key
const TYPING_LOST_STOP_MS = 15_000; // an agent's "typing" whose "stop" got lost
const READ_RECEIPT_DELAY_MS = 300; // one `read` for a burst of messages (a replay, say)
const ONE_MINUTE_MS = 60_000;

/** Starts the chat under the launcher switchboard.js drew; `early` holds the API calls made before. */
export function start(host, early) {
  const { config } = host;
  const translate = translator(config.language);
  const clock = new Intl.DateTimeFormat(config.language, { hour: 'numeric', minute: '2-digit' });
  const dayAndTime = new Intl.DateTimeFormat(config.language, { weekday: 'long', hour: 'numeric', minute: '2-digit' });
  const storage = visitorStorage(config.server);
  const phoneScreen = matchMedia(PHONE_SCREEN);

  // --- state: the chat

  let conversationId = storage.get('conv') || null;
  let sessionId = null;
  let phase = 'idle'; // idle (pre-chat form) | queued | connected | ended
  let starting = false;
  let position = null;
  let waitMs = null;
  let notice = '';
  let maxSeq = 0;
  let maxAgentSeq = 0;
  let readSent = 0;
  let readyAnnounced = false;
  const agents = new Map(); // connected agents: id -> display name
  const typers = new Map(); // agents typing: id -> display name
  const rated = new Set(); // sessions rated
  const hostAttributes = {}; // Switchboard.setAttributes
  let inviteId = null;
  let opened = false;
  let unread = 0;
  let offline = false;
  let pageSent = false; // the hello carried the page
  let tokenSent = null; // the visitor token the last hello carried
  let signedIdentity = null; // the host site's signed identity of its customer (identifyAs)
  let typingOn = false;
  let typingTimer = 0;
  let typersTimer = 0;
  let readTimer = 0;

  // --- the panel

  host.adoptStyles(host.shadowRoot, PANEL_CSS);
  const root = host.shadowRoot;

  const inviteText = element('p');
  const invite = element('div', {
    cls: 'invite', role: 'region', 'aria-label': translate('title'), 'aria-live': 'polite', hidden: true,
  }, [
    inviteText,
    element('button', { cls: 'btn', onclick: acceptInvite }, translate('accept')),
    ' ',
    element('button', { cls: 'btn alt', onclick: dismissInvite }, translate('dismiss')),
  ]);

  const agentLine = element('p', { cls: 'sub' });
  const endButton = element('button', { hidden: true, onclick: askEnd }, translate('end'));
  const closeButton = element('button', { cls: 'x', 'aria-label': translate('close'), onclick: () => close() }, host.icon('cross'));
  const confirmYes = element('button', { cls: 'btn', onclick: endChat }, translate('end'));
  const confirmBar = element('div', { cls: 'confirm', hidden: true }, [
    element('p', {}, translate('endAsk')),
    confirmYes,
    element('button', { cls: 'btn alt', onclick: () => hideConfirm(true) }, translate('cancel')),
  ]);
  const status = element('p', { cls: 'status', role: 'status' });

  const prechat = prechatForm({ config, translate, onSubmit: startChat });
  const bot = botStage({ translate, request: (frame) => request(frame, true), onRefused: showNotice, onChange: renderStatus });

  const csat = element('div', { cls: 'csat', hidden: true });
  const newChatButton = element('button', { cls: 'btn alt newchat', hidden: true, onclick: newChat }, translate('newChat'));
  const scroller = element('div', { cls: 'scroll' });
  const entries = createTranscript({ translate, clock, scroller, retry: deliver, choose: sendChoice });
  // role="log" on the <ol> itself would take its list semantics away.
  const logBox = element('div', {
    role: 'log', 'aria-relevant': 'additions', 'aria-label': translate('title'), hidden: true,
  }, entries.list);
  const transcriptMail = transcriptForm({ translate, send: (frame) => request(frame, true) });
  transcriptMail.hidden = true;
  scroller.append(prechat.form, logBox, csat, transcriptMail, newChatButton);
  const typing = element('p', { cls: 'typing' });
  const input = element('textarea', {
    id: 'sb-input',
    rows: 1,
    maxlength: TEXT_MAX_LENGTH,
    placeholder: translate('placeholder'),
    oninput: onInput,
    onkeydown: onComposerKey,
  });
  const composer = element('form', { cls: 'composer', hidden: true, onsubmit: onComposerSubmit }, [
    element('label', { cls: 'vh', for: 'sb-input' }, translate('message')),
    input,
    element('button', { cls: 'btn', type: 'submit' }, translate('send')),
  ]);
  const header = element('header', { role: 'none' }, [
    element('div', {}, [element('h2', { id: 'sb-title' }, config.title || translate('title')), agentLine]),
    endButton,
    closeButton,
  ]);
  const panel = element('section', {
    cls: 'panel', id: 'sb-panel', role: 'dialog', 'aria-labelledby': 'sb-title', hidden: true,
  }, [header, confirmBar, status, bot.bar, scroller, typing, composer]);
  host.container.prepend(invite, panel);
  const fileWords = Object.fromEntries(FILE_WORDS.map((key) => [key, translate(key)]));
  const files = fileControls({
    words: fileWords,
    server: config.server,
    target: () => (phase === 'queued' || phase === 'connected') && conversationId
      ? { cid: conversationId, token: storage.get('token') } : null,
    dropZone: panel,
    pasteZone: input,
  });
  composer.prepend(files.input, files.button);
  composer.before(files.bar);
  host.container.addEventListener('keydown', onKey);

  // --- rendering

  function setPhase(next) {
    const before = phase;
    phase = next;
    const live = next === 'queued' || next === 'connected';
    prechat.form.hidden = next !== 'idle';
    logBox.hidden = next === 'idle';
    composer.hidden = !(live || (next === 'ended' && config.channel === 'messaging'));
    endButton.hidden = !live;
    newChatButton.hidden = next !== 'ended' || config.channel === 'messaging';
    transcriptMail.hidden = next !== 'ended';
    if (next !== 'queued') {
      position = null;
      waitMs = null;
    }
    notice = '';
    if (next !== 'queued') {
      bot.leave();
    }
    if (!live) {
      hideConfirm(false);
      agents.clear();
      typers.clear();
      stopTyping();
    }
    renderTyping();
    renderHeader();
    renderStatus();
    const focused = root.activeElement;
    if (opened && focused && focused.closest('[hidden]')) {
      focusFirst();
    }
    if (next === 'ended' && (before === 'queued' || before === 'connected')) {
      host.emit('chat.ended', { conversationId });
    }
  }

  function renderHeader() {
    const names = [...agents.values()].join(', ');
    agentLine.textContent = names ? translate('with', { name: names }) : '';
  }

  function queueStatus() {
    if (!position) {
      return translate('waiting');
    }
    let text = translate('queued', { n: position });
    if (waitMs != null) {
      text += waitMs < ONE_MINUTE_MS ? translate('soon') : translate('wait', { m: Math.round(waitMs / ONE_MINUTE_MS) });
    }
    return text;
  }

  function renderStatus() {
    let text = notice;
    if (offline && conversationId) {
      text = translate('offline');
    } else if (!text && phase === 'queued' && !bot.active) {
      text = queueStatus();
    }
    if (status.textContent !== text) {
      status.textContent = text;
    }
  }

  function renderTyping() {
    const text = typers.size ? translate('typing', { name: [...typers.values()].join(', ') }) : '';
    if (typing.textContent !== text) {
      typing.textContent = text;
    }
  }

  function setUnread(count) {
    unread = count;
    host.setUnread(count);
  }

  function clearTranscript() {
    entries.clear();
    agents.clear();
    maxSeq = 0;
    maxAgentSeq = 0;
    readSent = 0;
    csat.hidden = true;
    renderHeader();
  }

  function forgetConversation() {
    conversationId = null;
    sessionId = null;
  }

  // --- connection

  function hello() {
    const frame = { type: 'hello', language: config.language, queue: config.queue };
    tokenSent = storage.get('token');
    if (tokenSent) {
      frame.visitor_token = tokenSent;
    }
    if (signedIdentity) {
      frame.identity = signedIdentity;
    }
    if (conversationId) {
      frame.resume = { conversation_id: conversationId, last_seq: Math.max(0, maxSeq - RESUME_WINDOW) };
    }
    if (!pageSent) {
      frame.page = currentPage();
    }
    return frame;
  }

  const connection = customerConnection({
    url: config.server.replace(/^http/, 'ws') + '/ws/customer',
    hello,
    offlineError: { code: 'offline', message: translate('offline') },
    on: {
      welcome: onWelcome,
      frame: onFrame,
      down() {
        typers.clear();
        renderTyping();
      },
      offline() {
        offline = true;
        renderStatus();
      },
      tokenRefused() { // the token is not (or no longer) valid: start over as a new visitor
        if (signedIdentity) {
          console.warn('switchboard.js: the server refused the signed identity; going on as an anonymous visitor');
          signedIdentity = null;
        }
        storage.set({ token: null, conv: null });
        forgetConversation();
        clearTranscript();
        setPhase('idle');
      },
      refused() { // this site's origin is not allowed to chat: nothing to show
        host.remove();
        console.warn('switchboard.js: the chat server refused this site (4403)');
      },
    },
  });
  const send = connection.send;
  const request = connection.request;
  const journey = followJourney(send);

  function adopt(cid) {
    conversationId = cid;
    sessionId = null;
    storage.set({ conv: cid });
    clearTranscript();
    connection.resync();
  }

  function takeCard(card, recovered) {
    if (recovered === false) {
      clearTranscript(); // the whole history follows
    }
    sessionId = card.session_id;
    agents.clear();
    for (const agent of card.agents || []) {
      agents.set(agent.id, agent.display_name);
    }
    if (card.csat) {
      rated.add(card.session_id);
    }
    bot.follow(card);
    const cardPhase = PHASE_OF_STATUS[card.status] || 'ended';
    if (cardPhase !== phase) {
      setPhase(cardPhase);
    } else {
      renderHeader();
    }
  }

  function onWelcome(welcome) {
    pageSent = true;
    if (welcome.queue) {
      prechat.useQueueFields(welcome.queue.prechat_fields);
      bot.useQueue(welcome.queue);
      const away = welcome.queue.available === false && welcome.queue.offline !== 'refuse';
      prechat.setAway(away, welcome.queue.opens_at, (ms) => dayAndTime.format(ms));
    }
    offline = false;
    const storedToken = storage.get('token');
    if (!tokenSent && storedToken && storedToken !== welcome.visitor_token && !conversationId) {
      connection.resync(); // another tab was first: be the same visitor
      return;
    }
    if (tokenSent && welcome.visitor_token !== tokenSent) {
      // The server made this browser someone else (the site's customer signed out, or another
      // signed in): nothing of the last visitor's chat stays on the screen.
      storage.set({ conv: null, left: null });
      forgetConversation();
      clearTranscript();
      entries.forget();
      setPhase('idle');
    }
    storage.set({ token: welcome.visitor_token });
    const card = welcome.conversation;
    if (card && card.conversation_id !== conversationId) {
      // Another tab's chat or a lost ack: take it (not one left for a new chat).
      if (card.conversation_id !== storage.get('left') || PHASE_OF_STATUS[card.status]) {
        adopt(card.conversation_id);
        return;
      }
    } else if (card) {
      takeCard(card, welcome.recovered);
    } else if (conversationId) { // closed meanwhile: nothing is replayed
      if (entries.size) {
        entries.add({ role: 'system', text: translate('ended') });
      }
      setPhase(entries.size ? 'ended' : 'idle'); // (chat.ended still names the conversation)
      forgetConversation();
      storage.set({ conv: null });
    }
    if (!opened && conversationId && storage.get('open')) {
      open(false);
    }
    renderStatus();
    for (const entry of entries.mine.values()) {
      if (!entry.seq && entry.state === 'sending') {
        deliver(entry);
      }
    }
    journey.sendPending();
    markRead();
    if (!readyAnnounced) {
      readyAnnounced = true;
      host.emit('ready', { visitorId: welcome.visitor_id, visitorToken: welcome.visitor_token });
    }
  }

  function inCurrentSession(frame) {
    return !frame.session_id || !sessionId || frame.session_id === sessionId;
  }

  // A frame of another conversation than ours: true when it is to be ignored.
  function elsewhere(frame) {
    const cid = frame.conversation_id;
    if (!cid || cid === conversationId) {
      return false;
    }
    if (starting && !conversationId && cid !== storage.get('left')) { // our start_chat, its ack still on the way
      conversationId = cid;
      storage.set({ conv: cid, left: null });
      return false;
    }
    if (frame.type === 'chat.queued' && (!conversationId || phase === 'ended')) {
      adopt(cid); // a chat started in another tab
    }
    return true; // else an older conversation
  }

  function onFrame(frame) {
    if (frame.type === 'invite') {
      showInvite(frame);
      return;
    }
    if (elsewhere(frame)) {
      return;
    }
    if (frame.type === 'message.redacted') {
      entries.redact(frame.seq);
    } else if (typeof frame.seq === 'number') {
      onHistory(frame);
    } else if (frame.type === 'chat.queued') {
      sessionId = frame.session_id || sessionId;
      notice = '';
      bot.leave(); // handed to the queue's agents
      if (phase !== 'queued') {
        setPhase('queued');
      }
      showPosition(frame);
    } else if (frame.type === 'chat.position' && inCurrentSession(frame)) {
      showPosition(frame);
    } else if (frame.type === 'typing') {
      onTyping(frame);
    }
  }

  function showPosition(frame) {
    position = frame.position;
    waitMs = frame.estimated_wait_ms;
    renderStatus();
  }

  function onTyping(frame) {
    if (frame.from?.role !== 'agent') {
      return;
    }
    const agentId = frame.from.id || '';
    if (frame.active) {
      typers.set(agentId, frame.from.display_name || translate('agent'));
    } else {
      typers.delete(agentId);
    }
    clearTimeout(typersTimer);
    typersTimer = setTimeout(() => {
      typers.clear();
      renderTyping();
    }, TYPING_LOST_STOP_MS);
    renderTyping();
  }

  function onHistory(frame) {
    if (entries.seen.has(frame.seq)) {
      return; // replayed and pushed: shown once
    }
    entries.seen.add(frame.seq);
    if (frame.seq > maxSeq) {
      maxSeq = frame.seq;
    }
    const current = inCurrentSession(frame);
    if (current && frame.session_id) {
      sessionId = frame.session_id;
    }
    const systemLine = (text) => entries.add({ seq: frame.seq, role: 'system', text, ts: frame.ts });
    switch (frame.type) {
      case 'message':
        onMessage(frame);
        break;
      case 'chat.connected':
        if (current) {
          agents.clear();
          agents.set(frame.agent.id, frame.agent.display_name);
          setPhase('connected');
        }
        systemLine(translate('joined', { name: frame.agent.display_name }));
        break;
      case 'chat.participant_joined':
        if (current) {
          agents.set(frame.agent.id, frame.agent.display_name);
        }
        renderHeader(); // a system message says it
        break;
      case 'chat.participant_left': // the last one: requeued
        agents.delete(frame.agent.id);
        if (current && !agents.size && phase === 'connected') {
          setPhase('queued');
        }
        renderHeader();
        break;
      case 'chat.transferred':
        if (current && frame.queue) {
          agents.clear();
          setPhase('queued');
        }
        systemLine(translate('transferred'));
        break;
      case 'chat.ended':
        if (current) {
          setPhase('ended');
        }
        systemLine(translate('ended'));
        break;
      case 'csat.requested':
        if (current && !rated.has(frame.session_id)) {
          showCsat(frame.session_id);
        }
        break;
    }
  }

  function announceMessage(entry) {
    host.emit('message', {
      conversationId,
      seq: entry.seq,
      role: entry.role,
      name: entry.name,
      text: entry.text,
      ts: entry.ts,
    });
  }

  function onMessage(frame) {
    const from = frame.from || {};
    const own = from.role === 'customer' && frame.client_msg_id ? entries.mine.get(frame.client_msg_id) : null;
    if (own) { // our own message, pushed back or replayed before its ack
      if (entries.settle(own, frame.seq)) {
        announceMessage(own);
      }
      entries.setState(own, 'sent');
    } else {
      // A bot talks on the agents' side of the transcript, under its own name.
      const role = from.role === 'customer' ? 'customer' : from.role === 'agent' || from.role === 'bot' ? 'agent' : 'system';
      const entry = {
        seq: frame.seq,
        role,
        name: from.display_name,
        text: frame.redacted ? translate('redacted') : String(frame.text),
        rich: frame.redacted ? null : frame.rich,
        body: frame.attachment && !frame.redacted ? attachmentView(frame.attachment, config.server, fileWords) : null,
        ts: frame.ts,
        state: from.role === 'customer' ? 'sent' : null,
      };
      entries.add(entry);
      announceMessage(entry);
    }
    if (from.role === 'agent') {
      typers.delete(from.id || '');
      renderTyping();
      if (frame.seq > maxAgentSeq) {
        maxAgentSeq = frame.seq;
      }
      if (!opened && frame.seq > (storage.get('seen') || 0)) {
        setUnread(unread + 1);
      }
      markRead();
    }
  }

  // --- actions

  function deliver(entry) {
    entries.setState(entry, 'sending');
    const frame = { type: 'message', text: entry.text, client_msg_id: entry.cmid };
    if (entry.choice) {
      frame.choice = entry.choice;
      frame.reply_to = entry.replyTo;
    }
    request(frame).then((ack) => {
      if (entries.settle(entry, ack.seq)) {
        announceMessage(entry);
      }
      if (ack.seq > maxSeq) {
        maxSeq = ack.seq;
      }
      if (entry.state === 'sending') {
        entries.setState(entry, 'sent');
      }
    }, (error) => {
      if (error.code !== 'offline') {
        entries.setState(entry, 'failed'); // offline: sent again after the next welcome
      }
    });
  }

  function newClientMessageId() {
    return 'w' + Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
  }

  function sendText() {
    const text = input.value;
    if (!text.trim()) {
      return;
    }
    stopTyping();
    input.value = '';
    grow();
    const cmid = newClientMessageId();
    const entry = { cmid, role: 'customer', text, ts: Date.now(), state: 'sending' };
    entries.mine.set(cmid, entry);
    entries.add(entry);
    if (connection.welcomed) {
      deliver(entry);
    }
  }

  // A pick in a rich message: sent as the option's label, with its value and the message's seq.
  function sendChoice(asked, value, label) {
    const cmid = newClientMessageId();
    const entry = { cmid, role: 'customer', text: label, choice: value, replyTo: asked.seq, ts: Date.now(), state: 'sending' };
    entries.mine.set(cmid, entry);
    entries.add(entry);
    if (connection.welcomed) {
      deliver(entry);
    }
  }

  function onComposerSubmit(event) {
    event.preventDefault();
    sendText();
  }

  function grow() {
    input.style.height = 'auto';
    input.style.height = Math.min(input.scrollHeight + 2, COMPOSER_MAX_HEIGHT_PX) + 'px';
  }

  function onInput() {
    grow();
    if (phase !== 'connected' || !input.value.trim()) {
      stopTyping();
      return;
    }
    if (!typingOn) {
      typingOn = send({ type: 'typing', active: true });
    }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
  }

  function stopTyping() {
    clearTimeout(typingTimer);
    if (typingOn) {
      send({ type: 'typing', active: false });
    }
    typingOn = false;
  }

  function onComposerKey(event) {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendText();
    }
  }

  function setStarting(on) {
    starting = on;
    prechat.setStarting(on);
  }

  async function startChat(event) {
    event.preventDefault();
    if (starting) {
      return;
    }
    const filledIn = prechat.read();
    if (filledIn.invalid) {
      return;
    }
    const frame = { type: 'start_chat', queue: config.queue, language: config.language, channel: config.channel };
    if (Object.keys(filledIn.customer).length) {
      frame.customer = filledIn.customer;
    }
    const attributes = { ...hostAttributes, ...filledIn.attributes };
    if (filledIn.topic) {
      attributes.topic = filledIn.topic;
    }
    if (Object.keys(attributes).length) {
      frame.attributes = attributes;
    }
    if (filledIn.text) {
      frame.text = filledIn.text;
    }
    setStarting(true);
    try {
      const ack = await request(frame, true);
      begin(ack);
      bot.started(ack);
      prechat.clearQuestion();
    } catch (error) {
      if (!(error.field && prechat.markField(error.field, error.message))) {
        prechat.showError(error.message); // e.g. the queue's closed message
      }
    } finally {
      setStarting(false);
    }
  }

  // A chat was opened (start_chat or an accepted invitation).
  function begin(ack) {
    if (ack.conversation_id) {
      conversationId = ack.conversation_id;
    }
    if (ack.session_id) {
      sessionId = ack.session_id;
    }
    storage.set({ conv: conversationId, left: null });
    if (phase === 'idle' || phase === 'ended') {
      setPhase('queued');
    }
    if (ack.left_message) {
      const when = ack.expected_reply_at
        ? translate('leftAt', { time: dayAndTime.format(ack.expected_reply_at) }) : translate('leftSoon');
      entries.add({ role: 'system', text: when, ts: Date.now() });
    }
    if (opened) {
      input.focus();
    }
    host.emit('chat.started', { conversationId });
  }

  function showNotice(error) {
    notice = error.message;
    renderStatus();
  }

  function askEnd() {
    confirmBar.hidden = false;
    confirmYes.focus();
  }

  function hideConfirm(refocus) {
    confirmBar.hidden = true;
    if (refocus) {
      (endButton.hidden ? closeButton : endButton).focus();
    }
  }

  function endChat() {
    hideConfirm(false);
    request({ type: 'end_chat' }, true).catch(showNotice);
    focusFirst();
  }

  function newChat() {
    storage.set({ left: conversationId, conv: null });
    forgetConversation();
    clearTranscript();
    entries.forget();
    setPhase('idle');
    focusFirst();
  }

  function showCsat(sid) {
    const done = () => {
      rated.add(sid);
      const hadFocus = csat.contains(root.activeElement);
      csat.replaceChildren(element('p', { cls: 'thanks', role: 'status' }, translate('thanks')));
      if (hadFocus) {
        newChatButton.focus();
      }
    };
    csat.replaceChildren(surveyForm({ box: csat, translate, send: (frame) => request(frame, true), done }));
    csat.hidden = false;
    if (root.activeElement === newChatButton) {
      csat.querySelector('input').focus(); // the chat ended under the cursor
    }
    entries.toBottom();
  }

  function showInvite(frame) {
    if (phase !== 'idle' || starting || opened) {
      return;
    }
    inviteId = frame.invite_id;
    inviteText.textContent = frame.text || '';
    invite.hidden = false;
    if (frame.expires_at) {
      setTimeout(() => {
        if (inviteId === frame.invite_id) {
          invite.hidden = true;
        }
      }, frame.expires_at - Date.now());
    }
  }

  function acceptInvite() {
    invite.hidden = true;
    setStarting(true);
    request({ type: 'accept_invite', invite_id: inviteId, language: config.language }, true)
      .then(begin, showNotice)
      .finally(() => setStarting(false));
    open(true);
  }

  function dismissInvite() {
    invite.hidden = true;
    send({ type: 'dismiss_invite', invite_id: inviteId });
    host.launcher.focus();
  }

  function markRead() {
    clearTimeout(readTimer);
    readTimer = setTimeout(() => {
      const unreadSeen = opened && phase === 'connected' && maxAgentSeq > readSent;
      if (unreadSeen && document.visibilityState === 'visible' && send({ type: 'read', seq: maxAgentSeq })) {
        readSent = maxAgentSeq;
      }
    }, READ_RECEIPT_DELAY_MS);
  }

  // --- open, close, keys

  function firstFocusable() {
    if (phase === 'idle') {
      return prechat.firstInput();
    }
    if (!composer.hidden) {
      return input;
    }
    const csatControl = csat.hidden ? null : csat.querySelector('input,button');
    return csatControl || (newChatButton.hidden ? null : newChatButton) || closeButton;
  }

  function focusFirst() {
    firstFocusable().focus();
  }

  function show(on) {
    opened = on;
    panel.hidden = !on;
    if (on) {
      invite.hidden = true;
      setUnread(0);
    }
    host.setOpen(on);
    storage.set({ open: on, seen: maxSeq });
  }

  function open(focus) {
    show(true);
    if (focus) {
      focusFirst();
    }
    entries.toBottom();
    markRead();
  }

  function close() {
    if (!opened) {
      return;
    }
    show(false);
    host.launcher.focus();
  }

  function onKey(event) {
    if (event.key !== 'Escape') {
      return;
    }
    if (!confirmBar.hidden) {
      hideConfirm(true);
    } else if (!invite.hidden && invite.contains(event.target)) {
      dismissInvite();
    } else {
      close();
    }
  }

  // Full screen the panel is modal: Tab wraps in it, never reaching the page.
  function onScreenChange() {
    panel.setAttribute('aria-modal', String(phoneScreen.matches));
  }
  phoneScreen.addEventListener('change', onScreenChange);
  onScreenChange();

  function keepTabInPanel(event) {
    if (event.key !== 'Tab' || !opened || !phoneScreen.matches) {
      return;
    }
    const focusable = [...panel.querySelectorAll('a,button,input,select,textarea')]
      .filter((node) => !node.disabled && node.offsetParent);
    if (event.shiftKey) {
      focusable.reverse();
    }
    const focused = root.activeElement;
    if (focused === focusable.at(-1) || !panel.contains(focused)) {
      event.preventDefault();
      focusable[0].focus();
    }
  }
  addEventListener('keydown', keepTabInPanel, true);

  addEventListener('online', () => connection.connectIfDown());
  document.addEventListener('visibilitychange', markRead);
  addEventListener('pagehide', () => {
    if (opened) {
      storage.set({ seen: maxSeq });
    }
  });

  // --- the host page's calls (window.Switchboard, see switchboard.js)

  // Another visitor (say the page's user signed in): the chat this browser had is not theirs.
  function identify(visitorToken) {
    if (visitorToken === storage.get('token')) {
      return;
    }
    storage.set({ token: visitorToken, conv: null, left: null });
    forgetConversation();
    clearTranscript();
    entries.forget();
    setPhase('idle');
    connection.resync();
  }

  // The host site's signed identity of its signed-in customer (a JWT): the server names and
  // verifies the customer from it, and it is the same visitor on every device.
  function identifyAs(identity) {
    if (identity === signedIdentity) {
      return;
    }
    signedIdentity = identity;
    storage.set({ token: null, conv: null, left: null });
    forgetConversation();
    clearTranscript();
    entries.forget();
    setPhase('idle');
    connection.resync();
  }

  function setAttributes(attributes) {
    for (const [name, value] of Object.entries(attributes)) {
      if (value == null) {
        delete hostAttributes[name];
      } else {
        hostAttributes[name] = String(value);
      }
    }
  }

  function toggle() {
    if (opened) {
      close();
    } else {
      open(true);
    }
  }

  // --- start

  signedIdentity = early.signedIdentity;
  if (early.identity && early.identity !== storage.get('token')) {
    storage.set({ token: early.identity, conv: null, left: null });
    forgetConversation();
  }
  setAttributes(early.attributes);
  prechat.prefill(early.prefill);
  setPhase('idle'); // a stored chat shows with the welcome, if it is still open
  connection.connect();
  if (early.open) {
    open(true);
  }

  return { open, close, toggle, identify, identifyAs, setAttributes, prefill: prechat.prefill };
}
