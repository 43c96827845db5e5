// pages/review.js - the review pages of the seed manuals: the queues (一般程序审核 / 简易程序
// 审核 for the institution, the same as 复核 for a 考核机构), 免考审核 / 免考复核, and one
// physician's submission (#/review/<enrolment>): tabs 医师信息 / 工作业绩、职业道德 / 免考申请
// / 测评情况 / 提交日志 / 操作日志, then the evaluation of the acting role.
//
// Which buttons a page shows comes from the API (the actions the workflow table allows
// this account in this status), narrowed to the acting role; every decision carries the
// version the page read, so a record changed meanwhile is refused, not overwritten.

import * as api from '../api.js';
import { yearsTable as cmeYears } from './cme.js';
import { h, card, btn, link, toast, modal, askReason, tag, listView, desc, table, tabs, fmtDate, fmtTime, paperName, showError, empty, form } from '../ui.js';

export const ACTION_LABEL = {
  submit: '提交报名',
  confirm: '确认参加',
  cancel: '取消参加',
  inst_pass: '机构审核提交',
  inst_reject: '机构驳回',
  assessor_pass: '考核机构复核通过',
  assessor_reject: '考核机构复核驳回',
  authority_reject: '卫生行政部门驳回',
  makeup_confirm: '确认补考',
  makeup_refuse: '不予补考',
  withdraw: '退出本周期',
  tests: '测评结果变更',
  test_scored: '测评交卷评分',
  release: '离岗或删除时取消参加',
  request: '申请免考',
  mark: '标记疑似',
  unmark: '取消疑似标记',
  determine: '认定作弊',
  revoke: '撤销认定',
  save_registration: '保存报名信息',
  add_opinion: '新增其它机构意见',
  issue_certificate: '签发合格证书',
  upload_attachment: '上传附件',
  delete_attachment: '删除附件',
  attachment_download: '查看附件',
  start: '开始测评',
};

const ROLE_OF_MODE = { institution: 'institution', assessor: 'assessor', authority: 'authority' };

// the actions of the acting role (a 考核机构 that is also the institution sees one role at a time)
function myActions(list, ctx) {
  const role = ROLE_OF_MODE[ctx.mode];
  return (list || []).filter((a) => a.roles.includes(role) || (ctx.mode === 'authority' && ctx.province && a.roles.includes('province')));
}

// ---- queues -------------------------------------------------------------------------------------------

const INST_STATUSES = ['待医疗卫生机构审核', '待医疗卫生机构审核（被考核机构驳回）', '待报名（被机构驳回）', '待考核机构复核', '待参加考核', '考核完成'];
const ASSR_STATUSES = ['待考核机构复核', '待医疗卫生机构审核（被考核机构驳回）', '待参加考核', '考核完成'];

export async function queue(ctx, procedure) {
  const assessor = ctx.mode === 'assessor';
  const list = listView({
    filters: [
      { name: 'name', label: '姓名' },
      { name: 'id_number', label: '证件号码' },
      {
        name: 'status',
        label: '状态',
        type: 'select',
        options: assessor ? ASSR_STATUSES : INST_STATUSES,
        placeholderOption: assessor ? '待复核' : '待审核（含被考核机构驳回）',
      },
      { name: 'first_reg_from', label: '首次注册从', type: 'date' },
    ],
    columns: [
      ...whoColumns(assessor),
      { title: '提交时间', render: (r) => fmtTime(r.submitted_at) },
      { title: '免考申请', render: (r) => tag(r.exemption_status) || '无' },
      { title: '状态', render: (r) => tag(r.status) },
      { title: '操作', render: (r) => link(isPending(r.status, assessor) ? (assessor ? '复核' : '审核') : '查看', () => ctx.go('review/' + r.enrolment_id)) },
    ],
    fetch: (p) => api.get((assessor ? '/assessor/reviews' : '/institution/reviews') + api.qs({ ...p, procedure })),
  });
  await list.load(1);
  return card(`${procedure}${assessor ? '复核' : '审核'}`, h('div', null, h('p', { class: 'muted' }, hintFor(procedure, assessor)), list.el));
}

