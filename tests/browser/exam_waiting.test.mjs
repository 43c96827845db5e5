// exam_waiting.test.mjs - the waiting room (候考室) in a real browser.
//
// A cycle of the test's own opens 45 s after the test begins. The physician logs in, the
// list offers 进入候考室, the camera check passes (fake webcam), and the page shows the
// waiting room: no questions, a countdown on the server's clock (the PC's clock is an
// hour fast and must not matter), the opening time and place 1. A reload comes back to
// the waiting room with the same place. At the opening the questions appear by
// themselves within 10 s, the timer holds the whole duration counted from the opening
// (not from the arrival), and an answer is saved. No console errors.
// Before all that, the login meets the fair login queue (examd's login_queue of the test's
// own) with two holders ahead: the page shows "排队中，前面还有 2 人" and logs in by itself
// once they have gone through.

import {
  check, collectErrors, launch, log, main, makeVideo, fillFirstLogin, newPhysician, parseArgs, photosOf, prerequisites, shot,
  sql, startExamd, unexpectedErrors,
} from './harness.mjs';
import { onCleanup, redisCmd } from './base.mjs';
import { stack } from './harness.mjs';

const NEW_PASSWORD = 'Houkao#2026';
const OPENS_IN_S = 45;
const DURATION_S = 900;
const args = parseArgs();

