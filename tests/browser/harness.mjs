// harness.mjs - what the browser tests share: finding the prerequisites (exit 77 with a
// reason when the browser, the face photos or the test stack are absent), a fake webcam
// video made from ../shared/data/faces at test time, fresh physicians in MariaDB, a
// private examd serving exam-engine/web, and Debian's Chromium driven by playwright-core
// (never a downloaded browser) with console errors collected.
//
// Arguments (from CMake): --examd PATH --jpeg2y4m PATH --out DIR. The stack comes from
// the environment as deploy/test.sh exports it: DK_REDIS_PORT, DK_MYSQL_PORT, DK_MYSQL_*.

import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '../..');
export const CHROMIUM = process.env.DK_CHROMIUM || '/usr/bin/chromium';

let testName = 'browser';
const cleanups = [];
const watched = []; // pages screenshotted when the test fails
let outDir = null;

export function setName(n) {
  testName = n;
}

export function log(msg) {
  const t = new Date().toISOString().slice(11, 23);
  console.log(`[${t}] ${testName}: ${msg}`);
}

export async function cleanupAll() {
  while (cleanups.length) {
    const fn = cleanups.pop();
    try {
      await fn();
    } catch {
      /* best effort */
    }
  }
}

export async function skip(msg) {
  console.log(`SKIP ${testName}: ${msg}`);
  await cleanupAll();
  process.exit(77);
}

export async function fail(msg) {
  console.log(`FAIL ${testName}: ${msg}`);
  for (const [i, p] of watched.entries()) {
    try {
      if (!p.isClosed() && outDir) {
        await p.screenshot({ path: path.join(outDir, `failure-${i + 1}.png`) });
        console.log(`  the page at the failure: ${path.join(outDir, `failure-${i + 1}.png`)} (${p.url()})`);
      }
    } catch {
      /* the browser is gone */
    }
  }
  await cleanupAll();
  process.exit(1);
}

export function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

export function parseArgs() {
  const a = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z0-9-]+)$/.exec(argv[i]);
    if (m && i + 1 < argv.length) a[m[1]] = argv[++i];
  }
  return a;
}

