// portal.js - the physician's own pages around the tests (医师个人端): what every page
// shows of the enrolment (the status in plain words and what to do next, the reasons of a
// 驳回, the cycle's windows) and the home page (首页). The data are admind's
// (GET /api/v1/physician/me through api.admin); nothing here is decided in the page:
// which buttons exist comes from the server's `editable` and `actions`.

import * as api from './api.js';
import * as clock from './clock.js';
import { el, fmtDate, fmtWhen, PAPER_NAMES, toMs } from './ui.js';

// The physician's registration as admind has it; waits through 503 (Retry-After) with the
// page's waiting message when ctx gives one.
export const loadMe = (ctx) =>
  api.retrying(() => api.admin.get('/api/v1/physician/me'), { onWait: ctx && ctx.wait, retryNetwork: true, maxAttempts: 3 });

// The statuses of DESIGN.md §1.1 in the seed's words ([004] 考核状态 查询解释), said to
// the physician: what it means, what to do next, and where to go for it.
export const STATUS = {
  待报名: {
    tone: 'todo',
    means: '所在医疗卫生机构已确认您参加本周期定期考核，您还没有提交报名信息。',
    next: '请在医师报名时间内完善基本信息、选择考核程序并填写工作成绩和职业道德自评、上传本人照片，然后提交报名。',
    go: ['registration', '填写报名信息'],
  },
  '待报名（被机构驳回）': {
    tone: 'bad',
    means: '您提交的报名信息被审核机构驳回，需要修改后重新提交。',
    next: '请查看驳回理由，按要求修改相应内容后重新提交报名（须在医师报名时间内）。',
    go: ['registration', '修改并重新提交'],
  },
  待医疗卫生机构审核: {
    tone: 'wait',
    means: '您的报名信息已提交，正在等待所在医疗卫生机构审核。',
    next: '审核期间报名信息不能修改。如发现填写有误，请联系所在机构驳回后再修改。',
  },
  '待医疗卫生机构审核（被考核机构驳回）': {
    tone: 'wait',
    means: '您的报名信息已通过所在医疗卫生机构审核，但考核机构复核时驳回，正在等待所在机构重新处理。',
    next: '所在机构可能将报名驳回给您修改；届时本页会显示驳回理由，请按要求修改后重新提交。',
  },
  待考核机构复核: {
    tone: 'wait',
    means: '所在医疗卫生机构已审核通过，正在等待考核机构复核。',
    next: '复核通过后，请在测评时间内参加在线测评。',
  },
  待参加考核: {
    tone: 'todo',
    means: '您的报名已审核通过，等待参加测评。',
    next: '请在测评时间内进入“在线测评”参加测评。',
    go: ['tests', '进入在线测评'],
  },
  待确认补考: {
    tone: 'wait',
    means: '您的首次测评不合格（或未参加测评），正在等待省级卫生行政部门确认是否允许参加补考。',
    next: '确认后，请在补考时间内参加补考。',
  },
  待参加补考: {
    tone: 'todo',
    means: '卫生行政部门已确认您参加补考。',
    next: '请在补考时间内进入“在线测评”参加补考。',
    go: ['tests', '进入在线测评'],
  },
  考核完成: {
    tone: 'ok',
    means: '本周期定期考核已完成。',
    next: '',
    go: ['results', '查看考核结果'],
  },
  退出本周期: {
    tone: 'muted',
    means: '您已退出本考核周期，本周期不参加定期考核。',
    next: '如有疑问，请联系所在医疗卫生机构。',
  },
};

const NOT_ENROLLED = {
  tone: 'muted',
  means: '所在医疗卫生机构尚未确认您参加本周期定期考核。',
  next: '如您本周期应参加考核，请联系所在医疗卫生机构的定考工作人员。',
};

export function statusInfo(enrolment) {
  if (!enrolment) return { label: '未确认参加', ...NOT_ENROLLED };
  const s = STATUS[enrolment.status] || { tone: 'muted', means: '', next: '' };
  const info = { label: enrolment.status, ...s };
  if (enrolment.status === '考核完成') {
    info.label = `考核完成（${enrolment.result || '—'}）`;
    info.tone = enrolment.result === '合格' ? 'ok' : 'bad';
    info.means = enrolment.result === '合格'
      ? '本周期定期考核已完成，考核结果为合格。您可以在“考核结果”中查看并打印合格证书。'
      : `本周期定期考核已完成，考核结果为不合格${enrolment.result_reason ? `（${enrolment.result_reason}）` : ''}。`;
  }
  return info;
}

export const tag = (text, tone) => el('span', { class: 'tag', 'data-tone': tone, text });

// The tests this enrolment needs, in words: "人文医学、业务水平（免考）"
export function testsText(tests) {
  if (!tests || !tests.length) return '';
  return tests
    .filter((t) => t.required || t.exempted)
    .map((t) => `${t.name || PAPER_NAMES[t.paper] || t.paper}${t.exempted ? '（免考）' : t.result ? `（${t.result}）` : ''}`)
    .join('、');
}

