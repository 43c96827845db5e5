// harness.mjs - what the browser tests share: finding the prerequisites (exit 77 with a
// reason when the browser, the face photos or the test stack are absent), a fake webcam
// video made from ../shared/data/faces at test time, fresh physicians in MariaDB, a
// private examd serving exam-engine/web, and Debian's Chromium driven by playwright-core
// (never a downloaded browser) with console errors collected.
//
// Arguments (from CMake): --examd PATH --jpeg2y4m PATH --out DIR. The stack comes from
// the environment as deploy/test.sh exports it: DK_REDIS_PORT, DK_MYSQL_PORT, DK_MYSQL_*.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  check, cleanupAll, fail, log, main, onCleanup, parseArgs, redisCmd, run, setName, setOutDir, skip, sql,
  stack, startServer, watchPage,
} from './base.mjs';

export { check, cleanupAll, fail, log, main, parseArgs, setName, skip, sql, stack };

export const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '../..');
export const CHROMIUM = process.env.DK_CHROMIUM || '/usr/bin/chromium';

// Face photos, Chromium, playwright-core and the stack: exits 77 naming what is absent.
// the face models shipped with the product
export const MODELS = path.resolve(repo, 'proctor/models');

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
  if ((await redisCmd(stack.redisPort, 'PING')) !== '+PONG')
    await skip(`the test stack's Redis is not reachable on 127.0.0.1:${stack.redisPort} (start it: deploy/stack.sh up)`);
  try {
    await sql('SELECT 1');
  } catch (e) {
    await skip(`the test stack's MariaDB is not reachable on 127.0.0.1:${stack.mysqlPort}: ${e.message}`);
  }
  mkdirSync(args.out, { recursive: true });
  setOutDir(args.out);
  for (const f of readdirSync(args.out)) if (/^failure-\d+\.png$/.test(f)) rmSync(path.join(args.out, f)); // an earlier run's
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'dk-browser-'));
  onCleanup(() => rmSync(tmp, { recursive: true, force: true }));
  return { pw, faces, tmp };
}

// ---- the fake webcam -------------------------------------------------------------------

export function photosOf(faces, folder, count = 2) {
  const dir = path.join(faces, folder);
  const files = readdirSync(dir).filter((f) => f.endsWith('.jpg')).sort((a, b) => parseInt(a) - parseInt(b));
  return files.slice(0, count).map((f) => path.join(dir, f));
}

// opts: {contain: fit whole photos (group photos), gain: brightness factor, blur: sigma in
// pixels (out of focus)}
export async function makeVideo(jpeg2y4m, out, photos, opts = {}) {
  const flags = [
    ...(opts.contain ? ['-c'] : []),
    ...(opts.gain ? ['-g', String(opts.gain)] : []),
    ...(opts.blur ? ['-b', String(opts.blur)] : []),
  ];
  await run(jpeg2y4m, [...flags, out, '640', '480', '10', '15', ...photos]);
  return out;
}

// ---- people ----------------------------------------------------------------------------

let hashCache = null;

// A new physician (临床, 一般程序, 待参加考核 in the demo cycle) with the initial
// password 666666 and must_change_password set. Returns {id, account, idNumber, name}: the
// first login with 666666 needs the ID number and name (the identity step).
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
      return { id: Number(out.trim()), account, idNumber, name };
    } catch (e) {
      if (!/Duplicate/.test(e.message)) throw e;
    }
  }
  throw new Error('could not find a free physician account');
}

// The login page with the initial password: account, 666666 and the identity step.
export async function fillFirstLogin(page, doc) {
  await page.getByLabel('账号').fill(doc.account);
  await page.getByLabel('密码').fill('666666');
  await page.getByLabel('证件号码').fill(doc.idNumber);
  await page.getByLabel('姓名').fill(doc.name);
}

// ---- examd ---------------------------------------------------------------------------

// examd on a free port serving exam-engine/web, with the face models of proctor/models
// for the camera check when they are there; env adds settings. {base, port, logs, stop}.
// The fake webcams are still photos, which the camera check's liveness challenge refuses
// (issue 14): it is only logged here (camera_liveness=0) unless a test asks for it with
// env DK_CAMERA_LIVENESS=1 (browser_exam_camera_check does).
export function startExamd(examd, tmp, env = {}) {
  env = { DK_CAMERA_LIVENESS: '0', ...env };
  if (existsSync(path.join(MODELS, 'yunet_120x160.onnx'))) env = { DK_PROCTOR_MODEL_DIR: MODELS, ...env };
  return startServer('examd', examd, 'DK_EXAM_PORT', tmp, { DK_WEB_ROOT: path.join(repo, 'exam-engine/web'), ...env });
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
  onCleanup(() => context.close());
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
  const track = (p) => watchPage(p);
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
