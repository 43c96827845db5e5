// pages/authority.js - the health authority's pages: 考核周期 and its time windows (the
// province opens and edits them; lower levels see them), 机构账号 (code = 行政区划代码 + H +
// sequence, initial password 666666, 重置密码, the 申请考核机构 right), 考核机构申请 (通过 /
// 驳回 with the attachments), 考核机构分配 (which 考核机构 re-reviews which institution),
// 报名审核情况 (驳回 a registration the institutions passed), 补考确认 (province) and the
// statistics of the region by area and by institution.

import * as api from '../api.js';
import { h, card, btn, link, toast, modal, askReason, confirmBox, tag, listView, form, desc, table, fmtTime, fmtDate, fromLocalInput, showError, empty, CYCLE_STATUS } from '../ui.js';
import { bars, ring, COLORS } from '../chart.js';
import { regionInstitutions } from './progress.js';
import { institutionOps, importInstitutions } from './region.js';

// ---- cycles --------------------------------------------------------------------------------------------

const WINDOWS = [
  ['period', '考核周期'],
  ['assessor_apply', '申请考核机构'],
  ['registration', '医师报审申报'],
  ['inst_review', '机构报名信息审核'],
  ['assessor_review', '考核机构复核'],
  ['test', '测评考核'],
  ['makeup', '补考'],
];

function cycleForm(c) {
  const specs = [
    { name: 'code', label: '周期编号', required: true, attrs: { maxlength: 16 }, placeholder: '如 02' },
    { name: 'name', label: '周期名称', required: true, attrs: { maxlength: 64 }, placeholder: '如 2026—2028 年度医师定期考核' },
    { name: 'length_years', label: '周期年限', type: 'select', options: [['3', '3 年（医师法第四十二条）'], ['2', '2 年']], placeholderOption: false },
    { name: 'status', label: '状态', type: 'select', options: [['draft', '草稿（下级不可见）'], ['open', '开放'], ['closed', '已结束']], placeholderOption: false },
    { name: 'similarity_threshold', label: '相似度阈值（%）', type: 'number', attrs: { min: 0, max: 100, step: 1 }, hint: '低于此值的抓拍照片为疑似，默认 40' },
    { name: 'photo_retention_days', label: '抓拍照片保存天数', type: 'number', attrs: { min: 0, max: 3650 }, hint: '测评（补考）结束后保存的天数，到期删除' },
    { name: 'defer_even_year', label: '偶数年注册推迟纳入', type: 'select', options: [['1', '推迟一年纳入考核范围'], ['0', '不推迟']], placeholderOption: false, hint: '首次注册时间在本周期起始年及以后偶数年的医师，从下一周期开始参加考核' },
  ];
  for (const [k, label] of WINDOWS) {
    specs.push({ type: 'section', label: label + '时间（北京时间）' });
    specs.push({ name: k + '_start', label: '开始', type: 'datetime', required: k === 'period', attrs: { 'aria-label': label + '开始' } });
    specs.push({ name: k + '_end', label: '结束', type: 'datetime', required: k === 'period', attrs: { 'aria-label': label + '结束' } });
  }
  specs.push({ type: 'section', label: '退出本周期（北京时间）' }, { name: 'withdraw_deadline', label: '截止', type: 'datetime', attrs: { 'aria-label': '退出本周期截止' } });
  const f = form(specs, { cols: 2 });
  f.fill({ length_years: '3', status: 'draft', similarity_threshold: 40, photo_retention_days: 365, defer_even_year: '1' });
  if (c) f.fill({ ...c, length_years: String(c.length_years), similarity_threshold: Number(c.similarity_threshold), defer_even_year: c.defer_even_year === false ? '0' : '1' });
  return f;
}

