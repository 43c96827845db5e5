// app.js - the physician's pages and the way between them: login, the forced password
// change, the portal (首页, 考核报名, 免考申请, 在线测评, 考核结果 and the certificate: the
// hash routes #/home, #/registration, ...), the camera check before a start, the test
// (exam.js) and its result. One view at a time in <main>; each view has a clean-up.
//
// After login the page lands on 在线测评 when examd lists a test (on a test day nothing
// but examd is asked: the synchronized start never reaches admind), else on 首页.
// sessionStorage keeps the token and the session in progress ("dk.active") so that a
// reload goes straight back into the test; a second device gets there from the list
// (继续考试). Answers waiting for the network are in localStorage (outbox.js).

import * as api from './api.js';
import * as clock from './clock.js';
import { Camera, CHALLENGE_PROMPTS, CHALLENGE_TURN_MS, cameraErrorMessage, serverVerdict } from './camera.js';
import { forgetSession, runExam } from './exam.js';
import { ruleText } from './integrity.js';
import * as exemption from './exemption.js';
import * as portal from './portal.js';
import * as registration from './registration.js';
import * as results from './results.js';
import * as credits from './credits.js';
import * as teaching from './teaching.js';
import { $, el, fmtDateTime, fmtMinutes, fromTemplate, PAPER_NAMES } from './ui.js';

const ACTIVE_KEY = 'dk.active';
const main = document.getElementById('main');
const waitBox = document.getElementById('waiting');
let cleanup = null;
let leaving = []; // clean-ups the portal pages register (object URLs)

// The views that show the portal's navigation, and the link each one marks as current.
const NAV_VIEWS = { portal: null, tests: 'tests', result: 'tests' };

