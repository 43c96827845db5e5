// clock.js - the server's clock, as the exam page sees it.
//
// Every API reply that carries server_time is a sample: the server's time at the
// midpoint of the request. Between samples the time advances with performance.now(),
// which is monotonic, so a PC clock that is wrong or changed during the test moves
// nothing: the page never reads Date.now() for the exam's time. Samples with a short
// round trip are preferred; a fresh one is taken at least every minute.

let offset = null; // server ms = offset + performance.now()
let bestRtt = Infinity;
let lastAt = -Infinity;

export function sample(serverTime, sentAt, receivedAt) {
  if (typeof serverTime !== 'number' || !isFinite(serverTime)) return;
  const rtt = Math.max(0, receivedAt - sentAt);
  const stale = receivedAt - lastAt > 60000;
  if (offset !== null && rtt > bestRtt * 2 + 50 && !stale) return;
  offset = serverTime - (sentAt + receivedAt) / 2;
  bestRtt = stale ? rtt : Math.min(bestRtt, rtt);
  lastAt = receivedAt;
}

export function synced() {
  return offset !== null;
}

// The server's time now (unix ms). Before the first sample it falls back to the PC's.
export function now() {
  return offset === null ? Date.now() : offset + performance.now();
}

// Milliseconds from now until a server time.
export function until(serverMs) {
  return serverMs - now();
}
