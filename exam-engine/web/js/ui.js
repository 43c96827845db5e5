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
