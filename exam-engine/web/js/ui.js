// ui.js - small DOM and formatting helpers shared by the views. Times are shown in
// China Standard Time whatever the PC's time zone is set to.

export const $ = (root, sel) => root.querySelector(sel);
export const $$ = (root, sel) => Array.from(root.querySelectorAll(sel));

// A fresh copy of <template id="...">'s content.
export function fromTemplate(id) {
  return document.getElementById(id).content.cloneNode(true);
}

// el('p', {class: 'x', text: '...'}, child, ...)
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') e.textContent = v;
    else if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

const tz = 'Asia/Shanghai';
const dtf = new Intl.DateTimeFormat('zh-CN', {
  timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false,
});
const tf = new Intl.DateTimeFormat('zh-CN', {
  timeZone: tz, hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
});

function parts(fmt, ms) {
  const o = {};
  for (const p of fmt.formatToParts(new Date(ms))) o[p.type] = p.value;
  return o;
}

export function fmtDateTime(ms) {
  const p = parts(dtf, ms);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

export function fmtTime(ms) {
  const p = parts(tf, ms);
  return `${p.hour}:${p.minute}:${p.second}`;
}

// 3599000 -> "00:59:59"
export function fmtCountdown(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(s / 3600),
    m = Math.floor((s % 3600) / 60),
    x = s % 60;
  return [h, m, x].map((v) => String(v).padStart(2, '0')).join(':');
}

export function fmtMinutes(ms) {
  return Math.round(ms / 60000) + ' 分钟';
}

// "第 3、17、42 题" (at most `max` numbers, then "等 N 题")
export function listNos(nos, max = 12) {
  if (!nos.length) return '';
  const shown = nos.slice(0, max).join('、');
  return nos.length > max ? `第 ${shown} 题等 ${nos.length} 题` : `第 ${shown} 题`;
}

export const TYPE_NAMES = {
  A1: 'A1 型题（单句型最佳选择题）',
  A2: 'A2 型题（病例摘要型最佳选择题）',
  A3: 'A3 型题（病例组型最佳选择题）',
  A4: 'A4 型题（病例串型最佳选择题）',
  B1: 'B1 型题（标准配伍题）',
  X: 'X 型题（多项选择题）',
};

export const PAPER_NAMES = { 公共知识: '人文医学', 业务水平: '业务水平' };

// Times from admind are ISO 8601 strings ("2024-06-03T11:39:05.000Z"); examd sends ms.
export function toMs(t) {
  if (t === null || t === undefined || t === '') return null;
  const ms = typeof t === 'number' ? t : Date.parse(t);
  return isFinite(ms) ? ms : null;
}

// "2024-06-03" in Beijing time (a DATE column "YYYY-MM-DD" is shown as it is)
export function fmtDate(t) {
  if (typeof t === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(t)) return t;
  const ms = toMs(t);
  if (ms === null) return '';
  const p = parts(dtf, ms);
  return `${p.year}-${p.month}-${p.day}`;
}

// "2024 年 6 月 3 日" (certificates)
export function fmtDateCn(t) {
  const d = fmtDate(t);
  if (!d) return '';
  const [y, m, dd] = d.split('-');
  return `${y} 年 ${Number(m)} 月 ${Number(dd)} 日`;
}

export const fmtWhen = (t) => (toMs(t) === null ? '' : fmtDateTime(toMs(t)));

// The length the server counts: characters (code points, as admind and MariaDB's VARCHAR
// count them; String.length would count 𠀀 twice).
export const charLength = (s) => [...(s || '')].length;

// A <dialog> built on the fly; resolves with what the buttons or the form give, null when
// cancelled (Esc, 取消). body: nodes; ok(form) returns the value, or throws an Error whose
// message (if any: a field may say it) is shown in the dialog, which stays open.
export function dialog({ title, body = [], okText = '确定', cancelText = '取消', danger = false, ok = () => true }) {
  return new Promise((resolve) => {
    const err = el('p', { class: 'notice form-error', 'data-kind': 'warn', role: 'alert', hidden: true });
    const id = 'dlg-' + Math.random().toString(36).slice(2, 8);
    const form = el('form', { method: 'dialog', novalidate: true }, ...body, err,
      el('div', { class: 'row end' },
        el('button', { type: 'button', class: 'btn cancel', text: cancelText }),
        el('button', { type: 'submit', class: 'btn primary' + (danger ? ' danger' : ''), text: okText })));
    const d = el('dialog', { class: 'portal-dialog', 'aria-labelledby': id }, el('h2', { id, text: title }), form);
    let done = false;
    const finish = (v) => {
      if (done) return;
      done = true;
      if (d.open) d.close();
      d.remove();
      resolve(v);
    };
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      try {
        finish(ok(form));
      } catch (e) {
        err.textContent = e.message;
        err.hidden = !e.message;
      }
    });
    $(form, '.cancel').addEventListener('click', () => finish(null));
    d.addEventListener('close', () => finish(null));
    document.body.append(d);
    d.showModal();
  });
}
