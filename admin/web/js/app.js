// app.js - the console's frame: login (with the captcha after failed attempts), the forced
// change of an initial password, the cycle notice after a first login, the header (account,
// 切换 between 医疗卫生机构 and 考核机构 for an institution that is both, 修改密码, 退出), the
// left menu of the acting role, and the hash router (#/page/param) that draws one page.
//
// Pages are modules under js/pages/; each route names the roles that see it. The acting
// role is the account's kind, or for an institution that is also a 考核机构 the one chosen
// with 切换 (kept in the session).

import * as api from './api.js';
import { h, clear, btn, toast, modal, form, fmtDate, tag } from './ui.js';
import * as home from './pages/home.js';
import * as org from './pages/org.js';
import * as phys from './pages/physicians.js';
import * as review from './pages/review.js';
import * as progress from './pages/progress.js';
import * as invig from './pages/invigilation.js';
import * as auth from './pages/authority.js';
import * as cme from './pages/cme.js';
import * as items from './pages/items.js';
import * as region from './pages/region.js';
import * as reviewers from './pages/reviewers.js';
import * as bulk from './pages/bulk.js';
import * as qbank from './pages/qbank.js';

const I = 'institution';
const S = 'assessor';
const A = 'authority';
const Q = 'qbank'; // 题库管理员: an authority account of kind 'qbank', the question-bank pages only