function cycleBody(f) {
  const v = f.check();
  const body = { code: v.code, name: v.name, length_years: Number(v.length_years), status: v.status };
  if (v.similarity_threshold !== '') body.similarity_threshold = Number(v.similarity_threshold);
  if (v.photo_retention_days !== '') body.photo_retention_days = Number(v.photo_retention_days);
  if (v.defer_even_year !== undefined && v.defer_even_year !== '') body.defer_even_year = Number(v.defer_even_year);
  for (const [k] of WINDOWS) {
    const s = v[k + '_start'];
    const e = v[k + '_end'];
    if (!!s !== !!e) throw new Error(`请同时填写${WINDOWS.find((w) => w[0] === k)[1]}的开始和结束时间`);
    if (s && e && e <= s) throw new Error(`${WINDOWS.find((w) => w[0] === k)[1]}的结束时间应晚于开始时间`);
    body[k + '_start'] = fromLocalInput(s);
    body[k + '_end'] = fromLocalInput(e);
  }
  body.withdraw_deadline = fromLocalInput(v.withdraw_deadline);
  return body;
}

async function cycleDialog(ctx, c) {
  const f = cycleForm(c);
  const ok = await modal({
    title: c ? `编辑考核周期 ${c.code}` : '开设考核周期',
    width: 860,
    body: f.el,
    okText: '保存',
    onOk: async () => {
      const body = cycleBody(f);
      if (c) await api.put(`/cycles/${c.id}`, body);
      else await api.post('/cycles', body);
    },
  });
  if (ok) {
    toast('考核周期已保存');
    ctx.refresh();
  }
}

const span2 = (a, b) => (a ? h('span', { class: 'two-line' }, fmtTime(a), h('br'), '至 ' + fmtTime(b)) : '—');

export async function cycles(ctx) {
  const { items } = await api.get('/cycles');
  const mine = (c) => ctx.province && c.authority_id === ctx.me.authority.id;
  const t = table(
    [
      { title: '编号', key: 'code', width: '70px' },
      { title: '名称', key: 'name', cls: 'wrap' },
      { title: '开设部门', key: 'authority_name' },
      { title: '周期时间', render: (c) => `${fmtDate(c.period_start)} 至 ${fmtDate(c.period_end)}` },
      { title: '医师报审申报', render: (c) => span2(c.registration_start, c.registration_end) },
      { title: '测评考核', render: (c) => span2(c.test_start, c.test_end) },
      { title: '相似度阈值', render: (c) => `${Number(c.similarity_threshold)}%` },
      { title: '状态', render: (c) => tag(CYCLE_STATUS[c.status] || c.status, c.status === 'open' ? 'green' : c.status === 'draft' ? 'grey' : 'plain') },
      { title: '操作', render: (c) => h('div', { class: 'ops' }, link('查看', () => cycleView(c)), mine(c) && link('编辑', () => cycleDialog(ctx, c))) },
    ],
    items,
    { empty: '尚未开设考核周期' },
  );
  const maintenance = async () => {
    const ok = await modal({
      title: '立即执行周期维护',
      body: h('p', { class: 'confirm-text' }, '按各周期的保存期限删除到期的抓拍照片，并把测评（补考）时间结束仍未参加的医师按未参加测评处理。系统每 10 分钟自动执行一次。'),
      okText: '执行',
      onOk: async () => {
        const r = await api.post('/authority/maintenance', {});
        toast(`已执行：删除到期照片 ${r.photos_deleted} 张，未参加测评处理 ${r.absentees_moved} 人`);
      },
    });
    return ok;
  };
  return card(
    '考核周期与时间安排',
    h('div', null, h('p', { class: 'muted' }, ctx.province ? '省级卫生行政部门开设考核周期并设定各项工作的时间窗口；周期年限和时间均以本记录为准。' : '考核周期由省级卫生行政部门开设，本页仅供查看。'), t.el),
    ctx.province && [btn('立即执行周期维护', maintenance), btn('开设考核周期', () => cycleDialog(ctx, null), 'primary')],
  );
}

