// lib.mjs - what the console's browser tests share: the prerequisites (exit 77 naming what
// is absent), a private admind (serving admin/web) and examd, a world of their own on the
// shared test stack (a province -> city -> county tree with random codes, authority
// accounts, a cycle whose windows are open now, institutions made through the API, a
// 考核机构 approved through the API, physicians), Debian's Chromium driven by
// playwright-core (from tests/browser/node_modules: no browser download), console and
// page errors collected, and a screenshot per step.
//
// Arguments (from CMake): --admind PATH --examd PATH --out DIR. The stack comes from the
// environment as deploy/test.sh exports it: DK_REDIS_PORT, DK_MYSQL_PORT, DK_MYSQL_*.
// Nothing is flushed or truncated: every row a test makes is its own (tests run in
// parallel on one database).

import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import {
  check, fail, freePort, getOutDir, log, main, onCleanup, parseArgs, redisCmd, run, setOutDir, skip,
  sql, sqlValue, stack, startServer, watchPage,
} from '../browser/base.mjs';

export { check, freePort, log, main, skip, sql, sqlValue, stack };

export const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '../..');
export const SHARED = path.resolve(repo, '../shared');
export const FACES = path.join(SHARED, 'data/faces');
// the face models shipped with the product (proctor/models)
export const MODELS = path.join(repo, 'proctor/models');
export const CHROMIUM = process.env.DK_CHROMIUM || '/usr/bin/chromium';
export const PASSWORD = 'Test@2024pw';
const PLAYWRIGHT = path.resolve(here, '../browser/node_modules/playwright-core/index.mjs');

// The answer of a captcha, read from Redis (the tests are the user who can read it).
export async function captchaAnswer(id) {
  const r = await redisCmd(stack.redisPort, `GET captcha:${id}`);
  const m = /^\$\d+\r\n(.*)$/.exec(r || '');
  return m ? m[1] : null;
}

// ---- prerequisites ----------------------------------------------------------------------------

// Exits 77 naming what is absent: Chromium, playwright-core, the stack; with needFaces the
// photos of ../shared and, unless needModels is false, its face models. Returns {pw,
// args, tmp, out}.
export async function prerequisites({ needFaces = false, needModels = needFaces } = {}) {
  const args = parseArgs();
  for (const k of ['admind', 'out']) if (!args[k]) await fail(`missing argument --${k}`);
  if (needFaces) {
    if (!existsSync(FACES)) await skip(`the face photos are absent: ${FACES} (the shared data folder next to the repository)`);
  }
  if (needModels) {
    if (!haveModels())
      await skip(`the face models are absent: ${MODELS} (yunet_120x160.onnx, MobileFaceNet.onnx)`);
  }
  if (!existsSync(CHROMIUM)) await skip(`Chromium is not installed at ${CHROMIUM} (deploy/setup.sh installs the Debian package chromium)`);
  let pw;
  try {
    pw = await import(pathToFileURL(PLAYWRIGHT).href);
  } catch (e) {
    await fail(`playwright-core is not installed in tests/browser/node_modules (deploy/setup.sh runs npm ci there): ${e.message}`);
  }
  if ((await redisCmd(stack.redisPort, 'PING')) !== '+PONG')
    await skip(`the test stack's Redis is not reachable on 127.0.0.1:${stack.redisPort} (deploy/stack.sh up; DK_REDIS_PORT)`);
  try {
    await sql('SELECT 1');
  } catch (e) {
    await skip(`the test stack's MariaDB is not reachable on 127.0.0.1:${stack.mysqlPort}: ${e.message.split('\n')[0]}`);
  }
  const migrated = await sqlValue(
    "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'exemption_request' AND column_name = 'lock_version'",
  );
  if (migrated !== '1') await skip('the schema of the test stack lacks migration 002_admin.sql (deploy/migrate.sh)');
  const outDir = args.out;
  setOutDir(outDir);
  mkdirSync(outDir, { recursive: true });
  for (const f of readdirSync(outDir)) if (/\.png$/.test(f)) rmSync(path.join(outDir, f));
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'dk-console-'));
  onCleanup(() => rmSync(tmp, { recursive: true, force: true }));
  return { pw, args, tmp, out: outDir };
}

// ---- servers ----------------------------------------------------------------------------------

