/* What the desk and the supervisor view share about their socket to the server. */

export const SUBPROTOCOL = 'switchboard.v1.json';
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10000;

/** The agent socket of this page's server (/ws/agent). */
export function agentSocketUrl() {
  return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws/agent';
}

/** A frame from a message event, or null when it is not a JSON object with a type. */
export function parseFrame(data) {
  let frame;
  try { frame = JSON.parse(data); } catch (_) { return null; }
  return frame && typeof frame.type === 'string' ? frame : null;
}

/** The delays between reconnects: exponential (0.5 s, 1 s, 2 s ... up to 10 s) with
 * jitter, each between half and all of it, so that pages cut off together do not
 * come back together. */
export class Backoff {
  constructor() { this.attempt = 0; }

  next() {
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt);
    this.attempt += 1;
    return Math.round(ceiling / 2 + Math.random() * ceiling / 2);
  }

  reset() { this.attempt = 0; }
}
