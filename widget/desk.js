/* Switchboard agent desk: plain browser JavaScript, no framework, no build step.
 *
 * Speaks the agent socket `/ws/agent` of docs/protocol.md. Everything that comes
 * from the network is put on the page with textContent (never innerHTML), so text
 * such as `<script>` or `<img onerror>` shows as text. The page's policy allows no
 * inline script or style. This is the entry module: it wires the page to the
 * sections in desk/ (one module each) and starts; widget/lib/ holds what the
 * desk shares with the supervisor view. ES modules, no build step.
 */

import { $, setText } from './lib/dom.js';
import { languagePicker, t, translatePage, useCatalogue } from './lib/i18n.js';
import { SHARED_STRINGS } from './lib/strings.js';
import { DESK_STRINGS } from './desk/strings.js';
import { HELD_KEY, hooks, S, SOUND_KEY } from './desk/state.js';
import { focusLost, writable } from './desk/facts.js';
import { sampleHttpClock } from './desk/format.js';
import { readToken, showSignIn, signIn, signInWithSession, signOutLocal } from './desk/signin.js';
import { PASTE_HASH, signOutSession, startSignedIn } from './lib/session.js';
import { request } from './desk/connection.js';
import { changeState } from './desk/agent-state.js';
import { answerOffer, renderSound, ring, unlockAudio } from './desk/offers.js';
import { closeConversation } from './desk/conversations.js';
import { activate, focusSomewhereUseful, renderConnection, renderTabs, renderTitle } from './desk/chat-list.js';
import { renderComposer, tick } from './desk/conversation-view.js';
import { sendComposed, typingNudge, typingState, typingStop } from './desk/composer.js';
import { chooseCanned, highlightCanned, openCanned, searchCannedSoon } from './desk/canned.js';
import { activeConv, openDialog } from './desk/dialog-box.js';
import {
  openConference, openTransfer, simpleAction, submitConference, submitEnd,
  submitHelp, submitTransfer, submitVerify, syncTransferKind
} from './desk/dialogs.js';
import { filterCodes, limitCodes, openWrapUp, searchKey, submitWrapUp, tickWrapUp } from './desk/wrap-up.js';
import { openEarlier, searchTranscripts } from './desk/search.js';
import { handle } from './desk/frames.js';
import { setUpAttachments } from './desk/attachments.js';

Object.assign(hooks, { handle, signOutLocal, renderConnection, renderComposer, renderTitle, openEarlier });

function onGlobalKey(event) {
  if (event.altKey && event.shiftKey && !event.ctrlKey && !event.metaKey) {
    const first = S.offers.values().next().value;
    if (event.code === 'KeyA' && first) { event.preventDefault(); answerOffer(first.frame.offer_id, true); }
    else if (event.code === 'KeyD' && first) { event.preventDefault(); answerOffer(first.frame.offer_id, false); }
    else if (event.code === 'KeyN') { event.preventDefault(); const toggle = $('note-toggle'); if (!toggle.disabled) { toggle.checked = !toggle.checked; onNoteToggle(); } }
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
    if (!token) { setText($('signin-error'), t('enterYourToken')); return; }
    signIn(token);
  });
  $('signout').addEventListener('click', async () => {
    try { await request({ type: 'set_state', state: 'offline' }); } catch (_) { /* signing out anyway */ }
    const session = S.session;
    signOutLocal('');
    if (session) await signOutSession(session.csrf_token);
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
  setUpAttachments();

  $('canned-open').addEventListener('click', openCanned);
  $('composer-rich-remove').addEventListener('click', () => {
    const conv = S.active && S.convs.get(S.active);
    if (conv) conv.richDraft = null;
    renderComposer();
    $('composer-text').focus();
  });
  $('canned-search').addEventListener('input', (event) => searchCannedSoon(event.target.value));
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
  $('wrapup-search').addEventListener('input', filterCodes);
  $('wrapup-search').addEventListener('keydown', searchKey);
  $('wrapup-codes').addEventListener('change', limitCodes);
  $('dlg-wrapup').addEventListener('close', () => { S.wrapTarget = null; });
  $('act-end-conference').addEventListener('click', () => simpleAction('end_conference'));
  $('act-leave').addEventListener('click', () => simpleAction('leave', (conv) => closeConversation(conv, t('youLeftLabel'))));
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
  setInterval(() => { tick(); tickWrapUp(); }, 500);
}

function start() {
  useCatalogue(SHARED_STRINGS, DESK_STRINGS);
  translatePage();
  languagePicker($('language'));
  // The hello waits for it, but not for long.
  S.clockSampled = Promise.race([sampleHttpClock(), new Promise((resolve) => setTimeout(resolve, 3000))]);
  S.soundOn = localStorage.getItem(SOUND_KEY) !== 'off';
  renderSound();
  wire();
  const token = readToken();
  if (!token && location.hash === PASTE_HASH) {
    history.replaceState(null, '', location.pathname + location.search);
    showSignIn('');
    return;
  }
  if (!token) {
    startSignedIn((me) => { rememberHeld(); signInWithSession(me); }, showSignIn);
    return;
  }
  rememberHeld();
  signIn(token);
}

function rememberHeld() {
  try {
    for (const cid of JSON.parse(sessionStorage.getItem(HELD_KEY) || '[]')) {
      if (typeof cid === 'string') S.bootResume[cid] = 0;
    }
  } catch (_) { /* nothing to replay */ }
}

start();
