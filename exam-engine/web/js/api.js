// api.js - the JSON APIs as the page uses them: the token, errors as ApiError (status
// 0 = the network), clock samples from server_time, and the waiting room: 503 and short
// 429 answers carry Retry-After, and retrying() waits that long plus jitter (so that
// thousands of pages do not come back at the same second) while the page shows a calm
// message. Nothing here touches the DOM.
//
// Two servers, one client: `exam` is examd (this page's own origin: login, tests,
// sessions), `admin` is admind (the registration, exemption, results, certificate), whose
// address examd names in GET /api/v1/site (admin_url; "" = this origin). Both send the
// same token (one secret); admind answers this origin's requests with CORS headers.
// get/post/put below are exam's, as the test pages have always called them.

import * as clock from './clock.js';

const TOKEN_KEY = 'dk.token';
const WHO_KEY = 'dk.physician';

export class ApiError extends Error {
  // detail: the server's error object as sent ({code, message} and any fields of its own,
  // e.g. the photo route's {faces, flag}); {} when there was none
  constructor(status, code, message, retryAfter, detail = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
    this.detail = detail;
  }
  get network() {
    return this.status === 0;
  }
  // the token is valid but must change its initial password first (either server)
  get mustChange() {
    return this.status === 403 && this.code === 'password_change_required';
  }
  // worth trying again later: the network, an overloaded or restarting server
  get transient() {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function physician() {
  try {
    return JSON.parse(sessionStorage.getItem(WHO_KEY) || 'null');
  } catch {
    return null;
  }
}

export function signIn(tok, who) {
  sessionStorage.setItem(TOKEN_KEY, tok);
  if (who) sessionStorage.setItem(WHO_KEY, JSON.stringify(who));
}

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(WHO_KEY);
}

let onAuthLost = null;
export function setAuthLostHandler(fn) {
  onAuthLost = fn;
}

// Both servers refuse a token that must change its initial password (403
// password_change_required) everywhere but /password: a page reloaded on a portal route
// with such a token is sent to the change.
let onMustChange = null;
export function setMustChangeHandler(fn) {
  onMustChange = fn;
}

// One request to base + path. body: an object (sent as JSON) or a Blob (sent as is, with
// its type). opts.as = 'blob' answers a Blob (photos, files) instead of JSON; opts.admin
// marks admind's requests.
// This browser's random id (kept in localStorage), sent with every request: two devices
// answering one paper at once are flagged for the invigilators (issue 18).
let deviceId = null;
export function device() {
  if (deviceId) return deviceId;
  try {
    deviceId = localStorage.getItem('dk.device');
  } catch {
    deviceId = null;
  }
  if (!deviceId || !/^[A-Za-z0-9_-]{8,64}$/.test(deviceId)) {
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    deviceId = 'd' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    try {
      localStorage.setItem('dk.device', deviceId);
    } catch {
      /* kept for this page only */
    }
  }
  return deviceId;
}

async function send(base, method, path, body, opts = {}) {
  // examd only (this page's origin): a custom header to admind's origin would need a CORS
  // preflight it does not allow
  const headers = opts.admin ? {} : { 'X-DK-Device': device() };
  const tok = token();
  if (tok) headers.Authorization = 'Bearer ' + tok;
  let payload;
  if (body instanceof Blob) {
    payload = body;
    headers['Content-Type'] = body.type || 'application/octet-stream';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['Content-Type'] = 'application/json';
  }
  const sentAt = performance.now();
  let res;
  try {
    res = await fetch(base + path, { method, headers, body: payload, cache: 'no-store' });
  } catch {
    throw new ApiError(0, 'network', '网络连接中断，请检查网络');
  }
  const receivedAt = performance.now();
  if (res.ok && opts.as === 'blob') return res.blob();
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (data && typeof data.server_time === 'number') clock.sample(data.server_time, sentAt, receivedAt);
  if (res.ok) return data || {};
  const ra = parseInt(res.headers.get('Retry-After') || '', 10);
  const err = data && data.error ? data.error : {};
  const e = new ApiError(
    res.status,
    err.code || 'http_' + res.status,
    err.message || fallbackMessage(res.status),
    isFinite(ra) && ra >= 0 ? ra : null,
    err,
  );
  if (res.status === 401 && tok && onAuthLost && !/\/(login|password)$/.test(path)) onAuthLost(e);
  if (e.mustChange && opts.admin && tok && onMustChange) onMustChange(e);
  throw e;
}

// A client of one server; base() (a string or a promise of one) is read at each request:
// admind's address is learnt from examd the first time it is needed.
function client(base, defaults = {}) {
  const request = async (method, path, body, opts) => send(await base(), method, path, body, { ...defaults, ...opts });
  return {
    request,
    get: (path) => request('GET', path),
    post: (path, body) => request('POST', path, body),
    put: (path, body) => request('PUT', path, body),
    blob: (path) => request('GET', path, undefined, { as: 'blob' }),
  };
}

export const exam = client(() => '');
export const admin = client(() => site(), { admin: true });

// Where admind is (GET /api/v1/site, once per page): its address without a trailing
// slash, "" for this origin. An examd without the route (404) means the same origin.
let sitePromise = null;
export function site() {
  if (!sitePromise) {
    sitePromise = retrying(() => exam.get('/api/v1/site'), { retryNetwork: true, maxAttempts: 4 })
      .then((s) => s.admin_url || '', (e) => {
        if (e.status === 404) return '';
        sitePromise = null; // try again on the next call
        throw e;
      })
      .then((url) => url.replace(/\/+$/, ''));
  }
  return sitePromise;
}

export const request = exam.request;
export const get = exam.get;
export const post = exam.post;
export const put = exam.put;

function fallbackMessage(status) {
  if (status === 503) return '服务器繁忙，请稍候';
  if (status === 429) return '请求过于频繁，请稍后再试';
  if (status >= 500) return '服务器暂时无法处理，请稍后再试';
  return '请求失败（' + status + '）';
}

// How long to wait before the next try: Retry-After (or a growing default) times a
// random factor in [1, 2), capped at a minute.
export function backoff(err, attempt) {
  const base = err && err.retryAfter != null ? err.retryAfter * 1000 : Math.min(30000, 1000 * 2 ** attempt);
  return Math.min(60000, Math.max(500, base) * (1 + Math.random()));
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Runs fn() until it succeeds, waiting through 503 and short 429 (Retry-After up to a
// minute), and through network failures when retryNetwork is set. onWait({seconds,
// attempt, message}) is called before each wait and onWait(null) once it is over.
export async function retrying(fn, { onWait = () => {}, retryNetwork = false, maxAttempts = 1000 } = {}) {
  for (let attempt = 0; ; attempt++) {
    try {
      const r = await fn();
      if (attempt) onWait(null);
      return r;
    } catch (e) {
      const busy = e.status === 503 || (e.status === 429 && e.retryAfter != null && e.retryAfter <= 60);
      if (!(busy || (retryNetwork && e.network)) || attempt + 1 >= maxAttempts) {
        if (attempt) onWait(null);
        throw e;
      }
      const ms = backoff(e, attempt);
      onWait({ seconds: Math.ceil(ms / 1000), attempt: attempt + 1, message: e.message, network: e.network });
      await sleep(ms);
    }
  }
}