// who the row is about: the institution (for a 考核机构) or the department, and the physician
function whoColumns(assessor) {
  return [
    { title: '序号', render: (r, i) => i + 1, width: '56px' },
    assessor ? { title: '医疗卫生机构', key: 'institution_name' } : { title: '科室', render: (r) => r.department_name || '—' },
    { title: '姓名', key: 'name' },
    { title: '证件号码', key: 'id_number' },
    { title: '执业类别', key: 'practice_category' },
    { title: '医师级别', key: 'practice_level' },
    { title: '考核程序', key: 'procedure_type' },
  ];
}

function isPending(status, assessor) {
  return assessor ? status === '待考核机构复核' : status === '待医疗卫生机构审核' || status === '待医疗卫生机构审核（被考核机构驳回）';
}

function hintFor(procedure, assessor) {
  if (assessor) return `复核医疗卫生机构提交的${procedure}评定意见：复核通过后医师进入待参加考核；驳回后退回医疗卫生机构重新评定。`;
  return procedure === '一般程序'
    ? '审核医师的执业经历、工作成绩、职业道德自评：评定合格/不合格后提交考核机构复核；信息有误时驳回，医师修改后可重新提交。工作成绩或职业道德任一项不合格，本次考核结果为不合格。'
    : '审核医师的简易程序申请材料、执业行为记录和个人述职：合格后提交考核机构复核；不符合简易程序条件时驳回。';
}

export async function exemptions(ctx) {
  const assessor = ctx.mode === 'assessor';
  const list = listView({
    filters: [
      { name: 'name', label: '姓名' },
      { name: 'id_number', label: '证件号码' },
      { name: 'status', label: '状态', type: 'select', options: ['待医疗卫生机构审核', '待考核机构复核', '通过', '驳回'], placeholderOption: assessor ? '待复核' : '待审核' },
    ],
    columns: [
      ...whoColumns(assessor),
      { title: '免考测评', render: (r) => paperName(r.paper) },
      { title: '免考条件', key: 'exemption_type' },
      { title: '附件', render: (r) => `${r.attachments} 个` },
      { title: '首次注册时间', render: (r) => fmtDate(r.first_registration_date) },
      { title: '状态', render: (r) => tag(r.status) },
      { title: '操作', render: (r) => link('审核', () => ctx.go(`review/${r.enrolment_id}/exemption`)) },
    ],
    fetch: (p) => api.get((assessor ? '/assessor/exemptions' : '/institution/exemptions') + api.qs(p)),
  });
  await list.load(1);
  return card(assessor ? '免考复核' : '免考审核', h('div', null, h('p', { class: 'muted' }, '简易程序免考人文医学测评，一般程序免考业务水平测评。医疗卫生机构审核通过后，由考核机构复核。'), list.el));
}

// ---- one submission ---------------------------------------------------------------------------------------

function photoOf(p) {
  if (!p.has_photo) return h('div', { class: 'photo-box empty' }, '未上传照片');
  const img = h('img', { class: 'photo-box', alt: `${p.name}的本人照片（头像）` });
  api.blobUrl(`/physicians/${p.id}/photo`).then((u) => (img.src = u), () => img.replaceWith(h('div', { class: 'photo-box empty' }, '照片不可用')));
  return img;
}

const yesNo = (v) => (v === null || v === undefined ? '—' : v ? '有' : '无');