function run(cmd, args, { input, env } = {}) {
  return new Promise((resolve, reject) => {
    const p = execFile(cmd, args, { env: { ...process.env, ...env }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(cmd)} failed: ${(stderr || err.message).trim()}`));
      else resolve(stdout);
    });
    if (input !== undefined) p.stdin.end(input);
  });
}

// ---- prerequisites ---------------------------------------------------------------------

export const stack = {
  redisPort: Number(process.env.DK_REDIS_PORT || 16379),
  mysqlPort: Number(process.env.DK_MYSQL_PORT || 13306),
  mysqlUser: process.env.DK_MYSQL_USER || 'dingkao',
  mysqlPassword: process.env.DK_MYSQL_PASSWORD || 'dingkao-dev',
  mysqlDb: process.env.DK_MYSQL_DB || 'dingkao',
};

function redisPing(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(2000, () => done(false));
    s.on('error', () => done(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      buf += d;
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
    });
  });
}

export function sql(query) {
  return run('mariadb', [
    '--protocol=TCP', '-h', '127.0.0.1', '-P', String(stack.mysqlPort), '-u', stack.mysqlUser,
    `-p${stack.mysqlPassword}`, '-N', '-B', '--default-character-set=utf8mb4', stack.mysqlDb, '-e', query,
  ]);
}

// Face photos, Chromium, playwright-core and the stack: exits 77 naming what is absent.
export const MODELS = path.resolve(repo, '../shared/models');

export async function prerequisites(args) {
  const faces = path.resolve(repo, '../shared/data/faces');
  if (!existsSync(faces)) await skip(`the face photos are absent: ${faces} (the shared data folder next to the repository)`);
  if (!existsSync(CHROMIUM))
    await skip(`Chromium is not installed at ${CHROMIUM} (deploy/setup.sh installs the Debian package chromium)`);
  for (const k of ['examd', 'jpeg2y4m', 'out']) if (!args[k]) await fail(`missing argument --${k}`);
  let pw;
  try {
    pw = await import('playwright-core');
  } catch (e) {
    await fail(`playwright-core is not installed in tests/browser/node_modules (deploy/setup.sh runs npm ci there): ${e.message}`);
  }
  if (!(await redisPing(stack.redisPort)))
    await skip(`the test stack's Redis is not reachable on 127.0.0.1:${stack.redisPort} (start it: deploy/stack.sh up)`);
  try {
    await sql('SELECT 1');
  } catch (e) {
    await skip(`the test stack's MariaDB is not reachable on 127.0.0.1:${stack.mysqlPort}: ${e.message}`);
  }
  mkdirSync(args.out, { recursive: true });
  outDir = args.out;
  for (const f of readdirSync(outDir)) if (/^failure-\d+\.png$/.test(f)) rmSync(path.join(outDir, f)); // an earlier run's
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'dk-browser-'));
  cleanups.push(() => rmSync(tmp, { recursive: true, force: true }));
  return { pw, faces, tmp };
}

// ---- the fake webcam -------------------------------------------------------------------

export function photosOf(faces, folder, count = 2) {
  const dir = path.join(faces, folder);
  const files = readdirSync(dir).filter((f) => f.endsWith('.jpg')).sort((a, b) => parseInt(a) - parseInt(b));
  return files.slice(0, count).map((f) => path.join(dir, f));
}

// opts: {contain: fit whole photos (group photos), gain: brightness factor}
export async function makeVideo(jpeg2y4m, out, photos, opts = {}) {
  const flags = [...(opts.contain ? ['-c'] : []), ...(opts.gain ? ['-g', String(opts.gain)] : [])];
  await run(jpeg2y4m, [...flags, out, '640', '480', '10', '15', ...photos]);
  return out;
}

// ---- people ----------------------------------------------------------------------------

let hashCache = null;

// A new physician (临床, 一般程序, 待参加考核 in the demo cycle) with the initial
// password 666666 and must_change_password set. Returns {id, account}.
export async function newPhysician(examd, name) {
  if (!hashCache) hashCache = (await run(examd, ['--hash-password'], { input: '666666\n' })).trim();
  const ids = await sql(
    "SELECT (SELECT id FROM institution WHERE code = '140105H00001'), " +
      "(SELECT c.id FROM cycle c JOIN authority a ON a.id = c.authority_id WHERE a.code = '140000' AND c.code = '01')",
  );
  const [inst, cycle] = ids.trim().split('\t');
  if (!inst || inst === 'NULL' || !cycle || cycle === 'NULL')
    throw new Error('the demo institution 140105H00001 or cycle 01 is missing: load deploy/demo/load.sh into the test stack');
  for (let attempt = 0; attempt < 8; attempt++) {
    const suffix = String(10000 + Math.floor(Math.random() * 90000));
    const account = '140105H00001' + suffix;
    const idNumber = '99' + String(Date.now()).slice(-10) + String(Math.floor(Math.random() * 1e6)).padStart(6, '0');
    try {
      const out = await sql(
        "SET time_zone = '+00:00';" +
          'INSERT INTO physician (id_number, name, sex, birth_date, account, password_hash, must_change_password, ' +
          'institution_id, practice_level, practice_category, practice_scope, title) VALUES ' +
          `('${idNumber}', '${name}', '男', '1985-06-01', '${account}', '${hashCache}', 1, ${inst}, '执业医师', '临床', '内科专业', '中级');` +
          'SET @pid = LAST_INSERT_ID();' +
          'INSERT INTO enrolment (cycle_id, physician_id, institution_id, status, procedure_type, submitted_at) ' +
          `VALUES (${cycle}, @pid, ${inst}, '待参加考核', '一般程序', NOW(3));` +
          'SELECT @pid;',
      );
      return { id: Number(out.trim()), account };
    } catch (e) {
      if (!/Duplicate/.test(e.message)) throw e;
    }
  }
  throw new Error('could not find a free physician account');
}

// ---- examd ---------------------------------------------------------------------------

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

// Starts examd on a free port serving exam-engine/web, with the face models of
// ../shared/models for the camera check when they are there; env adds settings.
export async function startExamd(examd, tmp, env = {}) {
  if (existsSync(path.join(MODELS, 'yunet_120x160.onnx'))) env = { DK_PROCTOR_MODEL_DIR: MODELS, ...env };
  const port = await freePort();
  const logs = [];
  const child = spawn(examd, [], {
    env: {
      ...process.env,
      DK_EXAM_PORT: String(port),
      DK_WEB_ROOT: path.join(repo, 'exam-engine/web'),
      DK_DATA_DIR: path.join(tmp, 'data'),
      DK_PROCTOR_INPROCESS: '0',
      DK_HTTP_LOOPS: '2',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d) => logs.push(String(d)));
  child.stderr.on('data', (d) => logs.push(String(d)));
  let exited = null;
  const exit = new Promise((resolve) => child.on('exit', (code, sig) => resolve((exited = { code, sig }))));
  const stop = async () => {
    if (exited) return exited;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 8000);
    const r = await exit;
    clearTimeout(t);
    return r;
  };
  cleanups.push(stop);
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 150; i++) {
    if (exited) throw new Error(`examd exited at start (${JSON.stringify(exited)}):\n${logs.join('')}`);
    try {
      const r = await fetch(base + '/healthz');
      if (r.status === 200) return { base, port, stop, logs };
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`examd did not become healthy on ${base}:\n${logs.join('').slice(-3000)}`);
}

// ---- the browser -----------------------------------------------------------------------

// A fresh profile (--user-data-dir, given to Playwright as the persistent context's
// folder) in Chromium with the fake webcam playing `video`. Returns the context.
export async function launch(pw, tmp, video, contextOptions = {}) {
  const profile = mkdtempSync(path.join(tmp, 'profile-'));
  let context;
  try {
    context = await pw.chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      timeout: 60000,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--use-fake-ui-for-media-stream',
        '--use-fake-device-for-media-stream',
        `--use-file-for-fake-video-capture=${video}`,
      ],
      ...contextOptions,
    });
  } catch (e) {
    await skip(`Chromium (${CHROMIUM}) cannot be launched: ${e.message.split('\n')[0]}`);
  }
  cleanups.push(() => context.close());
  return context;
}