function cycleView(c) {
  modal({
    title: `考核周期 ${c.code}`,
    width: 760,
    cancelText: null,
    okText: '关闭',
    body: desc(
      [
        ['名称', c.name, { wide: true }],
        ['开设部门', c.authority_name],
        ['周期年限', `${c.length_years} 年`],
        ['状态', CYCLE_STATUS[c.status]],
        ...WINDOWS.map(([k, l]) => [l, c[k + '_start'] ? `${fmtTime(c[k + '_start'])} 至 ${fmtTime(c[k + '_end'])}` : '—', { wide: true }]),
        ['退出本周期截止', fmtTime(c.withdraw_deadline)],
        ['相似度阈值', `${Number(c.similarity_threshold)}%`],
        ['照片保存', `${c.photo_retention_days} 天`],
      ],
      2,
    ),
  });
}

// ---- institution accounts -----------------------------------------------------------------------------------

let authCache = null;
async function authorities() {
  if (!authCache) authCache = (await api.get('/authority/authorities')).items;
  return authCache;
}

const LEVEL = { province: '省级', city: '市级', county: '县级' };

// The one-time activation code is shown here only (the server keeps its hash): the
// institution needs it with 666666 for its first login.
async function activationModal(title, inst, made)
{
    await modal({
        title,
        cancelText : null,
        body : h(
            'div',
            null,
            desc(
                [
                    [ '机构名称', inst.name ], [ '机构账号', h('strong', null, inst.code) ],
                    [ '初始密码', made.initial_password ],
                    [ '激活码', h('strong', {class : 'activation-code'}, made.activation_code) ]
                ],
                1),
            h('p', {class : 'muted small'},
              '激活码仅显示这一次，请抄送给该机构：首次登录须同时填写初始密码和激活码。初始密码有有效期，过期需重新重置。'),
            ),
    });
}

export async function institutions(ctx) {
  const auths = await authorities();
  const lv = listView({
      filters : [
          {name : 'name', label : '机构名称'},
          {name : 'code', label : '机构账号'},
          {
              name : 'is_assessor',
              label : '考核机构',
              type : 'select',
              options : [ [ '1', '是' ], [ '0', '否' ] ],
              placeholderOption : '全部'
          },
          {
              name : 'activated',
              label : '激活状态',
              type : 'select',
              options : [ [ '0', '未激活（初始密码）' ], [ '1', '已激活' ] ],
              placeholderOption : '全部'
          },
      ],
      columns : [
          {title : '机构账号', key : 'code'},
          {title : '机构名称', key : 'name'},
          {title : '隶属部门', key : 'authority_name'},
          {title : '类别', render : (r) => r.inst_type || '—'},
          {title : '级别', render : (r) => r.inst_level || '—'},
          {
              title : '联系人',
              render : (r) => [r.contact_name, r.contact_phone].filter(Boolean).join(' ') || '—'
          },
          {
              title : '信息',
              render : (r) =>
                  (r.info_completed_at ? tag('已完善', 'green') : tag('待完善', 'orange'))
          },
          {
              title : '申请权限',
              render : (r) => (r.can_apply ? tag('已开通', 'cyan') : tag('未开通', 'plain'))
          },
          {title : '考核机构', render : (r) => (r.is_assessor ? tag('是', 'green') : '否')},
          {
              title : '账号状态',
              render : (r) => (!r.enabled               ? tag('已停用', 'grey')
                               : r.must_change_password ? tag('未激活', 'orange')
                                                        : tag('正常', 'green'))
          },
          {title : '最近登录', render : (r) => fmtTime(r.last_login_at)},
          {
              title : '操作',
              render : (r) => h(
                  'div',
                  {class : 'ops'},
                  link('重置密码',
                       async () => {
                           if (!(await confirmBox(
                                   '重置密码',
                                   `将「${r.name}」（${
                                       r.code}）的密码重置为 666666？机构下次登录时需修改密码。`)))
                               return;
                           try {
                               const made =
                                   await api.post(`/authority/institutions/${r.id}/reset-password`);
                               await activationModal('密码已重置', r, made);
                               lv.reload();
                           } catch (e) {
                               showError(e);
                           }
                       }),
                  ...institutionOps(lv, r),
                  !r.is_assessor && link(r.can_apply ? '关闭申请权限' : '开通申请权限',
                                         async () => {
                                             try {
                                                 await api.post(
                                                     `/authority/institutions/${r.id}/apply-right`,
                                                     {can_apply : !r.can_apply});
                                                 toast(r.can_apply ? '已关闭申请考核机构权限'
                                                                   : '已开通申请考核机构权限');
                                                 lv.reload();
                                             } catch (e) {
                                                 showError(e);
                                             }
                                         }),
                  ),
          },
      ],
      fetch : (p) => api.get('/authority/institutions' + api.qs(p)),
      toolbar : [ btn('新增机构账号', () => newInstitution(lv, auths, ctx), 'primary'),
                  btn('批量开设', () => importInstitutions(lv)) ],
  });
  await lv.load(1);
  return card('机构账号', lv.el);
}