function personTab(d) {
  const p = d.physician;
  // whoever may open this page may see the photo: the institution, its 考核机构 (the
  // enrolment is assigned to it), an authority above; admind audits every view
  return h(
    'div',
    null,
    h('h4', { class: 'sub' }, '基本信息'),
    h(
      'div',
      { class: 'person-head' },
      photoOf(p),
      desc([
        ['姓名', p.name],
        ['性别', p.sex],
        ['证件类型', p.id_type],
        ['证件号码', p.id_number],
        ['出生年月', fmtDate(p.birth_date)],
        ['民族', p.ethnicity],
        ['学历', p.education],
        ['电子邮箱', p.email],
        ['手机号码', p.mobile],
      ]),
    ),
    h('h4', { class: 'sub' }, '执业信息'),
    desc([
      ['科室', p.department_name],
      ['从事专业', p.specialty],
      ['职称', p.title],
      ['职务', p.post],
      ['医师级别', p.practice_level],
      ['规范化培训', p.standardized_training === null ? '—' : p.standardized_training ? '是' : '否'],
      ['执业类别', p.practice_category],
      ['执业范围', p.practice_scope],
      ['医师资格证书编码', p.qualification_cert_no],
      ['执业证书编码', p.practice_cert_no],
      ['执业证取得时间', fmtDate(p.practice_cert_date)],
      ['首次注册时间', fmtDate(p.first_registration_date)],
    ]),
    h('h4', { class: 'sub' }, '执业经历'),
    table(
      [
        { title: '起止时间', render: (r) => `${fmtDate(r.start_date)} 至 ${r.end_date ? fmtDate(r.end_date) : '今'}` },
        { title: '执业机构', key: 'institution_name' },
        { title: '科室', key: 'department' },
        { title: '职务', key: 'position' },
      ],
      d.experience,
      { empty: '未填写执业经历' },
    ).el,
  );
}

function attachmentLinks(list) {
  if (!list.length) return '无';
  return h(
    'span',
    { class: 'ops' },
    list.map((a) => link(`${a.kind}：${a.file_name}`, () => api.openFile(`/attachments/${a.id}`).catch(showError))),
  );
}

function evaluationView(e) {
  const items = [];
  if (e.inst_reviewed_at || e.inst_work_result) {
    items.push(
      h('h4', { class: 'sub' }, '医疗卫生机构评定意见'),
      desc([
        e.procedure_type === '一般程序' && ['完成工作数量', tag(e.inst_quantity_result)],
        ['工作成绩', h('span', null, tag(e.inst_work_result), e.inst_work_reason ? ` 理由：${e.inst_work_reason}` : '')],
        ['职业道德', h('span', null, tag(e.inst_ethics_result), e.inst_ethics_reason ? ` 理由：${e.inst_ethics_reason}` : '')],
        ['评定人', e.inst_reviewed_by],
        ['评定时间', fmtTime(e.inst_reviewed_at)],
      ]),
    );
  }
  if (e.assessor_result)
    items.push(h('h4', { class: 'sub' }, '考核机构复核意见'), desc([['复核结果', tag(e.assessor_result)], ['意见', e.assessor_reason], ['复核时间', fmtTime(e.assessor_reviewed_at)]]));
  if (e.inst_reject_reason)
    items.push(h('div', { class: 'notice warn' }, `最近一次驳回（${fmtTime(e.inst_rejected_at)}）：${e.inst_reject_reason}`));
  if (e.makeup_decision) items.push(h('h4', { class: 'sub' }, '补考决定'), desc([['决定', e.makeup_decision], ['理由', e.makeup_reason], ['时间', fmtTime(e.makeup_decided_at)]]));
  if (e.result) items.push(h('h4', { class: 'sub' }, '考核结果'), desc([['结果', tag(e.result)], ['说明', e.result_reason], ['完成时间', fmtTime(e.completed_at)]]));
  return items;
}

// 继续医学教育 年度验证 of each year of the cycle (admind: enrolment.cme)
function cmeTab(c) {
  if (!c) return h('p', { class: 'muted' }, '无继续医学教育记录');
  return h(
    'div',
    null,
    h('p', { class: 'muted' }, `继教IC卡：${c.card_no || '未登记'}${c.required ? '；本省要求本周期已结束的各年度验证达标后，一般程序工作成绩方可评为合格' : ''}`),
    cmeYears(c.years),
  );
}