function show(templateId, title, navKey) {
  if (cleanup) cleanup();
  cleanup = null;
  for (const fn of leaving.splice(0)) fn();
  document.querySelectorAll('dialog.portal-dialog').forEach((d) => d.remove());
  const frag = fromTemplate(templateId);
  const view = frag.firstElementChild;
  main.replaceChildren(frag);
  document.title = `${title} - 医师定期考核`;
  const name = templateId.replace(/^t-/, '');
  document.body.dataset.view = name;
  const nav = document.getElementById('portal-nav');
  nav.hidden = !(name in NAV_VIEWS) || !api.token();
  const current = navKey || NAV_VIEWS[name];
  for (const a of nav.querySelectorAll('a')) {
    if (a.dataset.route === current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  refreshWho();
  return view;
}

// ---- the portal's routes -------------------------------------------------------------------

const ROUTES = {
  home: ['首页', portal.home],
  registration: ['考核报名', registration.show],
  exemption: ['免考申请', exemption.show],
  tests: ['我的测评', null],
  results: ['考核结果', results.list],
  certificate: ['合格证书', results.certificate, 'results'],
  credits: ['我的学分', credits.show],
  teaching: ['跟班带教', teaching.show],
};

function currentRoute() {
  const m = /^#\/([a-z]+)(?:\/([^/?#]+))?$/.exec(location.hash);
  return m && ROUTES[m[1]] ? { name: m[1], param: m[2] ? decodeURIComponent(m[2]) : undefined } : null;
}

const ctx = { go, wait, onLeave: (fn) => leaving.push(fn) };

// Shows a portal page; the hash follows (replace: no new history entry).
function go(name, param, { replace = false } = {}) {
  const hash = `#/${name}${param !== undefined ? '/' + encodeURIComponent(param) : ''}`;
  if (replace || location.hash === hash) {
    if (location.hash !== hash) history.replaceState(null, '', hash);
    renderRoute();
  } else location.hash = hash; // -> hashchange -> renderRoute
}

function renderRoute() {
  const r = currentRoute() || { name: 'home' };
  const [title, render, navKey] = ROUTES[r.name];
  if (r.name === 'tests') return showTests();
  const v = show('t-portal', title, navKey || r.name);
  render(v, ctx, r.param).catch((e) => {
    // a bug, not a refusal: say so in the page rather than leave it loading
    console.error(e);
    portal.loadError($(v, '.portal-body'), e, () => renderRoute());
  });
  $(v, '.portal-body').focus({ preventScroll: true });
}

// Back and forward between portal pages; never out of a test or the login
const NAVIGABLE = new Set(['portal', 'tests', 'result', 'camera']);
window.addEventListener('hashchange', () => {
  if (!api.token() || !NAVIGABLE.has(document.body.dataset.view)) return;
  renderRoute();
});

function refreshWho() {
  const who = api.physician();
  const box = document.getElementById('who');
  box.hidden = !api.token() || !who;
  if (who) document.getElementById('who-name').textContent = `${who.name}（${who.category}）`;
  document.getElementById('logout').hidden = document.body.dataset.view === 'exam';
}

function setError(box, text) {
  box.textContent = text || '';
  box.hidden = !text;
}

// The waiting room: a calm message while the server asks us to come back later.
let waitTimer = null;
function wait(info) {
  clearInterval(waitTimer);
  if (!info) {
    waitBox.hidden = true;
    return;
  }
  let left = info.seconds;
  const text = $(waitBox, '.waiting-text');
  const render = () => {
    text.textContent = info.network
      ? `网络连接不稳定，${left} 秒后自动重试……`
      : info.ahead != null
      ? `排队中，前面还有 ${info.ahead} 人。轮到您时将自动登录，请不要关闭或刷新页面（${left} 秒后更新）。`
      : `当前${document.body.dataset.view === 'portal' ? '访问' : '参加测评'}的人数较多，系统正在为您排队，${left} 秒后自动重试（第 ${info.attempt} 次）。请不要关闭或刷新页面。`;
  };
  render();
  waitBox.hidden = false;
  waitTimer = setInterval(() => {
    left = Math.max(0, left - 1);
    render();
  }, 1000);
}

function activeSession() {
  try {
    return JSON.parse(sessionStorage.getItem(ACTIVE_KEY) || 'null');
  } catch {
    return null;
  }
}

// ---- login ----------------------------------------------------------------------------

// Device tokens (domain/dom_account.h): each success hands this browser a token bound to
// the account; sent with the next logins, it keeps the owner in while someone else is
// guessing the account's password. Kept per typed account, in localStorage.
const DEVICE_KEY = 'dk.device';
function deviceTokens()
{
    try {
        return JSON.parse(localStorage.getItem(DEVICE_KEY) || '{}') || {};
    } catch {
        return {};
    }
}
function saveDeviceToken(acct, tok)
{
    if (!tok) return;
    const all = deviceTokens();
    all[acct.toUpperCase()] = tok;
    try {
        localStorage.setItem(DEVICE_KEY, JSON.stringify(all));
    } catch {
        /* private mode: no device token, the ordinary budget */
    }
}

function showLogin(message) {
  const v = show('t-login', '登录');
  const form = $(v, 'form');
  const err = $(v, '.form-error');
  const info = $(v, '.form-info');
  setError(info, message);
  const account = $(v, '#login-account');
  const identity = $(v, '.login-identity');
  const idn = $(v, '#login-idn');
  const name = $(v, '#login-name');
  const pwIn = $(v, '#login-password');
  // the initial password needs the identity step: show it as soon as it is typed
  pwIn.addEventListener('input', () => {
      if (pwIn.value === '666666') identity.hidden = false;
  });
  account.focus();
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const acct = account.value.trim();
    const pw = pwIn.value;
    if (!acct || !pw) return setError(err, '请输入账号和密码。');
    const body = {account : acct, password : pw};
    if (!identity.hidden && (idn.value.trim() || name.value.trim())) {
        if (!idn.value.trim() || !name.value.trim()) return setError(err, '请填写证件号码和姓名。');
        Object.assign(body, {id_number : idn.value.trim(), name : name.value.trim()});
    } else if (pw === '666666') {
        identity.hidden = false;
        idn.focus();
        return setError(err, '首次登录（或密码重置后）请填写证件号码和姓名，以验证身份。');
    }
    const dev = deviceTokens()[acct.toUpperCase()];
    if (dev) body.device_token = dev;
    setError(err, '');
    setError(info, '');
    const btn = $(v, 'button[type=submit]');
    btn.disabled = true;
    btn.textContent = '正在登录……';
    try {
        const r = await queuedLogin(body);
        saveDeviceToken(acct, r.device_token);
        api.signIn(r.token, r.physician);
        if (r.must_change_password)
            showPassword(pw);
        else
            afterLogin();
    } catch (e) {
        if (e.detail && e.detail.activation_required) {
            identity.hidden = false;
            idn.focus();
        }
      setError(err, e.message);
      btn.disabled = false;
      btn.textContent = '登录';
    }
  });
}