// Console errors and page errors of every page of a context, for the end check.
export function collectErrors(context) {
  const errors = [];
  const watch = (page) => {
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push({ kind: 'console', text: m.text(), url: (m.location() || {}).url || '' });
    });
    page.on('pageerror', (e) => errors.push({ kind: 'pageerror', text: String(e && e.stack ? e.stack : e) }));
  };
  context.on('page', watch);
  for (const p of context.pages()) watch(p);
  const track = (p) => watched.push(p);
  context.on('page', track);
  for (const p of context.pages()) track(p);
  return errors;
}

// The console errors not in `tolerated` (a test tolerates only errors it provoked itself,
// such as the 503s it injects: Chromium logs every 4xx/5xx answer to fetch() as a console
// error).
export function unexpectedErrors(errors, tolerated = () => false) {
  return errors.filter((e) => !tolerated(e));
}

export async function shot(page, out, name) {
  const file = path.join(out, name + '.png');
  await page.screenshot({ path: file, fullPage: false });
  log(`screenshot ${file}`);
  return file;
}

// Runs body() and turns any exception into FAIL with the page's state.
export async function main(name, body) {
  setName(name);
  const t0 = Date.now();
  try {
    await body();
    await cleanupAll();
    console.log(`PASS ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    process.exit(0);
  } catch (e) {
    await fail(e && e.stack ? e.stack : String(e));
  }
}