function workTab(d, ctx, reload) {
  const e = d.enrolment;
  const general = e.procedure_type === '一般程序';
  const encl = d.attachments.filter((a) => a.owner_type === 'enrolment');
  const bad = d.conduct_records.filter((r) => r.kind === '不良');
  const canOpinion = ctx.mode === 'institution' && (e.status === '待医疗卫生机构审核' || e.status === '待医疗卫生机构审核（被考核机构驳回）');
  return h(
    'div',
    null,
    desc([
      ['考核程序', e.procedure_type || '未选择'],
      ['提交时间', fmtTime(e.submitted_at)],
      ['考核周期', `${e.cycle_code} ${e.cycle_name}`],
    ]),
    general &&
      h(
        'div',
        null,
        h('h4', { class: 'sub' }, '完成工作数量'),
        table(
          [
            { title: '考核项目', key: 'k' },
            { title: '数量', key: 'v' },
          ],
          [
            { k: '接诊病人数', v: e.sa_patient_visits === null ? '—' : `${e.sa_patient_visits} 人次` },
            { k: '手术量（外科科室）', v: e.sa_operations === null ? '—' : `${e.sa_operations} 例` },
            { k: '检验/检查量（医技科室）', v: e.sa_examinations === null ? '—' : `${e.sa_examinations} 例` },
            { k: '其他工作量', v: e.sa_other_workload || '—' },
          ],
        ).el,
      ),
    !general && h('div', null, h('h4', { class: 'sub' }, '简易程序申请材料'), desc([['适用条件', e.sa_simple_condition, { wide: true }], ['附件', attachmentLinks(encl), { wide: true }]], 1)),
    h('h4', { class: 'sub' }, '工作成绩自评'),
    h('div', { class: 'text-block' }, e.sa_work_text || '—'),
    // 跟班带教 (issue 16): set through 跟班带教修改申请 once the registration is submitted
    e.sa_teaching_trainees !== null && e.sa_teaching_trainees !== undefined &&
      desc([['跟班带教', `${e.sa_teaching_trainees} 人，${e.sa_teaching_hours} 学时；${e.sa_teaching_text || ''}`, { wide: true }]], 1),
    h('h4', { class: 'sub' }, '职业道德自评'),
    h('div', { class: 'text-block' }, e.sa_ethics_text || '—'),
    h('h4', { class: 'sub' }, '个人述职'),
    h('div', { class: 'text-block' }, e.sa_report_text || '—'),
    general && encl.length ? desc([['附件', attachmentLinks(encl), { wide: true }]], 1) : null,
    h('h4', { class: 'sub' }, '执业行为记录'),
    desc([['良好执业行为记录', yesNo(e.sa_good_record)], ['不良执业行为记录', yesNo(e.sa_bad_record)]], 2),
    table(
      [
        { title: '医疗卫生机构', key: 'institution_name' },
        { title: '结案时间', render: (r) => fmtDate(r.closed_on) },
        { title: '处理结果', key: 'outcome', cls: 'wrap' },
        { title: '记分', render: (r) => (r.points === null || r.points === undefined ? '—' : String(r.points)) },
        { title: '来源', key: 'source' },
      ],
      bad,
      { empty: '无不良记录', caption: '不良记录' },
    ).el,
    h('div', { class: 'sub-head' }, h('h4', { class: 'sub' }, '多执业机构其它意见'), canOpinion && btn('新增意见', () => addOpinion(e, reload), 'small')),
    table(
      [
        { title: '执业机构', key: 'other_institution_name' },
        { title: '意见', key: 'opinion', cls: 'wrap' },
        { title: '录入时间', render: (r) => fmtTime(r.created_at) },
      ],
      d.opinions,
      { empty: '无' },
    ).el,
    evaluationView(e),
  );
}

async function addOpinion(e, reload) {
  const f = form(
    [
      { name: 'other_institution_name', label: '其它执业机构', required: true, attrs: { maxlength: 128 } },
      { name: 'opinion', label: '意见', type: 'textarea', required: true },
    ],
    { cols: 1 },
  );
  const ok = await modal({ title: '新增多执业机构意见', body: f.el, onOk: () => api.post(`/enrolments/${e.id}/opinions`, f.check()) });
  if (ok) {
    toast('意见已添加');
    reload();
  }
}