// both servers of a test share one signing key (a token of one works on the other); no face
// models unless a test gives them
const SECRET = Array.from({ length: 32 }, () => Math.floor(Math.random() * 256).toString(16).padStart(2, '0')).join('');
const OURS = { DK_TOKEN_SECRET: SECRET, DK_PROCTOR_MODEL_DIR: 'none' };

export const haveModels = () =>
  existsSync(path.join(MODELS, 'yunet_120x160.onnx')) && existsSync(path.join(MODELS, 'MobileFaceNet.onnx'));

// admind serving admin/web; env adds settings (e.g. DK_PROCTOR_MODEL_DIR for embeddings);
// port: a port chosen before (an address admind must know of itself), else a free one.
// DK_LOGIN_MAX_FAILURES is raised so that other tests' failed logins from 127.0.0.1 (the
// address counter is shared in Redis) rarely put a captcha in front of every login here.
export function startAdmind(bin, tmp, env = {}, port = null) {
  return startServer('admind', bin, 'DK_ADMIN_PORT', tmp, { ...OURS, DK_WEB_ROOT: path.join(repo, 'admin/web'), DK_LOGIN_MAX_FAILURES: '20', ...env }, port);
}

export function startExamd(bin, tmp, env = {}, port = null) {
  return startServer('examd', bin, 'DK_EXAM_PORT', tmp, { ...OURS, DK_WEB_ROOT: path.join(repo, 'exam-engine/web'), ...env }, port);
}

// The physician's pages: examd serving exam-engine/web, and admind answering that page's
// origin (CORS, http_cors_origins) at the address examd gives it (admin_url). examd's
// port is chosen first so that admind can name its origin. Returns {admind, examd}.
export async function startPortal(bins, tmp, { admindEnv = {}, examdEnv = {} } = {}) {
  const examPort = await freePort();
  const admind = await startAdmind(bins.admind, tmp, { DK_HTTP_CORS_ORIGINS: `http://127.0.0.1:${examPort}`, ...admindEnv });
  const examd = await startExamd(bins.examd, tmp, { DK_ADMIN_URL: admind.base, ...examdEnv }, examPort);
  return { admind, examd };
}

// ---- HTTP ---------------------------------------------------------------------------------------

export class ApiError extends Error {
  constructor(method, url, status, body) {
    super(`${method} ${url}: HTTP ${status} ${JSON.stringify(body).slice(0, 400)}`);
    this.status = status;
    this.body = body;
  }
}

// A client of one server as one account: call(method, path, body) -> parsed JSON, throws
// ApiError unless the status is in `ok` (default 2xx).
export class Client {
  constructor(base, token = null) {
    this.base = base;
    this.token = token;
  }
  async call(method, p, body, { ok, raw, ctype } = {}) {
    const headers = {};
    if (this.token) headers.Authorization = 'Bearer ' + this.token;
    let data;
    if (raw !== undefined) {
      data = raw;
      headers['Content-Type'] = ctype || 'application/octet-stream';
    } else if (body !== undefined) {
      data = JSON.stringify(body);
      headers['Content-Type'] = 'application/json';
    }
    const r = await fetch(this.base + '/api/v1' + p, { method, headers, body: data });
    const text = await r.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = text;
    }
    const good = ok ? ok.includes(r.status) : r.status >= 200 && r.status < 300;
    if (!good) throw new ApiError(method, p, r.status, json);
    if (json && json.activation_code && (json.code || json.username)) activationCodes.set(json.code || json.username, json.activation_code);
    return json;
  }
  get(p, o) {
    return this.call('GET', p, undefined, o);
  }
  post(p, b, o) {
    return this.call('POST', p, b === undefined ? {} : b, o);
  }
  put(p, b, o) {
    return this.call('PUT', p, b, o);
  }
}

// The one-time activation codes that creating or resetting an institution (or a reviewer)
// showed (as its authority would write them down), by institution code (reviewer user name).
export const activationCodes = new Map();

// The identity step of a login with the initial password 666666: a physician's ID number
// and name on file, an institution's activation code.
export async function proof(type, account) {
  if (type !== 'physician') return { activation_code: activationCodes.get(account) || 'none' };
  const [idn, name] = (await sqlValue(`SELECT id_number, name FROM physician WHERE (account = '${account}' OR id_number = '${account}') AND deleted_at IS NULL`)).split('\t');
  return { id_number: idn, name };
}