// The login through examd's fair queue (domain/dom_queue.h): when others wait, the server
// answers 503 with a ticket, the place ("前面还有 N 人") and Retry-After; the page comes back
// with the ticket at that time (plus a little jitter, never earlier) and keeps its place
// whichever node answers. Other 503 and short 429 answers wait as api.retrying does.
const QUEUE_KEY = 'dk.queue'; // {account, ticket}: a reload keeps the place

async function queuedLogin(body) {
  let ticket = '';
  try {
    const q = JSON.parse(sessionStorage.getItem(QUEUE_KEY) || 'null');
    if (q && q.account === body.account && typeof q.ticket === 'string') ticket = q.ticket;
  } catch {
    ticket = '';
  }
  for (let attempt = 0; ; attempt++) {
    try {
      const r = await api.post('/api/v1/login', ticket ? { ...body, queue_ticket: ticket } : body);
      sessionStorage.removeItem(QUEUE_KEY);
      if (attempt) wait(null);
      return r;
    } catch (e) {
      const queued = e.status === 503 && e.detail && typeof e.detail.queue_ticket === 'string' && e.detail.queue_ticket;
      const busy = e.status === 503 || (e.status === 429 && e.retryAfter != null && e.retryAfter <= 60);
      if (!(busy || e.network) || attempt >= 1000) {
        if (!busy && !e.network) sessionStorage.removeItem(QUEUE_KEY);
        if (attempt) wait(null);
        throw e;
      }
      let ms;
      if (queued) {
        ticket = e.detail.queue_ticket;
        sessionStorage.setItem(QUEUE_KEY, JSON.stringify({ account: body.account, ticket }));
        ms = Math.max(1, e.retryAfter || 1) * 1000 * (1 + 0.25 * Math.random());
        wait({ seconds: Math.ceil(ms / 1000), attempt: attempt + 1, ahead: Number(e.detail.ahead) || 0 });
      } else {
        // another 503 or 429, or the network: the place (if any) is kept meanwhile
        ms = e.network ? Math.min(ticket ? 8000 : 30000, api.backoff(e, attempt)) : api.backoff(e, attempt);
        wait({ seconds: Math.ceil(ms / 1000), attempt: attempt + 1, message: e.message, network: e.network });
      }
      await api.sleep(ms);
    }
  }
}

async function afterLogin() {
  const a = activeSession();
  if (a && a.sid) return resume(a);
  if (currentRoute()) return renderRoute();
  landing();
}

// Where a login lands: 在线测评 when examd lists a test, else 首页.
async function landing() {
  const v = show('t-loading', '正在加载');
  $(v, '.loading-text').append('正在加载……');
  let r;
  try {
    r = await api.retrying(() => api.get('/api/v1/tests'), { onWait: wait, retryNetwork: true, maxAttempts: 6 });
  } catch (e) {
    if (e.status === 401) return;
    if (e.mustChange) return showPassword();
    return showTests(e.message);
  }
  if (r.tests && r.tests.length) {
    history.replaceState(null, '', '#/tests');
    return showTests(undefined, r);
  }
  go('home', undefined, { replace: true });
}

// ---- the forced password change ----------------------------------------------------------

