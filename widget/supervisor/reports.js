/* The reports page of the supervisor view: a period (yesterday unless changed), an interval, the
 * browser's time zone, a queue and an agent; then the queue and agent reports (a table and charts
 * each) and the interactions (a table whose rows open their transcripts), each downloadable as
 * CSV. The figures are the API's (GET /api/v1/reports/...): the page computes none of its own
 * but the agents' totals over the period that its chart shows. */

import { $, h } from '../lib/dom.js';
import { isolate } from '../lib/text.js';
import { REASONS, state, ui } from './state.js';
import { clearCharts, drawAgents, drawServiceLevel, drawWaits, fitCharts } from './charts.js';
import {
  browserZone, DEFAULT_INTERVAL, downloadCsv, formatMoment, getJson, INTERVALS, period, reportUrl, yesterday
} from './reports-data.js';
import { AGENT_COLUMNS, drawIntervalTable, drawInteractions, QUEUE_COLUMNS } from './reports-tables.js';
import { labelPage, t } from './reports-strings.js';

const INTERACTIONS_PAGE = 50;
const INTERVAL_LABELS = { '15m': 'interval15m', hour: 'intervalHour', day: 'intervalDay', week: 'intervalWeek', month: 'intervalMonth' };

const page = {
  form: $('report-form'), from: $('report-from'), to: $('report-to'),
  interval: $('report-interval'), queue: $('report-queue'), agent: $('report-agent'),
  zone: $('report-zone'), formError: $('report-form-error'),
  pageLive: $('page-live'), pageReports: $('page-reports'),
  dialog: $('report-transcript'), dialogTitle: $('report-transcript-title'),
  dialogList: $('report-transcript-list'), dialogClose: $('report-transcript-close')
};

/** One report's part of the page: its table, status line, CSV button and (for queues and agents) charts. */
const sections = {
  queues: { table: $('report-queues'), status: $('report-queues-status'), csv: $('report-queues-csv') },
  agents: { table: $('report-agents'), status: $('report-agents-status'), csv: $('report-agents-csv') },
  interactions: {
    table: $('report-interactions'), status: $('report-interactions-status'), csv: $('report-interactions-csv'),
    more: $('report-interactions-more')
  }
};
const charts = { serviceLevel: $('chart-service-level'), waits: $('chart-waits'), agents: $('chart-agents') };

let shown = null;        // the query of the reports on the page: {from, to, interval, tz, queue, agent}
let nextCursor = null;   // the interactions' next page
let generation = 0;      // a newer request makes the answers of older ones moot
let openedFrom = null;   // the button that opened the transcript (the focus goes back to it)

const queueName = (id) => isolate(state.queueNames[id] || id);
function agentName(id) {
  const agent = state.agents.find((a) => a.id === id);
  return isolate((agent && agent.display_name) || id);
}

/** The <select>'s options: "all" and then each of `entries` ([value, text]); the choice is kept if it still can be. */
function fillSelect(select, allLabel, entries) {
  const chosen = select.value;
  select.replaceChildren(new Option(t(allLabel), ''));
  entries.forEach(([value, text]) => select.append(new Option(text, value)));
  select.value = entries.some(([value]) => value === chosen) ? chosen : '';
}

function refreshFilters() {
  fillSelect(page.queue, 'allQueues', Object.keys(state.queueNames).sort().map((id) => [id, state.queueNames[id]]));
  const agents = state.agents.slice().sort((a, b) => String(a.display_name || a.id).localeCompare(String(b.display_name || b.id)));
  fillSelect(page.agent, 'allAgents', agents.map((a) => [a.id, a.display_name || a.id]));
}

/** The query the form asks for, or null (the form says why). */
function formQuery() {
  const range = page.from.value && page.to.value ? period(page.from.value, page.to.value) : null;
  page.formError.hidden = Boolean(range);
  page.formError.textContent = range ? '' : t('badRange');
  if (!range) return null;
  return { ...range, interval: page.interval.value, tz: browserZone(), queue: page.queue.value, agent: page.agent.value };
}