// Logs in (solving the captcha through Redis when asked); returns a Client with the token.
export async function login(base, type, account, password) {
  const c = new Client(base);
  let body = { type, account, password, ...(password === '666666' ? await proof(type, account) : {}) };
  for (let i = 0; i < 2; i++) {
    try {
      const r = await c.post('/login', body);
      c.token = r.token;
      c.mustChange = r.must_change_password;
      return c;
    } catch (e) {
      if (!(e instanceof ApiError) || !e.body?.error?.captcha_required || i) throw e;
      const cap = await c.get('/captcha');
      body = { ...body, captcha_id: cap.captcha_id, captcha_answer: await captchaAnswer(cap.captcha_id) };
    }
  }
  throw new Error('unreachable');
}

// First login with 666666: changes the password to PASSWORD.
export async function firstLogin(base, type, account) {
  const c = await login(base, type, account, '666666');
  const r = await c.post('/password', { old_password: '666666', new_password: PASSWORD });
  c.token = r.token;
  return c;
}

// examd's physician login (the token works on admind too: one secret).
export async function examLogin(base, account, password) {
  const c = new Client(base);
  const r = await c.post('/login', { account, password });
  c.token = r.token;
  if (r.must_change_password) {
    const p = await c.post('/password', { old_password: password, new_password: PASSWORD });
    c.token = p.token;
  }
  return c;
}

// ---- the world ------------------------------------------------------------------------------------

const rnd = (n) => Math.floor(Math.random() * n);
export const RUN = String(Date.now() % 1e8).padStart(8, '0') + String(rnd(100)).padStart(2, '0');

export function iso(deltaDays) {
  return new Date(Date.now() + deltaDays * 86400e3).toISOString().replace(/\.\d+Z$/, 'Z');
}

// A valid 18-digit 居民身份证 number under a 6-digit region code.
export function newIdNumber(region) {
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const map = '10X98765432';
  const birth = new Date(Date.UTC(1965, 0, 1) + rnd(14000) * 86400e3).toISOString().slice(0, 10).replace(/-/g, '');
  const body = region + birth + String(rnd(1000)).padStart(3, '0');
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(body[i]) * w[i];
  return body + map[sum % 11];
}

// The grey 32x32 JPEG with no face (for an admind without face models).
export const GREY_JPEG = Buffer.from(
  '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB' +
    'AQEBAQEBAQEBAQEBAQEBAQH/wAALCAAgACABAREA/8QAFAABAAAAAAAAAAAAAAAAAAAAAP/EABQQAQAAAAAAAAAAAAAAAAAA' +
    'AAD/2gAIAQEAAD8AAAAAAP/Z',
  'base64',
);

export function facePhotos(identity) {
  const dir = path.join(FACES, identity);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jpg'))
    .sort((a, b) => parseInt(a) - parseInt(b))
    .map((f) => path.join(dir, f));
}

export const readBytes = (f) => readFileSync(f);

