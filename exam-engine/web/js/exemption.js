// exemption.js - 免考申请: the physician asks for an exemption of one test (the procedure
// decides which: 简易程序 → 人文医学, 一般程序 → 业务水平, seed [004]), uploads the proof
// (PDF/JPG/PNG ≤ 10 MB each) and follows its review by the institution and then the
// 考核机构. A new request is possible while the registration is editable and there is
// none, or the last one was 驳回; files only while the request waits for the institution.

import * as api from './api.js';
import { check, field, values } from './form.js';
import { fileBox } from './files.js';
import { loadError, loadMe, tag } from './portal.js';
import { $, el, fmtWhen } from './ui.js';

const TYPES = ['援外医疗', '对口支援（援疆、援藏、援外等）', '参加重大突发事件医疗救治', '获得省级以上卫生健康表彰', '省级卫生行政部门规定的其他情形'];
const PAPER = { 公共知识: '人文医学', 业务水平: '业务水平' };
const EX_STATUS = {
  待医疗卫生机构审核: ['wait', '已提交，等待所在医疗卫生机构审核。审核前可以继续上传证明材料。'],
  待考核机构复核: ['wait', '所在医疗卫生机构已审核通过，等待考核机构复核。'],
  通过: ['ok', '免考申请已通过，该项测评免考。'],
  驳回: ['bad', '免考申请被驳回。如仍符合免考条件，可以修改后重新申请。'],
};