function setStatus(section, text, failed) {
  section.status.textContent = text;
  section.status.classList.toggle('error', Boolean(failed));
}

/** Loads one report into its section with `draw(rows, answer)`; its errors go to its status line. */
async function load(kind, query, draw) {
  const section = sections[kind];
  const mine = generation;
  setStatus(section, t('loading'));
  try {
    const answer = await getJson(reportUrl(kind, query));
    if (mine !== generation) return;
    const rows = answer.rows || [];
    draw(rows, answer);
    setStatus(section, rows.length ? '' : t('noRows'));
  } catch (error) {
    if (mine !== generation) return;
    draw([], {});
    setStatus(section, t('failed', { reason: error.message === 'Failed to fetch' ? t('unreachable') : error.message }), true);
  }
}

/** The agents' totals over the period, for their chart: handled chats add up; AHT is the mean over
 * handled chats, so each interval's AHT counts as often as it had handled chats. */
function agentTotals(rows) {
  const totals = new Map();
  rows.forEach((row) => {
    const total = totals.get(row.agent) || { agent: row.agent, handled: 0, handleSeconds: 0 };
    total.handled += row.handled || 0;
    total.handleSeconds += (row.aht_s || 0) * (row.handled || 0);
    totals.set(row.agent, total);
  });
  return Array.from(totals.values())
    .map((total) => ({ agent: total.agent, handled: total.handled, aht_s: total.handled ? total.handleSeconds / total.handled : null }))
    .sort((a, b) => String(agentName(a.agent)).localeCompare(String(agentName(b.agent))));
}

function drawQueues(rows) {
  const interval = shown.interval;
  drawIntervalTable(sections.queues.table, QUEUE_COLUMNS, rows, { by: 'queue', interval, nameOf: queueName });
  drawServiceLevel(charts.serviceLevel, rows, queueName, shown);
  drawWaits(charts.waits, rows, queueName, shown);
}

function drawAgentReport(rows) {
  drawIntervalTable(sections.agents.table, AGENT_COLUMNS, rows, { by: 'agent', interval: shown.interval, nameOf: agentName });
  drawAgents(charts.agents, agentTotals(rows), agentName);
}

function interactionsQuery(cursor) {
  const { from, to, tz, queue, agent } = shown;
  return { from, to, tz, queue, agent, limit: INTERACTIONS_PAGE, cursor };
}

function drawInteractionRows(rows, answer, append) {
  const names = { queueName, agentName, reasons: REASONS };
  drawInteractions(sections.interactions.table, rows, { append, onOpen: openTranscript, names });
  nextCursor = answer.next_cursor || null;
  sections.interactions.more.hidden = !nextCursor;
}

/** Shows the reports of the form's query. */
function run() {
  const query = formQuery();
  if (!query) { page.from.focus(); return; }
  shown = query;
  generation += 1;
  page.zone.textContent = t('timeZone', { zone: query.tz });
  load('queues', query, drawQueues);
  load('agents', query, drawAgentReport);
  load('interactions', interactionsQuery(null), (rows, answer) => drawInteractionRows(rows, answer, false));
}

async function showMore() {
  if (!nextCursor) return;
  const first = sections.interactions.table.tBodies[0].rows.length;
  await load('interactions', interactionsQuery(nextCursor), (rows, answer) => drawInteractionRows(rows, answer, true));
  const next = sections.interactions.table.tBodies[0].rows[first];
  const button = next && next.querySelector('button');
  if (button) button.focus();
}

/** The CSV of a report as shown (same query), downloaded. */
async function exportCsv(kind) {
  if (!shown) return;
  const section = sections[kind];
  const query = kind === 'interactions' ? { ...interactionsQuery(null), limit: null } : shown;
  const day = shown.from.slice(0, 10);
  try {
    await downloadCsv(reportUrl(kind, query), `${kind}-${day}-${shown.interval}.csv`);
  } catch (error) {
    setStatus(section, t('failed', { reason: error.message }), true);
  }
}