// A region of its own (random codes 7xxxxx), its authority accounts (password PASSWORD, no
// forced change), an open cycle with every window open now, two institutions made by
// the county through the API: H (the one tested) and A (a 考核机构 approved through the
// application flow), A assigned to H, and a department of H.
// opts.hMustChange: leave H with its initial password 666666 (forced change in the UI).
export async function makeWorld(adminBase, bins, opts = {}) {
  const hash = (await run(bins.admind, ['--hash-password'], { input: PASSWORD + '\n' })).trim();
  let codes;
  for (let i = 0; i < 30; i++) {
    codes = [0, 1, 2].map(() => '7' + String(rnd(100000)).padStart(5, '0'));
    if (new Set(codes).size < 3) continue;
    const n = await sqlValue(`SELECT COUNT(*) FROM authority WHERE code IN ('${codes.join("','")}')`);
    if (n === '0') break;
  }
  const [p, c, k] = codes;
  const tag = RUN.slice(-6);
  await sql(
    `INSERT INTO authority (parent_id, admin_level, code, name, contact_name, contact_phone)
       VALUES (NULL, 'province', '${p}', '测试省${tag}卫生健康委员会', '省医政处', '0351-4000000');
     SET @p = LAST_INSERT_ID(); UPDATE authority SET path = CONCAT('/', @p, '/') WHERE id = @p;
     INSERT INTO authority (parent_id, admin_level, code, name, contact_name, contact_phone)
       VALUES (@p, 'city', '${c}', '测试市${tag}卫生健康委员会', '市医政科', '0351-5000000');
     SET @c = LAST_INSERT_ID(); UPDATE authority SET path = CONCAT('/', @p, '/', @c, '/') WHERE id = @c;
     INSERT INTO authority (parent_id, admin_level, code, name, contact_name, contact_phone)
       VALUES (@c, 'county', '${k}', '测试县${tag}卫生健康局', '县医政股', '0351-6000000');
     SET @k = LAST_INSERT_ID(); UPDATE authority SET path = CONCAT('/', @p, '/', @c, '/', @k, '/') WHERE id = @k;
     INSERT INTO authority_account (authority_id, username, display_name, password_hash, must_change_password)
       VALUES (@p, 't${RUN}-prov', '省卫健委管理员', '${hash}', 0), (@c, 't${RUN}-city', '市卫健委管理员', '${hash}', 0),
              (@k, 't${RUN}-county', '县卫健局管理员', '${hash}', 0);`,
  );
  const w = { codes: { prov: p, city: c, county: k }, users: { prov: `t${RUN}-prov`, city: `t${RUN}-city`, county: `t${RUN}-county` } };
  w.prov = await login(adminBase, 'authority', w.users.prov, PASSWORD);
  w.city = await login(adminBase, 'authority', w.users.city, PASSWORD);
  w.county = await login(adminBase, 'authority', w.users.county, PASSWORD);
  w.cycle = await w.prov.post('/cycles', {
    code: 'C' + tag, name: `${new Date().getFullYear()}—${new Date().getFullYear() + 2} 年度医师定期考核（测试 ${tag}）`, length_years: 3,
    period_start: iso(-30), period_end: iso(700),
    assessor_apply_start: iso(-10), assessor_apply_end: iso(30),
    registration_start: iso(-10), registration_end: iso(30),
    inst_review_start: iso(-10), inst_review_end: iso(40),
    assessor_review_start: iso(-10), assessor_review_end: iso(45),
    test_start: iso(-1), test_end: iso(60), makeup_start: iso(-1), makeup_end: iso(90),
    withdraw_deadline: iso(20), status: 'open',
  });
  const h = await w.county.post('/authority/institutions', {
    name: `测试县第一人民医院${tag}`, inst_type: '医院', inst_level: '二级甲等', ownership: '公立', contact_name: '医务科', contact_phone: '0351-7000001',
  });
  const a = await w.city.post('/authority/institutions', {
    name: `测试市中心医院${tag}`, inst_type: '医院', inst_level: '三级甲等', ownership: '公立', contact_name: '医务处', contact_phone: '0351-7000002',
  });
  w.hInfo = h;
  w.aInfo = a;
  w.A = await firstLogin(adminBase, 'institution', a.code);
  await w.city.post(`/authority/institutions/${a.id}/apply-right`, { can_apply: true });
  const app = await w.A.post('/institution/assessor-applications', { note: '申请成为考核机构' });
  await w.city.post(`/authority/applications/${app.id}/actions/approve`, {});
  await w.county.post('/authority/assignments', { institution_id: h.id, assessor_id: a.id });
  if (opts.hMustChange) {
    w.H = null;
  } else {
    w.H = await firstLogin(adminBase, 'institution', h.code);
    await w.H.put('/institution/profile', {
      inst_type: '医院', inst_level: '二级甲等', ownership: '公立', legal_representative: '赵院长',
      address: '测试县人民路 1 号', contact_name: '医务科', contact_phone: '0351-7000001',
    });
    w.subjects = (await w.H.get('/subjects')).items;
    const sub = w.subjects.find((s) => s.name.includes('内科')) || w.subjects[0];
    w.dept = (await w.H.post('/institution/departments', { name: '内科', subject_ids: [sub.id] })).id;
  }
  return w;
}

// A physician of institution `inst` (a Client) made through the API and confirmed in the
// cycle (待报名), never logged in (initial password 666666). opts: name, dept.
// Returns {id, account, eid}.
export async function confirmedPhysician(inst, w, opts = {}) {
  let ph;
  for (let i = 0; ; i++) {
    try {
      ph = await inst.post('/institution/physicians', {
        name: opts.name || `医师${rnd(10000)}`, id_number: newIdNumber(w.codes.county), practice_level: '执业医师',
        practice_category: '临床', practice_scope: '内科专业', title: '中级', first_registration_date: '2012-07-01',
        department_id: opts.dept || w.dept,
      });
      break;
    } catch (e) {
      if (i > 5 || !(e instanceof ApiError) || e.status !== 409) throw e;
    }
  }
  const enr = await inst.post(`/institution/physicians/${ph.id}/confirm`, {});
  return { id: ph.id, account: ph.account, eid: enr.id };
}

