// console_departures.test.mjs - issue 18 in a real browser: leaving the exam page (切屏).
//
// The cycle of the test's own world warns at the 1st departure, submits the paper at the
// 2nd and asks for fullscreen. The physician (fake webcam of their own face) reads the rule
// on the camera page, starts, is asked to go fullscreen (the questions stay covered until
// then), answers, hides the page (the warning), then leaves fullscreen and comes back (the
// 2nd departure): the paper is submitted by the rule and the page says so. The province
// then finds the sitting in 监考管理 with the 切屏 filter, the reason and the count in the
// 系统预警 column, and the two departures in the sitting's detail.

import * as L from './lib.mjs';
import { collectErrors, launch as launchWithCamera, makeVideo, unexpectedErrors } from '../browser/harness.mjs';

L.main('browser_console_departures', async () => {
  const { pw, args, tmp } = await L.prerequisites({ needFaces: true });
  if (!args.examd || !args.jpeg2y4m) await L.skip('examd or jpeg2y4m is not built');
  const models = { DK_PROCTOR_MODEL_DIR: L.MODELS };
  const admind = await L.startAdmind(args.admind, tmp, models);
  // the fake webcam is a still photo: it cannot turn for the liveness challenge
  const examd = await L.startExamd(args.examd, tmp, { ...models, DK_CAMERA_LIVENESS: '0' });
  const base = admind.base;
  const w = await L.makeWorld(base, { admind: args.admind });
  const own = L.facePhotos('deepface_img01').length >= 2 ? 'deepface_img01' : null;
  if (!own) await L.skip('the photos of deepface_img01 are absent');
  const photos = L.facePhotos(own);

  // a physician of the world, 简易程序 (人文医学 only), passed by both reviews
  const p = await L.enrolPhysician(base, w.H, w, { name: '钱离屏', procedure: '简易程序', photo: L.readBytes(photos[0]) });
  await w.H.post(`/enrolments/${p.eid}/actions/inst_pass`, { version: await L.enrolmentVersion(w.H, p.eid), work_result: '合格', ethics_result: '合格' });
  await w.A.post(`/enrolments/${p.eid}/actions/assessor_pass`, { version: await L.enrolmentVersion(w.A, p.eid) });
  L.check((await L.sqlValue(`SELECT status FROM enrolment WHERE id = ${p.eid}`)) === '待参加考核', 'the physician may sit the test');
  await L.sql(`UPDATE cycle SET departure_warn_at = 1, departure_submit_at = 2, require_fullscreen = 1 WHERE id = ${w.cycle.id}`);

  // ---- the exam page ----
  const video = await makeVideo(args.jpeg2y4m, `${tmp}/face.y4m`, [photos[1] || photos[0]]);
  const ctx = await launchWithCamera(pw, tmp, video, { viewport: { width: 1280, height: 800 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  const errors = collectErrors(ctx);
  const page = ctx.pages()[0] || (await ctx.newPage());
  page.setDefaultTimeout(20000);
  await page.goto(examd.base + '/');
  await page.getByLabel('账号', { exact: true }).fill(p.account);
  await page.getByLabel('密码', { exact: true }).fill(L.PASSWORD);
  await page.getByRole('button', { name: '登录' }).click();
  const card = page.locator('.test-card[data-paper="公共知识"]');
  await card.getByRole('button', { name: '开始考试' }).click();
  await page.locator('.rule-departures', { hasText: '累计达到 2 次，系统将自动交卷' }).waitFor();
  L.check((await page.locator('.rule-departures').textContent()).includes('全屏'), 'the camera page states the fullscreen rule');
  await page.locator('.cam-msg', { hasText: '摄像头已打开' }).waitFor();
  await page.getByRole('button', { name: '检测' }).click();
  await page.locator('.cam-msg[data-state="ok"]').waitFor({ timeout: 30000 });
  await page.getByLabel('我已阅读考试须知').check();
  await L.shot(page, 'camera-page-rule');
  await page.getByRole('button', { name: '开始考试' }).click();

  // fullscreen first: the questions are covered until then
  const gate = page.getByRole('dialog', { name: '本场考试要求全屏作答' });
  await gate.waitFor();
  await L.shot(page, 'fullscreen-gate');
  await gate.getByRole('button', { name: '进入全屏继续作答' }).click();
  await page.waitForFunction(() => !!document.fullscreenElement);
  await gate.waitFor({ state: 'hidden' });
  await page.locator('.notice[data-key="rule"]', { hasText: '自动交卷' }).waitFor();
  await page.locator('.opts .opt').first().click();
  await page.locator('.save-state[data-state="saved"]').waitFor();

  // the 1st departure: the page hidden for 2 s
  const setVisibility = (state) =>
    page.evaluate((s) => {
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => s });
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => s === 'hidden' });
      document.dispatchEvent(new Event('visibilitychange'));
      if (s === 'visible') window.dispatchEvent(new Event('focus'));
    }, state);
  await setVisibility('hidden');
  await new Promise((r) => setTimeout(r, 2000));
  await setVisibility('visible');
  await page.locator('.notice[data-key="dep"]', { hasText: '您已离开考试页面 1 次，累计 2 次将自动交卷' }).waitFor();
  await L.shot(page, 'warned');
  const sid = (await L.sqlValue(`SELECT id FROM exam_session WHERE physician_id = ${p.id}`)).trim();
  for (let i = 0; i < 50 && (await L.sqlValue(`SELECT departures FROM exam_session WHERE id = '${sid}'`)) !== '1'; i++)
    await new Promise((r) => setTimeout(r, 200));
  L.check((await L.sqlValue(`SELECT departures FROM exam_session WHERE id = '${sid}'`)) === '1', 'one departure reached MariaDB (the flush)');

  // the 2nd: fullscreen left and entered again; the rule submits the paper
  await page.evaluate(() => document.exitFullscreen());
  await gate.waitFor();
  await new Promise((r) => setTimeout(r, 1000));
  await gate.getByRole('button', { name: '进入全屏继续作答' }).click();
  await page.getByRole('heading', { name: '已自动交卷' }).or(page.locator('.end-title', { hasText: '已自动交卷' })).first().waitFor();
  await L.shot(page, 'auto-submitted');
  await page.locator('.result-score').waitFor({ timeout: 30000 });
  const row = (await L.sqlValue(`SELECT CONCAT_WS('|', status, submitted_by, departures) FROM exam_session WHERE id = '${sid}'`)).split('|');
  L.check(row[0] === 'submitted' && row[1] === 'departures' && row[2] === '2', `submitted by the rule with 2 departures: ${row.join(' | ')}`);
  L.check((await L.sqlValue(`SELECT GROUP_CONCAT(kind ORDER BY started_at) FROM exam_departure WHERE session_id = '${sid}'`)) === 'hidden,fullscreen', 'the two departures, hidden then fullscreen');
  const bad = unexpectedErrors(errors);
  L.check(!bad.length, 'exam page errors:\n' + bad.map((e) => `  ${e.kind}: ${e.text} ${e.url || ''}`).join('\n'));

  // ---- the province in 监考管理 ----
  const cctx = await L.launch(pw, tmp);
  const cp = cctx.pages()[0] || (await cctx.newPage());
  await L.uiLogin(cp, base, 'authority', w.users.prov, L.PASSWORD);
  await cp.getByRole('link', { name: '监考管理' }).click();
  await cp.getByLabel('系统预警').selectOption({ label: '切屏' });
  await cp.getByRole('button', { name: '查询' }).click();
  const lrow = cp.locator('tbody tr', { hasText: '钱离屏' });
  await lrow.waitFor();
  const text = await lrow.textContent();
  L.check(text.includes('切屏（离开考试页面）') && text.includes('切屏 2 次'), `the row shows the reason and the count: ${text}`);
  await L.shot(cp, 'province-list-departures');
  await lrow.getByRole('button', { name: '查看' }).click();
  await cp.getByRole('heading', { name: '离开考试页面（切屏）与作答设备' }).waitFor();
  const deps = cp.locator('table', { has: cp.locator('caption', { hasText: '离开考试页面 2 次' }) });
  await deps.waitFor();
  const kinds = await deps.locator('tbody tr').allTextContents();
  L.check(kinds.length === 2 && kinds[0].includes('切换窗口/标签页') && kinds[1].includes('退出全屏'), `the detail lists both departures: ${kinds.join(' / ')}`);
  await cp.getByRole('button', { name: '查看 2 次离开记录' }).waitFor();
  await L.shot(cp, 'province-detail-departures');
  L.noErrors(cctx, L.loginRefusals);
});
