// The demo page's use of the widget's JavaScript API (widget/README.md, "JavaScript API").
// A plain script of the page's own, since its Content-Security-Policy allows no inline script;
// it runs before switchboard.js (which is loaded async), so its first calls go through the stub.

// The stub: calls made before switchboard.js ran wait in Switchboard.q.
(function installStub(w) {
  const stub = w.Switchboard = w.Switchboard || { q: [] };
  for (const method of ['open', 'close', 'identify', 'setAttributes', 'prefill', 'on', 'off']) {
    stub[method] = stub[method] || function queueCall(...args) {
      stub.q.push([method, args]);
    };
  }
}(window));

const EVENTS = ['ready', 'chat.started', 'message', 'chat.ended', 'unread'];
const PREFILL = { name: 'Ada Lovelace', email: 'ada@example.com', topic: 'Delivery', question: 'When will my beans arrive?' };
const ATTRIBUTES = { plan: 'coffee club', cart: '2 items, CHF 35.40' };
const MOST_LOG_ENTRIES = 50;
// Bidi controls in what arrives are shown escaped, so they cannot reorder the log.
const BIDI_CONTROLS = /[\u202a-\u202e\u2066-\u2069]/g;

function escapeControls(text) {
  return text.replace(BIDI_CONTROLS, (control) => '\\u' + control.charCodeAt(0).toString(16));
}

// Each entry as text, never as HTML: the events carry what customers and agents wrote.
function logEvent(name, detail) {
  const log = document.getElementById('api-log');
  const entry = document.createElement('li');
  const time = document.createElement('time');
  time.textContent = new Date().toLocaleTimeString();
  const label = document.createElement('strong');
  label.textContent = name;
  const body = document.createElement('code');
  body.textContent = escapeControls(JSON.stringify(detail));
  entry.append(time, ' ', label, ' ', body);
  log.prepend(entry);
  while (log.children.length > MOST_LOG_ENTRIES) {
    log.lastElementChild.remove();
  }
}

for (const name of EVENTS) {
  window.Switchboard.on(name, (detail) => logEvent(name, detail));
}

function wireButtons() {
  const api = () => window.Switchboard; // the stub until switchboard.js replaced it
  document.getElementById('api-open').addEventListener('click', () => api().open());
  document.getElementById('api-close').addEventListener('click', () => api().close());
  document.getElementById('api-prefill').addEventListener('click', () => api().prefill(PREFILL));
  document.getElementById('api-attributes').addEventListener('click', () => api().setAttributes(ATTRIBUTES));
  document.getElementById('api-identify').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = document.getElementById('api-token').value.trim();
    if (token) {
      api().identify(token);
    }
  });
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', wireButtons);
} else {
  wireButtons();
}
