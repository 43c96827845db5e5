// pages/home.js - 首页 of every role, as the seed manual's home page: 考核安排 (the cycle's
// windows with their state now), 待处理任务 (counts with 去处理), 考核进度 (报名完成率,
// 审核完成率, 最终完成率 as rings), and 联系方式 (考核机构, 行政机构). The authority's home
// adds the enrolments of its region by status. With no cycle open admind answers
// cycle: null: the page says 当前没有开放的考核周期 and shows what is still to do.

import * as api from '../api.js';
import { h, card, btn, fmtTime, desc, empty } from '../ui.js';
import { ring, bars, COLORS } from '../chart.js';

const WINDOWS = [
  ['当前考核周期信息', 'period_start', 'period_end'],
  ['申请考核医疗机构', 'assessor_apply_start', 'assessor_apply_end'],
  ['医师报审申报时间', 'registration_start', 'registration_end'],
  ['报名信息审核时间', 'inst_review_start', 'inst_review_end'],
  ['考核机构复核时间', 'assessor_review_start', 'assessor_review_end'],
  ['计划测评考核时间', 'test_start', 'test_end'],
  ['补考时间', 'makeup_start', 'makeup_end'],
];

// where each pending task is handled
const TASK_ROUTE = {
  general_review: 'reviews-general',
  simple_review: 'reviews-simple',
  exemption_review: 'exemptions',
  assessor_review: null, // depends on the role: see taskRoute
  assessor_exemption: 'assessor-exemptions',
  makeup_confirm: 'makeup',
  cheating_review: 'invigilation',
  assessor_application: 'applications',
  inst_review: 'enrolments',
  teaching_change: 'teaching',
};

function taskRoute(t, mode) {
  if (t.kind === 'assessor_review') return mode === 'authority' ? 'enrolments' : 'assessor-general';
  return TASK_ROUTE[t.kind];
}

function windowState(s, e) {
  const now = Date.now();
  if (!s || !e) return h('span', { class: 'tag plain' }, '未设置');
  if (now < new Date(s)) return h('span', { class: 'tag grey' }, '未开始');
  if (now >= new Date(e)) return h('span', { class: 'tag plain' }, '已结束');
  return h('span', { class: 'tag green' }, '进行中');
}

export function schedule(c) {
  if (!c) return empty('当前没有开放的考核周期');
  const rows = WINDOWS.map(([label, s, e]) =>
    h('li', null, h('span', { class: 'sch-label' }, label), h('span', { class: 'sch-time' }, c[s] ? `${fmtTime(c[s])} — ${fmtTime(c[e])}` : '—'), windowState(c[s], c[e])),
  );
  if (c.withdraw_deadline) rows.push(h('li', null, h('span', { class: 'sch-label' }, '退出本周期截止'), h('span', { class: 'sch-time' }, fmtTime(c.withdraw_deadline)), ''));
  return h('div', null, h('p', { class: 'sch-name' }, c.name, h('small', null, ` 周期编号 ${c.code} · ${c.length_years} 年一周期 · 相似度阈值 ${Number(c.similarity_threshold)}%`)), h('ul', { class: 'schedule' }, rows));
}

function tasks(list, ctx) {
  const shown = list.filter((t) => (ctx.mode === 'assessor' ? ['assessor_review', 'assessor_exemption'].includes(t.kind) : ctx.mode === 'institution' ? !['assessor_review', 'assessor_exemption'].includes(t.kind) : true));
  return h(
    'ul',
    { class: 'tasks' },
    shown.map((t) => {
      const route = taskRoute(t, ctx.mode);
      return h(
        'li',
        { class: t.count ? 'has' : '' },
        h('span', { class: 'task-label' }, t.label),
        h('span', { class: 'task-count' }, String(t.count)),
        route && btn('去处理', () => ctx.go(route + (t.kind === 'cheating_review' ? '/疑似' : '')), 'small' + (t.count ? ' primary' : '')),
      );
    }),
  );
}

function rates(p) {
  return h(
    'div',
    { class: 'rings' },
    ring(p.registration, { color: COLORS[0], caption: '已填报信息医师 / 已确认参加' }),
    ring(p.review, { color: COLORS[1], caption: '已审核 / 已提交' }),
    ring(p.final, { color: COLORS[2], caption: '已完成考核医师 / 已确认参加' }),
  );
}