function exemptionTab(d, ctx, reload) {
  if (!d.exemptions.length) return empty('该医师未申请免考');
  return h(
    'div',
    null,
    d.exemptions.map((x) => {
      const atts = d.attachments.filter((a) => a.owner_type === 'exemption_request' && a.owner_id === x.id);
      const acts = myActions(x.actions, ctx);
      return h(
        'div',
        { class: 'exemption' },
        desc([
          ['免考测评', paperName(x.paper)],
          ['免考条件', x.exemption_type],
          ['状态', tag(x.status)],
          ['申请说明', x.description, { wide: true }],
          ['附件', attachmentLinks(atts), { wide: true }],
          ['机构审核', x.inst_result ? h('span', null, tag(x.inst_result), x.inst_reason ? ` ${x.inst_reason}` : '', ` ${fmtTime(x.inst_decided_at)}`) : '—'],
          ['考核机构复核', x.assessor_result ? h('span', null, tag(x.assessor_result), x.assessor_reason ? ` ${x.assessor_reason}` : '', ` ${fmtTime(x.assessor_decided_at)}`) : '—'],
          ['申请时间', fmtTime(x.submitted_at)],
        ]),
        acts.length
          ? h(
              'div',
              { class: 'row-actions' },
              acts.map((a) =>
                btn(
                  a.action.endsWith('_pass') ? '免考通过' : '免考驳回',
                  () => exemptionAction(x, a, reload),
                  a.action.endsWith('_pass') ? 'primary' : 'danger',
                ),
              ),
            )
          : null,
      );
    }),
  );
}

async function exemptionAction(x, a, reload) {
  const pass = a.action.endsWith('_pass');
  const run = (reason) => api.post(`/exemptions/${x.id}/actions/${a.action}`, { version: x.version, ...(reason ? { reason } : {}) });
  let ok;
  if (pass) ok = await modal({ title: '免考通过', body: h('p', { class: 'confirm-text' }, `确认该医师符合免考${paperName(x.paper)}测评的条件？`), onOk: () => run() });
  else ok = (await askReason('免考驳回', '驳回理由', { onOk: (r) => run(r) })) !== null;
  if (ok) {
    toast(pass ? '免考申请已通过' : '免考申请已驳回');
    reload();
  }
}

function testsTab(d, ctx) {
  return h(
    'div',
    null,
    table(
      [
        { title: '测评', key: 'name' },
        { title: '是否需要', render: (r) => (r.required ? '需要' : '不需要') },
        { title: '免考', render: (r) => (r.exempted ? tag('免考') : '否') },
        { title: '测评结果', render: (r) => tag(r.result) || '未测评' },
        { title: '参加次数', key: 'attempts' },
      ],
      d.tests,
      { empty: '复核通过后生成测评项目', caption: '测评项目' },
    ).el,
    table(
      [
        { title: '测评', render: (r) => paperName(r.paper) },
        { title: '次数', render: (r) => (r.attempt > 1 ? '补考' : '首次') },
        { title: '开始时间', render: (r) => fmtTime(r.started_at) },
        { title: '交卷时间', render: (r) => fmtTime(r.submitted_at) },
        { title: '得分', render: (r) => (r.score === null ? '—' : `${r.score} / ${r.total}（合格线 ${r.pass_mark}）`) },
        { title: '测评结果', render: (r) => (r.final_passed === null ? '—' : tag(r.final_passed ? '合格' : '不合格')) },
        { title: '监考标记', render: (r) => tag(r.mark_status) },
        { title: '操作', render: (r) => (ctx.mode === 'assessor' ? '' : link('监考照片', () => ctx.go('session/' + r.id))) },
      ],
      d.sessions,
      { empty: '尚未参加测评', caption: '测评记录' },
    ).el,
  );
}

