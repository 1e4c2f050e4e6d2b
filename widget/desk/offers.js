/* Offers: the popups and the list, answering them, and the ring. */

import { $, h, setText } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { isolate } from '../lib/text.js';
import { hooks, REVOKE_REASONS, RING_EVERY_MS, S } from './state.js';
import { agentName, focusLost } from './facts.js';
import { cardIcon, clock, customerName, serverNow } from './format.js';
import { announce, notice } from './notices.js';
import { request } from './connection.js';

function offerKind(offer) {
  const from = offer.from_agent ? agentName(offer.from_agent) : t('anotherAgent');
  if (offer.kind === 'transfer') return t('transferFrom', { from });
  if (offer.kind === 'conference') return t('conferenceInvitationFrom', { from });
  return t('newChat');
}

export function addOffer(offer, live) {
  if (S.offers.has(offer.offer_id)) return;
  const entry = { frame: offer, popup: buildOfferPopup(offer), item: buildOfferItem(offer) };
  S.offers.set(offer.offer_id, entry);
  $('offer-popups').append(entry.popup);
  $('offer-list').append(entry.item);
  renderOffers();
  tickOffers();
  const who = customerName(offer.customer);
  announce(t('offerAnnounced', { kind: offerKind(offer), who, queue: offer.queue ? offer.queue.name : '' }), true);
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
  if (offer.customer && offer.customer.verified) title.append(h('span', 'badge badge-verified', t('verified')));
  const metaParts = [offer.queue ? isolate(offer.queue.name) : '', offer.language ? offer.language.toUpperCase() : ''];
  if (offer.skills && offer.skills.length) metaParts.push(offer.skills.join(', '));
  const meta = h('p', 'offer-meta', metaParts.filter(Boolean).join(' · '));
  meta.id = id + '-meta';
  if (offer.customer && offer.customer.email) meta.append(h('span', 'offer-email', ' · ' + offer.customer.email));

  const waited = h('span', 'offer-waited', '0:00');
  const remaining = h('span', 'offer-remaining', '');
  const timers = h('p', 'offer-timers', null, [
    h('span', 'offer-timer-label', t('inQueue') + ' '), waited, h('span', 'sep', ' · '),
    h('span', 'offer-timer-label', t('answerWithin') + ' '), remaining,
  ]);
  const bar = h('div', 'offer-bar', null, [h('div', 'offer-bar-fill')]);
  bar.setAttribute('aria-hidden', 'true');

  // What a bot handed over with the chat, then its details (topic, pre-chat fields, a bot's
  // variables), as text.
  const summary = h('p', 'offer-summary', offer.summary || '');
  summary.hidden = !offer.summary;
  const names = Object.keys(offer.attributes || {}).sort();
  const details = h('dl', 'offer-attributes');
  details.setAttribute('aria-label', t('details'));
  for (const name of names) details.append(h('dt', '', name), h('dd', '', offer.attributes[name]));
  details.hidden = !names.length;

  const thread = h('ol', 'offer-thread');
  thread.setAttribute('aria-label', t('messagesSoFar'));
  for (const msg of offer.thread || []) {
    const role = (msg.from && msg.from.role) || 'customer';
    const who = role === 'customer' ? customerName(offer.customer) : role === 'system' ? '' : agentName(msg.from);
    thread.append(h('li', 'offer-msg offer-msg-' + role, null, [
      who ? h('span', 'offer-msg-who', who + ': ') : null,
      h('span', 'offer-msg-text', msg.text),
    ]));
  }
  if (!thread.children.length) thread.append(h('li', 'muted small', t('noMessageYet')));

  const accept = h('button', 'btn btn-primary offer-accept', t('accept'));
  accept.type = 'button';
  const decline = h('button', 'btn offer-decline', t('decline'));
  decline.type = 'button';
  accept.addEventListener('click', () => answerOffer(offer.offer_id, true));
  decline.addEventListener('click', () => answerOffer(offer.offer_id, false));
  const error = h('p', 'form-error small offer-error');
  error.setAttribute('role', 'alert');

  popup.append(
    h('div', 'offer-head', null, [h('span', 'ring-icon', null, [cardIcon('chat')]), kind]),
    title, meta, timers, bar, summary, details, thread, error,
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

export function removeOffer(offerId, hadFocus) {
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

export function revokeOffer(frame) {
  const entry = S.offers.get(frame.offer_id);
  if (!entry) return;
  removeOffer(frame.offer_id);
  const why = REVOKE_REASONS[frame.reason] || frame.reason;
  notice(t('offerWithdrawn', { name: customerName(entry.frame.customer), why }), frame.reason === 'timeout' ? 'warn' : '');
}

export async function answerOffer(offerId, accept) {
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
      notice(t('noLongerOnOffer', { error: err.message }), 'warn');
    } else {
      for (const b of entry.popup.querySelectorAll('button')) b.disabled = false;
      setText(entry.popup.querySelector('.offer-error'), err.message);
    }
  }
}

export function renderOffers() {
  const n = S.offers.size;
  setText($('offer-count'), n ? String(n) : '');
  $('no-offers').hidden = n > 0;
  hooks.renderTitle();
}

export function tickOffers() {
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

export function unlockAudio() {
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
export function ring() {
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

export function renderSound() {
  const b = $('sound-toggle');
  b.setAttribute('aria-pressed', String(S.soundOn));
  setText(b, S.soundOn ? t('soundOn') : t('soundOff'));
}