async function newInstitution(lv, auths, ctx) {
  const f = form([
    { name: 'name', label: '机构名称', required: true, attrs: { maxlength: 128 }, wide: true },
    { name: 'authority_id', label: '隶属卫生行政部门', type: 'select', required: true, options: auths.map((a) => [String(a.id), `${a.name}（${LEVEL[a.admin_level]}，${a.code}）`]), placeholderOption: false },
    { name: 'inst_type', label: '机构类别', type: 'select', options: ['医院', '基层医疗卫生机构', '专业公共卫生机构', '行业组织', '学术组织', '其他'] },
    { name: 'inst_level', label: '机构级别', type: 'select', options: ['三级甲等', '三级乙等', '三级', '二级甲等', '二级乙等', '二级', '一级', '未定级'] },
    { name: 'ownership', label: '经营性质', type: 'select', options: ['公立', '非公立'] },
    { name: 'contact_name', label: '联系人', attrs: { maxlength: 64 } },
    { name: 'contact_phone', label: '联系电话', attrs: { maxlength: 32 } },
  ]);
  f.set('authority_id', String(ctx.me.authority.id));
  let made = null;
  const ok = await modal({
    title: '新增机构账号',
    width: 720,
    body: h('div', null, h('p', { class: 'muted small' }, '机构账号按「行政区划代码 + H + 5 位序号」自动生成，初始密码 666666，机构首次登录时修改。'), f.el),
    onOk: async () => {
      const v = f.check();
      const body = { name: v.name, authority_id: Number(v.authority_id) };
      for (const k of ['inst_type', 'inst_level', 'ownership', 'contact_name', 'contact_phone']) if (v[k]) body[k] = v[k];
      made = await api.post('/authority/institutions', body);
    },
  });
  if (!ok) return;
  await activationModal('机构账号已开设', made, made);
  lv.reload();
}

// ---- 考核机构 applications and assignments ---------------------------------------------------------------------

function ids(v) {
  if (!v) return [];
  if (Array.isArray(v)) return v;
  try {
    return JSON.parse(v) || [];
  } catch {
    return [];
  }
}

