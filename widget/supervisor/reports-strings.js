/* The reports page's words, in one table so that a translation is one more entry (the
 * view's other strings live elsewhere). `{name}` marks a value put into the sentence. */

const REPORT_STRINGS = {
  en: {
    // the page and its form (the HTML names these by key: data-report-text)
    pages: 'Pages',
    pageLive: 'Live',
    pageReports: 'Reports',
    reportsTitle: 'Reports',
    from: 'From',
    to: 'To',
    interval: 'Interval',
    interval15m: '15 minutes',
    intervalHour: 'Hour',
    intervalDay: 'Day',
    intervalWeek: 'Week',
    intervalMonth: 'Month',
    // not "Queue" and "Agent": the live page's force form has an "Agent" field, the tables are "Queues" and "Agents"
    queue: 'For queue',
    agent: 'For agent',
    allQueues: 'All queues',
    allAgents: 'All agents',
    show: 'Show',
    timeZone: 'Times in {zone}',
    queuesTitle: 'Queues',
    agentsTitle: 'Agents',
    interactionsTitle: 'Interactions',
    downloadCsv: 'Download CSV',
    more: 'Show more',
    loading: 'Loading…',
    noRows: 'Nothing happened in this period.',
    failed: 'The report could not be loaded: {reason}',
    badRange: 'The end date must not be before the start date.',
    unreachable: 'the server cannot be reached',
    // charts (each also described in words for assistive technology)
    chartServiceLevel: 'Service level by interval',
    chartWaits: 'Waits by interval (seconds)',
    chartAgents: 'Handled chats and average handle time by agent',
    chartSummary: '{title}: the table below has the same figures.',
    seriesAvgWait: '{queue} average wait',
    seriesMaxWait: '{queue} longest wait',
    seriesHandled: 'Handled',
    seriesAht: 'AHT (s)',
    // columns
    colInterval: 'Interval',
    colQueue: 'Queue',
    colAgent: 'Agent',
    colOffered: 'Offered',
    colAnswered: 'Answered',
    colAbandoned: 'Abandoned',
    colShortAbandoned: 'Short abandoned',
    colAnsweredInSl: 'Answered in SL',
    colServiceLevel: 'Service level',
    colAsa: 'ASA',
    colAvgWait: 'Avg. wait',
    colMaxWait: 'Longest wait',
    colAht: 'AHT',
    colTalk: 'Talk',
    colWrap: 'Wrap-up',
    colTransfersOut: 'Transfers out',
    colRonas: 'RONAs',
    colCsatResponses: 'CSAT responses',
    colCsatAvg: 'CSAT',
    colAccepted: 'Accepted',
    colDeclined: 'Declined',
    colHandled: 'Handled',
    colOccupancy: 'Occupancy',
    colUtilisation: 'Utilisation',
    colAvailable: 'Available',
    colBusy: 'Busy',
    colNotReady: 'Not ready',
    colQueuedAt: 'Queued',
    colCustomer: 'Customer',
    colAgents: 'Agents',
    colChannel: 'Channel',
    colWait: 'Wait',
    colHandle: 'Handle time',
    colEndReason: 'Ended',
    colWrapUpCode: 'Wrap-up code',
    colTranscript: 'Transcript',
    // the transcript dialog
    open: 'Open',
    openTranscript: 'Open the transcript of {customer}',
    transcriptOf: 'Transcript: {customer}',
    anonymous: 'Anonymous visitor',
    close: 'Close',
    noMessages: 'This conversation has no messages.',
    transcriptFailed: 'The transcript could not be loaded: {reason}',
    customer: 'Customer',
    system: 'System',
    note: 'Note · {who}'
  }
};

const LANGUAGE = 'en';

/** The page's text for `key`, with each `{name}` replaced by `values[name]`. */
export function t(key, values) {
  const table = REPORT_STRINGS[LANGUAGE] || REPORT_STRINGS.en;
  const text = table[key] !== undefined ? table[key] : REPORT_STRINGS.en[key];
  if (text === undefined) throw new Error('no report string ' + key);
  return values ? text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole)) : text;
}

/** Sets the text of every element under `root` that names a string (`data-report-text="key"`), and
 * the aria-label of every one that names it so (`data-report-text-aria-label="key"`). */
export function labelPage(root) {
  root.querySelectorAll('[data-report-text]').forEach((node) => { node.textContent = t(node.dataset.reportText); });
  root.querySelectorAll('[data-report-text-aria-label]').forEach((node) => {
    node.setAttribute('aria-label', t(node.dataset.reportTextAriaLabel));
  });
}