// path, menu group, label, roles, page; menu: false for detail pages; province: an
// authority sees it only at the province level
const ROUTES = [
  { path: 'home', group: null, label: '首页', roles: [I, S, A], page: home.page },
  { path: 'profile', group: '机构信息', label: '本机构信息', roles: [I], page: org.profile },
  { path: 'departments', group: '机构信息', label: '科室信息', roles: [I], page: org.departments },
  { path: 'apply', group: '机构信息', label: '申请考核机构', roles: [I], page: org.apply },
  { path: 'physicians', group: '医师管理', label: '医师列表', roles: [I], page: phys.page },
  { path: 'reviews-general', group: '考核管理', label: '一般程序审核', roles: [I], page: (c) => review.queue(c, '一般程序') },
  { path: 'reviews-simple', group: '考核管理', label: '简易程序审核', roles: [I], page: (c) => review.queue(c, '简易程序') },
  { path: 'exemptions', group: '考核管理', label: '免考审核', roles: [I], page: review.exemptions },
  { path: 'assessor-general', group: '复核管理', label: '一般程序复核', roles: [S], page: (c) => review.queue(c, '一般程序') },
  { path: 'assessor-simple', group: '复核管理', label: '简易程序复核', roles: [S], page: (c) => review.queue(c, '简易程序') },
  { path: 'assessor-exemptions', group: '复核管理', label: '免考复核', roles: [S], page: review.exemptions },
  { path: 'cycles', group: null, label: '考核周期', roles: [A], page: auth.cycles },
  { path: 'institutions', group: '机构管理', label: '机构账号', roles: [A], page: auth.institutions },
  { path: 'applications', group: '机构管理', label: '考核机构申请', roles: [A], page: auth.applications },
  { path: 'assignments', group: '机构管理', label: '考核机构分配', roles: [A], page: auth.assignments },
  { path: 'enrolments', group: '考核管理', label: '报名审核情况', roles: [A], page: auth.enrolments },
  { path: 'makeup', group: '考核管理', label: '补考确认', roles: [A], page: auth.makeup },
  { path: 'progress', group: '进度管理', label: '考核进度', roles: [I, A], page: progress.progress },
  { path: 'test-progress', group: '进度管理', label: '测评进度', roles: [I, A], page: progress.testProgress },
  { path: 'invigilation', group: '进度管理', label: '监考管理', roles: [I, A], page: invig.list },
  { path: 'inst-makeups', group: null, label: '补考管理', roles: [I], page: region.makeups },
  { path: 'inst-stats', group: null, label: '考核统计', roles: [I], page: region.instStats },
  { path: 'stats', group: null, label: '考核统计', roles: [A], page: auth.stats },
  { path: 'history', group: null, label: '历史考核结果查询', roles: [I, A], page: progress.history },
  { path: 'workflow', group: null, label: '业务流程说明', roles: [I, S, A], page: auth.workflow },
  { path: 'cme-projects', group: '继续医学教育', label: '继教项目', roles: [I, A], page: cme.projects },
  { path: 'cme-cards', group: '继续医学教育', label: '继教IC卡', roles: [I, A], page: cme.cards },
  { path: 'cme-records', group: '继续医学教育', label: '学分查询', roles: [I, A], page: cme.records },
  { path: 'cme-stats', group: '继续医学教育', label: '学分统计', roles: [A], page: cme.stats },
  { path: 'cme-rules', group: '继续医学教育', label: '年度验证规则', roles: [A], page: cme.rules },
  // issue 16 (pages/region.js)
  { path: 'accounts', group: '机构管理', label: '下级部门与账号', roles: [A], page: region.accounts },
  { path: 'conduct', group: '医师管理', label: '不良执业行为记录', roles: [A], page: region.conduct },
  { path: 'registry', group: '医师管理', label: '医师电子化注册', roles: [A], page: region.registry },
  { path: 'failed', group: '考核管理', label: '不合格处理', roles: [A], page: region.failed },
  { path: 'teaching', group: '考核管理', label: '跟班带教修改申请', roles: [I], page: region.teaching },
  { path: 'cme-project', menu: false, label: '继教项目详情', roles: [I, A], page: cme.project },
  { path: 'review', menu: false, label: '审核详情', roles: [I, S, A], page: review.detail },
  { path: 'session', menu: false, label: '监考详情', roles: [I, A], page: invig.detail },
  { path: 'certificate', menu: false, label: '合格证书', roles: [I, A], page: progress.certificate },
  { path: 'reviewers', group: '机构信息', label: '信息审核员', roles: [I], page: reviewers.page },
  { path: 'bulk-makeup', group: '考核管理', label: '批量补考确认', roles: [A], page: bulk.makeups },
  { path: 'absentees', group: '考核管理', label: '缺考认定', roles: [A], page: bulk.absentees },
  // 题库管理 (issue 17): the province and its 题库管理员
  { path: 'qbank', group: '题库管理', label: '题库概况', roles: [A, Q], province: true, page: qbank.overview },
  { path: 'qbank-upload', group: '题库管理', label: '上传题目', roles: [A, Q], province: true, page: qbank.upload },
  { path: 'qbank-releases', group: '题库管理', label: '版本发布', roles: [A, Q], province: true, page: qbank.releases },
  { path: 'qbank-questions', group: '题库管理', label: '题目管理', roles: [A, Q], province: true, page: qbank.questions },
  { path: 'qbank-blueprints', group: '题库管理', label: '组卷蓝图', roles: [A, Q], province: true, page: qbank.blueprints },
  { path: 'qbank-preview', group: '题库管理', label: '试卷预览', roles: [A, Q], province: true, page: qbank.preview },
  { path: 'items', group: '题库管理', label: '试题分析', roles: [A, Q], province: true, page: items.page },
  { path: 'qbank-admins', group: '题库管理', label: '题库管理员', roles: [A], province: true, page: qbank.admins },
  { path: 'qbank-release', menu: false, label: '版本详情', roles: [A, Q], province: true, page: qbank.release },
];

const root = document.getElementById('app');
const ROLE_LABEL = { institution: '医疗卫生机构', assessor: '考核机构' };

const ctx = {
  me: null,
  mode: null, // institution | assessor | authority
  province: false,
  go(path) {
    if (location.hash === '#/' + path) render();
    else location.hash = '#/' + path;
  },
  refresh() {
    render();
  },
};

// Leaving an account reloads the page: no list, cache or photo of one account survives
// into the next login in the same tab. The notice is carried over in sessionStorage.
function leave(notice) {
  api.session.clear();
  sessionStorage.setItem('dk.notice', notice);
  location.replace(location.pathname);
}

