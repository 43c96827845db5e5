// console_invigilation.test.mjs - issue 8, test 2: captures showing another person's face
// (a stand-in from the second capture on: 4 in a row, issue 14's session decisions) make a
// suspect entry that the institution finds in 监考管理 (filter 相似度 < 40%), looks at beside
// the registered photo, with the frames behind the warning marked, and marks 疑似; the provincial authority confirms 认定作弊
// with a reason, after which the physician's result for that test is a fail (待确认补考).
// 撤销认定 restores the pass and a second 认定作弊 fails it again.
//
// The registered photo goes through admind's physician photo route (face embedding made
// with the shipped proctor/models); the captures are POSTed to examd (DK_PROCTOR_INPROCESS=1 scores
// them) as the exam page would: one more photo of the physician, four of someone else.
// The invigilation and the determination are done in the console.

import path from 'node:path';
import { existsSync, readdirSync } from 'node:fs';
import * as L from './lib.mjs';

const NOTE = '抓拍照片与报名照片明显不是同一人，疑似替考';
const DETERMINE = '经核查抓拍照片，确认由他人代考';
const REVOKE = '复核后认为照片光线原因误判，撤销认定';

function identities() {
  const all = readdirSync(L.FACES, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('_'))
    .map((d) => d.name)
    .filter((n) => L.facePhotos(n).length >= 2)
    .sort();
  // two people whose photos the measured figures separate well (data/faces/README.md)
  const own = all.includes('deepface_img01') ? 'deepface_img01' : all[0];
  const other = all.includes('deepface_img08') ? 'deepface_img08' : all.find((n) => n !== own);
  return { own, other };
}