function logTable(rows) {
  return table(
    [
      { title: '时间', render: (r) => fmtTime(r.created_at, true), width: '150px' },
      { title: '操作人', render: (r) => r.actor_name || r.actor_type },
      { title: '角色', key: 'role' },
      { title: '操作', render: (r) => (r.entity_type === 'exemption_request' ? '免考：' : r.entity_type === 'exam_session' ? '测评：' : r.entity_type === 'invigilation' ? '监考：' : '') + (ACTION_LABEL[r.action] || r.action) },
      { title: '状态变化', render: (r) => (r.from_status || r.to_status ? h('span', null, tag(r.from_status) || '—', ' → ', tag(r.to_status) || '—') : '') },
      { title: '理由 / 说明', render: (r) => r.reason || '', cls: 'wrap' },
    ],
    rows,
    { empty: '暂无记录' },
  ).el;
}

// the evaluation of the acting role
function decisionPanel(d, ctx, reload) {
  const e = d.enrolment;
  const acts = myActions(d.actions, ctx);
  const by = (n) => acts.find((a) => a.action === n);
  const parts = [];
  if (by('inst_pass') || by('inst_reject')) parts.push(instPanel(d, by, reload));
  if (by('assessor_pass') || by('assessor_reject')) parts.push(assessorPanel(d, by, reload));
  const simple = [
    ['authority_reject', '驳回报名', '驳回理由', true],
    ['makeup_confirm', '确认补考', null, false],
    ['makeup_refuse', '不予补考', '不予补考的理由', true],
  ].filter(([a]) => by(a));
  if (simple.length)
    parts.push(
      h(
        'div',
        { class: 'decision' },
        h('p', { class: 'muted' }, e.status === '待确认补考' ? '该医师首次测评未通过，请确认是否允许参加补考（不予补考则考核结果为不合格）。' : '卫生行政部门可驳回已提交的报名，医师需重新提交。'),
        h(
          'div',
          { class: 'row-actions' },
          simple.map(([a, label, reasonLabel, danger]) =>
            btn(label, () => simpleAction(e, a, label, reasonLabel, reload), danger ? 'danger' : 'primary'),
          ),
        ),
      ),
    );
  const w = by('withdraw');
  if (w && ctx.mode === 'institution')
    parts.push(h('div', { class: 'row-actions secondary' }, btn('退出本周期', () => simpleAction(e, 'withdraw', '退出本周期', '退出原因（如本周期不需参加考核）', reload), 'ghost')));
  if (!parts.length) return null;
  return card(ctx.mode === 'assessor' ? '考核机构复核' : ctx.mode === 'authority' ? '卫生行政部门处理' : '医疗卫生机构评定意见', h('div', null, parts));
}

async function simpleAction(e, action, label, reasonLabel, reload) {
  const run = (reason) => api.post(`/enrolments/${e.id}/actions/${action}`, { version: e.version, ...(reason ? { reason } : {}) });
  let ok;
  if (reasonLabel) ok = (await askReason(label, reasonLabel, { onOk: (r) => run(r) })) !== null;
  else ok = await modal({ title: label, body: h('p', { class: 'confirm-text' }, `确认${label}？`), onOk: () => run() });
  if (ok) {
    toast(`已${label}`);
    reload();
  }
}

function resultRadio(name, label) {
  const id = 'r-' + name;
  return h(
    'div',
    { class: 'eval-row', role: 'radiogroup', 'aria-label': label, id },
    h('span', { class: 'lbl req' }, label),
    ['合格', '不合格'].map((v) => h('label', { class: 'radio' }, h('input', { type: 'radio', name, value: v }), ' ', v)),
  );
}