// A physician of institution `inst` (a Client), confirmed in the cycle, logged in (its
// own Client in .client, password PASSWORD), with profile, photo and registration saved.
// opts: procedure ('一般程序'), photo (JPEG bytes, default the grey one), name, dept,
// submit (default true).
export async function enrolPhysician(adminBase, inst, w, opts = {}) {
  const procedure = opts.procedure || '一般程序';
  const ph = await confirmedPhysician(inst, w, opts);
  const enr = { id: ph.eid };
  const p = await firstLogin(adminBase, 'physician', ph.account);
  await p.put('/physician/profile', {
    department_id: opts.dept || w.dept, specialty: '心血管内科', title: '中级（主治医师）', mobile: '13800000000',
    ethnicity: '汉族', education: '本科',
    experience: [{ start_date: '2012-07-01', institution_name: '测试县第一人民医院', department: '内科', position: '住院医师' }],
  });
  await p.call('PUT', '/physician/photo', undefined, { raw: opts.photo || GREY_JPEG, ctype: 'image/jpeg' });
  await p.put('/physician/registration', {
    procedure_type: procedure, sa_patient_visits: 2100, sa_operations: 0, sa_work_text: '认真完成门诊和病房的诊疗工作，参与科室质量改进。',
    sa_ethics_text: '遵守医师职业道德规范，无投诉。', sa_report_text: '本周期个人述职：……',
    sa_simple_condition: procedure === '简易程序' ? '省级以上卫生行政部门规定的其他情形' : null, sa_good_record: true, sa_bad_record: false,
  });
  if (opts.submit !== false) await p.post(`/enrolments/${enr.id}/actions/submit`, {});
  return { id: ph.id, account: ph.account, eid: enr.id, client: p };
}

export async function enrolmentVersion(client, eid) {
  return (await client.get(`/enrolments/${eid}`)).enrolment.version;
}

// ---- the browser ------------------------------------------------------------------------------------

// Chromium with a fresh profile. Returns the context; errors collects console and page errors.
export async function launch(pw, tmp, contextOptions = {}) {
  const profile = mkdtempSync(path.join(tmp, 'profile-'));
  let context;
  try {
    context = await pw.chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      timeout: 60000,
      acceptDownloads: true,
      locale: 'zh-CN',
      timezoneId: 'Asia/Shanghai',
      viewport: { width: 1440, height: 900 },
      args: [
        '--lang=zh-CN', '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
      ...contextOptions,
    });
  } catch (e) {
    await skip(`Chromium (${CHROMIUM}) cannot be launched: ${e.message.split('\n')[0]}`);
  }
  onCleanup(() => context.close());
  const errors = [];
  const watch = (page) => {
    watchPage(page);
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push({ kind: 'console', text: m.text(), url: (m.location() || {}).url || '' });
    });
    page.on('pageerror', (e) => errors.push({ kind: 'pageerror', text: String(e && e.stack ? e.stack : e) }));
  };
  context.on('page', watch);
  for (const p of context.pages()) watch(p);
  context.errors = errors;
  return context;
}

// Fails on any console or page error not tolerated (a test tolerates only the 4xx answers it
// provokes itself: Chromium logs every 4xx/5xx answer to fetch() as a console error).
export function noErrors(context, tolerated = () => false) {
  const bad = context.errors.filter((e) => !tolerated(e));
  check(!bad.length, `console or page errors:\n${bad.map((e) => `  ${e.kind}: ${e.text} ${e.url || ''}`).join('\n')}`);
  context.errors.length = 0;
}

// The fonts Chromium really drew a node with (DevTools: platform fonts of the node).
export async function drawnFonts(context, page, selector) {
  const cdp = await context.newCDPSession(page);
  try {
    await cdp.send('DOM.enable');
    await cdp.send('CSS.enable');
    const { root } = await cdp.send('DOM.getDocument');
    const { nodeId } = await cdp.send('DOM.querySelector', { nodeId: root.nodeId, selector });
    const { fonts } = await cdp.send('CSS.getPlatformFontsForNode', { nodeId });
    return fonts;
  } finally {
    await cdp.detach();
  }
}

