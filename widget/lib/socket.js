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

/** The page's socket to /ws/agent, which comes back by itself after a drop. The page
 * says what to send when it opens (its hello, with what to resume), what to do with
 * each frame, and, when it closes, whether to try again (returns true) or not (a
 * refused token or origin). Frames of a socket already replaced are ignored.
 * `beforeConnect` (a signed-in page: it takes a fresh socket token) runs before each
 * attempt and resolves true to go on, false to give up; when it throws, the attempt
 * is retried after the backoff. */
export class ReconnectingSocket {
  constructor({
    onOpen, onFrame, onClose, onConnecting = () => {}, onRetry = () => {}, beforeConnect = async () => true,
  }) {
    Object.assign(this, { onOpen, onFrame, onClose, onConnecting, onRetry, beforeConnect });
    this.ws = null;        // the current socket, opening or open
    this.retryAt = 0;      // when the next attempt is due (epoch ms); 0 when none is
    this.timer = 0;
    this.attempt = 0;      // counts connects and stops: a late beforeConnect of an older one is ignored
    this.preparing = false; // while beforeConnect runs
    this.backoff = new Backoff();
  }

  get open() {
    return Boolean(this.ws) && this.ws.readyState === WebSocket.OPEN;
  }

  connect() {
    clearTimeout(this.timer);
    this.retryAt = 0;
    const attempt = ++this.attempt;
    this.preparing = true;
    const prepared = (go) => {
      if (attempt !== this.attempt) return;
      this.preparing = false;
      if (go === true) this.openSocket();
      else if (go !== false) this.retry();
    };
    this.beforeConnect().then(prepared, () => prepared(null));
  }

  openSocket() {
    let ws;
    try {
      ws = new WebSocket(agentSocketUrl(), [SUBPROTOCOL]);
    } catch (_) {
      this.retry();
      return;
    }
    this.ws = ws;
    this.onConnecting();
    ws.addEventListener('open', () => { if (ws === this.ws) this.onOpen(ws); });
    ws.addEventListener('message', (event) => {
      if (ws !== this.ws) return;
      const frame = parseFrame(event.data);
      if (frame) this.onFrame(frame);
    });
    ws.addEventListener('close', (event) => {
      if (ws !== this.ws) return;
      this.ws = null;
      if (this.onClose(event)) this.retry();
    });
  }

  /** Connects again after the next backoff delay. */
  retry() {
    const delay = this.backoff.next();
    this.retryAt = Date.now() + delay;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
    this.onRetry(delay);
  }

  /** Closes without trying again (signed out, refused). */
  stop() {
    clearTimeout(this.timer);
    this.attempt += 1;
    this.preparing = false;
    const ws = this.ws;
    this.ws = null;
    if (ws) try { ws.close(1000, 'signed out'); } catch (_) { /* already closed */ }
  }

  /** Sends a frame when the socket is open; false when it is not. */
  send(frame) {
    // CLOSING comes before the close event that clears `open`.
    if (!this.open || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }
}