export async function applications(ctx) {
  const lv = listView({
    filters: [{ name: 'status', label: '审核状态', type: 'select', options: ['待审核', '通过', '驳回'], placeholderOption: '全部' }],
    columns: [
      { title: '机构账号', key: 'institution_code' },
      { title: '机构名称', key: 'institution_name' },
      { title: '周期', render: (r) => r.cycle_code || '—' },
      { title: '申请说明', key: 'note', cls: 'wrap' },
      { title: '申请材料', render: (r) => (ids(r.attachment_ids).length ? h('span', { class: 'ops' }, ids(r.attachment_ids).map((id, i) => link(`附件${i + 1}`, () => api.openFile(`/attachments/${id}`).catch(showError)))) : '无') },
      { title: '申请时间', render: (r) => fmtTime(r.submitted_at, true) },
      { title: '审核时间', render: (r) => fmtTime(r.decided_at, true) },
      { title: '审核状态', render: (r) => tag(r.status) },
      { title: '审核意见', render: (r) => r.reason || '', cls: 'wrap' },
      {
        title: '操作',
        render: (r) =>
          r.status === '待审核'
            ? h(
                'div',
                { class: 'ops' },
                link('通过', async () => {
                  const ok = await modal({ title: '批准考核机构申请', body: h('p', { class: 'confirm-text' }, `批准「${r.institution_name}」成为考核机构？`), okText: '通过', onOk: () => api.post(`/authority/applications/${r.id}/actions/approve`, {}) });
                  if (ok) {
                    toast('已批准，该机构成为考核机构');
                    lv.reload();
                  }
                }),
                link('驳回', async () => {
                  const t = await askReason('驳回考核机构申请', '驳回理由', { onOk: (reason) => api.post(`/authority/applications/${r.id}/actions/reject`, { reason }) });
                  if (t !== null) {
                    toast('已驳回');
                    lv.reload();
                  }
                }, 'danger'),
              )
            : '',
      },
    ],
    fetch: (p) => api.get('/authority/applications' + api.qs(p)),
  });
  await lv.load(1);
  return card('考核机构申请', lv.el);
}

export async function assignments(ctx) {
  if (!ctx.me.cycle) return card('考核机构分配', empty('当前没有开放的考核周期'));
  let assessors = null;
  const lv = listView({
    filters: [],
    columns: [
      { title: '机构账号', key: 'code' },
      { title: '医疗卫生机构', key: 'name' },
      { title: '隶属部门', key: 'authority_name' },
      { title: '考核机构', render: (r) => r.assessor_name || tag('未分配', 'orange') },
      { title: '分配时间', render: (r) => fmtTime(r.assigned_at) },
      {
        title: '操作',
        render: (r) =>
          link(r.assessor_id ? '调整' : '分配', async () => {
            if (!assessors) assessors = (await api.get('/authority/institutions?is_assessor=1&page_size=500')).items;
            const f = form([{ name: 'assessor_id', label: '考核机构', type: 'select', required: true, options: assessors.map((a) => [String(a.id), `${a.name}（${a.code}）`]) }], { cols: 1 });
            if (r.assessor_id) f.set('assessor_id', String(r.assessor_id));
            const ok = await modal({
              title: `为「${r.name}」分配考核机构`,
              body: h('div', null, assessors.length ? f.el : empty('辖区内还没有考核机构：请先审批考核机构申请'), h('p', { class: 'muted small' }, '尚未提交至考核机构的医师随分配调整。')),
              onOk: () => api.post('/authority/assignments', { institution_id: r.institution_id, assessor_id: Number(f.check().assessor_id) }),
            });
            if (ok) {
              toast('已分配考核机构');
              lv.reload();
            }
          }),
      },
    ],
    fetch: (p) => api.get('/authority/assignments' + api.qs(p)),
  });
  await lv.load(1);
  return card('考核机构分配（本周期）', h('div', null, h('p', { class: 'muted' }, '每个医疗卫生机构的医师由分配的考核机构复核。未分配考核机构的机构不能提交审核结果。'), lv.el));
}

// ---- enrolments: 驳回, makeups ------------------------------------------------------------------------------------

const REJECTABLE = ['待医疗卫生机构审核', '待医疗卫生机构审核（被考核机构驳回）', '待考核机构复核', '待参加考核'];

async function enrolmentAction(r, action, label, reasonLabel) {
  const run = (reason) => api.post(`/enrolments/${r.enrolment_id}/actions/${action}`, { version: r.version, ...(reason ? { reason } : {}) });
  if (reasonLabel) return (await askReason(label, reasonLabel, { onOk: (x) => run(x) })) !== null;
  return modal({ title: label, body: h('p', { class: 'confirm-text' }, `${label}：${r.name}（${r.institution_name}）？`), okText: label, onOk: () => run() });
}

