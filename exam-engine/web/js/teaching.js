// teaching.js - 跟班带教修改申请 (seed 002's home task; the model is admin/README.md's): the
// physician's 跟班带教 of this cycle (trainees taught alongside, hours, a description) as the
// enrolment holds it, the requests made, and the form for a new one. A request is possible
// once the registration is submitted and until the assessment is finished, one at a time;
// the institution approves (the values change) or rejects it with a reason
// (admind /api/v1/physician/teaching-requests).

import * as api from './api.js';
import { check, field, values } from './form.js';
import { loadError, tag } from './portal.js';
import { $, el, fmtWhen } from './ui.js';

const STATE = { 待审核: 'wait', 通过: 'ok', 驳回: 'bad' };
const LOCKED = ['待报名', '待报名（被机构驳回）', '考核完成', '退出本周期'];

export async function show(view, ctx) {
  const body = $(view, '.portal-body');
  const title = () => el('h1', { id: 'portal-title', text: '跟班带教' });

  async function load(notice) {
    body.replaceChildren(title(), el('p', { class: 'loading-text', role: 'status' }, el('span', { class: 'spinner', 'aria-hidden': 'true' }), '正在加载……'));
    let r;
    try {
      await api.site();
      r = await api.retrying(() => api.admin.get('/api/v1/physician/teaching-requests'), { onWait: ctx.wait, retryNetwork: true, maxAttempts: 3 });
    } catch (e) {
      if (e.status === 401) return;
      return loadError(body, e, () => ctx.go('teaching'));
    }
    const cur = r.current;
    const parts = [title(), el('p', { class: 'lead', text: '本周期参加跟班带教（带教学员跟班学习）的情况，是工作成绩的一部分。报名提交后如需修改，请提出修改申请，由所在医疗卫生机构审核。' })];
    if (notice) parts.push(el('p', { class: 'notice', 'data-kind': 'ok', role: 'status', text: notice }));
    if (!cur) {
      parts.push(el('p', { class: 'notice', 'data-kind': 'warn', text: '所在医疗卫生机构尚未确认您参加本周期定期考核。' }));
      return body.replaceChildren(...parts);
    }
    parts.push(el('dl', { class: 'facts' },
      ...[['带教人数', cur.trainees === null ? '未填报' : `${cur.trainees} 人`], ['带教学时', cur.hours === null ? '未填报' : `${cur.hours} 学时`], ['带教情况说明', cur.description || '—']]
        .map(([k, v]) => el('div', {}, el('dt', { text: k }), el('dd', { text: v })))));
    const pending = r.items.some((x) => x.status === '待审核');
    if (LOCKED.includes(cur.status)) {
      parts.push(el('p', { class: 'notice', 'data-kind': 'info', text: `报名状态为“${cur.status}”，现在不能提出跟班带教修改申请（报名提交之后、考核完成之前可以申请）。` }));
    } else if (pending) {
      parts.push(el('p', { class: 'notice', 'data-kind': 'info', text: '已有一条修改申请等待所在医疗卫生机构审核。' }));
    } else {
      parts.push(requestForm(cur));
    }
    if (r.items.length) {
      parts.push(el('h2', { text: '我的修改申请' }),
        el('div', { class: 'table-wrap' }, el('table', { class: 'data teaching-requests' },
          el('caption', { class: 'sr-only', text: '跟班带教修改申请' }),
          el('thead', {}, el('tr', {}, ...['申请时间', '申请修改为', '修改原因', '状态', '驳回理由'].map((t) => el('th', { scope: 'col', text: t })))),
          el('tbody', {}, ...r.items.map((x) => el('tr', {},
            el('td', { 'data-label': '申请时间', text: fmtWhen(x.created_at) }),
            el('td', { 'data-label': '申请修改为', text: `${x.trainees} 人，${x.hours} 学时；${x.description}` }),
            el('td', { 'data-label': '修改原因', text: x.reason }),
            el('td', { 'data-label': '状态' }, tag(x.status, STATE[x.status] || 'wait')),
            el('td', { 'data-label': '驳回理由', text: x.reject_reason || '—' })))))));
    }
    body.replaceChildren(...parts);
  }

  function requestForm(cur) {
    const trainees = field({ name: 'trainees', label: '带教人数', type: 'number', max: 1000, required: true, value: cur.trainees ?? '' });
    const hours = field({ name: 'hours', label: '带教学时', type: 'number', max: 10000, required: true, value: cur.hours ?? '' });
    const desc = field({ name: 'description', label: '带教情况说明', type: 'textarea', rows: 3, maxChars: 1000, required: true, wide: true, value: cur.description || '' });
    const reason = field({ name: 'reason', label: '修改原因', type: 'textarea', rows: 3, maxChars: 1000, required: true, wide: true });
    const err = el('p', { class: 'notice', 'data-kind': 'warn', role: 'alert', hidden: true });
    const btn = el('button', { type: 'submit', class: 'btn primary', text: '提交修改申请' });
    const form = el('form', { class: 'card', novalidate: true, 'aria-labelledby': 'tf-title' },
      el('h2', { id: 'tf-title', text: '申请修改跟班带教情况' }),
      el('div', { class: 'form-grid' }, trainees, hours, desc, reason), err, el('div', { class: 'row' }, btn));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const fields = [trainees, hours, desc, reason];
      if (check(fields, true).length) return;
      const v = values(fields);
      btn.disabled = true;
      err.hidden = true;
      try {
        await api.admin.post('/api/v1/physician/teaching-requests', { trainees: Number(v.trainees), hours: Number(v.hours), description: v.description, reason: v.reason });
        await load('修改申请已提交，等待所在医疗卫生机构审核。');
      } catch (e) {
        btn.disabled = false;
        if (e.status === 401) return;
        err.textContent = e.message;
        err.hidden = false;
      }
    });
    return form;
  }

  await load();
}