// The status card: the status, what it means, what to do next, a way there, and under it
// the reasons of a 驳回 (prominent). extra: nodes added to the actions row.
export function statusCard(me, ctx, { here = null, extra = [] } = {}) {
  const e = me.enrolment;
  const info = statusInfo(e);
  const tests = e ? testsText(me.tests) : '';
  const next = info.next + (e && (e.status === '待参加考核' || e.status === '待参加补考') && tests ? `需参加：${tests}。` : '');
  const goBtn = info.go && info.go[0] !== here
    ? el('button', { type: 'button', class: 'btn primary', text: info.go[1], onclick: () => ctx.go(info.go[0]) })
    : null;
  return el('section', { class: 'status-card', 'data-tone': info.tone, 'aria-labelledby': 'status-title' },
    el('div', { class: 'status-head' },
      el('h2', { id: 'status-title', text: '本周期考核状态' }),
      tag(info.label, info.tone)),
    el('p', { class: 'status-means', text: info.means }),
    next ? el('p', { class: 'status-next' }, el('b', { text: '下一步：' }), next) : null,
    e && e.procedure_type ? el('p', { class: 'small muted', text: `考核程序：${e.procedure_type}${e.submitted_at ? `　最近提交：${fmtWhen(e.submitted_at)}` : ''}` }) : null,
    rejection(me),
    goBtn || extra.length ? el('div', { class: 'row' }, goBtn, ...extra) : null);
}

// The reasons given when a registration was sent back, as the seeds have them: the
// institution's 驳回理由 (to the physician) and the 考核机构's (to the institution).
export function rejection(me) {
  const e = me.enrolment;
  if (!e) return null;
  const boxes = [];
  if (e.status === '待报名（被机构驳回）' && e.inst_reject_reason) {
    boxes.push(el('div', { class: 'reason-box', role: 'note', 'aria-label': '驳回理由' },
      el('h3', { text: '驳回理由' }),
      el('p', { class: 'reason-text', text: e.inst_reject_reason }),
      el('p', { class: 'small muted', text: `${me.institution ? me.institution.name : '医疗卫生机构'}　${fmtWhen(e.inst_rejected_at)}` })));
  }
  if ((e.status === '待报名（被机构驳回）' || e.status === '待医疗卫生机构审核（被考核机构驳回）') && e.assessor_result === '驳回' && e.assessor_reason) {
    boxes.push(el('div', { class: 'reason-box', role: 'note', 'aria-label': '考核机构复核意见' },
      el('h3', { text: '考核机构复核驳回理由' }),
      el('p', { class: 'reason-text', text: e.assessor_reason }),
      el('p', { class: 'small muted', text: `${e.assessor_name || '考核机构'}　${fmtWhen(e.assessor_reviewed_at)}` })));
  }
  return boxes.length ? el('div', { class: 'reasons' }, ...boxes) : null;
}

// The institution's evaluation (医疗卫生机构评定意见) once it has given one, and the
// opinions of other institutions where the physician also practises.
export function evaluation(e, opinions = []) {
  if (!e) return null;
  const rows = [];
  const item = (name, result, reason) => {
    if (!result) return;
    rows.push(el('div', { class: 'eval-row' },
      el('dt', { text: name }),
      el('dd', {}, tag(result, result === '合格' ? 'ok' : 'bad'), reason ? el('span', { class: 'eval-reason', text: reason }) : null)));
  };
  item('完成工作数量', e.inst_quantity_result);
  item('工作成绩', e.inst_work_result, e.inst_work_reason);
  item('职业道德', e.inst_ethics_result, e.inst_ethics_reason);
  if (!rows.length && !opinions.length) return null;
  return el('section', { class: 'card', 'aria-labelledby': 'eval-title' },
    el('h2', { id: 'eval-title', text: '审核意见' }),
    rows.length ? el('dl', { class: 'eval' }, ...rows) : null,
    e.inst_reviewed_at ? el('p', { class: 'small muted', text: `医疗卫生机构评定时间：${fmtWhen(e.inst_reviewed_at)}` }) : null,
    opinions.length ? el('h3', { text: '多执业机构其它意见' }) : null,
    ...opinions.map((o) => el('p', { class: 'opinion' }, el('b', { text: `${o.other_institution_name}：` }), o.opinion)));
}

// The cycle's windows with their state now (server time), Beijing time.
const WINDOWS = [
  ['考核周期', 'period_start', 'period_end'],
  ['医师报名', 'registration_start', 'registration_end'],
  ['医疗卫生机构审核', 'inst_review_start', 'inst_review_end'],
  ['考核机构复核', 'assessor_review_start', 'assessor_review_end'],
  ['测评', 'test_start', 'test_end'],
  ['补考', 'makeup_start', 'makeup_end'],
];