const RULES = [
  { key: 'len', test: (p) => p.length >= 8 },
  {
    key: 'kinds',
    test: (p) => [/[A-Z]/, /[a-z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((r) => r.test(p)).length >= 3,
  },
];

function showPassword(oldFromLogin) {
  const v = show('t-password', '修改初始密码');
  const form = $(v, 'form');
  const oldIn = $(v, '#pw-old');
  const newIn = $(v, '#pw-new');
  const again = $(v, '#pw-again');
  const err = $(v, '.form-error');
  if (oldFromLogin) oldIn.value = oldFromLogin;
  (oldFromLogin ? newIn : oldIn).focus();
  const check = () => {
    const p = newIn.value;
    let ok = true;
    for (const r of RULES) {
      const li = $(v, `[data-rule="${r.key}"]`);
      const pass = r.test(p);
      li.dataset.ok = p ? (pass ? '1' : '0') : '';
      ok = ok && pass;
    }
    const same = $(v, '[data-rule="same"]');
    same.dataset.ok = p ? (p !== oldIn.value ? '1' : '0') : '';
    const match = $(v, '[data-rule="match"]');
    match.dataset.ok = again.value ? (again.value === p ? '1' : '0') : '';
    return ok && p !== oldIn.value && again.value === p;
  };
  for (const i of [oldIn, newIn, again]) i.addEventListener('input', check);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!oldIn.value) return setError(err, '请输入原密码。');
    if (!check()) return setError(err, '新密码不符合要求，请对照上方的密码规则修改。');
    setError(err, '');
    const btn = $(v, 'button[type=submit]');
    btn.disabled = true;
    try {
      const r = await api.retrying(
        () => api.post('/api/v1/password', { old_password: oldIn.value, new_password: newIn.value }),
        { onWait: wait },
      );
      api.signIn(r.token);
      afterLogin();
    } catch (e) {
      setError(err, e.message);
      btn.disabled = false;
    }
  });
  $(v, '.back-btn').addEventListener('click', logout);
}

// ---- the tests they may sit now ---------------------------------------------------------

async function showTests(message, prefetched) {
  if (location.hash !== '#/tests') history.replaceState(null, '', '#/tests');
  const v = show('t-tests', '我的测评');
  const list = $(v, '.test-list');
  const err = $(v, '.form-error');
  setError($(v, '.form-info'), message);
  const who = api.physician();
  if (who) $(v, '.greeting').textContent = `${who.name}，您好`;
  list.setAttribute('aria-busy', 'true');
  let r = prefetched;
  try {
    if (!r) r = await api.retrying(() => api.get('/api/v1/tests'), { onWait: wait, retryNetwork: true, maxAttempts: 6 });
  } catch (e) {
    list.removeAttribute('aria-busy');
    if (e.status === 401) return;
    if (e.mustChange) return showPassword();
    setError(err, e.message);
    list.replaceChildren(el('li', {}, el('button', { class: 'btn', text: '重新加载', onclick: () => showTests() })));
    return;
  }
  list.removeAttribute('aria-busy');
  $(v, '.server-time').textContent = `系统时间：${fmtDateTime(r.server_time)}（北京时间）`;
  if (!r.tests.length) {
    list.replaceChildren(el('li', { class: 'empty' },
      '当前没有可以参加的测评。报名审核通过后，在测评时间内可以在这里参加测评。',
      el('br'),
      el('a', { href: '#/registration', text: '查看考核报名状态' })));
    return;
  }
  list.replaceChildren(
    ...r.tests.map((t) => {
      const live = !!t.live_session;
      const now = r.server_time;
      const open = now >= t.window_start && now < t.window_end;
      let status, action;
      if (t.submitted) {
        status = '已交卷';
        action = el('button', { class: 'btn', disabled: true, text: '已交卷' });
      } else if (live && t.waiting) {
        status = '候考中';
        action = el('button', { class: 'btn primary', text: '进入候考室', onclick: () => resume({ sid: t.live_session, paper: t.paper }) });
      } else if (live) {
        status = '考试进行中';
        action = el('button', { class: 'btn primary', text: '继续考试', onclick: () => resume({ sid: t.live_session, paper: t.paper }) });
      } else if (t.waiting) {
        status = '候考中';
        action = el('button', { class: 'btn primary', text: '进入候考室', onclick: () => showCameraCheck(t) });
      } else if (!open) {
        status = now < t.window_start ? '未到考试时间' : '考试时间已过';
        action = el('button', { class: 'btn', disabled: true, text: '开始考试' });
      } else {
        status = '未开始';
        action = el('button', { class: 'btn primary', text: '开始考试', onclick: () => showCameraCheck(t) });
      }
      return el(
        'li',
        { class: 'test-card', 'data-paper': t.paper },
        el('div', { class: 'test-head' },
          el('h2', { text: `${t.name}${t.attempt > 1 ? '（补考）' : ''}` }),
          el('span', { class: 'badge', 'data-status': t.submitted ? 'done' : live ? 'live' : 'new', text: status })),
        el('dl', { class: 'test-facts' },
          el('dt', { text: '试卷' }), el('dd', { text: `${t.paper}（${t.category}）` }),
          el('dt', { text: '考试时间' }), el('dd', { text: `${fmtDateTime(t.window_start)} 至 ${fmtDateTime(t.window_end)}` }),
          el('dt', { text: '考试时长' }), el('dd', { text: fmtMinutes(t.duration_ms) }),
          el('dt', { text: '题量' }), el('dd', { text: `${t.question_count} 题` })),
        el('div', { class: 'test-action' }, action),
      );
    }),
  );
  const first = list.querySelector('button.primary');
  if (first) first.focus();
}