export async function show(view, ctx) {
  const body = $(view, '.portal-body');
  body.append(el('h1', { id: 'portal-title', text: '免考申请' }), el('p', { class: 'loading-text', role: 'status' }, el('span', { class: 'spinner', 'aria-hidden': 'true' }), '正在加载……'));

  async function load(notice) {
    let me, detail = null;
    try {
      await api.site();
      me = await loadMe(ctx);
      if (me.enrolment && me.exemptions.length) detail = await api.admin.get(`/api/v1/enrolments/${me.enrolment.id}`);
    } catch (e) {
      if (e.status === 401) return;
      return loadError(body, e, () => load(notice));
    }
    render(me, detail, notice);
  }

  function render(me, detail, notice) {
    const e = me.enrolment;
    const ex = (detail ? detail.exemptions : me.exemptions)[0] || null;
    const files = detail ? detail.attachments.filter((a) => a.owner_type === 'exemption_request' && ex && a.owner_id === ex.id) : [];
    const paper = e && e.procedure_type ? (e.procedure_type === '简易程序' ? '人文医学' : '业务水平') : null;
    const editable = !!(e && e.editable);
    const parts = [
      el('h1', { id: 'portal-title', text: '免考申请' }),
      el('p', { class: 'lead', text: '符合免考条件的医师，可以申请免考一项测评：选择简易程序的免考人文医学，选择一般程序的免考业务水平。申请由所在医疗卫生机构审核，再由考核机构复核。' }),
    ];
    if (notice) parts.push(el('p', { class: 'notice', 'data-kind': 'ok', role: 'status', text: notice }));
    if (!e) parts.push(el('p', { class: 'notice', 'data-kind': 'warn', text: '所在医疗卫生机构尚未确认您参加本周期定期考核，暂不能申请免考。' }));
    else if (!e.procedure_type) {
      parts.push(el('p', { class: 'notice', 'data-kind': 'warn' }, '请先在“考核报名”中选择考核程序，再申请免考。 ',
        el('button', { type: 'button', class: 'btn link', text: '去选择考核程序', onclick: () => ctx.go('registration') })));
    }
    if (ex) parts.push(current(ex, files, editable));
    const canRequest = editable && e.procedure_type && (!ex || ex.status === '驳回');
    if (canRequest) parts.push(requestForm(ex, paper));
    else if (e && e.procedure_type && !ex && !editable)
      parts.push(el('p', { class: 'notice', 'data-kind': 'info', text: `报名状态为“${e.status}”，现在不能申请免考（只能在提交报名前、医师报名时间内申请）。` }));
    body.replaceChildren(...parts);
  }

  function current(ex, files, editable) {
    const [tone, means] = EX_STATUS[ex.status] || ['muted', ''];
    const rows = [
      ['免考测评', PAPER[ex.paper] || ex.paper],
      ['免考条件', ex.exemption_type],
      ['情况说明', ex.description],
      ['提交时间', fmtWhen(ex.submitted_at)],
    ];
    const decision = (who, result, reason, at) =>
      result ? el('div', { class: 'decision' }, el('b', { text: `${who}：` }), tag(result, result === '通过' ? 'ok' : 'bad'),
        at ? el('span', { class: 'small muted', text: ` ${fmtWhen(at)}` }) : null,
        reason ? el('p', { class: result === '驳回' ? 'reason-text' : '', text: `${result === '驳回' ? '驳回理由' : '意见'}：${reason}` }) : null) : null;
    const canUpload = editable && ex.status === '待医疗卫生机构审核';
    return el('section', { class: 'card', 'aria-labelledby': 'ex-title' },
      el('div', { class: 'status-head' }, el('h2', { id: 'ex-title', text: '我的免考申请' }), tag(ex.status, tone)),
      el('p', { text: means }),
      ex.status === '驳回'
        ? el('div', { class: 'reason-box', role: 'note', 'aria-label': '驳回理由' },
          el('h3', { text: '驳回理由' }),
          el('p', { class: 'reason-text', text: (ex.assessor_result === '驳回' ? ex.assessor_reason : ex.inst_reason) || '（未填写）' }),
          el('p', { class: 'small muted', text: ex.assessor_result === '驳回' ? '考核机构复核驳回' : '医疗卫生机构审核驳回' }))
        : null,
      el('dl', { class: 'facts' }, ...rows.map(([k, v]) => el('div', {}, el('dt', { text: k }), el('dd', { text: v || '—' })))),
      decision('医疗卫生机构审核', ex.inst_result, ex.inst_reason, ex.inst_decided_at),
      decision('考核机构复核', ex.assessor_result, ex.assessor_reason, ex.assessor_decided_at),
      fileBox({ id: 'ex-files', title: '证明材料', files, canUpload, empty: '还没有上传证明材料。', button: '上传证明材料', reload: load,
        uploadPath: (file) => `/api/v1/physician/exemption/attachments?file_name=${encodeURIComponent(file.name)}&kind=${encodeURIComponent('免考材料')}` }));
  }

  function requestForm(ex, paper) {
    const type = field({ name: 'exemption_type', label: '免考条件', maxChars: 64, required: true, list: TYPES, value: ex ? ex.exemption_type : '',
      hint: '可从列表中选择，或按所在省份的规定填写。' });
    const desc = field({ name: 'description', label: '情况说明', type: 'textarea', rows: 4, maxChars: 2000, value: ex ? ex.description : '', wide: true,
      hint: '简要说明符合免考条件的情况（时间、地点、文件名称等）。' });
    const err = el('p', { class: 'notice', 'data-kind': 'warn', role: 'alert', hidden: true });
    const btn = el('button', { type: 'submit', class: 'btn primary', text: ex ? '重新提交免考申请' : '提交免考申请' });
    const form = el('form', { class: 'card', novalidate: true, 'aria-labelledby': 'exf-title' },
      el('h2', { id: 'exf-title', text: ex ? '重新申请免考' : '申请免考' }),
      el('p', { text: `申请免考的测评：${paper}。提交申请后请上传证明材料。` }),
      el('div', { class: 'form-grid' }, type, desc),
      err,
      el('div', { class: 'row' }, btn));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (check([type, desc], true).length) return;
      const v = values([type, desc]);
      btn.disabled = true;
      err.hidden = true;
      try {
        await api.admin.post('/api/v1/physician/exemption', v.description ? v : { exemption_type: v.exemption_type });
        await load('免考申请已提交，请上传证明材料。');
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
