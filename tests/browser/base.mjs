// base.mjs - what every browser test harness shares (tests/browser/harness.mjs for the
// exam page, tests/browser-console/lib.mjs for the console): the test's name and log,
// cleanups run in reverse at the end, SKIP (exit 77) / FAIL (exit 1, with a screenshot of
// every watched page and the tail of every server's log) / PASS, arguments, the test
// stack (MariaDB through the mariadb client), free ports, and our servers (examd, admind)
// started as children that answer /healthz before the test goes on.

import { execFile, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

let testName = 'browser';
let outDir = null;
const cleanups = [];
const watched = []; // pages screenshotted when the test fails
const servers = []; // whose log tails a failure prints

export const setName = (n) => (testName = n);
export const setOutDir = (d) => (outDir = d);
export const getOutDir = () => outDir;
export const onCleanup = (fn) => cleanups.push(fn);
export const watchPage = (page) => watched.push(page);

export function log(msg) {
  console.log(`[${new Date().toISOString().slice(11, 23)}] ${testName}: ${msg}`);
}

export async function cleanupAll() {
  while (cleanups.length) {
    try {
      await cleanups.pop()();
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
        const f = path.join(outDir, `failure-${i + 1}.png`);
        await p.screenshot({ path: f, fullPage: true });
        console.log(`  the page at the failure: ${f} (${p.url()})`);
      }
    } catch {
      /* the browser is gone */
    }
  }
  for (const s of servers) {
    console.log(`--- ${s.name} log (tail)`);
    console.log(s.logs.join('').split('\n').slice(-25).join('\n'));
  }
  await cleanupAll();
  process.exit(1);
}

export function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

// Runs body() and turns any exception into FAIL with the pages' state.
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

// --name value pairs of the command line (from CMake)
export function parseArgs() {
  const a = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z0-9-]+)$/.exec(argv[i]);
    if (m && i + 1 < argv.length) a[m[1]] = argv[++i];
  }
  return a;
}

export function run(cmd, args, { input, env } = {}) {
  return new Promise((resolve, reject) => {
    const p = execFile(cmd, args, { env: { ...process.env, ...env }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(cmd)} failed: ${(stderr || err.message).trim()}`));
      else resolve(stdout);
    });
    if (input !== undefined) p.stdin.end(input);
  });
}

// ---- the stack, as deploy/test.sh exports it ---------------------------------------------

export const stack = {
  redisPort: Number(process.env.DK_REDIS_PORT || 16379),
  mysqlPort: Number(process.env.DK_MYSQL_PORT || 13306),
  mysqlUser: process.env.DK_MYSQL_USER || 'dingkao',
  mysqlPassword: process.env.DK_MYSQL_PASSWORD || 'dingkao-dev',
  mysqlDb: process.env.DK_MYSQL_DB || 'dingkao',
};

// One query (or several) in UTC, as the servers work; tab-separated rows.
export function sql(query) {
  return run('mariadb', [
    '--no-defaults', '--protocol=TCP', '-h', '127.0.0.1', '-P', String(stack.mysqlPort), '-u', stack.mysqlUser,
    '-N', '-B', '--default-character-set=utf8mb4', stack.mysqlDb, '-e', "SET time_zone = '+00:00'; " + query,
  ], { env: { MYSQL_PWD: stack.mysqlPassword } });
}

export async function sqlValue(query) {
  return (await sql(query)).trim();
}

// One command to Redis (inline form); the first reply line, or null (no answer in 2 s).
export function redisCmd(port, line) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    const done = (v) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(2000, () => done(null));
    s.on('error', () => done(null));
    s.on('connect', () => s.write(line + '\r\n'));
    s.on('data', (d) => {
      buf += d;
      const m = /^(\+[^\r]*|\$-1|\$\d+\r\n[^\r]*|-[^\r]*)\r\n/.exec(buf);
      if (m) done(m[1]);
    });
  });
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

// ---- our servers ----------------------------------------------------------------------------

// Starts bin (examd or admind) on a free port (or the one given, in the env key portKey),
// its data under tmp, two loops, no in-process proctor workers; env adds settings. Stopped
// (SIGTERM, then SIGKILL after 8 s) at cleanup. Returns {name, base, port, logs, stop}
// once /healthz answers 200.
export async function startServer(name, bin, portKey, tmp, env = {}, port = null) {
  if (!port) port = await freePort();
  const logs = [];
  const child = spawn(bin, [], {
    env: {
      ...process.env,
      [portKey]: String(port),
      DK_DATA_DIR: path.join(tmp, 'data'),
      DK_HTTP_LOOPS: '2',
      DK_PROCTOR_INPROCESS: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const srv = { name, base: `http://127.0.0.1:${port}`, port, logs };
  servers.push(srv);
  child.stdout.on('data', (d) => logs.push(String(d)));
  child.stderr.on('data', (d) => logs.push(String(d)));
  let exited = null;
  const exit = new Promise((resolve) => child.on('exit', (code, sig) => resolve((exited = { code, sig }))));
  srv.stop = async () => {
    if (exited) return exited;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 8000);
    const r = await exit;
    clearTimeout(t);
    return r;
  };
  onCleanup(srv.stop);
  for (let i = 0; i < 200; i++) {
    if (exited) throw new Error(`${name} exited at start (${JSON.stringify(exited)}):\n${logs.join('')}`);
    try {
      const r = await fetch(srv.base + '/healthz');
      if (r.status === 200) return srv;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} did not become healthy on ${srv.base}:\n${logs.join('').slice(-3000)}`);
}