async function enrolList(ctx, { status, title, hint, actions }) {
  const insts = await regionInstitutions();
  const lv = listView({
    filters: [
      { name: 'institution_id', label: '医疗卫生机构', type: 'select', options: insts.map((i) => [String(i.id), i.name]), placeholderOption: '全部机构' },
      !status && { name: 'status', label: '考核状态', type: 'select', options: REJECTABLE.concat(['待报名', '待报名（被机构驳回）', '待确认补考', '待参加补考', '考核完成', '退出本周期']), placeholderOption: '全部' },
      { name: 'procedure', label: '考核程序', type: 'select', options: ['一般程序', '简易程序'], placeholderOption: '全部' },
      { name: 'name', label: '姓名' },
      { name: 'id_number', label: '证件号码' },
    ].filter(Boolean),
    columns: [
      { title: '序号', render: (r, i) => i + 1, width: '56px' },
      { title: '医疗卫生机构', key: 'institution_name' },
      { title: '姓名', key: 'name' },
      { title: '证件号码', key: 'id_number' },
      { title: '执业类别', key: 'practice_category' },
      { title: '医师级别', key: 'practice_level' },
      { title: '考核程序', render: (r) => r.procedure_type || '—' },
      { title: '提交时间', render: (r) => fmtTime(r.submitted_at) },
      { title: '状态', render: (r) => tag(r.status) },
      { title: '操作', render: (r) => h('div', { class: 'ops' }, link('查看', () => ctx.go('review/' + r.enrolment_id)), actions(r, lv)) },
    ],
    fetch: (p) => api.get('/authority/enrolments' + api.qs(status ? { ...p, status } : p)),
    cols: 5,
  });
  await lv.load(1);
  return card(title, h('div', null, h('p', { class: 'muted' }, hint), lv.el));
}

export function enrolments(ctx) {
  return enrolList(ctx, {
    title: '报名审核情况',
    hint: '辖区内医师的报名与审核情况。医疗卫生机构不能取消已提交报名的医师，如需取消，由卫生行政部门驳回（医师需重新提交）。',
    actions: (r, lv) =>
      REJECTABLE.includes(r.status) &&
      link('驳回', async () => {
        if (await enrolmentAction(r, 'authority_reject', '驳回报名', '驳回理由')) {
          toast('已驳回');
          lv.reload();
        }
      }, 'danger'),
  });
}

export function makeup(ctx) {
  return enrolList(ctx, {
    status: '待确认补考',
    title: '补考确认',
    hint: ctx.province ? '首次测评未通过的医师，由省级卫生行政部门确认是否允许参加补考；不予补考的，考核结果为不合格。' : '补考由省级卫生行政部门确认，本页仅供查看。',
    actions: (r, lv) =>
      ctx.province && [
        link('确认补考', async () => {
          if (await enrolmentAction(r, 'makeup_confirm', '确认补考')) {
            toast('已确认补考');
            lv.reload();
          }
        }),
        link('不予补考', async () => {
          if (await enrolmentAction(r, 'makeup_refuse', '不予补考', '不予补考的理由')) {
            toast('已不予补考，考核结果为不合格');
            lv.reload();
          }
        }, 'danger'),
      ],
  });
}

// ---- statistics ----------------------------------------------------------------------------------------------------

const pctOf = (n, d) => (d ? Math.round((n * 1000) / d) / 10 : 0);

const COUNT_KEYS = ['confirmed', 'submitted', 'reviewed', 'completed', 'passed', 'failed', 'withdrawn'];
const rateOf = (label, n, d) => ({ label, numerator: n, denominator: d, percent: d ? Math.floor((n * 1000) / d) / 10 : 0 });

