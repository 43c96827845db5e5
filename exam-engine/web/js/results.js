// results.js - 考核结果: the physician's assessments over every cycle (GET
// /physician/results), and the pass certificate of a 考核完成 合格 enrolment as a page to
// print (A4 landscape, a Chinese serif font; @media print leaves only the certificate).
// The certificate is valid only with the issuing authority's seal (seeds [002][004]).

import * as api from './api.js';
import { certificateElement } from '../shared/certificate.js';
import { loadError, tag } from './portal.js';
import { $, el, fmtDate, fmtDateCn, fmtWhen } from './ui.js';

export async function list(view, ctx) {
  const body = $(view, '.portal-body');
  body.append(el('h1', { id: 'portal-title', text: '考核结果' }), el('p', { class: 'loading-text', role: 'status' }, el('span', { class: 'spinner', 'aria-hidden': 'true' }), '正在加载……'));
  let r;
  try {
    await api.site();
    r = await api.retrying(() => api.admin.get('/api/v1/physician/results'), { onWait: ctx.wait, retryNetwork: true, maxAttempts: 3 });
  } catch (e) {
    if (e.status === 401) return;
    return loadError(body, e, () => ctx.go('results'));
  }
  const items = r.items || [];
  const result = (x) => (x.result ? tag(x.result, x.result === '合格' ? 'ok' : 'bad') : el('span', { class: 'muted', text: '—' }));
  body.replaceChildren(
    el('h1', { id: 'portal-title', text: '考核结果' }),
    el('p', { class: 'lead', text: '历次定期考核的结果。考核结果为合格的，可以查看并打印合格证书（加盖发证机关印章后有效）。' }),
    items.length
      ? el('div', { class: 'table-wrap' }, el('table', { class: 'data results' },
        el('caption', { class: 'sr-only', text: '历次考核结果' }),
        el('thead', {}, el('tr', {}, ...['考核周期', '考核程序', '考核状态', '测评情况', '免考状态', '考核结果', '完成时间', '操作'].map((t) => el('th', { scope: 'col', text: t })))),
        el('tbody', {}, ...items.map((x) => el('tr', { 'data-enrolment': x.enrolment_id },
          el('td', { 'data-label': '考核周期' }, el('b', { text: x.cycle_name }), el('br'), el('span', { class: 'small muted', text: `${fmtDate(x.period_start)} 至 ${fmtDate(x.period_end)}` })),
          el('td', { 'data-label': '考核程序', text: x.procedure_type || '—' }),
          el('td', { 'data-label': '考核状态', text: x.status }),
          el('td', { 'data-label': '测评情况', text: x.tests || '—' }),
          el('td', { 'data-label': '免考状态', text: x.exemption_status || '未申请' }),
          el('td', { 'data-label': '考核结果' }, result(x), x.result_reason ? el('span', { class: 'small muted', text: ` ${x.result_reason}` }) : null),
          el('td', { 'data-label': '完成时间', text: fmtWhen(x.completed_at) || '—' }),
          el('td', { 'data-label': '操作' }, x.certificate
            ? el('a', { class: 'btn small-btn', href: `#/certificate/${x.enrolment_id}`, text: '合格证书' })
            : el('span', { class: 'muted', text: '—' })))))))
      : el('p', { class: 'empty-box', text: '还没有考核记录。' }));
}

// 下载证书 (the picture, seed [004]) and 下载 PDF: admind renders the certificate with the QR
// code of its public check.
async function downloadCert(eid, no, format) {
  try {
    const b = await api.admin.blob(`/api/v1/enrolments/${encodeURIComponent(eid)}/certificate?format=${format}`);
    const u = URL.createObjectURL(b);
    const a = el('a', { href: u, download: `合格证书-${no}.${format}` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(u), 10000);
  } catch (e) {
    window.alert(e.message || '下载失败，请稍后重试');
  }
}

export async function certificate(view, ctx, eid) {
  const body = $(view, '.portal-body');
  view.classList.add('cert-view');
  body.append(el('p', { class: 'loading-text', role: 'status' }, el('span', { class: 'spinner', 'aria-hidden': 'true' }), '正在加载合格证书……'));
  let c;
  try {
    await api.site();
    c = await api.admin.get(`/api/v1/enrolments/${encodeURIComponent(eid)}/certificate`);
  } catch (e) {
    if (e.status === 401) return;
    body.replaceChildren(el('h1', { id: 'portal-title', text: '合格证书' }));
    body.append(el('div'));
    loadError(body.lastChild, e, () => ctx.go('certificate', eid));
    body.append(el('button', { type: 'button', class: 'btn link', text: '返回考核结果', onclick: () => ctx.go('results') }));
    return;
  }
  const p = c.physician || {};
  const photo = el('div', { class: 'cert-photo' }, '照片');
  if (c.has_photo) {
    api.admin.blob('/api/v1/physician/photo').then((b) => {
      const u = URL.createObjectURL(b);
      ctx.onLeave(() => URL.revokeObjectURL(u));
      photo.replaceChildren(el('img', { src: u, alt: `${p.name}的照片` }));
    }, () => {});
  }
  const cert = certificateElement(c, { photo, dateCn: fmtDateCn });
  body.replaceChildren(
    el('div', { class: 'row no-print cert-tools' },
      el('button', { type: 'button', class: 'btn primary', text: '打印证书', onclick: () => window.print() }),
      el('button', { type: 'button', class: 'btn', text: '下载证书', onclick: () => downloadCert(eid, c.cert_no, 'png') }),
      el('button', { type: 'button', class: 'btn', text: '下载 PDF', onclick: () => downloadCert(eid, c.cert_no, 'pdf') }),
      el('button', { type: 'button', class: 'btn', text: '返回考核结果', onclick: () => ctx.go('results') }),
      el('span', { class: 'small muted', text: '打印时请选择 A4 横向；证书加盖发证机关印章后有效。' })),
    el('div', { class: 'cert-scroll' }, cert));
}