L.main('browser_console_invigilation', async () => {
  const { pw, args, tmp } = await L.prerequisites({ needFaces: true });
  if (!args.examd || !existsSync(args.examd)) await L.skip(`examd is not built (${args.examd})`);
  const models = { DK_PROCTOR_MODEL_DIR: L.MODELS };
  const admind = await L.startAdmind(args.admind, tmp, models);
  // two captures back to back (a genuine one, an impostor's): the early-capture rule
  // (capture_early_slack_s, tests/exam-engine/test_exam_limits.sh) is stretched to let them in
  const examd = await L.startExamd(args.examd, tmp, { ...models, DK_PROCTOR_INPROCESS: '1', DK_CAPTURE_EARLY_SLACK_S: '3600' });
  const base = admind.base;
  const w = await L.makeWorld(base, { admind: args.admind });
  const { own, other } = identities();
  const ownPhotos = L.facePhotos(own);
  const otherPhotos = L.facePhotos(other);
  const otherPhoto = otherPhotos[0];
  L.log(`the physician is ${own} (registered ${path.basename(ownPhotos[0])}); the impostor capture shows ${other}`);

  // -- the physician: registered photo with its embedding, 简易程序 (人文医学 only), passed
  //    by the institution and the 考核机构
  const p = await L.enrolPhysician(base, w.H, w, { name: '郑晓东', procedure: '简易程序', photo: L.readBytes(ownPhotos[0]) });
  L.check((await L.sqlValue(`SELECT face_embedding IS NOT NULL FROM physician WHERE id = ${p.id}`)) === '1', 'the registered photo has a face embedding');
  await w.H.post(`/enrolments/${p.eid}/actions/inst_pass`, { version: await L.enrolmentVersion(w.H, p.eid), work_result: '合格', ethics_result: '合格' });
  await w.A.post(`/enrolments/${p.eid}/actions/assessor_pass`, { version: await L.enrolmentVersion(w.A, p.eid) });
  L.check((await L.sqlValue(`SELECT status FROM enrolment WHERE id = ${p.eid}`)) === '待参加考核', 'the physician may sit the test');

  // -- the sitting: a genuine capture, then a stand-in's four, every answer right, submitted
  const exam = await L.examLogin(examd.base, p.account, L.PASSWORD);
  const sid = await L.startSitting(exam, '公共知识');
  const post = (bytes) => exam.call('POST', `/sessions/${sid}/captures`, undefined, { raw: bytes, ctype: 'image/jpeg', ok: [202] });
  const waitScored = async (n) => {
    let scored = '0';
    for (let i = 0; i < 120 && scored !== String(n); i++) {
      await new Promise((r) => setTimeout(r, 500));
      scored = await L.sqlValue(`SELECT COUNT(*) FROM proctor_capture WHERE session_id = '${sid}' AND scored_at IS NOT NULL`);
    }
    L.check(scored === String(n), `${n} captures were scored (${scored} after 60 s)`);
  };
  await post(L.readBytes(ownPhotos[1]));
  await post(L.readBytes(otherPhoto));
  await waitScored(2);
  // one frame of someone else is not yet a suspect sitting (a blurred frame looks the same)
  L.check((await L.sqlValue(`SELECT COUNT(*) FROM proctor_suspect WHERE session_id = '${sid}'`)) === '0', 'one low capture: no suspect entry');
  for (let k = 1; k < 4; k++) await post(L.readBytes(otherPhotos[k % otherPhotos.length]));
  await L.answerAll(exam, sid);
  await waitScored(5);
  const sims = (await L.sql(`SELECT similarity FROM proctor_capture WHERE session_id = '${sid}' ORDER BY id`)).trim().split('\n').map(Number);
  L.log(`similarities: genuine ${sims[0].toFixed(1)}%, stand-in ${sims.slice(1).map((x) => x.toFixed(1)).join(', ')}%`);
  L.check(sims[0] >= 40 && sims.slice(1).every((x) => x < 40), `genuine >= 40% and the stand-in's < 40%: ${sims.join(', ')}`);
  const res = await L.submitSitting(exam, sid);
  L.check(res.passed === true, `the sitting passed on its answers: ${JSON.stringify(res)}`);
  L.check((await L.sqlValue(`SELECT COUNT(*) FROM proctor_suspect WHERE session_id = '${sid}' AND reason = 'low_similarity_run' AND JSON_LENGTH(frames) = 4`)) === '1', 'a low_similarity_run suspect entry with its 4 frames');
  L.check((await L.sqlValue(`SELECT CONCAT(status, '/', result) FROM enrolment WHERE id = ${p.eid}`)) === '考核完成/合格', 'before the determination the physician passed');

  // -- the institution: 监考管理, similarity < 40%, the photos, 标记疑似
  const ctx = await L.launch(pw, tmp);
  const page = ctx.pages()[0] || (await ctx.newPage());
  await L.uiLogin(page, base, 'institution', w.hInfo.code, L.PASSWORD);
  await page.getByRole('link', { name: '监考管理' }).click();
  await page.getByLabel('相似度', { exact: true }).selectOption({ label: '低于 40%（建议优先查看）' });
  await page.getByRole('button', { name: '查询' }).click();
  const row = page.locator('tbody tr', { hasText: '郑晓东' });
  await row.waitFor();
  await row.locator('.sim.low').waitFor();
  L.check((await row.textContent()).includes('连续多张相似度低（4 张）'), 'the row shows the system warning and its frames');
  L.check((await row.locator('.tag', { hasText: '未查看' }).count()) === 1, 'not yet viewed');
  await L.shot(page, 'institution-list-below-40');
  await row.getByRole('button', { name: '查看' }).click();
  await page.getByRole('heading', { name: /监考照片/ }).waitFor();
  await page.locator('.capture').nth(1).waitFor();
  await page.waitForFunction(() => [...document.querySelectorAll('.reg-img, .cap-img')].every((i) => i.tagName === 'IMG' && i.complete && i.naturalWidth > 0), null, { timeout: 20000 });
  L.check((await page.locator('.capture.low').count()) === 4, 'the captures below 40% are highlighted');
  L.check((await page.locator('.capture.evidence').count()) === 4, 'the frames behind the warning are marked');
  L.check((await page.locator('.capture').count()) === 5, 'every capture is shown');
  await L.shot(page, 'institution-photos');
  L.check((await page.getByRole('button', { name: '认定作弊' }).count()) === 0, 'an institution cannot 认定作弊');
  await page.getByRole('button', { name: '标记疑似' }).click();
  const md = page.getByRole('dialog', { name: '标记疑似' });
  await md.getByLabel('备注').fill(NOTE);
  await L.shot(page, 'institution-mark-dialog');
  await md.getByRole('button', { name: '标记疑似' }).click();
  await page.locator('.invig-left .tag', { hasText: '疑似' }).waitFor();
  await L.shot(page, 'institution-marked');
  const mark = (await L.sqlValue(`SELECT CONCAT_WS('|', mark_status, marked_by, mark_note, view_count > 0) FROM invigilation WHERE session_id = '${sid}'`)).split('|');
  L.check(mark[0] === '疑似' && mark[1] === String(w.hInfo.id) && mark[2] === NOTE && mark[3] === '1', `invigilation row: ${mark.join(' | ')}`);
  L.check(Number(await L.sqlValue(`SELECT COUNT(*) FROM audit_log WHERE action = 'photo_view' AND actor_type = 'institution' AND actor_id = ${w.hInfo.id}`)) >= 3, 'every photo view is in the audit log');
  await page.getByRole('link', { name: '监考管理' }).click();
  await row.locator('.tag', { hasText: '已查看' }).waitFor();
  await row.locator('.tag', { hasText: '疑似' }).waitFor();
  await L.shot(page, 'institution-list-marked');
  await page.getByRole('button', { name: '退出' }).click();
  await page.getByText('您已安全退出').waitFor();

  // -- the province: the task on its home page, the photos, 认定作弊 with a reason
  await L.uiLogin(page, base, 'authority', w.users.prov, L.PASSWORD);
  const task = page.locator('.tasks li', { hasText: '疑似作弊待认定' });
  L.check((await task.locator('.task-count').textContent()).trim() === '1', 'one suspect waits for the province');
  await L.shot(page, 'province-home');
  await task.getByRole('button', { name: '去处理' }).click();
  const prow = page.locator('tbody tr', { hasText: '郑晓东' });
  await prow.waitFor();
  L.check((await prow.textContent()).includes(w.hInfo.name), 'the province sees the institution of the row');
  await L.shot(page, 'province-list-suspects');
  await prow.getByRole('button', { name: '查看' }).click();
  await page.getByRole('heading', { name: /监考照片/ }).waitFor();
  await page.waitForFunction(() => [...document.querySelectorAll('.reg-img, .cap-img')].every((i) => i.tagName === 'IMG' && i.complete && i.naturalWidth > 0), null, { timeout: 20000 });
  await page.getByRole('button', { name: '认定作弊' }).click();
  const dd = page.getByRole('dialog', { name: '认定作弊' });
  await dd.getByRole('button', { name: '认定作弊' }).click();
  await dd.getByText('请填写认定理由').waitFor(); // the reason is required
  await dd.getByLabel('认定理由').fill(DETERMINE);
  await L.shot(page, 'province-determine-dialog');
  await dd.getByRole('button', { name: '认定作弊' }).click();
  await page.locator('.invig-left .tag', { hasText: '已认定' }).waitFor();
  await page.locator('td', { hasText: DETERMINE }).waitFor();
  await L.shot(page, 'province-determined');

  const failed = async () => {
    const r = (await L.sqlValue(
      `SELECT CONCAT_WS('|', r.cheating_confirmed, r.final_passed, t.result, e.status, IFNULL(e.result, '-')) FROM exam_result r ` +
        `JOIN exam_session s ON s.id = r.session_id JOIN enrolment_test t ON t.enrolment_id = s.enrolment_id AND t.paper = s.paper ` +
        `JOIN enrolment e ON e.id = s.enrolment_id WHERE r.session_id = '${sid}'`,
    )).split('|');
    return r;
  };
  let st = await failed();
  L.check(st[0] === '1' && st[1] === '0' && st[2] === '不合格' && st[3] === '待确认补考', `after 认定作弊 the test is failed: ${st.join(' | ')}`);
  const mine = await p.client.get('/physician/results');
  const cur = mine.items.find((x) => x.enrolment_id === p.eid);
  L.check(cur && /人文医学:不合格/.test(cur.tests) && cur.status === '待确认补考', `the physician's results: ${JSON.stringify(cur)}`);

  // the same in 测评进度
  await page.getByRole('link', { name: '测评进度' }).click();
  const trow = page.locator('tbody tr', { hasText: '郑晓东' });
  await trow.locator('.tag', { hasText: '认定作弊' }).waitFor();
  L.check((await trow.locator('.tag', { hasText: /^不合格$/ }).count()) === 1, '测评进度 shows 不合格');
  await L.shot(page, 'province-test-progress');

  // -- 撤销认定 restores the pass; a second 认定作弊 fails it again
  await page.goBack();
  await page.getByRole('button', { name: '撤销认定' }).click();
  const rv = page.getByRole('dialog', { name: '撤销认定' });
  await rv.getByLabel('撤销理由').fill(REVOKE);
  await rv.getByRole('button', { name: '撤销认定' }).click();
  await page.locator('.invig-left .tag', { hasText: '已撤销' }).waitFor();
  st = await failed();
  L.check(st[0] === '0' && st[1] === '1' && st[2] === '合格' && st[3] === '考核完成' && st[4] === '合格', `after 撤销认定 the pass is back: ${st.join(' | ')}`);
  await L.shot(page, 'province-revoked');
  await page.getByRole('button', { name: '认定作弊' }).click();
  await dd.getByLabel('认定理由').fill(DETERMINE + '（复核确认）');
  await dd.getByRole('button', { name: '认定作弊' }).click();
  await page.locator('.invig-left .tag', { hasText: '已认定' }).waitFor();
  st = await failed();
  L.check(st[0] === '1' && st[1] === '0' && st[2] === '不合格' && st[3] === '待确认补考', `after the second 认定作弊 the test is failed: ${st.join(' | ')}`);
  const dets = page.locator('table', { has: page.locator('caption', { hasText: '认定记录' }) }).locator('tbody tr');
  L.check((await dets.count()) === 3, `three determinations are listed (${await dets.count()})`);
  await L.shot(page, 'province-determined-again');

  L.noErrors(ctx, L.loginRefusals);
});