// 考核统计: the region by area one level down and by institution. Each row of admind's
// stats names its institution's authority (authority_id); an area row 查看下级 drills
// down into that area (its own areas one level further down and its institutions), and
// the path above the tables goes back up. Everything is counted from the one reply.
export async function stats(ctx) {
  if (!ctx.me.cycle) return card('辖区统计', empty('当前没有开放的考核周期'));
  const [d, auths] = await Promise.all([api.get('/authority/stats'), authorities()]);
  const byId = new Map(auths.map((a) => [a.id, a]));
  const el = h('div', { class: 'stats' });
  const show = (root) => el.replaceChildren(statsView(d, byId, ctx.me.authority.id, root, show));
  show(ctx.me.authority.id);
  const day = new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10).replace(/-/g, '');
  const xlsx = () => api.download('/authority/stats?format=xlsx', `考核统计-${day}.xlsx`).then(() => toast('已导出 Excel 文件'), showError);
  return h('div', null, h('div', { class: 'toolbar' }, btn('导出 Excel（全辖区各机构）', xlsx)), el);
}

function statsView(d, byId, me, root, show) {
  // the authority of aid one level below root (null: not under root; root itself: 本级直属)
  const areaOf = (aid) => {
    let a = byId.get(aid);
    if (!a) return null;
    if (a.id === root) return a;
    while (a && a.parent_id !== root) a = byId.get(a.parent_id);
    return a || null;
  };
  const items = root === me ? d.items : d.items.filter((x) => areaOf(x.authority_id));
  const areas = new Map();
  for (const x of items) {
    const a = areaOf(x.authority_id);
    const key = a ? a.id : `?${x.authority_id}`;
    const row = areas.get(key) || { id: a ? a.id : null, name: !a ? x.authority_name : a.id === root ? `${a.name}（本级直属）` : a.name, direct: !!a && a.id === root, institutions: 0 };
    row.institutions++;
    for (const k of COUNT_KEYS) row[k] = (row[k] || 0) + x[k];
    areas.set(key, row);
  }
  const areaRows = [...areas.values()];
  let t = d.total;
  let rates = d.rates;
  if (root !== me) {
    t = Object.fromEntries(COUNT_KEYS.map((k) => [k, items.reduce((n, x) => n + x[k], 0)]));
    rates = { registration: rateOf('报名完成率', t.submitted, t.confirmed), review: rateOf('审核完成率', t.reviewed, t.submitted), final: rateOf('最终完成率', t.completed, t.confirmed) };
  }
  // 全辖区 / 太原市 / 小店区: the way back up
  const chain = [];
  for (let a = byId.get(root); a; a = a.id === me ? null : byId.get(a.parent_id)) chain.unshift(a);
  const path = chain.length > 1 && h(
    'nav',
    { class: 'stats-path', 'aria-label': '统计范围' },
    chain.map((a, i) => [i > 0 && h('span', { class: 'sep' }, ' / '), i < chain.length - 1 ? link(i === 0 ? `${a.name}（全辖区）` : a.name, () => show(a.id)) : h('strong', { class: 'cur' }, i === 0 ? `${a.name}（全辖区）` : a.name)]),
  );
  // the enrolment counts, the same for an area and an institution
  const countColumns = [
    { title: '确认参加', key: 'confirmed' },
    { title: '已提交', key: 'submitted' },
    { title: '已审核', key: 'reviewed' },
    { title: '考核完成', key: 'completed' },
    { title: '合格', key: 'passed' },
    { title: '不合格', key: 'failed' },
  ];
  const areaTable = table(
    [
      { title: '地区', key: 'name' },
      { title: '机构数', key: 'institutions' },
      ...countColumns,
      { title: '报名完成率', render: (r) => `${pctOf(r.submitted, r.confirmed)}%` },
      { title: '最终完成率', render: (r) => `${pctOf(r.completed, r.confirmed)}%` },
      { title: '合格率', render: (r) => `${pctOf(r.passed, r.completed)}%` },
      { title: '操作', render: (r) => (r.id && !r.direct ? link('查看下级', () => show(r.id)) : '—') },
    ],
    areaRows,
    { empty: '该地区没有机构' },
  );
  const instTable = table(
    [
      { title: '机构账号', key: 'code' },
      { title: '医疗卫生机构', key: 'name' },
      { title: '地区', key: 'authority_name' },
      ...countColumns,
      { title: '退出本周期', key: 'withdrawn' },
      { title: '报名完成率', render: (r) => `${r.rates.registration.percent}%` },
      { title: '审核完成率', render: (r) => `${r.rates.review.percent}%` },
      { title: '最终完成率', render: (r) => `${r.rates.final.percent}%` },
    ],
    items,
    { empty: '该地区没有机构' },
  );
  const here = chain.length > 1 ? chain[chain.length - 1].name : '辖区';
  return h(
    'div',
    null,
    path,
    card(
      `${here}汇总`,
      h(
        'div',
        { class: 'stats-top' },
        h('div', { class: 'rings' }, ring(rates.registration, { color: COLORS[0] }), ring(rates.review, { color: COLORS[1] }), ring(rates.final, { color: COLORS[2] })),
        desc(
          [
            ['确认参加', t.confirmed],
            ['已提交', t.submitted],
            ['已审核', t.reviewed],
            ['考核完成', t.completed],
            ['合格', t.passed],
            ['不合格', t.failed],
            ['退出本周期', t.withdrawn],
            ['合格率', `${pctOf(t.passed, t.completed)}%`],
          ],
          2,
        ),
      ),
    ),
    card(
      '按地区统计',
      h(
        'div',
        null,
        areaRows.length
          ? h(
              'div',
              { class: 'chart-row' },
              h('div', { class: 'chart-box' }, h('h4', { class: 'sub' }, '各地区报名完成率'), bars(areaRows.map((a) => ({ label: a.name, value: pctOf(a.submitted, a.confirmed), color: COLORS[0] })), { max: 100, unit: '%' })),
              h('div', { class: 'chart-box' }, h('h4', { class: 'sub' }, '各地区最终完成率'), bars(areaRows.map((a) => ({ label: a.name, value: pctOf(a.completed, a.confirmed), color: COLORS[2] })), { max: 100, unit: '%' })),
            )
          : null,
        areaTable.el,
      ),
    ),
    card('按机构统计', instTable.el),
  );
}