/* ------------------------------------------------------------------ the transcript dialog */

function transcriptEntry(item) {
  const from = item.from_ || item.from || {};
  const who = from.role === 'customer' ? (from.display_name || t('customer'))
    : from.role === 'system' ? t('system') : (from.display_name || from.id || from.role);
  const li = h('li', 'entry ' + (item.kind === 'note' ? 'note' : (from.role || 'agent')));
  const meta = h('div', 'entry-meta');
  meta.append(h('span', 'entry-who', item.kind === 'note' ? t('note', { who: isolate(who) }) : isolate(who)));
  meta.append(h('time', null, formatMoment(item.ts)));
  li.append(meta, h('p', 'entry-text', item.text || ''));
  return li;
}

async function openTranscript(row, button) {
  openedFrom = button;
  const customer = row.customer_name || t('anonymous');
  page.dialogTitle.textContent = t('transcriptOf', { customer: isolate(customer) });
  page.dialogList.replaceChildren(h('li', 'entry system', t('loading')));
  if (!page.dialog.open) page.dialog.showModal();
  try {
    const conversation = await getJson('/api/v1/conversations/' + encodeURIComponent(row.conversation_id));
    const items = [
      ...(conversation.messages || []).map((m) => ({ ...m, kind: 'message' })),
      ...(conversation.notes || []).map((n) => ({ ...n, kind: 'note' }))
    ].sort((a, b) => a.seq - b.seq);
    page.dialogList.replaceChildren(...(items.length ? items.map(transcriptEntry) : [h('li', 'entry system', t('noMessages'))]));
  } catch (error) {
    page.dialogList.replaceChildren(h('li', 'entry system error', t('transcriptFailed', { reason: error.message })));
  }
}

function closeTranscript() {
  if (page.dialog.open) page.dialog.close();
}

/* ------------------------------------------------------------------ the page */

/** Which page of the view shows: 'live' (the wallboard) or 'reports'. */
export function showPage(name) {
  const reports = name === 'reports';
  ui.board.dataset.page = reports ? 'reports' : 'live';
  page.pageLive.setAttribute('aria-pressed', String(!reports));
  page.pageReports.setAttribute('aria-pressed', String(reports));
  if (!reports) return;
  refreshFilters();
  if (!shown) run(); else fitCharts();
}

/** Forgets the reports shown: the next user of this tab may be someone else. */
function resetReports() {
  shown = nextCursor = null;
  generation += 1;
  closeTranscript();
  clearCharts();
  Object.values(sections).forEach((section) => {
    section.table.tHead.replaceChildren();
    section.table.tBodies[0].replaceChildren();
    setStatus(section, '');
  });
  sections.interactions.more.hidden = true;
}

export function initReports() {
  labelPage(document);
  page.interval.replaceChildren(...INTERVALS.map((value) => new Option(t(INTERVAL_LABELS[value]), value)));
  page.interval.value = DEFAULT_INTERVAL;
  page.from.value = page.to.value = yesterday();
  page.zone.textContent = t('timeZone', { zone: browserZone() });
  page.form.addEventListener('submit', (event) => { event.preventDefault(); run(); });
  page.pageLive.addEventListener('click', () => showPage('live'));
  page.pageReports.addEventListener('click', () => showPage('reports'));
  Object.entries(sections).forEach(([kind, section]) => section.csv.addEventListener('click', () => exportCsv(kind)));
  sections.interactions.more.addEventListener('click', showMore);
  page.dialogClose.addEventListener('click', closeTranscript);
  page.dialog.addEventListener('close', () => { if (openedFrom && openedFrom.isConnected) openedFrom.focus(); openedFrom = null; });
  window.addEventListener('resize', fitCharts);
  // The board hides when its user signs out (or is refused): back to the live page, reports forgotten.
  new MutationObserver(() => {
    if (!ui.board.hidden) return;
    resetReports();
    showPage('live');
  }).observe(ui.board, { attributes: true, attributeFilter: ['hidden'] });
  showPage('live');
}