// ---- the camera check -------------------------------------------------------------------

function showCameraCheck(test) {
  const v = show('t-camera', '考前人脸检测');
  $(v, '.exam-label').textContent = `${PAPER_NAMES[test.paper] || test.name}（${test.category}）`;
  $(v, '.exam-facts').textContent = `共 ${test.question_count} 题 · 考试时长 ${fmtMinutes(test.duration_ms)}`;
  $(v, '.rule-duration').textContent = fmtMinutes(test.duration_ms);
  $(v, '.rule-departures').textContent = ruleText(test.integrity);
  const video = $(v, 'video');
  const msg = $(v, '.cam-msg');
  const checkBtn = $(v, '.check-btn');
  const reopenBtn = $(v, '.reopen-btn');
  const startBtn = $(v, '.start-btn');
  const agree = $(v, '.agree input');
  const shot = $(v, '.snapshot');
  const camera = new Camera(video);
  const startText = test.waiting ? '进入候考室' : '开始考试';
  startBtn.textContent = startText;
  let passed = false;
  let handedOver = false;
  let shotUrl = null;

  const say = (state, text) => {
    msg.dataset.state = state;
    msg.textContent = text;
  };
  const refreshStart = () => {
    startBtn.disabled = !(passed && agree.checked);
  };

  camera.onchange = (why) => {
    if (why === 'ended' || why === 'mute') {
      passed = false;
      refreshStart();
      v.dataset.cam = 'off';
      say('bad', '摄像头画面中断了。请检查摄像头连接，然后点击“重新打开摄像头”。');
      reopenBtn.hidden = false;
      checkBtn.disabled = true;
    }
  };

  async function open() {
    say('busy', '正在打开摄像头……如浏览器询问是否允许使用摄像头，请选择“允许”。');
    reopenBtn.hidden = true;
    checkBtn.disabled = true;
    try {
      await camera.open();
      if (!camera.live()) throw Object.assign(new Error('no frames'), { name: 'NotReadableError' });
      v.dataset.cam = 'on';
      checkBtn.disabled = false;
      say('info', '摄像头已打开。请正对摄像头，确认面部完整、清晰地出现在取景框内，然后点击“检测”。');
      checkBtn.focus();
    } catch (e) {
      v.dataset.cam = 'off';
      say('bad', cameraErrorMessage(e));
      reopenBtn.hidden = false;
    }
  }

  async function check() {
    passed = false;
    refreshStart();
    checkBtn.disabled = true;
    say('busy', '正在检测……');
    try {
      const local = camera.localProblem();
      if (local) return say('bad', local.message);
      const blob = await camera.jpeg();
      if (shotUrl) URL.revokeObjectURL(shotUrl);
      shotUrl = URL.createObjectURL(blob);
      shot.src = shotUrl;
      shot.hidden = false;
      // the liveness challenge (issue 14): head turned left, then right, about 3 s in all;
      // the server compares the turns with the front frame (a still photo turns neither way)
      const frames = [blob];
      for (const [side, text] of CHALLENGE_PROMPTS) {
        v.dataset.challenge = side;
        say('busy', text);
        await api.sleep(CHALLENGE_TURN_MS);
        frames.push(await camera.jpeg());
      }
      delete v.dataset.challenge;
      say('busy', '请回正。正在进行人脸检测……');
      const verdict = await serverVerdict(frames, wait);
      shot.dataset.state = verdict && !verdict.ok ? 'bad' : 'ok';
      if (verdict && !verdict.ok) return say('bad', verdict.message);
      passed = true;
      say(
        'ok',
        verdict && !verdict.degraded
          ? verdict.liveness === 'passed'
            ? '检测通过：画面中有一张清晰的人脸，活体检测通过。考试期间请始终保持正对摄像头。'
            : '检测通过：画面中有一张清晰的人脸。考试期间请始终保持正对摄像头。'
          : '检测通过：摄像头画面清晰、亮度正常。开始考试后系统会立即拍摄第一张照片进行人脸核验，请保持正对摄像头。',
      );
      (agree.checked ? startBtn : agree).focus();
    } catch (e) {
      if (e.status !== 401) say('bad', `检测没有完成：${e.message}`);
    } finally {
      delete v.dataset.challenge;
      checkBtn.disabled = !camera.live();
      refreshStart();
    }
  }

  async function start() {
    if (!passed || !agree.checked) return;
    startBtn.disabled = true;
    startBtn.textContent = test.waiting ? '正在进入候考室……' : '正在进入考试……';
    say('busy', '正在生成试卷……');
    try {
      const s = await api.retrying(() => api.post('/api/v1/sessions', { paper: test.paper }), {
        onWait: wait,
        retryNetwork: true,
        maxAttempts: 50,
      });
      if (s.status !== 'live') return showResult(s.result, s);
      handedOver = true;
      if (s.waiting) return enterWaiting(s, camera);
      enterExam(s, camera);
    } catch (e) {
      if (e.status === 401) return;
      say('bad', `没有能够开始考试：${e.message}`);
      startBtn.textContent = startText;
      refreshStart();
    }
  }

  checkBtn.addEventListener('click', check);
  reopenBtn.addEventListener('click', open);
  agree.addEventListener('change', refreshStart);
  startBtn.addEventListener('click', start);
  $(v, '.back-btn').addEventListener('click', () => go('tests'));
  cleanup = () => {
    if (!handedOver) camera.close();
    if (shotUrl) URL.revokeObjectURL(shotUrl);
  };
  open();
}

