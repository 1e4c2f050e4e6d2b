/* The reports page's charts, drawn by uPlot (vendored in widget/lib/uplot/, see its README.md):
 * service level and waits by interval (a line per queue), handled chats and average handle time
 * by agent (bars and a line). The canvas says nothing to assistive technology: each chart is
 * named, and the table under it has the same figures. */

import uPlot from '../lib/uplot/uPlot.esm.js';
import { axisTime, formatCount, formatMoment, formatRatio, formatSeconds } from './reports-data.js';
import { t } from './reports-strings.js';

const HEIGHT_PX = 220;
// Told apart by people with the commoner colour blindnesses (Okabe and Ito's palette).
const PALETTE = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#000000'];
const colour = (i) => PALETTE[i % PALETTE.length];
const MAX_DASH = [6, 4];

const drawn = new Map(); // chart container -> its uPlot

function widthOf(container) {
  return Math.max(320, container.clientWidth || 640);
}

/** Puts a fresh chart into `container` (the previous one goes). */
function draw(container, options, data) {
  const old = drawn.get(container);
  if (old) old.destroy();
  container.replaceChildren();
  const chart = new uPlot({ width: widthOf(container), height: HEIGHT_PX, ...options }, data, container);
  drawn.set(container, chart);
}

/** Every chart to its container's width again (after the window changed size). */
export function fitCharts() {
  drawn.forEach((chart, container) => chart.setSize({ width: widthOf(container), height: HEIGHT_PX }));
}

/** Removes every chart (the page was signed out of). */
export function clearCharts() {
  drawn.forEach((chart, container) => { chart.destroy(); container.replaceChildren(); });
  drawn.clear();
}

// An interval's usual length in seconds (a day may have 23 or 25 hours, a month 28 to 31 days).
const NOMINAL_S = { '15m': 900, hour: 3600, day: 86400, week: 7 * 86400, month: 31 * 86400 };

/** The distinct interval starts of `rows` (uPlot's x: seconds since the epoch, ascending). Where
 * quiet intervals lie between two of them, one more x with no value breaks the line: a figure of
 * an interval without activity is unknown, not the average of its neighbours. */
function intervalAxis(rows, interval) {
  const starts = Array.from(new Set(rows.map((row) => Date.parse(row.interval_start) / 1000))).sort((a, b) => a - b);
  const nominal = NOMINAL_S[interval] || NOMINAL_S.hour;
  return starts.flatMap((x, i) => (i > 0 && x - starts[i - 1] > 1.5 * nominal ? [starts[i - 1] + nominal, x] : [x]));
}

/** For each of `keys` (queues), the value of `figure` at each x, null where that queue had no row. */
function alignedSeries(rows, xs, keys, by, figure) {
  const index = new Map(xs.map((x, i) => [x, i]));
  const series = new Map(keys.map((key) => [key, xs.map(() => null)]));
  rows.forEach((row) => {
    const values = series.get(row[by]);
    const value = row[figure];
    if (values && value !== null && value !== undefined) values[index.get(Date.parse(row.interval_start) / 1000)] = value;
  });
  return keys.map((key) => series.get(key));
}

const distinct = (rows, by) => Array.from(new Set(rows.map((row) => row[by])));

const line = (label, i, extra) => ({ label, stroke: colour(i), width: 2, spanGaps: false, points: { show: true, size: 7 }, ...extra });

const DAY_S = 86400;
const inLocale = (scale) => (u, ticks) => ticks.map((tick) => axisTime(tick * 1000, scale));

/** The time axis spans the whole period asked for (`period`: {from, to} in ISO 8601), not just the
 * intervals that had activity: a day by hour shows the day, however few its busy hours. Its
 * ticks and the legend's time are in the browser's locale (uPlot's own names are English). */
function timeAxis(period) {
  const from = Date.parse(period.from) / 1000;
  const to = Date.parse(period.to) / 1000;
  return {
    scale: { time: true, range: () => [from, to] },
    axis: { values: inLocale(to - from <= 2 * DAY_S ? 'hours' : 'days') },
    series: { label: t('colInterval'), value: (u, v) => formatMoment(v === null || v === undefined ? null : v * 1000) }
  };
}

/** Service level by interval, a line per queue (0 to 100 %). */
/* `period` is the query shown: {from, to, interval}. */

export function drawServiceLevel(container, rows, nameOf, period) {
  const xs = intervalAxis(rows, period.interval);
  const queues = distinct(rows, 'queue');
  const time = timeAxis(period);
  draw(container, {
    scales: { x: time.scale, y: { range: [0, 1] } },
    axes: [time.axis, { values: (u, ticks) => ticks.map(formatRatio), size: 60 }],
    series: [time.series, ...queues.map((q, i) => line(nameOf(q), i, { value: (u, v) => formatRatio(v) }))]
  }, [xs, ...alignedSeries(rows, xs, queues, 'queue', 'service_level')]);
}

/** Average (solid) and longest (dashed) wait by interval, per queue, in seconds. */
export function drawWaits(container, rows, nameOf, period) {
  const xs = intervalAxis(rows, period.interval);
  const queues = distinct(rows, 'queue');
  const seconds = { value: (u, v) => formatSeconds(v) };
  const series = queues.flatMap((q, i) => [
    line(t('seriesAvgWait', { queue: nameOf(q) }), i, seconds),
    line(t('seriesMaxWait', { queue: nameOf(q) }), i, { ...seconds, dash: MAX_DASH, width: 1 })
  ]);
  const data = queues.flatMap((q) => [
    alignedSeries(rows, xs, [q], 'queue', 'avg_wait_s')[0],
    alignedSeries(rows, xs, [q], 'queue', 'max_wait_s')[0]
  ]);
  const time = timeAxis(period);
  draw(container, {
    scales: { x: time.scale, y: { range: (u, min, max) => [0, Math.max(10, max || 0)] } },
    axes: [time.axis, { values: (u, ticks) => ticks.map(formatSeconds), size: 60 }],
    series: [time.series, ...series]
  }, [xs, ...data]);
}

/** Handled chats (bars, left axis) and average handle time (line, right axis) by agent.
 * `totals` has one entry per agent: {agent, handled, aht_s}. */
export function drawAgents(container, totals, nameOf) {
  const xs = totals.map((_, i) => i);
  const names = totals.map((row) => nameOf(row.agent));
  const bars = uPlot.paths.bars({ size: [0.5, 60] });
  draw(container, {
    scales: { x: { time: false, range: [-0.5, Math.max(0.5, totals.length - 0.5)] }, y: { range: (u, min, max) => [0, Math.max(1, max || 0)] },
      aht: { range: (u, min, max) => [0, Math.max(10, max || 0)] } },
    axes: [
      { values: (u, ticks) => ticks.map((tick) => (Number.isInteger(tick) && names[tick] !== undefined ? names[tick] : '')), incrs: [1] },
      { values: (u, ticks) => ticks.map((tick) => (Number.isInteger(tick) ? formatCount(tick) : '')) },
      { scale: 'aht', side: 1, grid: { show: false }, values: (u, ticks) => ticks.map(formatSeconds), size: 60 }
    ],
    series: [
      { label: t('colAgent'), value: (u, v) => (v === null ? '' : names[v] || '') },
      { label: t('seriesHandled'), stroke: colour(0), fill: colour(0) + '99', paths: bars, points: { show: false } },
      { label: t('seriesAht'), scale: 'aht', stroke: colour(1), width: 2, points: { show: true, size: 6 }, value: (u, v) => formatSeconds(v) }
    ]
  }, [xs, totals.map((row) => row.handled), totals.map((row) => row.aht_s)]);
}
