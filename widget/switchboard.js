/*! Switchboard chat widget: <script src=".../widget/switchboard.js" data-queue="support" async></script>
 * No dependencies, no build step; see widget/README.md. What comes from the network
 * is set as text, never parsed as HTML; styles are a constructable stylesheet in
 * a shadow root, so it runs under a strict Content-Security-Policy. */
(() => {
  'use strict';
  if (window.Switchboard?.version) return; // the tag is on the page twice

  const me = document.currentScript ||
    [...document.querySelectorAll('script[src]')].find((s) => /\/widget\/switchboard\.js([?#]|$)/.test(s.src));
  if (!me) return;
  const data = me.dataset;
  if (!data.queue) return console.error('switchboard.js: the script tag needs data-queue');
  const list = (s) => (s || '').split(',').map((x) => x.trim()).filter(Boolean);
  const SERVER = (data.server || new URL(me.src, location.href).origin).replace(/\/+$/, '');
  const cfg = {
    queue: data.queue,
    language: /^[a-z]{2,3}(-[a-z0-9]{1,8})*$/i.test(data.language) ? data.language : 'en',
    channel: data.channel || 'webchat',
    prechat: list(data.prechat == null ? 'name*,email,topic' : data.prechat),
    topics: list(data.topics),
  };
  const WS_URL = SERVER.replace(/^http/, 'ws') + '/ws/customer';
  const KEY = 'switchboard:' + SERVER;
  // Frames may arrive slightly out of seq order: a resume asks again for the last few.
  const RESUME_WINDOW = 20;
  const PHASE = { waiting: 'queued', offered: 'queued', active: 'connected', conference: 'connected' }; // by card status

  const STRINGS = {
    en: {
      title: 'Chat with us', open: 'Open chat', close: 'Close chat',
      intro: 'Hi! Tell us who you are and we will connect you with our team.',
      name: 'Name', email: 'Email', topic: 'Topic',
      question: 'How can we help?', start: 'Start chat', required: 'Please fill in this field.',
      badEmail: 'Please enter a valid email address.', queued: 'You are number {n} in the queue',
      wait: ' — about {m} min', soon: ' — less than a minute', waiting: 'Waiting for an agent…',
      joined: '{name} joined the chat', with: 'Chatting with {name}', transferred: 'You are being transferred',
      ended: 'Chat ended', typing: '{name} is typing…', agent: 'Agent', you: 'You', redacted: 'Message removed',
      message: 'Message', placeholder: 'Type your message…', send: 'Send', end: 'End chat',
      endAsk: 'End this chat?', cancel: 'Cancel', sending: 'Sending', sent: 'Sent',
      failed: 'Not sent', retry: 'Retry', csat: 'How was your chat?', stars: '{n} of 5 stars',
      comment: 'Comment (optional)', rate: 'Send rating', pick: 'Please choose a rating.',
      thanks: 'Thank you for your feedback!', newChat: 'Start a new chat',
      offline: 'Connection lost. Reconnecting…',
      unread: '{n} unread', accept: 'Chat now', dismiss: 'No thanks',
    },
    de: {
      title: 'Chatten Sie mit uns', open: 'Chat öffnen', close: 'Chat schließen',
      intro: 'Hallo! Sagen Sie uns, wer Sie sind, und wir verbinden Sie mit unserem Team.',
      email: 'E-Mail', topic: 'Thema',
      question: 'Wie können wir helfen?', start: 'Chat starten', required: 'Bitte füllen Sie dieses Feld aus.',
      badEmail: 'Bitte geben Sie eine gültige E-Mail-Adresse ein.', queued: 'Sie sind Nummer {n} in der Warteschlange',
      wait: ' — etwa {m} Min.', soon: ' — weniger als eine Minute', waiting: 'Warten auf einen Mitarbeiter…',
      joined: '{name} ist dem Chat beigetreten', with: 'Im Chat mit {name}', transferred: 'Sie werden weitergeleitet',
      ended: 'Chat beendet', typing: '{name} schreibt…', agent: 'Mitarbeiter', you: 'Sie', redacted: 'Nachricht entfernt',
      message: 'Nachricht', placeholder: 'Nachricht eingeben…', send: 'Senden', end: 'Chat beenden',
      endAsk: 'Diesen Chat beenden?', cancel: 'Abbrechen', sending: 'Wird gesendet', sent: 'Gesendet',
      failed: 'Nicht gesendet', retry: 'Erneut senden', csat: 'Wie war Ihr Chat?',
      stars: '{n} von 5 Sternen', comment: 'Kommentar (optional)', rate: 'Bewertung senden',
      pick: 'Bitte wählen Sie eine Bewertung.', thanks: 'Vielen Dank für Ihr Feedback!', newChat: 'Neuen Chat starten',
      offline: 'Verbindung unterbrochen. Neuer Versuch…',
      unread: '{n} ungelesen', accept: 'Jetzt chatten', dismiss: 'Nein danke',
    },
    fr: {
      title: 'Discutez avec nous', open: 'Ouvrir le chat', close: 'Fermer le chat',
      intro: 'Bonjour ! Dites-nous qui vous êtes et nous vous mettrons en contact avec l’équipe.',
      name: 'Nom', email: 'E-mail', topic: 'Sujet',
      question: 'Comment pouvons-nous vous aider ?', start: 'Démarrer le chat', required: 'Veuillez remplir ce champ.',
      badEmail: 'Veuillez saisir une adresse e-mail valide.', queued: 'Vous êtes numéro {n} dans la file d’attente',
      wait: ' — environ {m} min', soon: ' — moins d’une minute', waiting: 'En attente d’un conseiller…',
      joined: '{name} a rejoint le chat', with: 'En discussion avec {name}', transferred: 'Vous êtes transféré',
      ended: 'Chat terminé', typing: '{name} écrit…', agent: 'Conseiller', you: 'Vous', redacted: 'Message supprimé',
      placeholder: 'Écrivez votre message…', send: 'Envoyer', end: 'Terminer le chat',
      endAsk: 'Terminer ce chat ?', cancel: 'Annuler', sending: 'Envoi', sent: 'Envoyé',
      failed: 'Non envoyé', retry: 'Réessayer', csat: 'Comment s’est passé votre chat ?', stars: '{n} sur 5 étoiles',
      comment: 'Commentaire (facultatif)', rate: 'Envoyer l’évaluation', pick: 'Veuillez choisir une note.',
      thanks: 'Merci pour votre avis !', newChat: 'Nouveau chat', offline: 'Connexion perdue. Reconnexion…',
      unread: '{n} non lu(s)', accept: 'Discuter', dismiss: 'Non merci',
    },
  };
  try { Intl.getCanonicalLocales(cfg.language); } catch { cfg.language = cfg.language.split('-')[0]; } // de-1
  const S = { ...STRINGS.en, ...STRINGS[cfg.language.toLowerCase().split('-')[0]] };
  const t = (key, vars) => S[key].replace(/\{(\w+)\}/g, (_, n) => bidi(vars[n]));
  const bidi = (v) => /[\u0590-\u08ff\u202a-\u202e\u2066-\u2069]/.test(v) ? '\u2068' + v + '\u2069' : v; // RTL isolated
  const clock = new Intl.DateTimeFormat(cfg.language, { hour: 'numeric', minute: '2-digit' });

  // Token, open conversation, panel state, last seq; never messages. Re-read
  // each time (other tabs write it); memory only without storage.
  let mem = {};
  const load = () => {
    try { Object.assign(mem, JSON.parse(localStorage.getItem(KEY))); } catch { /* memory only */ }
    return mem;
  };
  const store = {
    get: (k) => load()[k],
    set(patch) {
      Object.assign(load(), patch);
      try { localStorage.setItem(KEY, JSON.stringify(mem)); } catch { /* memory only */ }
    },
  };

  // The only way this file creates elements: attributes set one by one,
  // children are nodes or strings (set as text).
  function h(tag, props, kids) {
    const el = /^(svg|path)$/.test(tag) ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
    if (tag === 'button') el.type = 'button';
    for (const [k, v] of Object.entries(props || {})) {
      if (v == null || v === false) continue;
      if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'cls') el.className = v;
      else el.setAttribute(k, v === true ? '' : v);
    }
    el.append(...[kids].flat().filter((kid) => kid != null));
    return el;
  }

  const icon = (d) => h('svg', { viewBox: '0 0 24 24', 'aria-hidden': 'true' }, h('path', { d }));
  const BUBBLE = 'M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z';
  const CROSS = 'M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4L12 13.4 6.4 19 5 17.6l5.6-5.6L5 6.4z';

  // http(s) addresses become links (new tab, no opener); everything else is text.
  function linkify(text) {
    const out = [];
    let last = 0;
    for (const m of text.matchAll(/\bhttps?:\/\/[^\s<>"']*[^\s<>"'.,;:!?)\]]/gi)) {
      if (m.index > last) out.push(text.slice(last, m.index));
      out.push(h('a', { href: m[0], target: '_blank', rel: 'noopener noreferrer nofollow' }, m[0]));
      last = m.index + m[0].length;
    }
    out.push(text.slice(last));
    return out;
  }

  const phone = matchMedia('(max-width:480px),(max-height:500px)'); // where the panel fills the screen
  const CSS = `
:host{all:initial}
*{box-sizing:border-box}
[hidden]{display:none!important}
.sb{--a:var(--sb-accent,#1f5fbf);--mut:#566073;--line:#d9dee7;--soft:#f2f4f8;--bad:#b3261e;color:#1b2230;
font:15px/1.45 system-ui,"Segoe UI",Roboto,sans-serif}
button,input,select,textarea{font:inherit;color:inherit;margin:0}
button{cursor:pointer}
button:disabled{opacity:.6}
:focus-visible{outline:3px solid #f5a623;outline-offset:2px}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
.launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;width:60px;height:60px;border:0;border-radius:50%;
background:var(--a);color:#fff;box-shadow:0 6px 18px #0004;display:grid;place-items:center}
svg{width:26px;height:26px;fill:currentColor}
.badge{position:absolute;top:-3px;right:-3px;min-width:22px;padding:0 6px;border-radius:11px;background:#c5221f;font:700 12px/22px sans-serif}
.panel,.invite{position:fixed;right:20px;bottom:92px;z-index:2147483001;background:#fff;box-shadow:0 12px 40px #0004;border-radius:14px}
.panel{width:380px;height:min(620px,calc(100vh - 112px));display:flex;flex-direction:column;overflow:hidden}
.invite{width:300px;padding:16px}
.invite p{margin:0 0 12px}
header{display:flex;align-items:center;gap:8px;padding:12px 8px 12px 16px;background:var(--a);color:#fff}
header>div{flex:1;min-width:0}
h2{margin:0;font-size:16px}
.sub{margin:0;font-size:13px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
header button{background:none;color:#fff;border:1px solid #fffb;border-radius:8px;padding:4px 10px;font-size:13px}
header .x{border:0;padding:4px;display:grid}
.confirm{display:flex;align-items:center;gap:8px;padding:10px 16px;background:#fff6e0}
.confirm p{margin:0;flex:1}
.status,.typing{margin:0;padding:8px 16px;font-size:13px;color:var(--mut)}
.status{background:var(--soft);border-bottom:1px solid var(--line)}
.typing{padding-top:2px;font-style:italic}
:is(.sub,.status,.typing,.err):empty{display:none}
.scroll{flex:1;overflow-y:auto;padding:14px;overscroll-behavior:contain}
.log{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:10px}
.msg{display:flex;flex-direction:column;max-width:84%;align-self:flex-start}
.msg.customer{align-self:flex-end;align-items:flex-end}
.msg.system{align-self:center;flex-direction:row;gap:6px;align-items:baseline;max-width:100%;font-size:13px;color:var(--mut)}
.bubble,.invite p{white-space:pre-wrap;overflow-wrap:anywhere}
.bubble{padding:8px 12px;border-radius:16px 16px 16px 4px;background:var(--soft)}
.customer .bubble{background:var(--a);color:#fff;border-radius:16px 16px 4px}
.redacted .bubble{font-style:italic;opacity:.8}
.customer a{color:#fff}
.system .bubble{background:none;padding:0}
.system .meta{margin:0}
.meta{display:flex;gap:6px;margin-top:2px;font-size:12px;color:var(--mut)}
.tick::after{content:"○"}
[data-state=sent]::after{content:"✓"}
[data-state=failed]::after{content:"!"}
.failed .meta{color:var(--bad)}
.meta button{border:0;background:none;padding:0;color:var(--a);text-decoration:underline}
.composer{display:flex;gap:8px;align-items:flex-end;padding:10px 12px;border-top:1px solid var(--line)}
.composer textarea{flex:1;min-height:42px;resize:none}
textarea,.field{padding:9px 11px;border:1px solid #aeb7c6;border-radius:8px;background:#fff}
.field{width:100%}
.btn{border:0;border-radius:10px;padding:9px 16px;background:var(--a);color:#fff;font-weight:600}
.alt{background:#fff;color:inherit;border:1px solid #aeb7c6}
.intro{margin:0;color:var(--mut)}
label{display:block;margin:12px 0 4px;font-size:13px;font-weight:600}
[aria-invalid=true]{border-color:var(--bad);box-shadow:0 0 0 1px var(--bad)}
.err{margin:4px 0 0;font-size:13px;color:var(--bad)}
.prechat .btn{margin-top:16px;width:100%}
fieldset{margin:14px 0 0;border:1px solid var(--line);border-radius:12px}
legend{font-weight:600}
.stars{display:flex}
.stars label{margin:0;font-size:30px;line-height:1;color:#b9c0cc}
.stars label:has(~label :checked,:checked){color:#e8a400}
.stars input{position:absolute;opacity:0}
.stars input:focus-visible+span{outline:3px solid #f5a623}
.csat .btn{margin-top:12px}
.thanks{text-align:center;font-weight:600}
.newchat{display:block;margin:16px auto 0}
@media ${phone.media}{.panel{inset:0;width:auto;height:auto;border-radius:0}
.launcher{right:14px;bottom:14px}.invite{right:14px;width:calc(100vw - 28px)}textarea,.field{font-size:16px}}
@media (prefers-reduced-motion:no-preference){.panel,.invite{animation:sb-in .16s}}
@keyframes sb-in{from{opacity:0;transform:translateY(10px)}}
`;

  let ws = null;
  let ready = false; // the welcome came: commands may go out
  let sentToken, attempt = 0, retryTimer = 0, stopped = false, resyncing = false, offline = false, refs = 0;
  const pending = new Map(); // ref -> {resolve, reject, timer}
  const OFFLINE = { code: 'offline', message: t('offline') };
  const waiters = []; // requests waiting for the next welcome

  let conv = store.get('conv') || null;
  let session = null;
  let phase = 'idle'; // idle (pre-chat form) | queued | connected | ended
  let starting = false, position = null, waitMs = null, notice = '';
  let maxSeq = 0, maxAgentSeq = 0, readSent = 0;
  const seen = new Set(); // seqs of history applied: the only dedup rule
  const bySeq = new Map(); // seq -> transcript item
  const mine = new Map(); // client_msg_id -> item sent from this page
  const agents = new Map(); // connected agents: id -> display name
  const typers = new Map(), rated = new Set();
  let inviteId = null, opened = false, unread = 0;
  let pageSent = false, lastUrl = location.href, viewPending = false;
  let typingOn = false, typingTimer = 0, typersTimer = 0, readTimer = 0;

  // --- the UI

  const host = document.createElement('switchboard-chat');
  const root = host.attachShadow({ mode: 'open' });
  if (data.color) host.style.setProperty('--sb-accent', data.color);
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } catch {
    root.append(h('style', {}, CSS)); // browsers without constructable stylesheets
  }

  const badge = h('span', { cls: 'badge', hidden: true, 'aria-hidden': 'true' });
  const launcherIcon = h('span', {}, icon(BUBBLE));
  const launcher = h('button', {
    cls: 'launcher', 'aria-label': t('open'), 'aria-expanded': 'false', 'aria-controls': 'sb-panel',
    onclick: () => (opened ? close() : open(true)),
  }, [launcherIcon, badge]);

  const inviteText = h('p');
  const invite = h('div', { cls: 'invite', role: 'region', 'aria-label': t('title'), 'aria-live': 'polite', hidden: true }, [
    inviteText,
    h('button', { cls: 'btn', onclick: acceptInvite }, t('accept')), ' ',
    h('button', { cls: 'btn alt', onclick: dismissInvite }, t('dismiss')),
  ]);

  const agentLine = h('p', { cls: 'sub' });
  const endBtn = h('button', { hidden: true, onclick: askEnd }, t('end'));
  const closeBtn = h('button', { cls: 'x', 'aria-label': t('close'), onclick: () => close() }, icon(CROSS));
  const confirmYes = h('button', { cls: 'btn', onclick: endChat }, t('end'));
  const confirmBar = h('div', { cls: 'confirm', hidden: true }, [
    h('p', {}, t('endAsk')), confirmYes, h('button', { cls: 'btn alt', onclick: () => hideConfirm(true) }, t('cancel')),
  ]);
  const status = h('p', { cls: 'status', role: 'status' });

  const fields = cfg.prechat.map((spec) => {
    const name = spec.replace(/\*$/, '');
    const required = spec.endsWith('*');
    if (!['name', 'email', 'topic'].includes(name)) return null;
    const id = 'sb-' + name;
    const input = name === 'topic' && cfg.topics.length
      ? h('select', { id, cls: 'field' }, [h('option', { value: '' }, '—'), ...cfg.topics.map((o) => h('option', { value: o }, o))])
      : h('input', { id, cls: 'field', type: name === 'email' ? name : 'text', maxlength: 200, autocomplete: name === 'topic' ? 'off' : name, required });
    const err = h('p', { cls: 'err', id: id + '-err' });
    input.setAttribute('aria-describedby', err.id);
    return { name, required, input, err, el: h('div', {}, [h('label', { for: id }, t(name) + (required ? ' *' : '')), input, err]) };
  }).filter(Boolean);
  const question = h('textarea', { id: 'sb-question', cls: 'field', rows: 3, maxlength: 4000 });
  const formErr = h('p', { cls: 'err', role: 'alert' });
  const startBtn = h('button', { cls: 'btn', type: 'submit' }, t('start'));
  const form = h('form', { cls: 'prechat', novalidate: true, onsubmit: startChat }, [
    h('p', { cls: 'intro' }, t('intro')),
    ...fields.map((f) => f.el),
    h('label', { for: 'sb-question' }, t('question')), question, formErr, startBtn,
  ]);

  // role="log" on the <ol> itself would take its list semantics away.
  const log = h('ol', { cls: 'log' });
  const logBox = h('div', { role: 'log', 'aria-relevant': 'additions', 'aria-label': t('title'), hidden: true }, log);
  const csat = h('div', { cls: 'csat', hidden: true });
  const newBtn = h('button', { cls: 'btn alt newchat', hidden: true, onclick: newChat }, t('newChat'));
  const scroller = h('div', { cls: 'scroll' }, [form, logBox, csat, newBtn]);
  const typing = h('p', { cls: 'typing' });
  const input = h('textarea', {
    id: 'sb-input', rows: 1, maxlength: 4000, placeholder: t('placeholder'), oninput: onInput, onkeydown: onComposerKey,
  });
  const composer = h('form', { cls: 'composer', hidden: true, onsubmit: (e) => { e.preventDefault(); sendText(); } }, [
    h('label', { cls: 'vh', for: 'sb-input' }, t('message')), input,
    h('button', { cls: 'btn', type: 'submit' }, t('send')),
  ]);
  const panel = h('section', { cls: 'panel', id: 'sb-panel', role: 'dialog', 'aria-labelledby': 'sb-title', hidden: true }, [
    h('header', { role: 'none' }, [h('div', {}, [h('h2', { id: 'sb-title' }, data.title || t('title')), agentLine]), endBtn, closeBtn]),
    confirmBar, status, scroller, typing, composer,
  ]);
  root.append(h('div', { cls: 'sb', lang: cfg.language, onkeydown: onKey }, [invite, panel, launcher]));

  // --- rendering

  const toBottom = () => { scroller.scrollTop = scroller.scrollHeight; };

  function setPhase(p) {
    phase = p;
    const live = p === 'queued' || p === 'connected';
    form.hidden = p !== 'idle';
    logBox.hidden = p === 'idle';
    composer.hidden = !(live || (p === 'ended' && cfg.channel === 'messaging'));
    endBtn.hidden = !live;
    newBtn.hidden = p !== 'ended' || cfg.channel === 'messaging';
    if (p !== 'queued') position = waitMs = null;
    notice = '';
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
    if (opened && focused && focused.closest('[hidden]')) focusFirst();
  }

  function renderHeader() {
    const names = [...agents.values()].join(', ');
    agentLine.textContent = names ? t('with', { name: names }) : '';
  }

  function renderStatus() {
    let text = notice;
    if (offline && conv) text = t('offline');
    else if (!text && phase === 'queued') {
      text = position ? t('queued', { n: position }) : t('waiting');
      if (position && waitMs != null) text += waitMs < 6e4 ? t('soon') : t('wait', { m: Math.round(waitMs / 6e4) });
    }
    if (status.textContent !== text) status.textContent = text;
  }

  function renderTyping() {
    const text = typers.size ? t('typing', { name: [...typers.values()].join(', ') }) : '';
    if (typing.textContent !== text) typing.textContent = text;
  }

  function renderBadge() {
    badge.hidden = !unread;
    badge.textContent = unread;
    launcher.setAttribute('aria-label', opened ? t('close') : t('open') + (unread ? ', ' + t('unread', { n: unread }) : ''));
  }

  // An entry: {seq?, cmid?, role, name, text, ts, state?, el}.
  function draw(it) {
    const el = h('li', { cls: 'msg ' + it.role });
    const who = it.role === 'customer' ? t('you') : it.role === 'agent' ? it.name || t('agent') : null;
    const meta = h('div', { cls: 'meta' }, [
      it.role === 'agent' ? h('span', { 'aria-hidden': 'true' }, it.name || t('agent')) : null,
      h('time', { datetime: new Date(it.ts).toISOString() }, clock.format(it.ts)),
    ]);
    el.append(who ? h('span', { cls: 'vh' }, who + ': ') : '', h('div', { cls: 'bubble' }, linkify(it.text)), meta);
    if (it.role === 'customer') {
      it.tick = h('span', { cls: 'tick', role: 'img' });
      meta.append(it.tick);
    }
    it.meta = meta;
    it.el = el;
    if (it.seq) el.dataset.seq = it.seq;
    if (it.state) setState(it, it.state);
  }

  function setState(it, state) {
    it.state = state;
    if (!it.tick) return;
    it.tick.dataset.state = state;
    it.tick.setAttribute('aria-label', t(state));
    it.el.classList.toggle('failed', state === 'failed');
    if (state === 'failed' && !it.retry) {
      it.retry = h('button', { onclick: () => deliver(it) }, t('retry'));
      it.meta.append(h('span', {}, t('failed')), it.retry);
    } else if (state !== 'failed' && it.retry) {
      it.retry.previousSibling.remove();
      it.retry.remove();
      it.retry = null;
    }
  }

  // Keeps the list ordered by seq; entries still without one stay at the end.
  function place(it) {
    let next = null;
    if (it.seq) {
      for (let n = log.lastElementChild; n; n = n.previousElementSibling) {
        if (n === it.el) continue;
        if ((+n.dataset.seq || Infinity) > it.seq) next = n;
        else break;
      }
    }
    if (it.el.parentNode !== log || it.el.nextElementSibling !== next) log.insertBefore(it.el, next);
  }

  function add(it) {
    const stick = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
    it.ts = it.ts || Date.now();
    if (it.seq) bySeq.set(it.seq, it);
    draw(it);
    place(it);
    if (stick || it.role === 'customer') toBottom();
  }

  function settle(it, seq) {
    if (it.seq) return;
    it.seq = seq;
    it.el.dataset.seq = seq;
    bySeq.set(seq, it);
    seen.add(seq);
    place(it);
  }

  function clearTranscript() {
    log.replaceChildren();
    for (const [id, it] of mine) if (it.seq) mine.delete(id);
    else log.append(it.el); // still unsent: kept
    seen.clear();
    bySeq.clear();
    agents.clear();
    maxSeq = maxAgentSeq = readSent = 0;
    csat.hidden = true;
    renderHeader();
  }

  // --- connection

  function connect() {
    clearTimeout(retryTimer);
    if (stopped) return;
    const sock = ws = new WebSocket(WS_URL, ['switchboard.v1.json']);
    sock.onopen = () => {
      const hello = { type: 'hello' };
      if ((sentToken = store.get('token'))) hello.visitor_token = sentToken;
      if (conv) hello.resume = { conversation_id: conv, last_seq: Math.max(0, maxSeq - RESUME_WINDOW) };
      if (!pageSent) hello.page = page();
      sock.send(JSON.stringify(hello));
    };
    sock.onmessage = (ev) => onFrame(JSON.parse(ev.data)); // JSON is all this server sends
    sock.onclose = (ev) => onClose(sock, ev.code);
  }

  function onClose(sock, code) {
    if (sock !== ws) return;
    ws = null;
    ready = false;
    for (const p of pending.values()) p.reject(OFFLINE);
    pending.clear();
    typers.clear();
    renderTyping();
    if (code === 4403) { // this site's origin is not allowed to chat: nothing to show
      stopped = true;
      host.remove();
      console.warn('switchboard.js: the chat server refused this site (4403)');
      return;
    }
    if (code === 4401) { // the token is not (or no longer) valid: start over as a new visitor
      store.set({ token: null, conv: null });
      conv = session = null;
      clearTranscript();
      setPhase('idle');
    }
    if (resyncing) {
      resyncing = false;
      return connect();
    }
    // Backoff with jitter: 0.5 s, 1 s, 2 s, ... up to 10 s.
    retryTimer = setTimeout(connect, Math.min(1e4, 500 * 2 ** attempt++) * (0.5 + Math.random() / 2));
    offline = true;
    renderStatus();
  }

  const send = (frame) => ready && (ws.send(JSON.stringify(frame)), true);

  // A command with a ref; resolves with its ack, rejects with its error frame.
  // While the socket is down it waits up to 10 s for the next welcome, if asked to.
  function request(frame, wait) {
    const up = ready || !wait ? Promise.resolve() : new Promise((resolve, reject) => {
      waiters.push(resolve);
      setTimeout(() => reject(OFFLINE), 1e4);
    });
    return up.then(() => new Promise((resolve, reject) => {
      const ref = 'w' + ++refs;
      const sock = ws;
      if (!send({ ...frame, ref })) reject(OFFLINE);
      // No answer in 10 s: half-open (a phone waking up). Resume and resend.
      else pending.set(ref, { resolve, reject, timer: setTimeout(() => { if (sock === ws) onClose(sock), sock.close(); }, 1e4) });
    }));
  }

  // Reconnects at once to get a conversation's history by resume.
  function adopt(cid) {
    conv = cid;
    session = null;
    store.set({ conv: cid });
    clearTranscript();
    if (ws) {
      resyncing = true;
      ready = false;
      ws.close(1000, 'resync');
    }
  }

  function onWelcome(w) {
    ready = pageSent = true;
    attempt = 0;
    offline = false;
    const other = store.get('token');
    if (!sentToken && other && other !== w.visitor_token && !conv) { // another tab was first
      resyncing = true;
      return ws.close();
    }
    store.set({ token: w.visitor_token });
    const card = w.conversation;
    if (card && card.conversation_id !== conv) {
      // Another tab's chat or a lost ack: take it (not one left for a new chat).
      if (card.conversation_id !== store.get('left') || PHASE[card.status]) return adopt(card.conversation_id);
    } else if (card) {
      if (w.recovered === false) clearTranscript(); // the whole history follows
      session = card.session_id;
      agents.clear();
      for (const a of card.agents || []) agents.set(a.id, a.display_name);
      if (card.csat) rated.add(card.session_id);
      const p = PHASE[card.status] || 'ended';
      if (p !== phase) setPhase(p);
      else renderHeader();
    } else if (conv) {
      conv = session = null; // closed meanwhile: nothing is replayed
      store.set({ conv: null });
      if (bySeq.size) add({ role: 'system', text: t('ended') });
      setPhase(bySeq.size ? 'ended' : 'idle');
    }
    if (!opened && conv && store.get('open')) open(false);
    renderStatus();
    for (const it of mine.values()) if (!it.seq && it.state === 'sending') deliver(it);
    sendView();
    markRead();
    waiters.splice(0).forEach((go) => go());
  }

  const inSession = (f) => !f.session_id || !session || f.session_id === session;

  function onFrame(f) {
    const waiter = f.ref != null && (f.type === 'ack' || f.type === 'error') ? pending.get(f.ref) : null;
    if (waiter) {
      pending.delete(f.ref);
      clearTimeout(waiter.timer);
      (f.type === 'ack' ? waiter.resolve : waiter.reject)(f);
      return;
    }
    if (f.type === 'welcome') return onWelcome(f);
    if (!ready) return; // a resync is under way
    if (f.type === 'invite') return showInvite(f);
    const cid = f.conversation_id;
    if (cid && cid !== conv) {
      if (starting && !conv && cid !== store.get('left')) { // our start_chat, its ack still on the way
        conv = cid;
        store.set({ conv: cid, left: null });
      } else if (f.type === 'chat.queued' && (!conv || phase === 'ended')) {
        return adopt(cid); // a chat started in another tab
      } else {
        return; // an older conversation
      }
    }
    if (f.type === 'message.redacted') return redact(f.seq);
    if (typeof f.seq === 'number') return onHistory(f);
    switch (f.type) {
      case 'chat.queued':
        session = f.session_id || session;
        notice = '';
        if (phase !== 'queued') setPhase('queued');
      // falls through
      case 'chat.position':
        if (f.type === 'chat.position' && !inSession(f)) return;
        position = f.position;
        waitMs = f.estimated_wait_ms;
        return renderStatus();
      case 'typing':
        if (f.from?.role !== 'agent') return;
        if (f.active) typers.set(f.from.id || '', f.from.display_name || t('agent'));
        else typers.delete(f.from.id || '');
        clearTimeout(typersTimer);
        typersTimer = setTimeout(() => { typers.clear(); renderTyping(); }, 15000); // a lost "stop"
        return renderTyping();
    }
  }

  // An administrator removed a message's content (privacy law): only that it was removed stays.
  function redact(seq) {
    const it = bySeq.get(seq);
    if (!it) return;
    it.text = t('redacted');
    it.el.querySelector('.bubble').replaceChildren(it.text);
    it.el.classList.add('redacted');
  }

  function onHistory(f) {
    if (seen.has(f.seq)) return; // replayed and pushed: shown once
    seen.add(f.seq);
    if (f.seq > maxSeq) maxSeq = f.seq;
    const current = inSession(f);
    if (current && f.session_id) session = f.session_id;
    const line = (text) => add({ seq: f.seq, role: 'system', text, ts: f.ts });
    switch (f.type) {
      case 'message':
        return onMessage(f);
      case 'chat.connected':
        if (current) {
          agents.clear();
          agents.set(f.agent.id, f.agent.display_name);
          setPhase('connected');
        }
        return line(t('joined', { name: f.agent.display_name }));
      case 'chat.participant_joined':
        if (current) agents.set(f.agent.id, f.agent.display_name);
        return renderHeader(); // a system message says it
      case 'chat.participant_left': // the last one: requeued
        agents.delete(f.agent.id);
        if (current && !agents.size && phase === 'connected') setPhase('queued');
        return renderHeader();
      case 'chat.transferred':
        if (current && f.queue) agents.clear(), setPhase('queued');
        return line(t('transferred'));
      case 'chat.ended':
        if (current) setPhase('ended');
        return line(t('ended'));
      case 'csat.requested':
        if (current && !rated.has(f.session_id)) showCsat(f.session_id);
    }
  }

  function onMessage(f) {
    const from = f.from || {};
    const it = from.role === 'customer' && f.client_msg_id ? mine.get(f.client_msg_id) : null;
    if (it) { // our own message, pushed back or replayed before its ack
      settle(it, f.seq);
      setState(it, 'sent');
    } else {
      add({
        seq: f.seq, role: ['customer', 'agent'].includes(from.role) ? from.role : 'system',
        name: from.display_name, text: f.redacted ? t('redacted') : String(f.text), ts: f.ts, state: from.role === 'customer' ? 'sent' : null,
      });
    }
    if (from.role === 'agent') {
      typers.delete(from.id || '');
      renderTyping();
      if (f.seq > maxAgentSeq) maxAgentSeq = f.seq;
      if (!opened && f.seq > (store.get('seen') || 0)) unread++, renderBadge();
      markRead();
    }
  }

  // --- actions

  function deliver(it) {
    setState(it, 'sending');
    request({ type: 'message', text: it.text, client_msg_id: it.cmid }).then((ack) => {
      settle(it, ack.seq);
      if (ack.seq > maxSeq) maxSeq = ack.seq;
      if (it.state === 'sending') setState(it, 'sent');
    }, (err) => {
      if (err.code !== 'offline') setState(it, 'failed'); // offline: sent again after the next welcome
    });
  }

  function sendText() {
    const text = input.value;
    if (!text.trim()) return;
    stopTyping();
    input.value = '';
    grow();
    const cmid = 'w' + Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
    const it = { cmid, role: 'customer', text, ts: Date.now(), state: 'sending' };
    mine.set(cmid, it);
    add(it);
    if (ready) deliver(it);
  }

  function grow() {
    input.style.height = 'auto';
    input.style.height = Math.min(input.scrollHeight + 2, 140) + 'px';
  }

  function onInput() {
    grow();
    if (phase !== 'connected' || !input.value.trim()) return stopTyping();
    if (!typingOn) typingOn = send({ type: 'typing', active: true });
    clearTimeout(typingTimer);
    typingTimer = setTimeout(stopTyping, 3000);
  }

  function stopTyping() {
    clearTimeout(typingTimer);
    if (typingOn) send({ type: 'typing', active: false });
    typingOn = false;
  }

  function onComposerKey(e) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) e.preventDefault(), sendText();
  }

  async function startChat(e) {
    e.preventDefault();
    if (starting) return;
    let invalid = null;
    const customer = {}, attributes = {};
    for (const f of fields) {
      const value = f.input.value.trim();
      let problem = '';
      if (f.required && !value) problem = t('required');
      else if (value && f.name === 'email' && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)) problem = t('badEmail');
      f.input.setAttribute('aria-invalid', !!problem);
      f.err.textContent = problem;
      if (problem) invalid = invalid || f.input;
      else if (value) (f.name === 'topic' ? attributes : customer)[f.name] = value;
    }
    if (invalid) return invalid.focus();
    const frame = { type: 'start_chat', queue: cfg.queue, language: cfg.language, channel: cfg.channel };
    if (Object.keys(customer).length) frame.customer = customer;
    if (Object.keys(attributes).length) frame.attributes = attributes;
    if (question.value.trim()) frame.text = question.value;
    starting = startBtn.disabled = true;
    formErr.textContent = '';
    try {
      begin(await request(frame, true));
      question.value = '';
    } catch (err) {
      formErr.textContent = err.message; // e.g. the queue's closed message
    } finally {
      starting = startBtn.disabled = false;
    }
  }

  // A chat was opened (start_chat or an accepted invitation).
  function begin(ack) {
    if (ack.conversation_id) conv = ack.conversation_id;
    if (ack.session_id) session = ack.session_id;
    store.set({ conv, left: null });
    if (phase === 'idle' || phase === 'ended') setPhase('queued');
    if (opened) input.focus();
  }

  const say = (err) => { notice = err.message; renderStatus(); };

  function askEnd() {
    confirmBar.hidden = false;
    confirmYes.focus();
  }

  function hideConfirm(refocus) {
    confirmBar.hidden = true;
    if (refocus) (endBtn.hidden ? closeBtn : endBtn).focus();
  }

  function endChat() {
    hideConfirm(false);
    request({ type: 'end_chat' }, true).catch(say);
    focusFirst();
  }

  function newChat() {
    store.set({ left: conv, conv: null });
    conv = session = null;
    clearTranscript();
    mine.clear();
    log.replaceChildren();
    setPhase('idle');
    focusFirst();
  }

  function showCsat(sid) {
    const stars = [1, 2, 3, 4, 5].map((n) => h('label', {}, [
      h('input', { type: 'radio', name: 'sb-rating', value: n }),
      h('span', { 'aria-hidden': 'true' }, '★'),
      h('span', { cls: 'vh' }, t('stars', { n })),
    ]));
    const comment = h('textarea', { id: 'sb-comment', cls: 'field', rows: 2, maxlength: 4000 });
    const err = h('p', { cls: 'err', role: 'alert' });
    const submit = h('button', { cls: 'btn', type: 'submit' }, t('rate'));
    const thanks = () => {
      rated.add(sid);
      const had = csat.contains(root.activeElement);
      csat.replaceChildren(h('p', { cls: 'thanks', role: 'status' }, t('thanks')));
      if (had) newBtn.focus();
    };
    csat.replaceChildren(h('form', {
      novalidate: true,
      onsubmit: (e) => {
        e.preventDefault();
        const rating = +csat.querySelector('input:checked')?.value;
        if (!rating) return void (err.textContent = t('pick'));
        submit.disabled = true;
        const frame = { type: 'csat', rating };
        if (comment.value.trim()) frame.comment = comment.value.trim();
        request(frame, true).then(thanks, (e2) => {
          submit.disabled = false;
          if (e2.code === 'conflict' && /already rated/.test(e2.message)) thanks();
          else err.textContent = e2.message;
        });
      },
    }, [
      h('fieldset', {}, [
        h('legend', {}, t('csat')), h('div', { cls: 'stars' }, stars),
        h('label', { for: 'sb-comment' }, t('comment')), comment, err, submit,
      ]),
    ]));
    csat.hidden = false;
    if (root.activeElement === newBtn) csat.querySelector('input').focus(); // the chat ended under the cursor
    toBottom();
  }

  function showInvite(f) {
    if (phase !== 'idle' || starting || opened) return;
    inviteId = f.invite_id;
    inviteText.textContent = f.text || '';
    invite.hidden = false;
    if (f.expires_at) setTimeout(() => { if (inviteId === f.invite_id) invite.hidden = true; }, f.expires_at - Date.now());
  }

  function acceptInvite() {
    invite.hidden = true;
    starting = true;
    request({ type: 'accept_invite', invite_id: inviteId }, true).then(begin, say).finally(() => { starting = false; });
    open(true);
  }

  function dismissInvite() {
    invite.hidden = true;
    send({ type: 'dismiss_invite', invite_id: inviteId });
    launcher.focus();
  }

  function markRead() { // at most one `read` for a burst (a replay, say)
    clearTimeout(readTimer);
    readTimer = setTimeout(() => {
      if (opened && phase === 'connected' && maxAgentSeq > readSent && document.visibilityState === 'visible'
        && send({ type: 'read', seq: maxAgentSeq })) readSent = maxAgentSeq;
    }, 300);
  }

  // --- open, close, keys

  function focusFirst() {
    (phase === 'idle' ? fields[0]?.input || question
      : !composer.hidden ? input
        : (!csat.hidden && csat.querySelector('input,button')) || (!newBtn.hidden && newBtn) || closeBtn).focus();
  }

  function show(on) {
    opened = on;
    panel.hidden = !on;
    launcher.setAttribute('aria-expanded', on);
    launcherIcon.replaceChildren(icon(on ? CROSS : BUBBLE));
    if (on) invite.hidden = true, unread = 0;
    renderBadge();
    store.set({ open: on, seen: maxSeq });
  }

  function open(focus) {
    show(true);
    if (focus) focusFirst();
    toBottom();
    markRead();
  }

  function close() {
    if (!opened) return;
    show(false);
    launcher.focus();
  }

  function onKey(e) {
    if (e.key !== 'Escape') return;
    if (!confirmBar.hidden) hideConfirm(true);
    else if (!invite.hidden && invite.contains(e.target)) dismissInvite();
    else close();
  }

  // Full screen the panel is modal: Tab wraps in it, never reaching the page.
  (phone.onchange = () => panel.setAttribute('aria-modal', phone.matches))();
  addEventListener('keydown', (e) => {
    if (e.key !== 'Tab' || !opened || !phone.matches) return;
    const all = [...panel.querySelectorAll('a,button,input,select,textarea')].filter((el) => !el.disabled && el.offsetParent);
    if (e.shiftKey) all.reverse();
    const at = root.activeElement;
    if (at === all.at(-1) || !panel.contains(at)) e.preventDefault(), all[0].focus();
  }, true);

  // --- page views (the journey)

  function page() {
    const p = { url: location.href.slice(0, 2048) };
    if (document.title) p.title = document.title.slice(0, 500);
    return p;
  }

  function sendView() {
    if (viewPending && send({ type: 'page_view', ...page() })) viewPending = false;
  }

  function navigated() {
    if (location.href === lastUrl) return;
    lastUrl = location.href;
    viewPending = true;
    setTimeout(sendView, 100); // single-page apps set the new title just after pushState
  }

  const pushState = history.pushState;
  history.pushState = function (...args) {
    try { return pushState.apply(this, args); } finally { navigated(); }
  };
  addEventListener('popstate', navigated);
  addEventListener('online', () => { if (!ws && !stopped) connect(); });
  document.addEventListener('visibilitychange', markRead);
  addEventListener('pagehide', () => opened && store.set({ seen: maxSeq }));

  window.Switchboard = Object.freeze({ version: '1', open: () => open(true), close });

  function init() {
    setPhase('idle'); // a stored chat shows with the welcome, if it is still open
    renderBadge();
    document.body.append(host);
    connect();
  }
  if (document.body) init();
  else document.addEventListener('DOMContentLoaded', init);
})();
