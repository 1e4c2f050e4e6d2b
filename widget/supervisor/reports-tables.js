/* The reports page's three tables: which figures each shows, in what form, and drawing them.
 * Every value goes in as text; the figures keep the API's names (data-figure) so that a cell
 * can be matched with its CSV column. */

import { h } from '../lib/dom.js';
import { isolate } from '../lib/text.js';
import {
  formatCount, formatDecimal, formatIntervalStart, formatMoment, formatRatio, formatSeconds
} from './reports-data.js';
import { t } from './reports-strings.js';

const column = (key, label, format) => ({ key, label, format });

export const QUEUE_COLUMNS = [
  column('offered', 'colOffered', formatCount),
  column('answered', 'colAnswered', formatCount),
  column('abandoned', 'colAbandoned', formatCount),
  column('short_abandoned', 'colShortAbandoned', formatCount),
  column('answered_in_sl', 'colAnsweredInSl', formatCount),
  column('service_level', 'colServiceLevel', formatRatio),
  column('asa_s', 'colAsa', formatSeconds),
  column('avg_wait_s', 'colAvgWait', formatSeconds),
  column('max_wait_s', 'colMaxWait', formatSeconds),
  column('handled', 'colHandled', formatCount),
  column('aht_s', 'colAht', formatSeconds),
  column('talk_s', 'colTalk', formatSeconds),
  column('wrap_s', 'colWrap', formatSeconds),
  column('transfers_out', 'colTransfersOut', formatCount),
  column('ronas', 'colRonas', formatCount),
  column('csat_responses', 'colCsatResponses', formatCount),
  column('csat_avg', 'colCsatAvg', formatDecimal)
];

export const AGENT_COLUMNS = [
  column('offered', 'colOffered', formatCount),
  column('accepted', 'colAccepted', formatCount),
  column('declined', 'colDeclined', formatCount),
  column('ronas', 'colRonas', formatCount),
  column('handled', 'colHandled', formatCount),
  column('aht_s', 'colAht', formatSeconds),
  column('talk_s', 'colTalk', formatSeconds),
  column('wrap_s', 'colWrap', formatSeconds),
  column('occupancy', 'colOccupancy', formatRatio),
  column('utilisation', 'colUtilisation', formatRatio),
  column('available_s', 'colAvailable', formatSeconds),
  column('busy_s', 'colBusy', formatSeconds),
  column('not_ready_s', 'colNotReady', formatSeconds),
  column('csat_avg', 'colCsatAvg', formatDecimal)
];

/** The interactions' columns; `names` turns queue and agent ids into names, `reasons` end reasons into words. */
function interactionColumns({ queueName, agentName, reasons }) {
  return [
    column('queued_at', 'colQueuedAt', formatMoment),
    column('customer_name', 'colCustomer', (name) => isolate(name || t('anonymous'))),
    column('queue', 'colQueue', (queue) => (queue ? queueName(queue) : '–')),
    column('agents', 'colAgents', (agents) => (Array.isArray(agents) ? agents.map(agentName).join(', ') : '')),
    column('channel', 'colChannel', (channel) => channel || '–'),
    column('wait_s', 'colWait', formatSeconds),
    column('handle_s', 'colHandle', formatSeconds),
    column('end_reason', 'colEndReason', (reason) => (reason ? reasons[reason] || reason : '–')),
    column('wrap_up_code', 'colWrapUpCode', (code) => code || '–'),
    column('csat', 'colCsatAvg', formatCount)
  ];
}

/** A header row: the columns' names, each a column header. */
function headRow(labels) {
  const tr = h('tr');
  labels.forEach((label) => {
    const th = h('th', null, t(label));
    th.scope = 'col';
    tr.append(th);
  });
  return tr;
}

/** A cell of a figure: its text in the locale, the API's name of the figure on it. */
function figureCell(col, row) {
  const td = h('td', 'num', col.format(row[col.key]));
  td.dataset.figure = col.key;
  return td;
}

/** Draws a report by interval into `table`: one row per interval and queue (`by` = 'queue') or
 * agent ('agent'), the interval and the name as row headers, then the figures. */
export function drawIntervalTable(table, columns, rows, { by, interval, nameOf }) {
  table.tHead.replaceChildren(headRow(['colInterval', by === 'queue' ? 'colQueue' : 'colAgent', ...columns.map((c) => c.label)]));
  const body = table.tBodies[0];
  body.replaceChildren();
  rows.forEach((row) => {
    const tr = h('tr');
    tr.dataset.interval = row.interval_start;
    tr.dataset[by] = row[by];
    const when = h('th', 'when', formatIntervalStart(row.interval_start, interval));
    when.scope = 'row';
    const name = h('td', 'name', nameOf(row[by]));
    tr.append(when, name, ...columns.map((col) => figureCell(col, row)));
    body.append(tr);
  });
}

/** Draws (or, with `append`, extends) the interactions table; each row's button opens its transcript. */
export function drawInteractions(table, rows, { append, onOpen, names }) {
  const columns = interactionColumns(names);
  if (!append) table.tHead.replaceChildren(headRow([...columns.map((c) => c.label), 'colTranscript']));
  const body = table.tBodies[0];
  if (!append) body.replaceChildren();
  rows.forEach((row) => {
    const tr = h('tr');
    tr.dataset.session = row.session_id;
    tr.append(...columns.map((col) => figureCell(col, row)));
    const open = h('button', 'ghost small', t('open'));
    open.type = 'button';
    open.setAttribute('aria-label', t('openTranscript', { customer: row.customer_name || t('anonymous') }));
    open.addEventListener('click', () => onOpen(row, open));
    const cell = h('td');
    cell.append(open);
    tr.append(cell);
    body.append(tr);
  });
}
