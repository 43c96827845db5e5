// exam_camera_check.test.mjs - the camera check before a start says clearly what is
// wrong and lets the test start only with one face: a picture with no person (未检测到
// 人脸), a group photo (多张人脸), a face in the dark (画面太暗, the page's own check), a
// face out of focus (画面模糊: the proctor's quality gate asks for a retake), a still photo
// of a face, which fails the liveness challenge (the page asks to turn the head left, then
// right; the photo turns neither way: 没有检测到向左转头), and then the physician's face on
// a node whose challenge is only logged (camera_liveness=0: a fake webcam cannot turn its
// head), which passes (检测通过, 开始考试 enabled). That physician then starts the test and
// the first capture reaches the server out of focus (its body swapped for a blurred copy
// of the same photo): the in-process proctor's gate asks for a retake, the page shows the
// reason (照片需要重拍：画面模糊) and sends a new capture at once; MariaDB holds the first
// as flag 'retake', reason 'blurred', and no suspect entry. That node's proctor asks for a
// liveness challenge after the new capture (a random moment, made certain here): the page
// prompts the turns over the questions, the still photo fails (活体检测未通过), and the
// session records not_left. Each picture is a fake webcam
// of its own browser. The face verdicts come from examd's camera check with the models of
// proctor/models (exit 77 naming the folder when they are absent).

import { existsSync, readFileSync } from 'node:fs';
import { redisCmd, stack } from './base.mjs';
import path from 'node:path';
import {
  check, collectErrors, launch, log, main, makeVideo, MODELS, fillFirstLogin, newPhysician, parseArgs, photosOf, prerequisites,
  shot, skip, sql, startExamd, unexpectedErrors,
} from './harness.mjs';

const NEW_PASSWORD = 'Shexiang#2026';
const args = parseArgs();

