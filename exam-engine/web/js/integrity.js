// integrity.js - leaving the exam page (切屏), as the page sees it (issue 18).
//
// A departure starts when the tab is hidden, when the window loses the focus for more
// than BLUR_MIN_MS, or when fullscreen is left (if the cycle asks for fullscreen); it ends
// when the physician is back. Each is sent to examd as its own event (PUT
// /sessions/{id}/departures/{event id}, idempotent per id) through an outbox in
// localStorage like the answers', so one made offline, or cut short by a crash or a
// reload, is sent later and counted once. Times are the server's (clock.js).
//
// This is a signal for invigilators, not a lock: a modified page can stop reporting.

import * as api from './api.js';
import * as clock from './clock.js';

const BLUR_MIN_MS = 1500; // a focus lost for less (a notification, a click on the taskbar) is not a departure
const PREFIX = 'dk.dep.';

function load(key) {
  try {
    const v = JSON.parse(localStorage.getItem(key) || '{}');
    return v && typeof v === 'object' ? v : {};
  } catch {
    return {};
  }
}

function randomId() {
  const b = new Uint8Array(12);
  crypto.getRandomValues(b);
  return 'dp-' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export function forgetDepartures(sid) {
  try {
    localStorage.removeItem(PREFIX + sid);
  } catch {
    /* nothing to do */
  }
}

/**
 * Watches the page for one live session. rules: the session's `integrity` object
 * (departures, warn_at, submit_at, require_fullscreen). on: { count(n, reply|null),
 * autoSubmit(reply), fullscreen(inside) }.
 */
export class Departures {
  constructor(sid, rules, on) {
    this.sid = sid;
    this.key = PREFIX + sid;
    this.rules = rules || {};
    this.on = on;
    this.count = this.rules.departures || 0;
    const kept = load(this.key);
    this.queue = Array.isArray(kept.queue) ? kept.queue.filter((e) => e && typeof e.id === 'string') : [];
    this.open = kept.open && typeof kept.open.at === 'number' ? kept.open : null; // {id, kind, at}
    this.blurTimer = null;
    this.sending = false;
    this.stopped = false;
    this.offs = [];
    // a departure still open from before a reload or a crash ends now
    if (this.open) this.close();
    const listen = (t, type, fn) => {
      t.addEventListener(type, fn);
      this.offs.push(() => t.removeEventListener(type, fn));
    };
    listen(document, 'visibilitychange', () => {
      if (document.visibilityState === 'hidden') this.begin('hidden');
      else if (document.hasFocus() && this.inside()) this.close();
    });
    listen(window, 'blur', () => {
      clearTimeout(this.blurTimer);
      const at = clock.now();
      this.blurTimer = setTimeout(() => this.begin('blur', at), BLUR_MIN_MS);
    });
    listen(window, 'focus', () => {
      clearTimeout(this.blurTimer);
      if (document.visibilityState === 'visible' && this.inside()) this.close();
    });
    listen(document, 'fullscreenchange', () => {
      const inside = this.inside();
      if (this.on.fullscreen) this.on.fullscreen(inside);
      if (!inside) this.begin('fullscreen');
      else if (document.visibilityState === 'visible') this.close();
    });
    listen(window, 'online', () => this.pump());
    this.pump();
  }

  // in fullscreen, or not asked to be
  inside() {
    return !this.rules.require_fullscreen || !!document.fullscreenElement;
  }

  save() {
    try {
      if (this.queue.length || this.open) localStorage.setItem(this.key, JSON.stringify({ queue: this.queue, open: this.open }));
      else localStorage.removeItem(this.key);
    } catch {
      /* storage full or disabled: kept for this page only */
    }
  }

  begin(kind, at = clock.now()) {
    if (this.stopped) return;
    if (this.open) {
      if (kind === 'hidden' && this.open.kind === 'blur') this.open.kind = 'hidden'; // the stronger one
      this.save();
      return;
    }
    this.open = { id: randomId(), kind, at: Math.round(at) };
    this.save();
  }

  close() {
    if (!this.open) return;
    const o = this.open;
    this.open = null;
    this.queue.push({ id: o.id, kind: o.kind, started_at: o.at, duration_ms: Math.max(0, Math.round(clock.now() - o.at)) });
    this.count++;
    if (this.on.count) this.on.count(this.count, null);
    this.save();
    this.pump();
  }

  async pump() {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.queue.length && navigator.onLine) {
        const e = this.queue[0];
        let r;
        try {
          r = await api.put(`/api/v1/sessions/${this.sid}/departures/${e.id}`, {
            kind: e.kind,
            started_at: e.started_at,
            duration_ms: e.duration_ms,
          });
        } catch (err) {
          if (err.transient || err.status === 429) {
            await api.sleep(api.backoff(err, 2));
            continue;
          }
          // refused (a bad event, the session gone): dropped, it cannot be sent
        }
        this.queue.shift();
        this.save();
        if (r) {
          this.count = Math.max(this.count, r.departures);
          if (this.on.count) this.on.count(this.count, r);
          if (r.auto_submit && this.on.autoSubmit) this.on.autoSubmit(r);
        }
      }
    } finally {
      this.sending = false;
    }
  }

  // Stops watching; what waits in the outbox is sent on (late events count too).
  stop() {
    this.stopped = true;
    clearTimeout(this.blurTimer);
    for (const off of this.offs.splice(0)) off();
  }
}

// The rule in plain Chinese, for the camera page and the exam's top; "" when none.
export function ruleText(rules) {
  if (!rules) return '';
  const parts = [];
  if (rules.require_fullscreen) parts.push('本场考试须全屏作答，退出全屏记为离开考试页面');
  if (rules.submit_at) parts.push(`离开考试页面（切屏）累计达到 ${rules.submit_at} 次，系统将自动交卷`);
  else if (rules.warn_at) parts.push(`离开考试页面（切屏）达到 ${rules.warn_at} 次将收到警告，并记录供监考人员核查`);
  if (rules.submit_at && rules.warn_at && rules.warn_at < rules.submit_at)
    parts.push(`第 ${rules.warn_at} 次起会收到警告`);
  return parts.length ? parts.join('；') + '。' : '';
}