api.setExpiredHandler((msg) => {
  ctx.me = null;
  leave(msg || '登录已过期，请重新登录');
});
// A token that must still change its initial password (403 password_change_required):
// start again, which reads /me and shows the forced change (once for a burst of replies).
let restarting = null;
api.setMustChangeHandler(() => {
  ctx.me = null;
  restarting = restarting || start().finally(() => (restarting = null));
});

// ---- login ------------------------------------------------------------------------------------------

function showLogin(notice) {
  if (!notice) notice = sessionStorage.getItem('dk.notice');
  sessionStorage.removeItem('dk.notice');
  document.title = '登录 - 医师定期考核信息登记管理系统';
  let captcha = null;
  const err = h('div', { class: 'form-error', role: 'alert', hidden: true });
  const account = h('input', { id: 'l-account', autocomplete: 'username', required: true, placeholder: '机构账号或用户名' });
  const password = h('input', { id: 'l-password', type: 'password', autocomplete: 'current-password', required: true, placeholder: '请输入密码' });
  const capInput = h('input', { id: 'l-captcha', inputmode: 'numeric', maxlength: 4, autocomplete: 'off', placeholder: '计算结果' });
  const capImg = h('img', { class: 'captcha-img', alt: '验证码（点击更换）', title: '看不清？点击更换', onclick: () => loadCaptcha() });
  const capRow = h('div', { class: 'login-row captcha-row', hidden: true }, h('label', { for: 'l-captcha' }, '验证码'), h('div', { class: 'captcha-box' }, capInput, capImg));
  // the initial password 666666 needs the one-time activation code the authority was shown
  // when it opened or reset the account (domain/dom_account.h)
  const actInput = h(
      'input',
      {id : 'l-activation', autocomplete : 'off', maxlength : 16, placeholder : '如 ABCDE-FGHJK'});
  const actRow = h('div', {class : 'login-row activation-row', hidden : true}, h('label', { for: 'l-activation'
                   }, '激活码'), actInput);
  password.addEventListener('input', () => {
      if (password.value === '666666') actRow.hidden = false;
  });
  const types = h(
    'div',
    { class: 'login-types', role: 'radiogroup', 'aria-label': '账号类型' },
    [
      ['institution', '医疗卫生机构 / 考核机构'],
      ['authority', '卫生行政部门'],
      ['reviewer', '信息审核员'],
    ].map(([v, l], i) => h('label', { class: 'login-type' }, h('input', { type: 'radio', name: 'l-type', value: v, checked: i === 0 }), ' ', l)),
  );
  async function loadCaptcha() {
    try {
      const c = await api.get('/captcha', { auth: false });
      captcha = c.captcha_id;
      capImg.src = c.image;
      capInput.value = '';
      capRow.hidden = false;
    } catch (e) {
      err.textContent = e.message;
      err.hidden = false;
    }
  }
  const submit = h('button', { type: 'submit', class: 'btn primary block' }, '登录');
  const f = h(
      'form',
      {class : 'login-form', novalidate : true},
      h('h2', null, '用户登录'),
      types,
      h('div', {class : 'login-row'},
        h('label',
          { for: 'l-account'
          },
          '账号'),
        account),
      h('div', {class : 'login-row'},
        h('label',
          { for: 'l-password'
          },
          '密码'),
        password),
      actRow,
      capRow,
      err,
      submit,
      h('p', {class : 'login-help'},
        '机构账号由隶属卫生行政部门开设，初始密码为 666666；首次登录（或重置密码后）须填写开设或重置时给出的激活码并修改密码。忘记密码请联系隶属卫生行政部门重置。'),
  );
  f.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.hidden = true;
    const type = f.querySelector('input[name=l-type]:checked').value;
    if (!account.value.trim() || !password.value) {
      err.textContent = '请输入账号和密码';
      err.hidden = false;
      return;
    }
    if (!capRow.hidden && !capInput.value.trim()) {
      err.textContent = '请输入验证码';
      err.hidden = false;
      capInput.focus();
      return;
    }
    const body = { type, account: account.value.trim(), password: password.value };
    if (password.value === '666666') {
        actRow.hidden = false;
        if (!actInput.value.trim()) {
            err.textContent = '首次登录（或重置密码后）请填写上级部门提供的激活码';
            err.hidden = false;
            actInput.focus();
            return;
        }
        body.activation_code = actInput.value.trim();
    }
    const devKey = `dk.device.${type}.${body.account.toUpperCase()}`;
    try {
        const dev = localStorage.getItem(devKey);
        if (dev) body.device_token = dev;
    } catch {
        /* no storage: the ordinary budget */
    }
    if (!capRow.hidden && captcha) Object.assign(body, { captcha_id: captcha, captcha_answer: capInput.value.trim() });
    submit.disabled = true;
    try {
      const r = await api.post('/login', body, { auth: false });
      try {
          if (r.device_token) localStorage.setItem(devKey, r.device_token);
      } catch {
          /* as above */
      }
      api.session.set({ token: r.token, type: r.account.type, expires_at: r.expires_at, mode: null, firstLogin: r.must_change_password });
      await start();
    } catch (x) {
      // the new captcha first, then the error: the two appear together (a page, or a test,
      // that reads the error sees the captcha it asks for)
      if (x.body && x.body.error && x.body.error.activation_required) actRow.hidden = false;
      if ((x.body && x.body.error && x.body.error.captcha_required) || !capRow.hidden) await loadCaptcha();
      err.textContent = x.message;
      err.hidden = false;
      password.select();
    } finally {
      submit.disabled = false;
    }
  });
  clear(
    root,
    h(
      'div',
      { class: 'login-page' },
      h(
        'div',
        { class: 'login-banner' },
        h('img', { src: 'icon.svg', alt: '', width: 56, height: 56 }),
        h('div', null, h('h1', null, '医师定期考核信息登记管理系统'), h('p', null, '医疗卫生机构 · 考核机构 · 卫生行政部门')),
      ),
      h('div', { class: 'login-card' }, notice && h('div', { class: 'notice', role: 'status' }, notice), f),
      h('footer', { class: 'login-foot' }, '建议使用 Chrome 浏览器访问 · 定考 dingkao'),
    ),
  );
  account.focus();
}

