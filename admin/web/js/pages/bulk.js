// pages/bulk.js - an authority's bulk actions over a filtered list (issue 16 item 8):
// 批量补考确认 (the province confirms or refuses every 待确认补考 the filters select) and
// 缺考认定 (after the test window, the physicians who missed a required test are judged
// 不合格 in that test, seed [001]). The page always shows "将处理 N 条" from a fresh preview
// before anything is done, and sends that preview's count and digest with the action: if
// the set changed meanwhile the server refuses it (409) and the page previews again.

import * as api from '../api.js';
import { h, card, btn, toast, modal, tag, showError, listView } from '../ui.js';
import { regionInstitutions } from './progress.js';

function filterParams(lv) {
  const p = lv.params();
  delete p.page;
  delete p.page_size;
  for (const k of Object.keys(p)) if (p[k] === '' || p[k] === null || p[k] === undefined) delete p[k];
  return p;
}

// One bulk page: previewPath lists the set with {count, digest}; run(filters, preview, reason)
// performs it. actions: [{label, danger, reason: label or null, run}]
async function bulkPage(ctx, { title, hint, previewPath, actions, allowed, deniedText }) {
  const insts = await regionInstitutions();
  const countLine = h('p', { class: 'bulk-count', role: 'status', 'aria-live': 'polite' });
  const lv = listView({
    filters: [
      { name: 'institution_id', label: '医疗卫生机构', type: 'select', options: insts.map((i) => [String(i.id), i.name]), placeholderOption: '全部机构' },
      { name: 'procedure', label: '考核程序', type: 'select', options: ['一般程序', '简易程序'], placeholderOption: '全部' },
      { name: 'name', label: '姓名' },
      { name: 'id_number', label: '证件号码' },
    ],
    columns: [
      { title: '序号', render: (r, i) => i + 1, width: '56px' },
      { title: '医疗卫生机构', key: 'institution_name' },
      { title: '姓名', key: 'name' },
      { title: '证件号码', key: 'id_number' },
      { title: '执业类别', key: 'practice_category' },
      { title: '考核程序', render: (r) => r.procedure_type || '—' },
      { title: '状态', render: (r) => tag(r.status) },
      { title: '操作', render: (r) => h('div', { class: 'ops' }, h('button', { type: 'button', class: 'link', onclick: () => ctx.go('review/' + r.enrolment_id) }, '查看')) },
    ],
    fetch: (p) => api.get(previewPath + api.qs(p)),
    after: (r) => {
      countLine.textContent = r.digest ? `当前筛选结果共 ${r.count} 条` : `当前筛选结果共 ${r.count} 条，超过一次可处理的 ${r.max} 条，请缩小筛选范围`;
    },
    toolbar: allowed
      ? actions.map((a) =>
          btn(a.label, async () => {
            const filters = filterParams(lv);
            let pv;
            try {
              pv = await api.get(previewPath + api.qs({ ...filters, page_size: 1 }));
            } catch (e) {
              return showError(e);
            }
            if (!pv.count) return showError(new Error('当前筛选结果中没有需要处理的记录'));
            if (!pv.digest) return showError(new Error(`筛选结果共 ${pv.count} 条，超过一次可处理的 ${pv.max} 条，请按机构等条件缩小范围`));
            const ta = a.reason && h('textarea', { rows: 3, maxlength: 991, 'aria-label': a.reason, placeholder: '请输入' + a.reason });
            const ok = await modal({
              title: a.label,
              danger: a.danger,
              okText: `确认${a.label}`,
              body: h(
                'div',
                { class: 'form' },
                h('p', { class: 'confirm-text bulk-preview' }, `将处理 ${pv.count} 条：${a.what}`),
                h('p', { class: 'muted small' }, '处理的是当前筛选条件下的全部记录（不只是本页）。如果名单在此期间发生变化，系统将拒绝执行，请重新预览。'),
                ta && h('label', { class: 'field' }, h('span', { class: 'lbl req' }, a.reason), ta),
              ),
              onOk: async () => {
                const reason = ta ? ta.value.trim() : null;
                if (ta && !reason) throw new Error('请填写' + a.reason);
                const r = await a.run(filters, pv, reason);
                toast(`已处理 ${r.processed} 条`);
              },
            });
            if (ok) lv.load(1);
            else lv.reload();
          }, a.danger ? 'danger' : 'primary'),
        )
      : [],
    cols: 4,
  });
  await lv.load(1);
  return card(title, h('div', null, h('p', { class: 'muted' }, allowed ? hint : deniedText), countLine, lv.el));
}

export function makeups(ctx) {
  const run = (action) => (filters, pv, reason) =>
    api.post('/authority/makeups/bulk' + api.qs(filters), { action, count: pv.count, digest: pv.digest, ...(reason ? { reason } : {}) });
  return bulkPage(ctx, {
    title: '批量补考确认',
    hint: '按条件筛选待确认补考的医师，批量确认补考或不予补考（不予补考的，考核结果为不合格）。每位医师的处理都写入其操作日志。',
    previewPath: '/authority/makeups/preview',
    allowed: ctx.province,
    deniedText: '补考由省级卫生行政部门确认，本页仅供查看。',
    actions: [
      { label: '批量确认补考', what: '确认补考（→ 待参加补考）', run: run('makeup_confirm') },
      { label: '批量不予补考', what: '不予补考（→ 考核完成，不合格）', danger: true, reason: '不予补考的理由', run: run('makeup_refuse') },
    ],
  });
}

export function absentees(ctx) {
  return bulkPage(ctx, {
    title: '缺考认定',
    hint: '测评时间结束后仍未参加测评（或补考时间结束后未参加补考）的医师，该项测评判定为不合格（未参加测评），并进入待确认补考（补考未参加的，考核完成、不合格）。系统每 10 分钟也会自动认定。',
    previewPath: '/authority/absentees/preview',
    allowed: true,
    actions: [
      {
        label: '认定缺考',
        what: '未参加的测评判定为不合格',
        danger: true,
        run: (filters, pv) => api.post('/authority/absentees/mark' + api.qs(filters), { count: pv.count, digest: pv.digest }),
      },
    ],
  });
}