main('browser_exam_camera_check', async () => {
  const { pw, faces, tmp } = await prerequisites(args);
  if (!existsSync(path.join(MODELS, 'yunet_120x160.onnx')))
    await skip(`the face models are absent: ${MODELS} (the camera check cannot count faces without them)`);
  const out = args.out;
  const doc = await newPhysician(args.examd, '孙立');
  // liveness decides on the first node; the second only logs it and scores captures
  const srv = await startExamd(args.examd, tmp, { DK_CAMERA_LIVENESS: '1' });
  // ... and asks for a challenge after every judged capture (proctor_challenge_rate = 1)
  const srvOff = await startExamd(args.examd, tmp, {
    DK_CAMERA_LIVENESS: '0',
    DK_PROCTOR_INPROCESS: '1',
    DK_PROCTOR_CHALLENGE_RATE: '1',
  });
  const face = photosOf(faces, 'deepface_img08', 1);
  const cases = [
    { name: 'no-face', photos: [path.join(faces, '_no_face/1.jpg')], opts: { contain: true }, expect: '未检测到人脸' },
    { name: 'several-faces', photos: [path.join(faces, '_multi_face/1.jpg')], opts: { contain: true }, expect: '多张人脸' },
    { name: 'too-dark', photos: face, opts: { gain: 0.12 }, expect: '画面太暗' },
    { name: 'blurred', photos: face, opts: { blur: 10 }, expect: '画面模糊' },
    { name: 'still-photo', photos: face, opts: {}, expect: '没有检测到向左转头' },
    { name: 'one-face', photos: face, opts: {}, expect: '检测通过', server: srvOff },
  ];
  let password = '666666';
  for (const [i, c] of cases.entries()) {
    const video = await makeVideo(args.jpeg2y4m, `${tmp}/${c.name}.y4m`, c.photos, c.opts);
    const ctx = await launch(pw, tmp, video, { viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
    const errors = collectErrors(ctx);
    const page = ctx.pages()[0] || (await ctx.newPage());
    page.setDefaultTimeout(15000);
    await page.goto((c.server || srv).base + '/');
    if (password === '666666') await fillFirstLogin(page, doc);
    else {
      await page.getByLabel('账号').fill(doc.account);
      await page.getByLabel('密码').fill(password);
    }
    await page.getByRole('button', { name: '登录' }).click();
    if (password === '666666') {
      await page.getByLabel('新密码', { exact: true }).fill(NEW_PASSWORD);
      await page.getByLabel('确认新密码').fill(NEW_PASSWORD);
      await page.getByRole('button', { name: '确认修改' }).click();
      password = NEW_PASSWORD;
    }
    await page.locator('.test-card[data-paper="公共知识"]').getByRole('button', { name: '开始考试' }).click();
    await page.locator('.cam-msg', { hasText: '摄像头已打开' }).waitFor();
    await page.getByLabel('我已阅读考试须知').check();
    const t0 = Date.now();
    await page.getByRole('button', { name: '检测' }).click();
    await page.locator('.cam-msg:not([data-state="busy"])').waitFor();
    const ms = Date.now() - t0;
    const msg = await page.locator('.cam-msg').textContent();
    // printed, not checked (a shared machine): issue 14 wants the check under 5 s
    log(`${c.name}: ${msg} (${ms} ms from the click, the challenge's two turns included)`);
    check(msg.includes(c.expect), `${c.name}: the check says "${msg}", expected "${c.expect}"`);
    const canStart = !(await page.locator('.start-btn').isDisabled());
    check(canStart === (c.name === 'one-face'), `${c.name}: 开始考试 is ${canStart ? 'enabled' : 'disabled'}`);
    await shot(page, out, `0${i + 1}-camera-${c.name}`);
    if (c.name === 'one-face') await retakeDuringTest(page, doc, face[0], out);
    const bad = unexpectedErrors(errors);
    check(!bad.length, `${c.name}: console errors:\n` + bad.map((e) => `  ${e.kind}: ${e.text} ${e.url || ''}`).join('\n'));
    await ctx.close();
  }
  await srv.stop();
  await srvOff.stop();
});

// The first capture of the test reaches the server out of focus: a blurred copy of the
// same photo, made by the page's canvas, replaces the request's body.
async function retakeDuringTest(page, doc, photo, out) {
  const b64 = readFileSync(photo).toString('base64');
  const blurred = Buffer.from(
    await page.evaluate(async (data) => {
      const img = new Image();
      img.src = 'data:image/jpeg;base64,' + data;
      await img.decode();
      const c = document.createElement('canvas');
      c.width = 640;
      c.height = Math.round((img.naturalHeight * 640) / img.naturalWidth);
      const g = c.getContext('2d');
      g.filter = 'blur(12px)';
      g.drawImage(img, 0, 0, c.width, c.height);
      const blob = await new Promise((r) => c.toBlob(r, 'image/jpeg', 0.85));
      return Array.from(new Uint8Array(await blob.arrayBuffer()));
    }, b64),
  );
  let swapped = 0,
    sent = 0;
  await page.route(/\/api\/v1\/sessions\/[0-9a-f]+\/captures$/, async (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    sent++;
    if (swapped++ === 0) return route.continue({ postData: blurred, headers: { ...route.request().headers(), 'content-type': 'image/jpeg' } });
    return route.continue();
  });
  await page.getByRole('button', { name: '开始考试' }).click();
  const notice = page.locator('.notice[data-key="retake"]');
  await notice.waitFor({ timeout: 45000 });
  const text = await notice.textContent();
  log(`retake during the test: ${text}`);
  check(text.includes('照片需要重拍') && text.includes('画面模糊'), `the retake notice says "${text}"`);
  await shot(page, out, '07-retake-during-test');
  // the new capture goes at once (not at the next scheduled time, minutes away)
  for (let i = 0; i < 100 && sent < 2; i++) await page.waitForTimeout(100);
  check(sent >= 2, `a new capture was sent after the retake (${sent} sent)`);
  const rows = (await sql(`SELECT COALESCE(flag, '-'), COALESCE(retake, '-') FROM proctor_capture WHERE physician_id = ${doc.id} ORDER BY id`)).trim().split('\n');
  log(`captures in MariaDB: ${rows.join(' | ')}`);
  check(rows[0] === 'retake\tblurred', `the first capture is stored as retake/blurred: "${rows[0]}"`);
  // stored, so not refused as early: the worker brought the next due time forward
  for (let i = 0; i < 50 && rows.length < 2; i++) {
    await page.waitForTimeout(200);
    rows.splice(0, rows.length, ...(await sql(`SELECT COALESCE(flag, '-'), COALESCE(retake, '-') FROM proctor_capture WHERE physician_id = ${doc.id} ORDER BY id`)).trim().split('\n'));
  }
  check(rows.length >= 2, `the new capture after the retake was accepted and stored (${rows.length} rows)`);
  const suspects = (await sql(`SELECT COUNT(*) FROM proctor_suspect WHERE physician_id = ${doc.id}`)).trim();
  check(suspects === '0', `a retake is no suspect entry (${suspects} found)`);
  await page.unroute(/\/api\/v1\/sessions\/[0-9a-f]+\/captures$/);

  // the challenge at a "random" moment (rate 1: after the first judged capture)
  const prompt = page.locator('.notice[data-key="challenge"]', { hasText: '请缓慢向左转头' });
  await prompt.waitFor({ timeout: 45000 });
  await shot(page, out, '08-challenge-during-test');
  const done = page.locator('.notice[data-key="challenge"]', { hasText: '活体检测未通过' });
  await done.waitFor({ timeout: 30000 });
  log(`challenge during the test: ${await done.textContent()}`);
  const sid = (await sql(`SELECT session_id FROM proctor_capture WHERE physician_id = ${doc.id} LIMIT 1`)).trim();
  const result = String(await redisCmd(stack.redisPort, `HGET sess:{${sid}} cap_challenge_result`)).split('\n').pop();
  log(`the session's challenge result: ${result}`);
  check(String(result).includes('not_left@'), `a still photo fails the challenge during the test: "${result}"`);
}