// ---- forced password change ------------------------------------------------------------------------------

function passwordForm({ forced }) {
  const f = form(
    [
      { name: 'old', label: '原密码', type: 'password', required: true },
      { name: 'new1', label: '新密码', type: 'password', required: true, hint: '至少 8 位，且包含大写字母、小写字母、数字和特殊符号中的任意三种' },
      { name: 'new2', label: '确认新密码', type: 'password', required: true },
    ],
    { cols: 1 },
  );
  if (forced) f.set('old', '');
  return f;
}

export function passwordOk(p) {
  const kinds = [/[A-Z]/, /[a-z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((r) => r.test(p)).length;
  return p.length >= 8 && kinds >= 3;
}

async function changePassword(f) {
  const v = f.check();
  if (v.new1 !== v.new2) throw new Error('两次输入的新密码不一致');
  if (!passwordOk(v.new1)) throw new Error('新密码至少 8 位，且包含大写字母、小写字母、数字和特殊符号中的任意三种');
  if (v.new1 === v.old) throw new Error('新密码不能与原密码相同');
  const r = await api.post('/password', { old_password: v.old, new_password: v.new1 });
  api.session.update({ token: r.token, expires_at: r.expires_at });
}

function showForcedChange(me) {
  document.title = '修改初始密码 - 医师定期考核信息登记管理系统';
  const f = passwordForm({ forced: true });
  const err = h('div', { class: 'form-error', role: 'alert', hidden: true });
  const save = btn('保存', async () => {
    err.hidden = true;
    save.disabled = true;
    try {
      await changePassword(f);
      toast('密码已修改');
      await start();
    } catch (e) {
      err.textContent = e.message;
      err.hidden = false;
    } finally {
      save.disabled = false;
    }
  }, 'primary');
  clear(
    root,
    h(
      'div',
      { class: 'login-page' },
      h('div', { class: 'login-banner' }, h('img', { src: 'icon.svg', alt: '', width: 56, height: 56 }), h('div', null, h('h1', null, '医师定期考核信息登记管理系统'))),
      h(
        'div',
        { class: 'login-card wide' },
        h('h2', null, '初始化：修改初始密码'),
        h('p', { class: 'muted' }, `${me.name}（${me.login}），您正在使用初始密码，请先设置新密码后再使用系统。`),
        f.el,
        err,
        h('div', { class: 'row-actions' }, save, btn('退出', logout)),
      ),
    ),
  );
}

// 退出登录: the server ends every token of this account, on admind and examd alike (POST
// /logout, sent with keepalive so that it outlives the page); the page leaves at once.
function logout() {
  api.post('/logout', {}, { keepalive: true }).catch(() => {});
  ctx.me = null;
  leave('您已安全退出');
}

// ---- the frame ------------------------------------------------------------------------------------------------

function roleOf(me) {
  if (me.type === 'authority') return (me.roles || []).includes('qbank') ? Q : A;
  const s = api.session.get() || {};
  return me.is_assessor && s.mode === S ? S : I;
}

// an institution's 信息审核员 (type reviewer) sees the review pages only (admind refuses the rest)
const REVIEWER_PATHS = ['home', 'reviews-general', 'reviews-simple', 'exemptions', 'assessor-general', 'assessor-simple', 'assessor-exemptions', 'review', 'workflow'];

function routesFor(mode) {
  const reviewer = ctx.me && ctx.me.type === 'reviewer';
  return ROUTES.filter((r) => r.roles.includes(mode) && (!r.only || r.only(ctx)) && !(r.province && mode === A && !ctx.province) && (!reviewer || REVIEWER_PATHS.includes(r.path)));
}

function menu(mode, current) {
  const nav = h('nav', { class: 'sidemenu', 'aria-label': '功能菜单' });
  const groups = new Map();
  for (const r of routesFor(mode)) {
    if (r.menu === false) continue;
    const key = r.group || r.label;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(r);
  }
  for (const [g, rs] of groups) {
    if (!rs[0].group) {
      const r = rs[0];
      nav.append(h('a', { href: '#/' + r.path, class: 'menu-item top' + (r.path === current ? ' active' : ''), 'aria-current': r.path === current ? 'page' : null }, r.label));
      continue;
    }
    nav.append(
      h(
        'div',
        { class: 'menu-group' },
        h('div', { class: 'menu-title' }, g),
        rs.map((r) => h('a', { href: '#/' + r.path, class: 'menu-item' + (r.path === current ? ' active' : ''), 'aria-current': r.path === current ? 'page' : null }, r.label)),
      ),
    );
  }
  return nav;
}

function header(me, mode) {
  const who = me.type === 'authority' ? me.role_name : me.type === 'reviewer' ? `${me.name}${ROLE_LABEL[mode]}信息审核员` : ROLE_LABEL[mode];
  const right = h(
    'div',
    { class: 'head-right' },
    h('span', { class: 'who' }, h('strong', null, me.type === 'reviewer' ? me.reviewer.name : me.name), `（${who}）`),
    (me.type === 'institution' || me.type === 'reviewer') && me.is_assessor && btn('切换', () => switchRole(), 'head-link switch'),
    btn('修改密码', () => passwordDialog(), 'head-link'),
    btn('退出登录', logout, 'head-link'),
  );
  const region = me.authority ? me.authority.name : '';
  return h(
    'header',
    { class: 'top' },
    h('a', { class: 'brand', href: '#/home' }, h('img', { src: 'icon.svg', alt: '', width: 30, height: 30 }), h('span', null, '医师定期考核信息登记管理系统'), region && h('small', null, region)),
    right,
  );
}

async function switchRole() {
  const me = ctx.me;
  const cur = roleOf(me);
  const next = cur === I ? S : I;
  const ok = await modal({
    title: '切换身份',
    body: h('p', { class: 'confirm-text' }, `${me.name}既是医疗卫生机构，也是考核机构。切换到「${ROLE_LABEL[next]}」身份？`),
    okText: '切换',
  });
  if (!ok) return;
  api.session.update({ mode: next });
  toast(`已切换为${ROLE_LABEL[next]}`);
  location.hash = '#/home';
  render();
}

async function passwordDialog() {
  const f = passwordForm({ forced: false });
  const ok = await modal({ title: '修改密码', body: f.el, okText: '确认', onOk: () => changePassword(f) });
  if (ok) toast('密码已修改');
}

async function cycleNotice(me) {
  const c = me.cycle;
  if (!c || roleOf(me) === Q) return; // the 题库管理员 has nothing to do in a cycle
  const role = me.type === 'authority' ? '' : '请在规定时间内完成本机构信息维护、医师确认和审核工作。';
  await modal({
    title: '考核周期提示',
    body: h(
      'div',
      { class: 'cycle-notice' },
      h('p', null, '当前考核周期：', h('strong', null, c.name)),
      h('p', null, '周期时间：', h('strong', null, `${fmtDate(c.period_start)} 至 ${fmtDate(c.period_end)}`)),
      role && h('p', { class: 'muted' }, role),
    ),
    okText: '去确认',
    cancelText: null,
  });
  if (me.type === 'institution') location.hash = '#/profile';
}

// ---- routing -----------------------------------------------------------------------------------------------------

function parseHash() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  return { path: parts[0] || 'home', params: parts.slice(1) };
}

let renderSeq = 0;
async function render() {
  const me = ctx.me;
  if (!me) return;
  const my = ++renderSeq;
  api.releaseBlobs();
  const mode = roleOf(me);
  ctx.mode = mode;
  ctx.province = me.type === 'authority' && (me.roles || []).includes('province');
  const { path, params } = parseHash();
  let route = routesFor(mode).find((r) => r.path === path);
  if (!route) route = routesFor(mode)[0] || ROUTES[0];
  ctx.params = params;
  ctx.route = route;
  const main = h('main', { class: 'main', id: 'main', tabindex: '-1' });
  const crumbs = h(
    'div',
    { class: 'crumbs' },
    h('a', { href: '#/home' }, '首页'),
    route.path !== 'home' && [h('span', { class: 'sep' }, '/'), route.group && route.menu !== false && [h('span', null, route.group), h('span', { class: 'sep' }, '/')], h('span', { class: 'cur' }, route.label)],
  );
  clear(
    root,
    header(me, mode),
    h('div', { class: 'shell' }, h('aside', { class: 'side' }, menu(mode, route.menu === false ? null : route.path), me.cycle && h('div', { class: 'side-cycle' }, h('div', null, '当前周期'), h('strong', null, me.cycle.name), tag(me.cycle.status === 'open' ? '开放' : me.cycle.status))), h('div', { class: 'content' }, crumbs, main)),
  );
  document.title = `${route.label} - 医师定期考核信息登记管理系统`;
  try {
    const node = await route.page({ ...ctx, main });
    if (my !== renderSeq) return;
    if (node) main.append(node);
  } catch (e) {
    if (my !== renderSeq) return;
    main.append(h('div', { class: 'load-error', role: 'alert' }, e.message || String(e)));
  }
}

async function start() {
  const s = api.session.get();
  if (!s || !s.token) return showLogin();
  let me;
  try {
    me = await api.get('/me');
  } catch (e) {
    if (e.status !== 401) showLogin(e.message);
    return;
  }
  if (me.must_change_password) return showForcedChange(me);
  if (me.type === 'physician') return leave('医师请使用「医师服务」在线测评页面登录');
  ctx.me = me;
  if (s.firstLogin) {
    api.session.update({ firstLogin: false });
    await cycleNotice(me);
  }
  await render();
}

window.addEventListener('hashchange', () => ctx.me && render());
start();