// ---- 业务流程说明: the workflow table as the server keeps it ------------------------------------------

const ENTITY = { enrolment: '考核状态', exemption_request: '免考申请', invigilation: '监考标记', assessor_application: '考核机构申请' };
const ROLE = { physician: '医师', institution: '医疗卫生机构', assessor: '考核机构', authority: '卫生行政部门', province: '省级卫生行政部门' };

export async function workflow() {
  const { transitions } = await api.get('/workflow');
  const groups = new Map();
  for (const t of transitions) {
    if (!groups.has(t.entity)) groups.set(t.entity, []);
    groups.get(t.entity).push(t);
  }
  return h(
    'div',
    null,
    [...groups].map(([e, rows]) =>
      card(
        ENTITY[e] || e,
        table(
          [
            { title: '操作', key: 'label' },
            { title: '由谁办理', render: (r) => r.roles.map((x) => ROLE[x] || x).join('、') },
            { title: '当前状态', render: (r) => tag(r.from || '（无）') },
            { title: '办理后', render: (r) => tag(r.to || '（删除）') },
            { title: '须填写', render: (r) => r.required.map((x) => FIELD[x.split('/')[0]] || x).join('、') || '—', cls: 'wrap' },
            { title: '办理时间', render: (r) => r.window || '不限', cls: 'wrap' },
          ],
          rows,
        ).el,
      ),
    ),
  );
}

const FIELD = {
  procedure_type: '考核程序', department_id: '科室', photo_path: '本人照片', sa_work_text: '工作成绩自评', sa_ethics_text: '职业道德自评',
  sa_patient_visits: '接诊病人数（一般程序）', sa_simple_condition: '简易程序适用条件', reason: '理由', work_result: '工作成绩评定',
  ethics_result: '职业道德评定', quantity_result: '完成工作数量评定（一般程序）', exemption_type: '免考条件',
};