function instPanel(d, by, reload) {
  const e = d.enrolment;
  const general = e.procedure_type === '一般程序';
  const reasons = {};
  const reasonBox = (name, label) => {
    const ta = h('textarea', { rows: 2, maxlength: 500, placeholder: '请输入不合格理由', 'aria-label': label, class: 'eval-reason', hidden: true });
    reasons[name] = ta;
    return ta;
  };
  const box = h(
    'div',
    { class: 'eval-form' },
    general && resultRadio('quantity_result', '完成工作数量'),
    resultRadio('work_result', '工作成绩'),
    reasonBox('work_reason', '工作成绩不合格理由'),
    resultRadio('ethics_result', '职业道德'),
    reasonBox('ethics_reason', '职业道德不合格理由'),
    h('div', { class: 'eval-row' }, h('label', { class: 'lbl', for: 'reviewer' }, '评定人'), h('input', { id: 'reviewer', maxlength: 64, placeholder: '审核人员姓名（选填）', value: d.reviewerName || '' })),
  );
  const val = (n) => (box.querySelector(`input[name=${n}]:checked`) || {}).value || '';
  box.addEventListener('change', () => {
    reasons.work_reason.hidden = !(val('work_result') === '不合格' || val('quantity_result') === '不合格');
    reasons.ethics_reason.hidden = val('ethics_result') !== '不合格';
  });
  const pendingExemption = d.exemptions.some((x) => x.status === '待医疗卫生机构审核');
  const submit = async () => {
    try {
      const body = { version: e.version, work_result: val('work_result'), ethics_result: val('ethics_result') };
      if (general) body.quantity_result = val('quantity_result');
      const missing = Object.entries({ 完成工作数量: body.quantity_result, 工作成绩: body.work_result, 职业道德: body.ethics_result }).filter(([k, v]) => v === '' && (k !== '完成工作数量' || general)).map(([k]) => k);
      if (missing.length) throw new Error('请评定：' + missing.join('、'));
      const wr = reasons.work_reason.value.trim();
      const er = reasons.ethics_reason.value.trim();
      if ((body.work_result === '不合格' || body.quantity_result === '不合格') && !wr) throw new Error('工作成绩（或完成工作数量）不合格时请填写不合格理由');
      if (body.ethics_result === '不合格' && !er) throw new Error('职业道德不合格时请填写不合格理由');
      if (wr && !reasons.work_reason.hidden) body.work_reason = wr;
      if (er && !reasons.ethics_reason.hidden) body.ethics_reason = er;
      const reviewer = box.querySelector('#reviewer').value.trim();
      if (reviewer) body.reviewer_name = reviewer;
      const failed = [body.quantity_result, body.work_result, body.ethics_result].includes('不合格');
      const ok = await modal({
        title: '提交评定意见',
        body: h('p', { class: 'confirm-text' }, failed ? '评定中有「不合格」项：提交后经考核机构复核，该医师本次考核结果为不合格。确认提交？' : '确认评定合格，提交考核机构复核？'),
        okText: '提交',
        danger: failed,
        onOk: () => api.post(`/enrolments/${e.id}/actions/inst_pass`, body),
      });
      if (ok) {
        toast('评定意见已提交考核机构');
        reload();
      }
    } catch (x) {
      showError(x);
    }
  };
  const reject = async () => {
    const r = await askReason('驳回', '驳回理由', {
      hint: '驳回后医师可修改信息并重新提交。',
      onOk: (reason) => api.post(`/enrolments/${e.id}/actions/inst_reject`, { version: e.version, reason }),
    });
    if (r !== null) {
      toast('已驳回，医师可修改后重新提交');
      reload();
    }
  };
  return h(
    'div',
    { class: 'decision' },
    e.status === '待医疗卫生机构审核（被考核机构驳回）' && h('div', { class: 'notice warn' }, `考核机构驳回：${e.assessor_reason || ''}。可重新评定提交，或驳回至医师。`),
    pendingExemption && h('div', { class: 'notice warn' }, '该医师有待审核的免考申请，请先在「免考申请」中审核。'),
    by('inst_pass') ? box : null,
    h('div', { class: 'row-actions' }, btn('返回', () => window.history.back()), by('inst_pass') && btn('提交', submit, 'primary'), by('inst_reject') && btn('驳回', reject, 'danger')),
  );
}

