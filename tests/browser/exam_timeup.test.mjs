// exam_timeup.test.mjs - the server's clock and the server's state win, in a real browser.
//
// A physician whose PC clock is two hours slow starts a 75-second test through a
// synchronized-start queue (the first two starts answer 503 + Retry-After: the page
// shows a calm waiting message and retries by itself). The timer follows the server,
// not the PC; the 10-minute and 1-minute warnings appear. A second device resumes the
// same session with the same remaining time and the saved answers; an answer the first
// device could not send yet wins over the second device's after a reload. At zero the
// page says the time is up, the server's sweeper submits, and the page shows the result.

import {
  check, collectErrors, launch, log, main, makeVideo, fillFirstLogin, newPhysician, parseArgs, photosOf, prerequisites, shot,
  sql, startExamd, unexpectedErrors,
} from './harness.mjs';

const NEW_PASSWORD = 'Kaohe@2026a';
const DURATION_S = 75;
const args = parseArgs();

main('browser_exam_timeup', async () => {
  const { pw, faces, tmp } = await prerequisites(args);
  const out = args.out;
  const video = await makeVideo(args.jpeg2y4m, `${tmp}/face.y4m`, photosOf(faces, 'deepface_img03', 2));
  const doc = await newPhysician(args.examd, '钱芳');
  log(`physician ${doc.account} (id ${doc.id})`);
  const srv = await startExamd(args.examd, tmp, { DK_EXAM_DURATION_S: String(DURATION_S) });
  const ctxOpts = { viewport: { width: 1280, height: 800 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' };

  // ---- device A: a PC whose clock is two hours slow ----
  const a = await launch(pw, tmp, video, ctxOpts);
  await a.addInitScript(() => {
    const real = Date.now.bind(Date);
    Date.now = () => real() - 2 * 3600 * 1000;
  });
  const errors = collectErrors(a);
  const injected = new Set(); // URLs the test answered 503 itself
  let busyStarts = 2;
  await a.route('**/api/v1/sessions', async (route) => {
    if (route.request().method() === 'POST' && busyStarts > 0) {
      busyStarts--;
      injected.add(route.request().url());
      return route.fulfill({
        status: 503,
        headers: { 'Retry-After': '1', 'Content-Type': 'application/json' },
        body: JSON.stringify({ error: { code: 'busy', message: '考生较多，正在排队，请稍候' } }),
      });
    }
    return route.continue();
  });
  const pa = a.pages()[0] || (await a.newPage());
  pa.setDefaultTimeout(15000);

  const login = async (page, password) => {
    await page.goto(srv.base + '/');
    if (password === '666666') await fillFirstLogin(page, doc);
    else {
      await page.getByLabel('账号').fill(doc.account);
      await page.getByLabel('密码').fill(password);
    }
    await page.getByRole('button', { name: '登录' }).click();
  };
  await login(pa, '666666');
  await pa.getByRole('heading', { name: '修改初始密码' }).waitFor();
  await pa.getByLabel('新密码', { exact: true }).fill(NEW_PASSWORD);
  await pa.getByLabel('确认新密码').fill(NEW_PASSWORD);
  await pa.getByRole('button', { name: '确认修改' }).click();
  await pa.locator('.test-card[data-paper="业务水平"]').getByRole('button', { name: '开始考试' }).click();
  await pa.locator('.cam-msg', { hasText: '摄像头已打开' }).waitFor();
  await pa.getByRole('button', { name: '检测' }).click();
  await pa.locator('.cam-msg[data-state="ok"]').waitFor();
  await pa.getByLabel('我已阅读考试须知').check();
  await pa.locator('.start-btn').click();

  // the synchronized start: a calm message, then in by itself
  await pa.locator('#waiting:not([hidden])', { hasText: '正在为您排队' }).waitFor();
  await shot(pa, out, '01-waiting-room');
  await pa.locator('.exam .timer[data-remaining-ms]').waitFor();
  check(busyStarts === 0, 'the page did not retry after 503');
  check(await pa.locator('#waiting').isHidden(), 'the waiting message stays after the start');

  // the timer is the server's, whatever the PC's clock says
  const left = Number(await pa.locator('.timer').getAttribute('data-remaining-ms'));
  check(left <= DURATION_S * 1000 && left > (DURATION_S - 15) * 1000, `the timer shows ${left} ms on a PC two hours slow`);
  await pa.locator('.notice[data-key="time"]', { hasText: '10 分钟' }).waitFor();
  await shot(pa, out, '02-ten-minute-warning');

  const pick = async (page, no, letter) => {
    await page.locator(`.grid .cell[data-no="${no}"]`).click();
    await page.locator('.opts .opt', { has: page.locator(`input[value="${letter}"]`) }).click();
  };
  await pick(pa, 1, 'A');
  await pick(pa, 2, 'B');
  await pa.locator('.pill.net[data-state="ok"]').waitFor();

  // device A cannot send its answer to question 3 (the server is busy for it) ...
  await a.route('**/api/v1/sessions/*/answers/*', (route) => {
    injected.add(route.request().url());
    return route.fulfill({
      status: 503,
      headers: { 'Retry-After': '30', 'Content-Type': 'application/json' },
      body: JSON.stringify({ error: { code: 'busy', message: '服务器繁忙' } }),
    });
  });
  await pick(pa, 3, 'C');
  await pa.locator('.save-state[data-state="pending"]').waitFor();

  // ... while a second device resumes the same session and answers question 3 otherwise
  const b = await launch(pw, tmp, video, ctxOpts);
  const errorsB = collectErrors(b);
  const pb = b.pages()[0] || (await b.newPage());
  pb.setDefaultTimeout(15000);
  await login(pb, NEW_PASSWORD);
  const card = pb.locator('.test-card[data-paper="业务水平"]');
  await card.locator('.badge', { hasText: '考试进行中' }).waitFor();
  await card.getByRole('button', { name: '继续考试' }).click();
  await pb.locator('.exam .timer[data-remaining-ms]').waitFor();
  await pb.waitForTimeout(300);
  const ra = Number(await pa.locator('.timer').getAttribute('data-remaining-ms'));
  const rb = Number(await pb.locator('.timer').getAttribute('data-remaining-ms'));
  log(`remaining on device A ${ra} ms, on device B ${rb} ms`);
  check(Math.abs(ra - rb) <= 1000, `the two devices show ${ra} and ${rb} ms`);
  await pb.locator('.grid .cell[data-no="1"]').click();
  check((await pb.locator('.opts input:checked').getAttribute('value')) === 'A', 'device B lacks question 1');
  await pb.locator('.grid .cell[data-no="2"]').click();
  check((await pb.locator('.opts input:checked').getAttribute('value')) === 'B', 'device B lacks question 2');
  await pick(pb, 3, 'A');
  await pb.locator('.save-state[data-state="saved"]').waitFor();
  await shot(pb, out, '03-second-device');
  for (const e of errorsB) errors.push(e);
  await b.close();

  // device A reloads: its unsent C wins over the server's A and is sent
  await a.unroute('**/api/v1/sessions/*/answers/*');
  await pa.reload();
  await pa.locator('.exam .timer[data-remaining-ms]').waitFor();
  await pa.locator('.grid .cell[data-no="3"]').click();
  check((await pa.locator('.opts input:checked').getAttribute('value')) === 'C', 'the unsent answer lost to the server');
  await pa.locator('.pill.net[data-state="ok"]').waitFor();
  await pa.locator('.save-state[data-state="saved"]').waitFor();

  // the last minute, then the end
  await pa.locator('.notice[data-key="time"]', { hasText: '1 分钟' }).waitFor({ timeout: DURATION_S * 1000 });
  await shot(pa, out, '04-one-minute-warning');
  await pa.locator('.end-dialog[open]', { hasText: '考试时间到' }).waitFor({ timeout: 70000 });
  check(await pa.locator('.opts input').first().isDisabled(), 'answers are still taken after the time is up');
  await shot(pa, out, '05-time-up');
  await pa.getByRole('heading', { name: '测评结果' }).waitFor({ timeout: 30000 });
  await shot(pa, out, '06-result-after-time-up');
  const sid = (await sql(`SELECT id FROM exam_session WHERE physician_id = ${doc.id} AND paper = '业务水平'`)).trim();
  const by = (await sql(`SELECT submitted_by FROM exam_session WHERE id = '${sid}'`)).trim();
  check(by === 'sweeper', `the session was submitted by ${by}, expected the sweeper`);
  const answers = (await sql(`SELECT GROUP_CONCAT(question_no, '=', choice ORDER BY question_no) FROM exam_answer WHERE session_id = '${sid}'`)).trim();
  check(answers === '1=A,2=B,3=C', `exam_answer holds ${answers}`);

  // the injected 503s, and the second device's first capture: early for the server (429
  // with next_capture_at, which that page then waits for)
  const bad = unexpectedErrors(
    errors,
    (e) =>
      e.kind === 'console' &&
      ((injected.has(e.url) && /status of 503/.test(e.text)) ||
        (/\/captures$/.test(e.url || '') && /status of 429/.test(e.text))),
  );
  check(!bad.length, 'console errors:\n' + bad.map((e) => `  ${e.kind}: ${e.text} ${e.url || ''}`).join('\n'));
  await a.close();
  await srv.stop();
});
