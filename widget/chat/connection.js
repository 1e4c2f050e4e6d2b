// The customer socket (/ws/customer): hello and welcome, commands with a ref answered
// by their ack or error, reconnecting with backoff. docs/protocol.md has the frames.

const SUBPROTOCOL = 'switchboard.v1.json';
const REQUEST_TIMEOUT_MS = 10_000; // no answer by then: the connection is half-open
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 10_000;
const CLOSE_TOKEN_REFUSED = 4401;
const CLOSE_ORIGIN_REFUSED = 4403;

/**
 * `hello()` builds the first frame of each connection. `on.welcome(frame)` and `on.frame(frame)`
 * get what the server sends once welcomed; `on.down()` is told when a socket closed,
 * `on.offline()` when the next attempt waits, `on.tokenRefused()` on 4401 (before the next
 * attempt) and `on.refused()` on 4403 (no more attempts).
 */
export function customerConnection({ url, hello, on, offlineError }) {
  let socket = null;
  let welcomed = false; // the welcome came: commands may go out
  let attempt = 0;
  let retryTimer = 0;
  let refused = false; // this site is not allowed (4403): never again
  let resyncing = false; // closing on purpose to connect again at once
  let lastRef = 0;
  const pending = new Map(); // ref -> {resolve, reject, timer}
  const welcomeWaiters = []; // requests waiting for the next welcome

  function connect() {
    clearTimeout(retryTimer);
    if (refused) {
      return;
    }
    const opening = new WebSocket(url, [SUBPROTOCOL]);
    socket = opening;
    opening.onopen = () => opening.send(JSON.stringify(hello()));
    opening.onmessage = (event) => onFrame(JSON.parse(event.data)); // JSON is all this server sends
    opening.onclose = (event) => onClose(opening, event.code);
  }

  function backoffMs() {
    // 0.5 s, 1 s, 2 s, ... up to 10 s, each between half and all of its step.
    const step = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** attempt);
    attempt += 1;
    return step * (0.5 + Math.random() / 2);
  }

  function onClose(closed, code) {
    if (closed !== socket) {
      return;
    }
    socket = null;
    welcomed = false;
    for (const waiting of pending.values()) {
      clearTimeout(waiting.timer);
      waiting.reject(offlineError);
    }
    pending.clear();
    on.down();
    if (code === CLOSE_ORIGIN_REFUSED) {
      refused = true;
      on.refused();
      return;
    }
    if (code === CLOSE_TOKEN_REFUSED) {
      on.tokenRefused();
    }
    if (resyncing) {
      resyncing = false;
      connect();
      return;
    }
    retryTimer = setTimeout(connect, backoffMs());
    on.offline();
  }

  function answer(frame) {
    const waiting = pending.get(frame.ref);
    pending.delete(frame.ref);
    clearTimeout(waiting.timer);
    if (frame.type === 'ack') {
      waiting.resolve(frame);
    } else {
      waiting.reject(frame);
    }
  }

  function onFrame(frame) {
    const isAnswer = frame.type === 'ack' || frame.type === 'error';
    if (isAnswer && frame.ref != null && pending.has(frame.ref)) {
      answer(frame);
    } else if (frame.type === 'welcome') {
      welcomed = true;
      attempt = 0;
      on.welcome(frame);
      if (welcomed) { // not closed again at once to resync
        for (const resolve of welcomeWaiters.splice(0)) {
          resolve();
        }
      }
    } else if (welcomed) { // else a resync is under way
      on.frame(frame);
    }
  }

  // Sends a frame if the socket is welcomed and still open; says whether it went. The server's
  // close frame can arrive before the close event: the socket is CLOSING, welcomed still true.
  function send(frame) {
    if (!welcomed || socket.readyState !== WebSocket.OPEN) {
      return false;
    }
    socket.send(JSON.stringify(frame));
    return true;
  }

  function untilWelcomed(wait) {
    if (welcomed || !wait) {
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      welcomeWaiters.push(resolve);
      setTimeout(() => reject(offlineError), REQUEST_TIMEOUT_MS);
    });
  }

  // A command with a ref; resolves with its ack, rejects with its error frame.
  // While the socket is down it waits up to 10 s for the next welcome, if asked to.
  function request(frame, wait) {
    return untilWelcomed(wait).then(() => new Promise((resolve, reject) => {
      lastRef += 1;
      const ref = 'w' + lastRef;
      const asked = socket;
      if (!send({ ...frame, ref })) {
        reject(offlineError);
        return;
      }
      // No answer in time: half-open (a phone waking up). Resume and resend.
      const timer = setTimeout(() => {
        if (asked === socket) {
          onClose(asked);
          asked.close();
        }
      }, REQUEST_TIMEOUT_MS);
      pending.set(ref, { resolve, reject, timer });
    }));
  }

  // Closes and connects again at once: to get a conversation's history by resume,
  // or to say hello with another visitor token.
  function resync() {
    if (socket) {
      resyncing = true;
      welcomed = false;
      socket.close(1000, 'resync');
    }
  }

  function connectIfDown() {
    if (!socket) {
      connect();
    }
  }

  return {
    connect,
    connectIfDown,
    resync,
    send,
    request,
    get welcomed() {
      return welcomed;
    },
  };
}