// ---- the test and its result ---------------------------------------------------------

// The waiting room: the paper is drawn and hidden until opens_at. The countdown runs on
// the server's clock (clock.js); the place is the physician's in arrival order. At the
// opening the page asks for the paper once, at a random time within release_spread_ms
// (the server's setting) so that thousands of pages do not arrive in the same
// millisecond, and re-syncs each minute meanwhile. Nothing here retries in a loop: a 503 waits its Retry-After.
function enterWaiting(s, camera) {
  sessionStorage.setItem(ACTIVE_KEY, JSON.stringify({ sid: s.session_id, paper: s.paper }));
  const v = show('t-waiting', '候考室');
  $(v, '.exam-label').textContent = `${PAPER_NAMES[s.paper] || s.paper}（${s.category}）`;
  const cd = $(v, '.countdown');
  const place = $(v, '.place');
  const msg = $(v, '.wait-msg');
  let opensAt = s.opens_at;
  // the server says over how long the pages of one opening fetch their papers
  let spread = Number.isFinite(s.release_spread_ms) ? s.release_spread_ms : 3000;
  let handedOn = false; // the camera went on to the exam
  let timers = [];
  let ticker = null;
  let gone = false;
  const later = (fn, ms) => timers.push(setTimeout(fn, Math.max(0, ms)));
  const render = (r) => {
    opensAt = r.opens_at;
    if (Number.isFinite(r.release_spread_ms)) spread = r.release_spread_ms;
    $(v, '.opens-at').textContent = `开考时间：${fmtDateTime(r.opens_at)}（北京时间）`;
    place.textContent =
      r.place > 0 ? `您是第 ${r.place} 位进入候考室的考生（当前候考 ${r.waiting_count} 人）` : '';
  };
  const tick = () => {
    const left = Math.max(0, Math.ceil(clock.until(opensAt) / 1000));
    const h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), sec = left % 60;
    cd.textContent = `${h ? `${h}:` : ''}${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`;
  };
  const poll = async (atOpening) => {
    if (gone) return;
    let r;
    try {
      r = await api.retrying(() => api.get(`/api/v1/sessions/${s.session_id}`), { onWait: wait, retryNetwork: true });
    } catch (e) {
      if (e.status === 401 || gone) return;
      msg.textContent = `与服务器的连接出现问题：${e.message}。系统会自动重试。`;
      return later(() => poll(atOpening), 5000 + Math.random() * 5000);
    }
    if (gone) return;
    if (r.status !== 'live') {
      sessionStorage.removeItem(ACTIVE_KEY);
      return showResult(r.result, r);
    }
    if (!r.waiting && !r.paper_detail) {
      // the live store lost the session (the database answered): starting again rebuilds it
      try {
        r = await api.retrying(() => api.post('/api/v1/sessions', { paper: s.paper }), { onWait: wait, retryNetwork: true, maxAttempts: 30 });
      } catch (e) {
        if (e.status === 401 || gone) return;
        msg.textContent = `与服务器的连接出现问题：${e.message}。系统会自动重试。`;
        return later(() => poll(atOpening), 5000 + Math.random() * 5000);
      }
      if (gone) return;
    }
    if (!r.waiting && r.paper_detail) {
      gone = true;
      handedOn = true;
      // released with everyone else: the first photo within the first minute, not at once
      return enterExam(r, camera, { firstCaptureWithinMs: 57000 });
    }
    render(r);
    msg.textContent = '';
    arm();
  };
  // the next poll: at the opening (plus up to 3 s of jitter), or in a minute to re-sync
  const arm = () => {
    timers.forEach(clearTimeout);
    timers = [];
    const toOpen = clock.until(opensAt);
    if (toOpen <= 65000) later(() => poll(true), toOpen + Math.random() * spread);
    else later(() => poll(false), 55000 + Math.random() * 10000);
  };
  render(s);
  tick();
  ticker = setInterval(tick, 250);
  arm();
  cleanup = () => {
    gone = true;
    clearInterval(ticker);
    timers.forEach(clearTimeout);
    if (!handedOn) camera.close();
  };
}

