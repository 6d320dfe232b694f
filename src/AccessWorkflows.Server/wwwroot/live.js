// Live updates: server-sent events from GET /console/events, in front of the page's polling.
// EventSource cannot send an Authorization header, and a token in a URL ends up in logs and history, so the page
// first asks for a ticket (POST /console/events/ticket, authenticated like any call): it opens one stream, once,
// within 30 s. A stream ends after a few minutes (or when the server restarts); the page then asks for a new ticket
// with its current credentials. While no stream is open the page polls; after repeated failures it retries the stream
// only every 30 s and keeps polling meanwhile.
'use strict';

const Live = (() => {
  const QUICK_RETRIES = 3;
  const RETRY_MS = 1000;
  const SLOW_RETRY_MS = 30000;

  let source = null;
  let handlers = null;
  let failures = 0;
  let timer = 0;
  let stopped = false;

  async function connect() {
    if (stopped) return;
    let ticket;
    try {
      ticket = (await api('POST', '/console/events/ticket')).ticket;
    } catch {
      retryLater();
      return;
    }
    if (stopped) return;
    source = new EventSource('/console/events?ticket=' + encodeURIComponent(ticket));
    source.addEventListener('ready', () => {
      failures = 0;
      handlers.onState(true);
    });
    source.addEventListener('change', event => {
      let change;
      try { change = JSON.parse(event.data); } catch { return; }
      handlers.onChange(change);
    });
    // The stream ended or never opened. EventSource would reconnect with the same URL, whose ticket is spent:
    // close it and start over with a new ticket.
    source.onerror = () => {
      close();
      handlers.onState(false);
      retryLater();
    };
  }

  function close() {
    if (source) source.close();
    source = null;
  }

  function retryLater() {
    failures++;
    clearTimeout(timer);
    if (!stopped) timer = setTimeout(connect, failures <= QUICK_RETRIES ? RETRY_MS : SLOW_RETRY_MS);
  }

  /** Opens the stream; onChange({ version, id, status }) for each change, onState(live) when it opens or ends. */
  function start(callbacks) {
    handlers = callbacks;
    stopped = false;
    connect();
  }

  /** Closes the stream for good (signed out or the sign-in expired). */
  function stop() {
    stopped = true;
    clearTimeout(timer);
    close();
    if (handlers) handlers.onState(false);
  }

  return { start, stop };
})();