main('browser_exam_waiting', async () => {
  const { pw, faces, tmp } = await prerequisites(args);
  const out = args.out;
  const video = await makeVideo(args.jpeg2y4m, `${tmp}/face.y4m`, photosOf(faces, 'deepface_img13', 2));
  const doc = await newPhysician(args.examd, '周候');
  log(`physician ${doc.account} (id ${doc.id})`);
  const cycle = (
    await sql(
      "INSERT INTO cycle (authority_id, code, name, length_years, period_start, period_end, test_start, test_end, status) " +
        "SELECT authority_id, CONCAT('B', LPAD(FLOOR(RAND() * 1000000), 6, '0')), '候考室浏览器测试', length_years, " +
        `period_start, period_end, NOW(3) + INTERVAL ${OPENS_IN_S} SECOND, NOW(3) + INTERVAL 3 HOUR, 'open' ` +
        "FROM cycle WHERE id = (SELECT c.id FROM cycle c JOIN authority a ON a.id = c.authority_id " +
        "WHERE a.code = '140000' AND c.code = '01'); SELECT LAST_INSERT_ID();",
    )
  ).trim();
  check(/^[1-9][0-9]*$/.test(cycle), `could not create the cycle: ${cycle}`);
  onCleanup(() => sql(`UPDATE cycle SET status = 'closed' WHERE id = ${cycle}`));
  await sql(`UPDATE enrolment SET cycle_id = ${cycle} WHERE physician_id = ${doc.id}`);
  const opensAt = Number(
    (await sql(`SELECT CAST(ROUND(UNIX_TIMESTAMP(test_start) * 1000) AS SIGNED) FROM cycle WHERE id = ${cycle}`)).trim(),
  );
  const queue = `bq${Math.floor(Math.random() * 1e8)}`;
  const holders = ['1', '2'].map((n) => n.padStart(32, 'a'));
  onCleanup(() => redisCmd(stack.redisPort, `DEL queue:${queue}:live queue:${queue}:seen queue:${queue}:seq`));
  const srv = await startExamd(args.examd, tmp, {
    DK_EXAM_DURATION_S: String(DURATION_S),
    DK_EXAM_WAITING_ROOM_MIN: '30',
    DK_LOGIN_QUEUE: queue,
    DK_HASH_QUEUE: '2', // room for 2 logins in flight: 2 holders ahead keep the page waiting
  });

  const ctx = await launch(pw, tmp, video, { viewport: { width: 1280, height: 800 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  await ctx.addInitScript(() => {
    const real = Date.now.bind(Date);
    Date.now = () => real() + 3600 * 1000;
  });
  const errors = collectErrors(ctx);
  const page = ctx.pages()[0] || (await ctx.newPage());
  page.setDefaultTimeout(15000);

  // ---- the login queue: two holders ahead ----
  const back = Date.now() + 120000; // the holders are due back within 2 minutes
  await redisCmd(stack.redisPort, `SET queue:${queue}:seq 2`);
  await redisCmd(stack.redisPort, `ZADD queue:${queue}:live 1 ${holders[0]} 2 ${holders[1]}`);
  await redisCmd(stack.redisPort, `ZADD queue:${queue}:seen ${back} ${holders[0]} ${back} ${holders[1]}`);
  await page.goto(srv.base + '/');
  await fillFirstLogin(page, doc);
  await page.getByRole('button', { name: '登录' }).click();
  await page.locator('#waiting:not([hidden])', { hasText: '前面还有 2 人' }).waitFor();
  await shot(page, out, '00-login-queue');
  await redisCmd(stack.redisPort, `ZREM queue:${queue}:live ${holders[0]} ${holders[1]}`);
  await page.getByLabel('新密码', { exact: true }).fill(NEW_PASSWORD);
  await page.getByLabel('确认新密码').fill(NEW_PASSWORD);
  await page.getByRole('button', { name: '确认修改' }).click();

  const card = page.locator('.test-card[data-paper="业务水平"]');
  await card.locator('.badge', { hasText: '候考中' }).waitFor();
  await card.getByRole('button', { name: '进入候考室' }).click();
  await page.locator('.cam-msg', { hasText: '摄像头已打开' }).waitFor();
  await page.getByRole('button', { name: '检测' }).click();
  await page.locator('.cam-msg[data-state="ok"]').waitFor();
  await page.getByLabel('我已阅读考试须知').check();
  await page.getByRole('button', { name: '进入候考室' }).click();

  // ---- the waiting room ----
  await page.getByRole('heading', { name: '候考室' }).waitFor();
  await page.locator('.place', { hasText: '第 1 位' }).waitFor();
  check((await page.locator('.exam, .opts').count()) === 0, 'questions are shown before the opening');
  const countdown = async () => {
    const m = /^(?:(\d+):)?(\d\d):(\d\d)$/.exec((await page.locator('.countdown').textContent()).trim());
    check(m, 'the countdown is not h:mm:ss');
    return Number(m[1] || 0) * 3600 + Number(m[2]) * 60 + Number(m[3]);
  };
  const left = await countdown();
  const expected = (opensAt - Date.now()) / 1000;
  log(`countdown ${left} s, the server's clock says ${expected.toFixed(1)} s`);
  check(Math.abs(left - expected) <= 3, `the countdown shows ${left} s for ${expected.toFixed(1)} s (the PC is an hour fast)`);
  check(/开考时间/.test(await page.locator('.opens-at').textContent()), 'the opening time is not shown');
  await shot(page, out, '01-waiting-room');

  await page.reload();
  await page.getByRole('heading', { name: '候考室' }).waitFor();
  await page.locator('.place', { hasText: '第 1 位' }).waitFor();
  check((await countdown()) <= left, 'after a reload the countdown went back');

  // ---- the opening ----
  await page.locator('.exam .timer[data-remaining-ms]').waitFor({ timeout: (OPENS_IN_S + 30) * 1000 });
  const late = Date.now() - opensAt;
  log(`the paper appeared ${late} ms after the opening`);
  check(late >= -500 && late <= 10000, `the paper appeared ${late} ms after the opening (0..10 s)`);
  const remaining = Number(await page.locator('.timer').getAttribute('data-remaining-ms'));
  const want = DURATION_S * 1000 - (Date.now() - opensAt);
  check(Math.abs(remaining - want) <= 3000, `the timer shows ${remaining} ms, from the opening ${want} ms`);
  await page.locator('.grid .cell[data-no="1"]').click();
  await page.locator('.opts .opt').first().click();
  await page.locator('.save-state[data-state="saved"]').waitFor();
  await shot(page, out, '02-released');
  const sid = (await sql(`SELECT id FROM exam_session WHERE physician_id = ${doc.id} AND paper = '业务水平'`)).trim();
  const started = Number(
    (await sql(`SELECT CAST(ROUND(UNIX_TIMESTAMP(started_at) * 1000) AS SIGNED) FROM exam_session WHERE id = '${sid}'`)).trim(),
  );
  check(started === opensAt, `started_at is ${started}, the opening ${opensAt}`);

  // the queue's 503s on /login are the protocol (Chromium logs every non-2xx)
  const bad = unexpectedErrors(errors, (e) => e.kind === 'console' && /\/api\/v1\/login$/.test(e.url || '') && /status of 503/.test(e.text));
  check(!bad.length, 'console errors:\n' + bad.map((e) => `  ${e.kind}: ${e.text} ${e.url || ''}`).join('\n'));
  await ctx.close();
  await srv.stop();
});