function assessorPanel(d, by, reload) {
  const e = d.enrolment;
  const pass = async () => {
    const failed = [e.inst_quantity_result, e.inst_work_result, e.inst_ethics_result].includes('不合格');
    const ok = await modal({
      title: '复核通过',
      body: h('p', { class: 'confirm-text' }, failed ? '医疗卫生机构评定有「不合格」项，复核通过后该医师本次考核完成，结果为不合格。确认？' : '确认复核通过？医师将进入待参加考核。'),
      okText: '复核通过',
      onOk: () => api.post(`/enrolments/${e.id}/actions/assessor_pass`, { version: e.version }),
    });
    if (ok) {
      toast('复核通过');
      reload();
    }
  };
  const reject = async () => {
    const r = await askReason('复核驳回', '驳回理由', {
      hint: '驳回后由医疗卫生机构重新评定或驳回至医师。',
      onOk: (reason) => api.post(`/enrolments/${e.id}/actions/assessor_reject`, { version: e.version, reason }),
    });
    if (r !== null) {
      toast('已驳回至医疗卫生机构');
      reload();
    }
  };
  const pendingExemption = d.exemptions.some((x) => x.status === '待考核机构复核');
  return h(
    'div',
    { class: 'decision' },
    pendingExemption && h('div', { class: 'notice warn' }, '该医师有待复核的免考申请，请先在「免考申请」中复核。'),
    h('div', { class: 'row-actions' }, btn('返回', () => window.history.back()), by('assessor_pass') && btn('复核通过', pass, 'primary'), by('assessor_reject') && btn('驳回', reject, 'danger')),
  );
}

export async function detail(ctx) {
  const eid = ctx.params[0];
  const wrap = h('div', { class: 'review' });
  let tabIndex = ctx.params[1] === 'exemption' ? 2 : 0;
  const load = async () => {
    const d = await api.get(`/enrolments/${eid}`);
    // a 信息审核员 is the 评定人 (admind names it in the audit row either way)
    if (ctx.me && ctx.me.type === 'reviewer') d.reviewerName = ctx.me.reviewer.name;
    const e = d.enrolment;
    const p = d.physician;
    const logs = d.log.filter((r) => r.action !== 'save_registration' || r.actor_type === 'physician');
    const t = tabs(
      [
        { label: '医师信息', render: () => personTab(d) },
        { label: '工作业绩、职业道德', render: () => workTab(d, ctx, reload) },
        { label: `免考申请${d.exemptions.length ? `（${d.exemptions.length}）` : ''}`, render: () => exemptionTab(d, ctx, reload) },
        { label: '测评情况', render: () => testsTab(d, ctx) },
        { label: '继续医学教育', render: () => cmeTab(e.cme) },
        { label: '提交日志', render: () => logTable(logs.filter((r) => r.actor_type === 'physician')) },
        { label: '操作日志', render: () => logTable(logs.filter((r) => r.actor_type !== 'physician')) },
      ],
      { active: tabIndex, onChange: (i) => (tabIndex = i) },
    );
    const head = h(
      'div',
      { class: 'review-head' },
      h('div', null, h('h2', null, p.name, ' ', tag(e.status)), h('p', { class: 'muted' }, `${e.institution_name} · ${p.practice_category} · ${p.practice_level} · ${e.procedure_type || '未选择考核程序'}${e.assessor_name ? ' · 考核机构：' + e.assessor_name : ''}`)),
      h(
        'div',
        { class: 'row-actions' },
        e.status === '考核完成' && e.result === '合格' && ctx.mode !== 'assessor' && (ctx.mode === 'authority' || e.institution_id === ctx.me.id) && btn('打印合格证书', () => ctx.go('certificate/' + e.id)),
        btn('返回', () => window.history.back()),
      ),
    );
    wrap.replaceChildren(card(null, h('div', null, head, t.el)), decisionPanel(d, ctx, reload) || '');
  };
  const reload = () => load().catch(showError);
  await load();
  return wrap;
}