function enterExam(s, camera, { firstCaptureWithinMs = 0 } = {}) {
  sessionStorage.setItem(ACTIVE_KEY, JSON.stringify({ sid: s.session_id, paper: s.paper }));
  if (cleanup) cleanup();
  cleanup = null;
  const v = show('t-exam-host', '在线测评');
  const stop = runExam(v, s, {
    camera,
    firstCaptureWithinMs,
    wait,
    onDone: (result, r) => {
      sessionStorage.removeItem(ACTIVE_KEY);
      showResult(result, r);
    },
  });
  cleanup = () => {
    stop();
    camera.close();
  };
}

// Back into a session after a reload or from another device: the server's state, the
// remaining time and the saved answers; the camera starts again in the background.
async function resume(a) {
  const v = show('t-loading', '正在恢复考试');
  const text = $(v, '.loading-text');
  text.textContent = '正在恢复您的考试，请稍候……';
  let s;
  try {
    s = await api.retrying(() => api.get(`/api/v1/sessions/${a.sid}`), { onWait: wait, retryNetwork: true, maxAttempts: 30 });
  } catch (e) {
    if (e.status === 401) return;
    if (e.status !== 404) {
      sessionStorage.removeItem(ACTIVE_KEY);
      return showTests(`没有能够恢复考试：${e.message}`);
    }
    // not in the live store any more: starting again rebuilds it from the database
    try {
      s = await api.retrying(() => api.post('/api/v1/sessions', { paper: a.paper }), { onWait: wait, retryNetwork: true, maxAttempts: 30 });
    } catch (e2) {
      sessionStorage.removeItem(ACTIVE_KEY);
      if (e2.status === 401) return;
      return showTests(e2.status === 409 ? '本场考试已交卷。' : `没有能够恢复考试：${e2.message}`);
    }
  }
  if (s.status !== 'live') {
    sessionStorage.removeItem(ACTIVE_KEY);
    forgetSession(s.session_id);
    return showResult(s.result, s);
  }
  if (!s.waiting && !s.paper_detail) {
    // the database's view (the live store lost the session): starting again rebuilds it
    try {
      s = await api.retrying(() => api.post('/api/v1/sessions', { paper: a.paper }), { onWait: wait, retryNetwork: true, maxAttempts: 30 });
    } catch (e) {
      if (e.status === 401) return;
      sessionStorage.removeItem(ACTIVE_KEY);
      return showTests(`没有能够恢复考试：${e.message}`);
    }
  }
  // the capture loop opens the camera, reports it and keeps trying
  if (s.waiting) return enterWaiting(s, new Camera(document.createElement('video')));
  enterExam(s, new Camera(document.createElement('video')));
}

