// exam_camera_check.test.mjs - the camera check before a start says clearly what is
// wrong and lets the test start only with one face: a picture with no person (未检测到
// 人脸), a group photo (多张人脸), a face in the dark (画面太暗, the page's own check), and
// then the physician's face (检测通过, 开始考试 enabled). Each picture is a fake webcam of
// its own browser. The face verdicts come from examd's camera check with the models of
// proctor/models (exit 77 naming the folder when they are absent).

import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  check, collectErrors, launch, log, main, makeVideo, MODELS, fillFirstLogin, newPhysician, parseArgs, photosOf, prerequisites,
  shot, skip, startExamd, unexpectedErrors,
} from './harness.mjs';

const NEW_PASSWORD = 'Shexiang#2026';
const args = parseArgs();

main('browser_exam_camera_check', async () => {
  const { pw, faces, tmp } = await prerequisites(args);
  if (!existsSync(path.join(MODELS, 'yunet_120x160.onnx')))
    await skip(`the face models are absent: ${MODELS} (the camera check cannot count faces without them)`);
  const out = args.out;
  const doc = await newPhysician(args.examd, '孙立');
  const srv = await startExamd(args.examd, tmp);
  const cases = [
    { name: 'no-face', photos: [path.join(faces, '_no_face/1.jpg')], opts: { contain: true }, expect: '未检测到人脸' },
    { name: 'several-faces', photos: [path.join(faces, '_multi_face/1.jpg')], opts: { contain: true }, expect: '多张人脸' },
    { name: 'too-dark', photos: photosOf(faces, 'deepface_img08', 1), opts: { gain: 0.12 }, expect: '画面太暗' },
    { name: 'one-face', photos: photosOf(faces, 'deepface_img08', 1), opts: {}, expect: '检测通过' },
  ];
  let password = '666666';
  for (const [i, c] of cases.entries()) {
    const video = await makeVideo(args.jpeg2y4m, `${tmp}/${c.name}.y4m`, c.photos, c.opts);
    const ctx = await launch(pw, tmp, video, { viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
    const errors = collectErrors(ctx);
    const page = ctx.pages()[0] || (await ctx.newPage());
    page.setDefaultTimeout(15000);
    await page.goto(srv.base + '/');
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
    await page.getByRole('button', { name: '检测' }).click();
    await page.locator('.cam-msg:not([data-state="busy"])').waitFor();
    const msg = await page.locator('.cam-msg').textContent();
    log(`${c.name}: ${msg}`);
    check(msg.includes(c.expect), `${c.name}: the check says "${msg}", expected "${c.expect}"`);
    const canStart = !(await page.locator('.start-btn').isDisabled());
    check(canStart === (c.name === 'one-face'), `${c.name}: 开始考试 is ${canStart ? 'enabled' : 'disabled'}`);
    await shot(page, out, `0${i + 1}-camera-${c.name}`);
    const bad = unexpectedErrors(errors);
    check(!bad.length, `${c.name}: console errors:\n` + bad.map((e) => `  ${e.kind}: ${e.text} ${e.url || ''}`).join('\n'));
    await ctx.close();
  }
  await srv.stop();
});