function contact(title, c) {
  return h('div', { class: 'contact' }, h('h4', null, title), c ? desc([['名称', c.name], ['联系人', c.contact_name], ['联系电话', c.contact_phone]], 1) : h('p', { class: 'muted' }, '尚未分配'));
}

// no cycle open (admind answers cycle: null): the notice, what is still to do, contacts
function noCycle(ctx, d, side) {
  return h(
    'div',
    { class: 'home' },
    h(
      'div',
      { class: 'home-grid' },
      card('考核安排', h('div', null, empty(ctx.mode === 'authority' ? '当前没有开放的考核周期' : '当前没有开放的考核周期，请等待卫生行政部门开设考核周期。'), ctx.province && h('p', { class: 'center' }, btn('开设考核周期', () => ctx.go('cycles'), 'primary')))),
      card('待处理任务', d.pending_tasks.length ? tasks(d.pending_tasks, ctx) : empty('暂无待处理任务')),
    ),
    side && h('div', { class: 'home-grid' }, side),
  );
}

export async function page(ctx) {
  if (ctx.mode === 'authority') return authorityHome(ctx);
  const d = await api.get('/institution/home');
  const c = d.counts;
  const side = card('联系方式', h('div', { class: 'contacts' }, contact('考核机构', d.contacts.assessor), contact('行政机构', d.contacts.authority)));
  if (!d.cycle) return noCycle(ctx, d, ctx.mode === 'assessor' ? null : side);
  if (ctx.mode === 'assessor') return assessorHome(ctx, d);
  return h(
    'div',
    { class: 'home' },
    h('div', { class: 'home-grid' }, card('考核安排', schedule(d.schedule)), card('待处理任务', tasks(d.pending_tasks, ctx))),
    h(
      'div',
      { class: 'home-grid' },
      card('考核进度', h('div', null, rates(d.progress), h('p', { class: 'muted small center' }, `确认参加 ${c.confirmed} 人 · 已提交 ${c.submitted} · 已审核 ${c.reviewed} · 考核完成 ${c.completed}（合格 ${c.passed}，不合格 ${c.failed}）· 退出本周期 ${c.withdrawn}`))),
      side,
    ),
  );
}

// the 考核机构's home: its queue by state (the counts of its review lists)
async function assessorHome(ctx, d) {
  const states = ['待考核机构复核', '待医疗卫生机构审核（被考核机构驳回）', '待参加考核', '考核完成'];
  const totals = await Promise.all(states.map((s) => api.get('/assessor/reviews' + api.qs({ status: s, page_size: 1 })).then((r) => r.total)));
  const items = states.map((s, i) => ({ label: s === '待医疗卫生机构审核（被考核机构驳回）' ? '已驳回（待机构重新评定）' : s === '待参加考核' ? '复核通过（待参加考核）' : s, value: totals[i] }));
  return h(
    'div',
    { class: 'home' },
    h('div', { class: 'home-grid' }, card('考核安排', schedule(d.schedule)), card('待处理任务', tasks(d.pending_tasks, ctx))),
    h(
      'div',
      { class: 'home-grid' },
      card('复核情况（本周期）', bars(items, { unit: ' 人', labelW: 200 })),
      card('复核说明', h('p', { class: 'muted' }, '作为考核机构，您负责复核所承担医疗卫生机构提交的医师报名、工作成绩和职业道德评定以及免考申请：复核通过的医师进入测评；驳回的退回医疗卫生机构重新评定或驳回至医师。')),
    ),
  );
}

const STATUS_ORDER = ['待报名', '待报名（被机构驳回）', '待医疗卫生机构审核', '待医疗卫生机构审核（被考核机构驳回）', '待考核机构复核', '待参加考核', '待确认补考', '待参加补考', '考核完成', '退出本周期'];

async function authorityHome(ctx) {
  const d = await api.get('/authority/home');
  if (!d.cycle) return noCycle(ctx, d, null);
  const by = new Map(d.by_status.map((r) => [r.status, r.count]));
  const items = STATUS_ORDER.filter((s) => by.has(s)).map((s) => ({ label: s, value: by.get(s) }));
  return h(
    'div',
    { class: 'home' },
    h('div', { class: 'home-grid' }, card('考核安排', schedule(d.schedule)), card('待处理任务', tasks(d.pending_tasks, ctx))),
    h(
      'div',
      { class: 'home-grid' },
      card('辖区考核进度', rates(d.progress)),
      card('辖区医师考核状态分布', items.length ? bars(items, { unit: ' 人', labelW: 230 }) : empty('本周期尚无医师确认参加')),
    ),
  );
}