function showResult(result, s) {
  const v = show('t-result', '测评结果');
  $(v, '.result-exam').textContent = `${PAPER_NAMES[s.paper] || s.paper || ''}${s.category ? `（${s.category}）` : ''}`;
  if (!result) {
    $(v, '.result-score').textContent = '--';
    $(v, '.result-verdict').textContent = '成绩正在计算，请稍后在测评列表中查看。';
  } else {
    $(v, '.result-score').textContent = String(result.score);
    $(v, '.result-total').textContent = `/ ${result.total} 分`;
    const verdict = $(v, '.result-verdict');
    verdict.textContent = result.passed ? '合格' : '不合格';
    verdict.dataset.passed = result.passed ? '1' : '0';
    const facts = [];
    if (result.pass_mark != null) facts.push(`合格分数线：${result.pass_mark} 分`);
    if (result.enrolment_status) facts.push(`考核状态：${result.enrolment_status}`);
    $(v, '.result-facts').textContent = facts.join('　');
  }
  if (s && s.lost) $(v, '.result-note').textContent = `注意：有 ${s.lost} 个答案因网络中断未能在考试结束前上传。`;
  $(v, '.back-btn').addEventListener('click', () => go('tests'));
  $(v, 'h1').focus();
}

// ---- start -------------------------------------------------------------------------------

// 退出登录: the server ends every token of this physician, on examd and admind alike
// (POST /logout); the page forgets its own whether or not the server could be reached.
async function logout() {
  if (api.token()) await api.exam.post('/api/v1/logout', {}).catch(() => {});
  api.signOut();
  sessionStorage.removeItem(ACTIVE_KEY);
  history.replaceState(null, '', location.pathname + location.search);
  showLogin();
}

api.setAuthLostHandler(() => {
  api.signOut();
  showLogin('登录已失效，请重新登录。考试计时不会暂停，已作答的答案不会丢失。');
});
api.setMustChangeHandler(() => {
  if (document.body.dataset.view !== 'password') showPassword();
});
for (const a of document.querySelectorAll('#portal-nav a')) {
  // the link of the page on screen shows it again (fresh data)
  a.addEventListener('click', (ev) => {
    if (location.hash === a.getAttribute('href')) {
      ev.preventDefault();
      renderRoute();
    }
  });
}
document.getElementById('logout').addEventListener('click', logout);

if (!api.token()) showLogin();
else afterLogin();
