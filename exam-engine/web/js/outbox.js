// outbox.js - answers chosen but not yet acknowledged by the server, kept in
// localStorage under the session's id so that a reload, a crash or a network outage
// loses nothing. Entries are kept in the order the physician made them (a new choice
// for a question replaces its older unsent one and goes to the end) and are sent one
// at a time from the head (exam.js does the sending). Only this module writes the key.

const PREFIX = 'dk.outbox.';

export class Outbox {
  constructor(sessionId) {
    this.key = PREFIX + sessionId;
    this.items = [];
    this.seq = 0;
    this.durable = true;
    try {
      const v = JSON.parse(localStorage.getItem(this.key) || '[]');
      if (Array.isArray(v)) this.items = v.filter((x) => x && Number.isInteger(x.no) && typeof x.choice === 'string');
    } catch {
      this.items = [];
    }
    for (const x of this.items) this.seq = Math.max(this.seq, x.seq || 0);
  }

  save() {
    try {
      if (this.items.length) localStorage.setItem(this.key, JSON.stringify(this.items));
      else localStorage.removeItem(this.key);
      this.durable = true;
    } catch {
      this.durable = false; // storage full or disabled: kept in memory only
    }
  }

  get size() {
    return this.items.length;
  }

  put(no, choice) {
    this.items = this.items.filter((x) => x.no !== no);
    this.items.push({ no, choice, seq: ++this.seq, at: Date.now() });
    this.save();
  }

  head() {
    return this.items[0] || null;
  }

  // the entry for a question, if one waits
  pending(no) {
    return this.items.find((x) => x.no === no) || null;
  }

  // removes an entry once the server has it (no-op if a newer choice replaced it)
  done(item) {
    const n = this.items.length;
    this.items = this.items.filter((x) => x.seq !== item.seq);
    if (this.items.length !== n) this.save();
  }

  clear() {
    this.items = [];
    this.save();
  }
}