export function windowState(cycle, startKey, endKey) {
  const now = clock.now();
  const s = toMs(cycle[startKey]);
  const e = toMs(cycle[endKey]);
  if (s === null && e === null) return null;
  if (s !== null && now < s) return ['未开始', 'muted'];
  if (e !== null && now >= e) return ['已结束', 'muted'];
  return ['进行中', 'ok'];
}

export function windowsTable(cycle) {
  if (!cycle) return null;
  const rows = WINDOWS.filter(([, s, e]) => cycle[s] || cycle[e]).map(([name, s, e]) => {
    const st = windowState(cycle, s, e);
    return el('tr', {},
      el('th', { scope: 'row', text: name }),
      el('td', { text: `${fmtWhen(cycle[s])} 至 ${fmtWhen(cycle[e])}` }),
      el('td', {}, st ? tag(st[0], st[1]) : ''));
  });
  if (cycle.withdraw_deadline) {
    const past = clock.now() >= toMs(cycle.withdraw_deadline);
    rows.push(el('tr', {},
      el('th', { scope: 'row', text: '退出本周期截止' }),
      el('td', { text: fmtWhen(cycle.withdraw_deadline) }),
      el('td', {}, tag(past ? '已截止' : '未截止', past ? 'muted' : 'ok'))));
  }
  return el('table', { class: 'windows' },
    el('caption', { class: 'sr-only', text: '考核安排（北京时间）' }),
    el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: '事项' }), el('th', { scope: 'col', text: '时间（北京时间）' }), el('th', { scope: 'col', text: '状态' }))),
    el('tbody', {}, ...rows));
}

export function loadError(box, e, retry) {
  const why = e.network ? '无法连接考核报名服务，请检查网络后重试。如一直无法连接，请联系所在医疗卫生机构。' : e.message;
  box.replaceChildren(
    el('p', { class: 'notice', 'data-kind': 'warn', role: 'alert', text: `没有能够加载：${why}` }),
    el('button', { type: 'button', class: 'btn', text: '重新加载', onclick: retry }));
}

// ---- 首页 -----------------------------------------------------------------------------------

export async function home(view, ctx) {
  const body = view.querySelector('.portal-body');
  const who = api.physician();
  body.append(
    el('p', { class: 'greeting muted', text: who ? `${who.name}，您好` : '' }),
    el('h1', { id: 'portal-title', text: '首页' }),
    el('p', { class: 'loading-text', role: 'status' }, el('span', { class: 'spinner', 'aria-hidden': 'true' }), '正在加载……'));
  let me;
  try {
    await api.site();
    me = await loadMe(ctx);
  } catch (e) {
    if (e.status === 401) return;
    return loadError(body, e, () => ctx.go('home'));
  }
  const c = me.cycle;
  const p = me.physician;
  const links = [
    ['registration', '考核报名', '基本信息、考核程序与自评、本人照片，提交报名'],
    ['exemption', '免考申请', '符合免考条件的，申请免考并上传证明材料'],
    ['tests', '在线测评', '在测评时间内参加人文医学、业务水平测评'],
    ['results', '考核结果', '历次考核结果，打印合格证书'],
    ['credits', '我的学分', '继续医学教育学分与年度验证'],
    ['teaching', '跟班带教', '报名提交后申请修改本周期的跟班带教情况'],
  ];
  body.replaceChildren(
    el('p', { class: 'greeting muted', text: `${p.name}，您好` }),
    el('h1', { id: 'portal-title', text: '首页' }),
    el('p', { class: 'lead', text: `${me.institution ? me.institution.name : ''}　${p.practice_level || ''}　${p.practice_category || ''}` }),
    statusCard(me, ctx),
    el('div', { class: 'home-grid' },
      el('section', { class: 'card', 'aria-labelledby': 'cycle-title' },
        el('h2', { id: 'cycle-title', text: '考核安排' }),
        c ? el('p', { class: 'cycle-name', text: c.name }) : el('p', { class: 'muted', text: '当前没有开放的考核周期。' }),
        windowsTable(c)),
      el('nav', { class: 'card quick', 'aria-label': '常用功能' },
        el('h2', { text: '常用功能' }),
        el('ul', {}, ...links.map(([r, name, what]) =>
          el('li', {}, el('a', { href: `#/${r}` }, el('b', { text: name }), el('span', { class: 'small muted', text: what }))))))),
    me.institution && (me.institution.contact_name || me.institution.contact_phone)
      ? el('p', { class: 'small muted', text: `所在机构联系人：${me.institution.contact_name || ''}　${me.institution.contact_phone || ''}` })
      : null,
    c ? el('p', { class: 'small muted', text: `系统时间：${fmtWhen(clock.now())}（北京时间）　考核周期：${fmtDate(c.period_start)} 至 ${fmtDate(c.period_end)}` }) : null);
}
