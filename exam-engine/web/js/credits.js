// credits.js - 我的学分: the physician's continuing-medical-education credits (继续医学教育,
// admind GET /api/v1/physician/cme): the 继教IC卡 number, each year's I类/II类 credits and its
// annual verification (年度验证) against the rule of the province and year, and the credits
// granted project by project. Also the table of a cycle's years shown in the self-assessment.

import * as api from './api.js';
import { loadError, tag } from './portal.js';
import { $, el, fmtDate } from './ui.js';

const num = (x) => (x === null || x === undefined ? '—' : String(Number(Number(x).toFixed(1))));

export function yearsTable(years, caption) {
  return el('div', { class: 'table-wrap' }, el('table', { class: 'data cme-years' },
    el('caption', { class: 'sr-only', text: caption }),
    el('thead', {}, el('tr', {}, ...['年度', 'I类学分', 'II类学分', '合计', '要求', '年度验证', '差额'].map((t) => el('th', { scope: 'col', text: t })))),
    el('tbody', {}, ...years.map((y) => el('tr', { 'data-year': y.year },
      el('td', { 'data-label': '年度', text: String(y.year) }),
      el('td', { 'data-label': 'I类学分', text: num(y.i_credits) }),
      el('td', { 'data-label': 'II类学分', text: num(y.ii_credits) }),
      el('td', { 'data-label': '合计', text: num(y.total) }),
      el('td', { 'data-label': '要求', text: `≥ ${num(y.rule.total_min)}（I类 ${num(y.rule.i_min)}–${num(y.rule.i_max)}，II类 ${num(y.rule.ii_min)}–${num(y.rule.ii_max)}）` }),
      el('td', { 'data-label': '年度验证' }, tag(y.status, y.passed ? 'ok' : 'bad')),
      el('td', { 'data-label': '差额', text: y.shortfall || '—' }))))));
}

export async function show(view, ctx) {
  const body = $(view, '.portal-body');
  body.append(el('h1', { id: 'portal-title', text: '我的学分' }), el('p', { class: 'loading-text', role: 'status' }, el('span', { class: 'spinner', 'aria-hidden': 'true' }), '正在加载……'));
  let r;
  try {
    await api.site();
    r = await api.retrying(() => api.admin.get('/api/v1/physician/cme'), { onWait: ctx.wait, retryNetwork: true, maxAttempts: 3 });
  } catch (e) {
    if (e.status === 401) return;
    return loadError(body, e, () => ctx.go('credits'));
  }
  if (!r.card) {
    body.replaceChildren(el('h1', { id: 'portal-title', text: '我的学分' }), el('p', { class: 'empty-box', text: r.message }));
    return;
  }
  body.replaceChildren(
    el('h1', { id: 'portal-title', text: '我的学分' }),
    el('p', { class: 'lead', text: `继教IC卡编号 ${r.card.card_no}　${r.card.institution_name}` }),
    el('p', { class: 'small muted', text: '参加继教项目时请携带继教IC卡或提供卡号；学分由省继教办在项目结束并核查后授予。' }),
    el('h2', { text: '年度验证' }),
    yearsTable(r.years, '各年度学分与年度验证'),
    el('h2', { text: '学分明细' }),
    r.credits.length
      ? el('div', { class: 'table-wrap' }, el('table', { class: 'data cme-credits' },
        el('caption', { class: 'sr-only', text: '学分明细' }),
        el('thead', {}, el('tr', {}, ...['年度', '项目', '级别', '类别', '学分', '授予日期'].map((t) => el('th', { scope: 'col', text: t })))),
        el('tbody', {}, ...r.credits.map((c) => el('tr', {},
          el('td', { 'data-label': '年度', text: String(c.year) }),
          el('td', { 'data-label': '项目', text: `${c.project_no} ${c.project_name}` }),
          el('td', { 'data-label': '级别', text: c.level }),
          el('td', { 'data-label': '类别', text: c.category }),
          el('td', { 'data-label': '学分', text: num(c.credits) }),
          el('td', { 'data-label': '授予日期', text: fmtDate(c.granted_at) }))))))
      : el('p', { class: 'empty-box', text: '暂无学分记录。' }));
}
