/*! Switchboard chat widget: <script src=".../widget/switchboard.js" data-queue="support" async></script>
 * No dependencies, no build step; see widget/README.md.
 *
 * This classic script is the only file a host page includes. It reads its tag's settings,
 * draws the launcher button (the first paint) and sets up `window.Switchboard`; the chat
 * itself (connection, panel, pre-chat form, transcript) is an ES module under /widget/v/
 * that it imports right after the launcher is on the page. What comes from the network is
 * set as text, never parsed as HTML; styles are constructable stylesheets in a shadow root,
 * so it runs under a strict Content-Security-Policy. */
(() => {
  'use strict';

  const earlier = window.Switchboard;
  if (earlier && earlier.version) {
    return; // the tag is on the page twice
  }
  // Calls made before this script ran, by the stub snippet in widget/README.md: [[method, args], ...].
  const callsBeforeLoad = earlier && Array.isArray(earlier.q) ? earlier.q : [];

  const OWN_SCRIPT_PATH = /\/widget\/switchboard\.js([?#]|$)/;
  const ownScript = document.currentScript
    || [...document.querySelectorAll('script[src]')].find((script) => OWN_SCRIPT_PATH.test(script.src));
  if (!ownScript) {
    return;
  }
  const settings = ownScript.dataset;
  if (!settings.queue) {
    console.error('switchboard.js: the script tag needs data-queue');
    return;
  }

  // The server writes the content hash of the chat modules over this placeholder when it
  // starts (gateway/static.py): each release's modules get new addresses under /widget/v/,
  // so browsers may keep them for a year, while this file's own address never changes.
  const MODULES_VERSION = '__SWITCHBOARD_MODULES_VERSION__';
  const OWN_ORIGIN = new URL(ownScript.src, location.href).origin;
  // The chat server (its socket); data-server names another than the one this script came from.
  const SERVER = (settings.server || OWN_ORIGIN).replace(/\/+$/, '');
  // The modules come from where this script came from: that server wrote their version in.
  const CHAT_MODULE_URL = OWN_ORIGIN + '/widget/v/' + MODULES_VERSION + '/chat/chat.js';

  const DEFAULT_PRECHAT_FIELDS = 'name*,email,topic';
  const LANGUAGE_TAG = /^[a-z]{2,3}(-[a-z0-9]{1,8})*$/i;

  function commaList(text) {
    return (text || '').split(',').map((item) => item.trim()).filter(Boolean);
  }

  function languageOf(tag) {
    if (!LANGUAGE_TAG.test(tag)) {
      return 'en';
    }
    try {
      Intl.getCanonicalLocales(tag);
      return tag;
    } catch {
      return tag.split('-')[0]; // a tag Intl refuses, such as de-1
    }
  }

  const config = {
    server: SERVER,
    queue: settings.queue,
    language: languageOf(settings.language),
    channel: settings.channel || 'webchat',
    prechat: commaList(settings.prechat == null ? DEFAULT_PRECHAT_FIELDS : settings.prechat),
    topics: commaList(settings.topics),
    title: settings.title || '',
  };

  // The launcher's own words; the panel's are in chat/strings.js.
  const LAUNCHER_STRINGS = {
    en: { open: 'Open chat', close: 'Close chat', unread: '{n} unread' },
    de: { open: 'Chat öffnen', close: 'Chat schließen', unread: '{n} ungelesen' },
    fr: { open: 'Ouvrir le chat', close: 'Fermer le chat', unread: '{n} non lu(s)' },
  };
  const baseLanguage = config.language.toLowerCase().split('-')[0];
  const launcherWords = { ...LAUNCHER_STRINGS.en, ...LAUNCHER_STRINGS[baseLanguage] };

  const SVG_NAMESPACE = 'http://www.w3.org/2000/svg';
  const ICON_PATHS = {
    bubble: 'M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z',
    cross: 'M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4L12 13.4 6.4 19 5 17.6l5.6-5.6L5 6.4z',
  };

  // The panel's module uses it too (for its close button), so that the paths live in one place.
  function icon(name) {
    const svg = document.createElementNS(SVG_NAMESPACE, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    const path = document.createElementNS(SVG_NAMESPACE, 'path');
    path.setAttribute('d', ICON_PATHS[name]);
    svg.append(path);
    return svg;
  }

  // What the first paint needs: the host reset, the accent colour, the launcher and its badge.
  const LAUNCHER_CSS = `
:host {
  all: initial;
}

* {
  box-sizing: border-box;
}

[hidden] {
  display: none !important;
}

.sb {
  --a: var(--sb-accent, #1f5fbf);
  --mut: #566073;
  --line: #d9dee7;
  --soft: #f2f4f8;
  --bad: #b3261e;
  color: #1b2230;
  font: 15px/1.45 system-ui, "Segoe UI", Roboto, sans-serif;
}

button {
  font: inherit;
  color: inherit;
  margin: 0;
  cursor: pointer;
}

:focus-visible {
  outline: 3px solid #f5a623;
  outline-offset: 2px;
}

.launcher {
  position: fixed;
  right: 20px;
  bottom: 20px;
  z-index: 2147483000;
  width: 60px;
  height: 60px;
  border: 0;
  border-radius: 50%;
  background: var(--a);
  color: #fff;
  box-shadow: 0 6px 18px #0004;
  display: grid;
  place-items: center;
}

svg {
  width: 26px;
  height: 26px;
  fill: currentColor;
}

.badge {
  position: absolute;
  top: -3px;
  right: -3px;
  min-width: 22px;
  padding: 0 6px;
  border-radius: 11px;
  background: #c5221f;
  font: 700 12px/22px sans-serif;
}

@media (max-width: 480px), (max-height: 500px) {
  .launcher {
    right: 14px;
    bottom: 14px;
  }
}
`;

  // A stylesheet for this shadow root; a <style> element only in browsers without
  // constructable stylesheets (a strict style-src blocks that one).
  function adoptStyles(shadowRoot, cssText) {
    try {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(cssText);
      shadowRoot.adoptedStyleSheets = [...shadowRoot.adoptedStyleSheets, sheet];
    } catch {
      const style = document.createElement('style');
      style.textContent = cssText;
      shadowRoot.append(style);
    }
  }

  // --- events for the host page: Switchboard.on(name, handler)

  const EVENT_NAMES = ['ready', 'chat.started', 'message', 'chat.ended', 'unread'];
  const handlersByEvent = new Map(EVENT_NAMES.map((name) => [name, new Set()]));
  let readyDetail = null; // `ready` happened: a handler added later is called at once

  function handlersOf(name) {
    const handlers = handlersByEvent.get(name);
    if (!handlers) {
      throw new TypeError('switchboard.js: no event ' + JSON.stringify(name) + ' (there are ' + EVENT_NAMES.join(', ') + ')');
    }
    return handlers;
  }

  function callHandler(handler, detail) {
    try {
      handler(detail);
    } catch (error) {
      console.error('switchboard.js: an event handler failed', error); // the chat goes on
    }
  }

  function emit(name, detail) {
    if (name === 'ready') {
      readyDetail = detail;
    }
    for (const handler of handlersOf(name)) {
      callHandler(handler, detail);
    }
  }

  // --- the launcher

  const hostElement = document.createElement('switchboard-chat');
  const shadowRoot = hostElement.attachShadow({ mode: 'open' });
  if (settings.color) {
    hostElement.style.setProperty('--sb-accent', settings.color);
  }
  adoptStyles(shadowRoot, LAUNCHER_CSS);

  const container = document.createElement('div');
  container.className = 'sb';
  container.lang = config.language;

  const launcher = document.createElement('button');
  launcher.type = 'button';
  launcher.className = 'launcher';
  launcher.setAttribute('aria-expanded', 'false');
  launcher.setAttribute('aria-controls', 'sb-panel');
  const launcherIcon = document.createElement('span');
  launcherIcon.append(icon('bubble'));
  const badge = document.createElement('span');
  badge.className = 'badge';
  badge.hidden = true;
  badge.setAttribute('aria-hidden', 'true');
  launcher.append(launcherIcon, badge);
  container.append(launcher);
  shadowRoot.append(container);

  let panelOpen = false;
  let unreadCount = 0;

  function renderLauncher() {
    launcherIcon.replaceChildren(icon(panelOpen ? 'cross' : 'bubble'));
    launcher.setAttribute('aria-expanded', String(panelOpen));
    badge.hidden = unreadCount === 0;
    badge.textContent = String(unreadCount);
    let label = panelOpen ? launcherWords.close : launcherWords.open;
    if (!panelOpen && unreadCount > 0) {
      label += ', ' + launcherWords.unread.replace('{n}', String(unreadCount));
    }
    launcher.setAttribute('aria-label', label);
  }

  // --- the chat module, and what was asked of it before it arrived

  let chat = null; // the module's controller once it started
  let chatFailed = false;
  const early = { open: null, identity: null, signedIdentity: null, attributes: {}, prefill: {} };

  // What the chat module gets: the settings, the shadow root and the launcher's controls.
  const host = {
    config,
    shadowRoot,
    container,
    launcher,
    icon,
    adoptStyles,
    emit,
    // The server refused this site (4403): nothing of the widget stays on the page.
    remove() {
      hostElement.remove();
    },
    setOpen(open) {
      panelOpen = open;
      renderLauncher();
    },
    setUnread(count) {
      if (count === unreadCount) {
        return;
      }
      unreadCount = count;
      renderLauncher();
      emit('unread', { count });
    },
  };

  function plainObject(value, method) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new TypeError('switchboard.js: ' + method + ' takes an object');
    }
    return value;
  }

  const api = {
    version: '2',
    open() {
      if (chat) {
        chat.open(true);
      } else {
        early.open = true;
      }
    },
    close() {
      if (chat) {
        chat.close();
      } else {
        early.open = false;
      }
    },
    // identify(visitorToken): continue as the visitor a token names; identify({identity}):
    // the customer the host site signed in, as its signed identity (a JWT) says.
    identify(visitor) {
      if (visitor !== null && typeof visitor === 'object' && typeof visitor.identity === 'string' && visitor.identity) {
        if (chat) {
          chat.identifyAs(visitor.identity);
        } else {
          early.signedIdentity = visitor.identity;
        }
        return;
      }
      if (typeof visitor !== 'string' || !visitor) {
        throw new TypeError(
          'switchboard.js: identify takes the visitor token (a string) the server signed, or {identity: <JWT>}'
        );
      }
      if (chat) {
        chat.identify(visitor);
      } else {
        early.identity = visitor;
      }
    },
    setAttributes(attributes) {
      plainObject(attributes, 'setAttributes');
      if (chat) {
        chat.setAttributes(attributes);
      } else {
        Object.assign(early.attributes, attributes);
      }
    },
    prefill(fields) {
      plainObject(fields, 'prefill');
      if (chat) {
        chat.prefill(fields);
      } else {
        Object.assign(early.prefill, fields);
      }
    },
    on(name, handler) {
      if (typeof handler !== 'function') {
        throw new TypeError('switchboard.js: on(name, handler) takes a function');
      }
      handlersOf(name).add(handler);
      if (name === 'ready' && readyDetail) {
        callHandler(handler, readyDetail);
      }
    },
    off(name, handler) {
      handlersOf(name).delete(handler);
    },
  };
  window.Switchboard = Object.freeze(api);

  for (const [method, args] of callsBeforeLoad) {
    try {
      api[method](...args);
    } catch (error) {
      console.error('switchboard.js: Switchboard.' + method + ' failed', error);
    }
  }

  launcher.addEventListener('click', () => {
    if (chat) {
      chat.toggle();
    } else if (!chatFailed) {
      early.open = true; // opens as soon as the module is there
    }
  });

  // A failed import is tried again a few times, 1 s, 2 s and 4 s later: the network may fail
  // once, and during a rolling release this page may have got the new loader from one node
  // and asked one still on the old release for the new modules (a 404). A browser may keep a
  // failed module for its address, so each retry asks under another query string.
  const IMPORT_ATTEMPTS = 4;
  const IMPORT_RETRY_FIRST_MS = 1000;

  function wait(ms) {
    return new Promise((resolve) => {
      setTimeout(resolve, ms);
    });
  }

  async function importChat() {
    for (let attempt = 0; ; attempt += 1) {
      const url = attempt === 0 ? CHAT_MODULE_URL : CHAT_MODULE_URL + '?attempt=' + attempt;
      try {
        return await import(url);
      } catch (error) {
        if (attempt + 1 >= IMPORT_ATTEMPTS) {
          throw error;
        }
      }
      await wait(IMPORT_RETRY_FIRST_MS * 2 ** attempt);
    }
  }

  // The module is imported at once rather than on the first click: the connection has to be
  // up while the panel is closed too (invitations, the unread count, a chat open in another tab).
  async function loadChat() {
    let module;
    try {
      module = await importChat();
    } catch (error) {
      chatFailed = true;
      console.error('switchboard.js: the chat could not be loaded', error);
      return;
    }
    chat = module.start(host, early);
  }

  function init() {
    renderLauncher();
    document.body.append(hostElement);
    loadChat();
  }

  if (document.body) {
    init();
  } else {
    document.addEventListener('DOMContentLoaded', init);
  }
})();