let shotNo = 0;
export async function shot(page, name, { full = true } = {}) {
  shotNo++;
  const file = path.join(getOutDir(), `${String(shotNo).padStart(2, '0')}-${name}.png`);
  if (full) await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: file, fullPage: full });
  log(`screenshot ${file}`);
  return file;
}

// Logs in through the login page: type is 'institution', 'authority' or 'reviewer'. Solves the captcha
// (reading its answer from Redis) when the page asks for one: failed logins of other
// tests from this address may require it at any time. Returns when the page has left the
// login form (the console, or the forced password change).
export async function uiLogin(page, base, type, account, password) {
  let captchaId = null;
  const onResp = async (r) => {
    if (r.url().endsWith('/api/v1/captcha') && r.ok()) {
      try {
        captchaId = (await r.json()).captcha_id;
      } catch {
        /* the page went away */
      }
    }
  };
  page.on('response', onResp);
  try {
    await page.goto(base + '/');
    const typeLabel = { authority: '卫生行政部门', reviewer: '信息审核员' }[type] || '医疗卫生机构 / 考核机构';
    await page.getByRole('radio', { name: typeLabel }).check();
    await page.getByLabel('账号', { exact: true }).fill(account);
    await page.getByLabel('密码', { exact: true }).fill(password);
    if (password === '666666') await page.getByLabel('激活码').fill((await proof(type, account)).activation_code);
    for (let i = 0; i < 3; i++) {
      await page.getByRole('button', { name: '登录' }).click();
      const done = page.locator('header.top, .login-card.wide');
      const err = page.locator('.login-form .form-error:not([hidden])');
      await done.or(err).first().waitFor({ timeout: 20000 });
      if (await done.count()) return;
      const msg = await err.textContent();
      if (!(await page.locator('.captcha-row:not([hidden])').count())) throw new Error(`login of ${account} failed: ${msg}`);
      await page.waitForFunction(() => document.querySelector('.captcha-img')?.src?.startsWith('data:'), null, { timeout: 10000 });
      for (let k = 0; k < 50 && !captchaId; k++) await new Promise((r) => setTimeout(r, 100));
      const ans = await captchaAnswer(captchaId);
      log(`login of ${account}: the page asks for the captcha (${msg.trim()}); answering it`);
      await page.getByLabel('验证码').fill(ans || '');
      await page.getByLabel('密码', { exact: true }).fill(password);
      captchaId = null;
    }
    throw new Error(`login of ${account}: still on the login page`);
  } finally {
    page.off('response', onResp);
  }
}

// Chromium logs every 4xx answer to fetch() as a console error; these are the login
// page's answers to failed attempts (and captcha demands), which a test provokes or
// which other tests' failures from this address cause.
export const loginRefusals = (e) => e.kind === 'console' && /\/api\/v1\/login$/.test(e.url) && /status of 40[01]/.test(e.text);

// Waits for the list page's data to settle (no request in flight, the table drawn).
export async function settled(page) {
  await page.waitForFunction(() => document.body.dataset.busy === '0', null, { timeout: 20000 });
}

// ---- sittings in examd ---------------------------------------------------------------------------------

// Starts (or resumes) a sitting of paper for the physician's examd client; returns its id.
export async function startSitting(exam, paper) {
  const s = await exam.post('/sessions', { paper }, { ok: [200, 201] });
  return s.session_id;
}

// Answers every question of a live sitting with the keys of the bank (read from MariaDB,
// as the tests are the bank's owner), so that it passes.
export async function answerAll(exam, sid) {
  const enc = await sqlValue(`SELECT JSON_UNQUOTE(JSON_EXTRACT(paper_json, '$.enc')) FROM exam_session WHERE id = '${sid}'`);
  const items = enc.split(';')[4].split(',').map((x) => x.split(':'));
  const rows = await sql(`SELECT id, answer FROM qb_question WHERE id IN (${items.map(([q]) => `'${q}'`).join(',')})`);
  const keys = new Map(rows.trim().split('\n').map((l) => l.split('\t')));
  for (let n = 1; n <= items.length; n++) {
    const [q, order] = items[n - 1];
    const choice = [...keys.get(q)].map((c) => String.fromCharCode(65 + order.indexOf(c))).sort().join('');
    await exam.put(`/sessions/${sid}/answers/${n}`, { choice });
  }
}

export async function submitSitting(exam, sid) {
  return (await exam.post(`/sessions/${sid}/submit`, {})).result;
}
