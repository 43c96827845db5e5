// api.js - the console's client of admind's JSON API (/api/v1): the session (token and
// acting role in sessionStorage, so a closed tab logs out), one call() for every
// request, files and photos as blobs (every photo request carries the token, so they are
// fetched, never linked), and the busy counter the page shows and tests wait on.
//
// Errors come back as ApiError {status, code, message}; a 401 ends the session and
// goes back to the login page, saying why; a 403 password_change_required (a token that
// must still change its initial password) goes to the forced change.

const KEY = 'dk.console';

export const session = {
  get() {
    try {
      return JSON.parse(sessionStorage.getItem(KEY)) || null;
    } catch {
      return null;
    }
  },
  set(s) {
    sessionStorage.setItem(KEY, JSON.stringify(s));
  },
  update(patch) {
    this.set({ ...(this.get() || {}), ...patch });
  },
  clear() {
    sessionStorage.removeItem(KEY);
  },
};

export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

let inflight = 0;
function busy(delta) {
  inflight += delta;
  document.body.dataset.busy = String(inflight);
}
document.body.dataset.busy = '0';

let onExpired = () => {};
export function setExpiredHandler(fn) {
  onExpired = fn;
}
let onMustChange = () => {};
export function setMustChangeHandler(fn) {
  onMustChange = fn;
}

// Query strings: undefined, null and '' are left out.
export function qs(params = {}) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? '?' + s : '';
}

// call(method, path, {body, raw, ctype, as: 'json'|'blob', auth, keepalive}) -> JSON (or a Blob);
// keepalive: the request outlives the page (a logout sent while leaving)
export async function call(method, path, opts = {}) {
  const headers = {};
  const s = session.get();
  if (s && s.token && opts.auth !== false) headers.Authorization = 'Bearer ' + s.token;
  let body;
  if (opts.raw !== undefined) {
    body = opts.raw;
    headers['Content-Type'] = opts.ctype || 'application/octet-stream';
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['Content-Type'] = 'application/json';
  }
  busy(+1);
  try {
    let r;
    try {
      r = await fetch('/api/v1' + path, { method, headers, body, keepalive: !!opts.keepalive });
    } catch {
      throw new ApiError(0, 'NETWORK', '网络连接失败，请检查网络后重试');
    }
    if (r.ok && opts.as === 'blob') return { blob: await r.blob(), type: r.headers.get('Content-Type') || '' };
    const text = await r.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    if (r.ok) return json;
    const e = (json && json.error) || {};
    const msg =
      e.message ||
      (r.status === 503 ? '服务器繁忙，请稍后重试' : r.status === 413 ? '文件过大' : `请求失败（HTTP ${r.status}）`);
    const err = new ApiError(r.status, e.code || 'HTTP_' + r.status, msg, json);
    if (r.status === 401 && opts.auth !== false && path !== '/password') {
      session.clear();
      onExpired(msg);
    }
    if (r.status === 403 && err.code === 'password_change_required') onMustChange(msg);
    throw err;
  } finally {
    setTimeout(() => busy(-1), 0);
  }
}

export const get = (p, o) => call('GET', p, o);
export const post = (p, body = {}, o = {}) => call('POST', p, { ...o, body });
export const put = (p, body = {}, o = {}) => call('PUT', p, { ...o, body });
export const del = (p, o) => call('DELETE', p, o);

// Object URLs of fetched photos, released when the page changes.
const urls = new Set();
export async function blobUrl(path) {
  const { blob } = await call('GET', path, { as: 'blob' });
  const u = URL.createObjectURL(blob);
  urls.add(u);
  return u;
}
export function releaseBlobs() {
  for (const u of urls) URL.revokeObjectURL(u);
  urls.clear();
}

// Saves a file the API returns (export, attachment) under filename.
export async function download(path, filename) {
  const { blob } = await call('GET', path, { as: 'blob' });
  const u = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = u;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(u), 10000);
}

// Opens an attachment (PDF, image) in a new tab.
export async function openFile(path) {
  const { blob } = await call('GET', path, { as: 'blob' });
  const u = URL.createObjectURL(blob);
  window.open(u, '_blank', 'noopener');
  setTimeout(() => URL.revokeObjectURL(u), 60000);
}
