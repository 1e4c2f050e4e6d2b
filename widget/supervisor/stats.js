/* Queue tiles, the agents table and the queue filter, from the stats frames. */

import { h } from '../lib/dom.js';
import { formatNumber, t } from '../lib/i18n.js';
import { STATE_LABELS } from '../lib/labels.js';
import { hooks, state, STATE_ORDER, ui } from './state.js';
import { percent, seconds, serverNow, ticker } from './time.js';

export function onStats(frame) {
  if (typeof frame.ts === 'number') state.offset = frame.ts - Date.now();
  if (state.unconfirmed) {
    state.unconfirmed.forEach((sid) => {
      state.cards.delete(sid);
      state.helps = state.helps.filter((item) => item.frame.session_id !== sid);
    });
    state.unconfirmed = null;
    hooks.scheduleDraw();
  }
  state.queues = frame.queues || [];
  state.agents = frame.agents || [];
  state.queues.forEach((q) => { state.queueNames[q.id] = q.name || q.id; });
  ui.window.textContent = frame.window_s ? t('lastMinutes', { n: Math.round(frame.window_s / 60) }) : '';
  renderTiles(frame.ts || serverNow());
  renderAgents();
  refreshFilter();
  hooks.refreshTargets();
}

export function figure(label, value, extra) {
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
    dl.appendChild(figure(t('waiting'), formatNumber(q.waiting || 0), 'big waiting'));
    const longest = q.waiting > 0 && q.longest_wait_ms !== null && q.longest_wait_ms !== undefined
      ? ticker('longest', ts - q.longest_wait_ms) : h('span', null, '00:00');
    dl.appendChild(figure(t('longestWait'), longest, 'big longest'));
    dl.appendChild(figure(t('serviceLevel'), percent(q.service_level), 'sl'));
    dl.appendChild(figure(t('abandoned'), percent(q.abandonment_rate), 'abandon'));
    dl.appendChild(figure(t('avgAnswer'), seconds(q.average_speed_of_answer_ms), 'asa'));
    dl.appendChild(figure(t('available'), formatNumber(counts.available || 0), 'available'));
    dl.appendChild(figure(t('busy'), formatNumber(busy), 'busy'));
    tile.appendChild(dl);
    const sub = h('p', 'tile-sub', t('tileSummary', { answered: q.answered || 0, abandoned: q.abandoned || 0, sl: q.service_level_s || 20 }));
    tile.appendChild(sub);
    const reasons = Object.entries(q.not_ready_reasons || {}).filter(([reason]) => reason);
    if (reasons.length) {
      tile.appendChild(h('p', 'tile-sub tile-reasons', t('notReady') + ': ' + reasons.map(([reason, n]) => `${reason} ${formatNumber(n)}`).join(' · ')));
    }
    ui.tiles.appendChild(tile);
  });
}

export function renderAgents() {
  ui.agents.replaceChildren();
  const rows = state.agents.slice().sort((a, b) => (STATE_ORDER[a.state] - STATE_ORDER[b.state]) || String(a.display_name).localeCompare(String(b.display_name)));
  if (!rows.length) {
    const tr = h('tr'); const td = h('td', 'empty', t('noAgentInQueues')); td.colSpan = 4;
    tr.appendChild(td); ui.agents.appendChild(tr); return;
  }
  rows.forEach((a) => {
    const tr = h('tr');
    tr.dataset.agent = a.id;
    tr.appendChild(h('td', 'agent-name', a.display_name || a.id));
    const stateCell = h('td');
    const badge = h('span', 'badge state-' + a.state, STATE_LABELS[a.state] || a.state);
    stateCell.appendChild(badge);
    // the reason of its state (a not-ready reason, "Disconnected", ...), as text
    if (a.reason) stateCell.appendChild(h('span', 'state-reason', a.reason));
    tr.appendChild(stateCell);
    const since = h('td', 'num');
    if (typeof a.since === 'number') since.appendChild(ticker('in-state', a.since)); else since.textContent = '–';
    tr.appendChild(since);
    const load = h('td', 'num load', formatNumber(a.sessions || 0) + '/' + formatNumber(a.capacity || 0));
    if (a.capacity && a.sessions >= a.capacity) load.classList.add('full');
    tr.appendChild(load);
    ui.agents.appendChild(tr);
  });
}

export function refreshFilter() {
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
