// The visitor's journey: the page they are on goes with the hello, and each later page
// of a single-page app (pushState, back and forward) as a page_view.

const URL_MAX_LENGTH = 2048;
const TITLE_MAX_LENGTH = 500;
const TITLE_SETTLE_MS = 100; // single-page apps set the new title just after pushState

export function currentPage() {
  const page = { url: location.href.slice(0, URL_MAX_LENGTH) };
  if (document.title) {
    page.title = document.title.slice(0, TITLE_MAX_LENGTH);
  }
  return page;
}

/** Follows the page's navigation; `send(frame)` says whether the frame went out. */
export function followJourney(send) {
  let lastUrl = location.href;
  let viewPending = false;

  // Sends the page view still waiting, if any (also after a reconnect).
  function sendPending() {
    if (viewPending && send({ type: 'page_view', ...currentPage() })) {
      viewPending = false;
    }
  }

  function navigated() {
    if (location.href === lastUrl) {
      return;
    }
    lastUrl = location.href;
    viewPending = true;
    setTimeout(sendPending, TITLE_SETTLE_MS);
  }

  const pushState = history.pushState;
  history.pushState = function pushStateAndTell(...args) {
    try {
      return pushState.apply(this, args);
    } finally {
      navigated();
    }
  };
  addEventListener('popstate', navigated);
  return { sendPending };
}
