// exam_registration.test.mjs - the physician's registration on the exam page (医师个人端), in
// a real browser against examd (serving the page) and admind (its API, on another origin:
// CORS).
//
// A physician in 待报名 logs in with the initial password (a reload, on a portal route or
// not, comes back to the change: both servers' 403 password_change_required) and changes
// it, lands on 首页
// (no test to sit), fills 基本信息 (the department dropdown lists only enabled departments;
// a too long value is refused in the page; 执业经历 rows added and removed), picks 一般程序
// with its self-assessment, uploads a photo (a PNG is refused in the page; with the face
// models, photos with no face and with several faces are refused with clear messages),
// asks for an exemption with two files, and submits: MariaDB has the enrolment
// 待医疗卫生机构审核 with every field. The institution adds another institution's opinion
// and 驳回s it through admind's API; the physician sees the reason and the opinion, meets
// a version conflict (the registration changed on another device: the page says so and
// reloads), edits and resubmits: 待医疗卫生机构审核 again with the new text, then withdraws
// (退出本周期, with a reason). Then 考核结果, and the certificate of another physician whose
// enrolment reached 考核完成 合格 through the workflow (Noto Serif CJK, print view, PDF).
// A phone-sized view; no console error beyond the refusals the test provokes.

import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as L from '../browser-console/lib.mjs';
import * as P from './portal.mjs';

const NEW_PASSWORD = 'Yisheng#2026';
const REJECT_REASON = '工作成绩自评过于简单，请补充本周期开展的新技术和带教工作后重新提交';
const WORK_1 = '本周期完成门诊和病房诊疗工作，参与科室医疗质量改进。';
const WORK_2 = '本周期完成门诊和病房诊疗工作；开展经皮冠脉介入新技术 12 例；带教住院医师 4 名。';
const ETHICS = '遵守医师职业道德规范，廉洁行医，无患者投诉。';
const OTHER_DEVICE_REPORT = '（在另一台电脑上修改的个人述职报告）';

L.main('browser_exam_registration', async () => {
  const { pw, args, tmp, out } = await L.prerequisites({ needFaces: true, needModels: false });
  if (!args.examd) throw new Error('missing argument --examd');
  const models = L.haveModels();
  L.log(models ? 'face models present: photos are checked for exactly one face' : `face models absent (${L.MODELS}): photos are stored without a face check`);
  const { admind, examd } = await L.startPortal(args, tmp, { admindEnv: models ? { DK_PROCTOR_MODEL_DIR: L.MODELS } : {} });
  L.log(`examd ${examd.base} (the page), admind ${admind.base} (its API)`);

  // a world of its own: an institution with two enabled departments and a disabled one
  const w = await L.makeWorld(admind.base, { admind: args.admind });
  const sub = w.subjects.find((s) => s.name.includes('外科')) || w.subjects[0];
  await w.H.post('/institution/departments', { name: '外科', subject_ids: [sub.id] });
  const off = await w.H.post('/institution/departments', { name: '已停用的科室', subject_ids: [sub.id] });
  await w.H.post(`/institution/departments/${off.id}/disable`, {});
  const doc = await L.confirmedPhysician(w.H, w, { name: '孙立平' });
  L.log(`physician ${doc.account}, enrolment ${doc.eid} (待报名)`);

  const ctx = await L.launch(pw, tmp);
  const page = ctx.pages()[0] || (await ctx.newPage());
  page.setDefaultTimeout(20000);

  // ---- a token that must change its password: a reload finds the change again, through
  // admind's 403 password_change_required on a portal route and examd's on the landing ----
  await page.goto(examd.base + '/');
  await page.getByLabel('账号').fill(doc.account);
  await page.getByLabel('密码').fill('666666');
  const [idn, pname] = (await L.sqlValue(`SELECT id_number, name FROM physician WHERE id = ${doc.id}`)).split('\t');
  await page.getByLabel('证件号码').fill(idn);
  await page.getByLabel('姓名').fill(pname);
  await page.getByRole('button', { name: '登录' }).click();
  const change = page.getByRole('heading', { name: '修改初始密码' });
  await change.waitFor();
  await page.evaluate(() => { location.hash = '#/registration'; });
  await page.reload();
  await change.waitFor();
  L.check(await page.locator('#portal-nav').isHidden(), 'a must-change token reached 考核报名');
  await page.goto(examd.base + '/');
  await change.waitFor();

  // ---- the initial password changed (asked again after the reload): 首页, since there is
  // no test to sit ----
  await page.getByLabel('原密码').fill('666666');
  await page.getByLabel('新密码', { exact: true }).fill(NEW_PASSWORD);
  await page.getByLabel('确认新密码').fill(NEW_PASSWORD);
  await page.getByRole('button', { name: '确认修改' }).click();
  await page.getByRole('heading', { level: 1, name: '首页' }).waitFor();
  await P.ready(page);
  L.check((await P.status(page)) === '待报名', `首页 shows the status ${await P.status(page)}`);
  L.check(/还没有提交报名信息/.test(await page.locator('.status-card').textContent()), 'the status is not explained');
  L.check(/医师报名/.test(await page.locator('table.windows').textContent()), 'the cycle windows are not shown');
  await L.shot(page, 'home');

  // ---- step 1: 基本信息 ----
  await P.open(page, '考核报名');
  await page.locator('#step-title', { hasText: '基本信息' }).waitFor();
  const depts = await page.locator('.step-panel > .form-grid select[name="department_id"] option').allTextContents();
  L.check(depts.includes('内科') && depts.includes('外科') && !depts.includes('已停用的科室'), `the department dropdown lists ${depts.join(', ')}`);
  await P.fillProfile(page, { specialty: '心'.repeat(65) }); // characters, as admind counts them: 64 at most
  const errs = await P.saveAndNext(page);
  L.check(errs.some((e) => /从事专业过长：最多 64 字，现有 65 字/.test(e)), `a too long 从事专业 is not refused in the page: ${errs.join(' | ')}`);
  await L.shot(page, 'profile-too-long');
  await P.fillProfile(page, {
    department: '内科', specialty: '心血管内科', title: '中级（主治医师）', post: '科室副主任', practice_scope: '内科专业',
    sex: '男', birth_date: '1983-04-12', ethnicity: '汉族', education: '硕士研究生', mobile: '13912345678',
    email: 'sunliping@example.cn', training: '是', qualification_cert_no: '200814110140105', qualification_date: '2008-09-01',
    practice_cert_no: '110140105000123', practice_cert_date: '2009-03-15', first_registration_date: '2009-03-15',
  });
  await P.addExperience(page, { start_date: '2009-03-15', end_date: '2014-06-30', institution_name: '测试县中医院', department: '内科', position: '住院医师' });
  await P.addExperience(page, { start_date: '2014-07-01', institution_name: '测试县第一人民医院', department: '内科', position: '主治医师' });
  await P.addExperience(page, { start_date: '2020-01-01', institution_name: '一条要删掉的记录' });
  await page.locator('.exp-row').last().getByRole('button', { name: '删除此条' }).click();
  L.check((await page.locator('.exp-row').count()) === 2, 'the third 执业经历 row was not removed');
  await L.shot(page, 'profile');
  L.check((await P.saveAndNext(page)).length === 0, 'step 1 did not save');

  // ---- step 2: 考核程序: the simple procedure's fields come and go with the choice ----
  await page.locator('#step-title', { hasText: '考核程序' }).waitFor();
  await P.fillProcedure(page, { procedure: '简易程序' });
  L.check(await page.getByText('简易程序适用条件').first().isVisible(), '简易程序 does not ask for its condition');
  L.check(!(await page.getByText('接诊病人数（人次）').isVisible()), '简易程序 shows the work quantities');
  await P.fillProcedure(page, {
    procedure: '一般程序', visits: 2350, operations: 0, examinations: 15, other: '参与院内会诊 60 次',
    work: WORK_1, ethics: ETHICS, report: '个人述职：本周期……', good: '有', bad: '无',
  });
  await L.shot(page, 'procedure');
  L.check((await P.saveAndNext(page)).length === 0, 'step 2 did not save');

  // ---- step 3: 本人照片 ----
  await page.locator('#step-title', { hasText: '本人照片' }).waitFor();
  const png = path.join(tmp, 'photo.png');
  writeFileSync(png, Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000a49444154789c6300010000050001', 'hex'));
  let r = await P.uploadPhoto(page, png);
  L.check(r.state === 'bad' && /JPEG/.test(r.text), `a PNG photo: ${r.state} ${r.text}`);
  if (models) {
    r = await P.uploadPhoto(page, path.join(L.FACES, '_no_face/1.jpg'));
    L.check(r.state === 'bad' && /没有检测到人脸/.test(r.text), `a photo without a face: ${r.state} ${r.text}`);
    await L.shot(page, 'photo-no-face');
    r = await P.uploadPhoto(page, path.join(L.FACES, '_multi_face/1.jpg'));
    L.check(r.state === 'bad' && /检测到 \d+ 张人脸/.test(r.text), `a photo of several people: ${r.state} ${r.text}`);
    await L.shot(page, 'photo-several-faces');
  }
  r = await P.uploadPhoto(page, L.facePhotos('deepface_img03')[0]);
  L.check(r.state === 'ok', `the face photo was not accepted: ${r.text}`);
  L.check(await page.locator('.photo-preview').isVisible(), 'no preview of the photo');
  await L.shot(page, 'photo');

  // ---- 免考申请: a request with two files (before submitting: the registration is editable) ----
  await P.open(page, '免考申请');
  L.check(/免考的测评：业务水平/.test(await page.locator('form').textContent()), '一般程序 does not ask to exempt 业务水平');
  await page.getByLabel(/^免考条件/).fill('援外医疗');
  await page.getByLabel(/^情况说明/).fill('2023 年 3 月至 2024 年 3 月参加援外医疗队。');
  await L.shot(page, 'exemption-form');
  await page.getByRole('button', { name: '提交免考申请' }).click();
  await page.locator('.tag', { hasText: '待医疗卫生机构审核' }).waitFor();
  const pdf = path.join(tmp, '援外医疗证明.pdf');
  writeFileSync(pdf, '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n');
  await page.locator('#ex-files').setInputFiles([pdf, L.facePhotos('deepface_img03')[1]]);
  await page.locator('.files li').nth(1).waitFor();
  L.check(/援外医疗证明\.pdf/.test(await page.locator('.files').textContent()), 'the uploaded PDF is not listed');
  await L.shot(page, 'exemption');
  const ex = (await L.sqlValue(`SELECT CONCAT_WS('|', x.status, x.paper, x.exemption_type, (SELECT GROUP_CONCAT(a.mime ORDER BY a.id) FROM attachment a WHERE a.owner_type = 'exemption_request' AND a.owner_id = x.id)) FROM exemption_request x WHERE x.enrolment_id = ${doc.eid}`)).split('|');
  L.check(ex[0] === '待医疗卫生机构审核' && ex[1] === '业务水平' && ex[2] === '援外医疗' && ex[3] === 'application/pdf,image/jpeg', `stored exemption: ${ex.join(' | ')}`);

  // ---- step 4: 提交报名 ----
  await P.open(page, '考核报名');
  await P.step(page, '提交报名');
  L.check(!(await page.getByText('还有以下必填内容没有填写').count()), 'the page says something is missing');
  L.check((await page.locator('.summary').textContent()).includes('测试县中医院'), 'the summary lacks the 执业经历');
  await L.shot(page, 'submit-summary');
  await P.submit(page);
  await L.shot(page, 'submitted');
  L.check(!(await page.locator('.steps-bar').count()), 'a submitted registration is still editable in the page');
  L.check(await page.getByRole('button', { name: '退出本周期' }).isVisible(), 'the server allows 退出本周期 but the page does not offer it');

  const e1 = (await L.sqlValue(
    `SELECT CONCAT_WS('|', e.status, e.procedure_type, e.sa_patient_visits, e.sa_operations, e.sa_examinations, e.sa_other_workload,
       e.sa_work_text, e.sa_ethics_text, e.sa_good_record, e.sa_bad_record, e.submitted_at IS NOT NULL,
       d.name, p.specialty, p.title, p.mobile, p.email, p.ethnicity, p.education, p.standardized_training, p.birth_date,
       p.photo_path IS NOT NULL, p.face_embedding IS NOT NULL,
       (SELECT GROUP_CONCAT(CONCAT(x.start_date, '~', IFNULL(x.end_date, ''), '~', x.institution_name) ORDER BY x.start_date SEPARATOR ';')
          FROM physician_experience x WHERE x.physician_id = p.id))
     FROM enrolment e JOIN physician p ON p.id = e.physician_id LEFT JOIN department d ON d.id = p.department_id WHERE e.id = ${doc.eid}`,
  )).split('|');
  const want = ['待医疗卫生机构审核', '一般程序', '2350', '0', '15', '参与院内会诊 60 次', WORK_1, ETHICS, '1', '0', '1',
    '内科', '心血管内科', '中级（主治医师）', '13912345678', 'sunliping@example.cn', '汉族', '硕士研究生', '1', '1983-04-12', '1', models ? '1' : '0',
    '2009-03-15~2014-06-30~测试县中医院;2014-07-01~~测试县第一人民医院'];
  want.forEach((v, i) => L.check(e1[i] === v, `stored field ${i}: ${JSON.stringify(e1[i])}, expected ${JSON.stringify(v)}`));
  L.log('MariaDB: 待医疗卫生机构审核 with every field the page sent');

  // ---- the institution adds another institution's opinion and 驳回s it (admind's API) ----
  await w.H.post(`/enrolments/${doc.eid}/opinions`, { other_institution_name: '测试县中医院', opinion: '该医师在我院多点执业期间工作认真' });
  const v = await L.enrolmentVersion(w.H, doc.eid);
  await w.H.post(`/enrolments/${doc.eid}/actions/inst_reject`, { version: v, reason: REJECT_REASON });

  // ---- the physician sees the reason, on 首页 and 考核报名 ----
  await P.open(page, '首页');
  await P.waitStatus(page, '待报名（被机构驳回）');
  L.check((await P.reasons(page)).includes(REJECT_REASON), `首页 does not show the 驳回 reason: ${await P.reasons(page)}`);
  await P.open(page, '考核报名');
  await P.waitStatus(page, '待报名（被机构驳回）');
  L.check((await P.reasons(page)).includes(REJECT_REASON), '考核报名 does not show the 驳回 reason');
  L.check(await page.locator('.opinion', { hasText: '多点执业期间工作认真' }).isVisible(), 'the other institution\'s opinion is not shown');
  await L.shot(page, 'rejected');

  // ---- a version conflict: the registration changes on another device meanwhile ----
  await P.step(page, '考核程序');
  const other = await L.login(admind.base, 'physician', doc.account, NEW_PASSWORD);
  await other.put('/physician/registration', { sa_report_text: OTHER_DEVICE_REPORT });
  await P.fillProcedure(page, { work: WORK_2 });
  await page.getByRole('button', { name: '保存', exact: true }).click();
  const conflict = page.locator('.save-error:not([hidden])');
  await conflict.waitFor();
  L.check(/已在别处修改/.test(await conflict.textContent()), `the conflict is not explained: ${await conflict.textContent()}`);
  await L.shot(page, 'version-conflict');
  await conflict.getByRole('button', { name: '重新加载' }).click();
  await P.ready(page);
  L.check((await page.getByLabel(/^个人述职报告/).inputValue()) === OTHER_DEVICE_REPORT, 'the reload does not show the other device\'s text');
  L.check((await page.getByLabel(/^工作成绩自评/).inputValue()) === WORK_1, 'the refused text was saved');

  // ---- edit and resubmit ----
  await P.fillProcedure(page, { work: WORK_2 });
  L.check((await P.saveAndNext(page)).length === 0, 'the edited step 2 did not save');
  await P.submit(page);
  await L.shot(page, 'resubmitted');
  const e2 = (await L.sqlValue(`SELECT CONCAT_WS('|', status, sa_work_text, sa_report_text) FROM enrolment WHERE id = ${doc.eid}`)).split('|');
  L.check(e2[0] === '待医疗卫生机构审核' && e2[1] === WORK_2 && e2[2] === OTHER_DEVICE_REPORT, `after the resubmission: ${e2.join(' | ')}`);
  const submits = await L.sqlValue(`SELECT COUNT(*) FROM audit_log WHERE entity_type = 'enrolment' AND entity_id = '${doc.eid}' AND action = 'submit'`);
  L.check(submits === '2', `${submits} submissions in the audit log`);
  L.log('MariaDB: resubmitted, 待医疗卫生机构审核 with the new text');
  await page.locator('details.history summary').click();
  await page.locator('.timeline li', { hasText: REJECT_REASON }).waitFor();
  await L.shot(page, 'history');

  // ---- 退出本周期 (offered while the server allows it): a reason is required ----
  await page.getByRole('button', { name: '退出本周期' }).click();
  const dlg = page.getByRole('dialog', { name: '退出本周期' });
  await dlg.getByRole('button', { name: '确认退出' }).click();
  await dlg.getByText('请填写退出理由').first().waitFor();
  await dlg.getByLabel(/^退出理由/).fill('本人 2024 年已参加上一周期考核，本周期不属于应考核人员');
  await L.shot(page, 'withdraw-dialog');
  await dlg.getByRole('button', { name: '确认退出' }).click();
  await P.waitStatus(page, '退出本周期');
  const wd = await L.sqlValue(`SELECT CONCAT_WS('|', status, withdraw_reason) FROM enrolment WHERE id = ${doc.eid}`);
  L.check(wd === '退出本周期|本人 2024 年已参加上一周期考核，本周期不属于应考核人员', `after 退出本周期: ${wd}`);

  // ---- 考核结果 ----
  await P.open(page, '考核结果');
  const row = page.locator(`tr[data-enrolment="${doc.eid}"]`);
  L.check((await row.textContent()).includes('退出本周期'), 'the results do not show the current status');
  L.check(!(await row.getByRole('link', { name: '合格证书' }).count()), 'a certificate without 合格');
  await L.shot(page, 'results');

  // ---- the certificate: another physician reaches 考核完成 合格 through the workflow
  // (简易程序 with 人文医学 exempted: no test to sit), then logs in on the exam page ----
  const q = await L.enrolPhysician(admind.base, w.H, w, { name: '钱雅文', procedure: '简易程序', photo: L.readBytes(L.facePhotos('deepface_img08')[0]), submit: false });
  await q.client.post('/physician/exemption', { exemption_type: '省级卫生行政部门规定的其他情形', description: '本周期获省级表彰' });
  await q.client.post(`/enrolments/${q.eid}/actions/submit`, {});
  let d = await w.H.get(`/enrolments/${q.eid}`);
  await w.H.post(`/exemptions/${d.exemptions[0].id}/actions/inst_pass`, { version: d.exemptions[0].version });
  d = await w.A.get(`/enrolments/${q.eid}`);
  await w.A.post(`/exemptions/${d.exemptions[0].id}/actions/assessor_pass`, { version: d.exemptions[0].version });
  await w.H.post(`/enrolments/${q.eid}/actions/inst_pass`, { version: await L.enrolmentVersion(w.H, q.eid), work_result: '合格', ethics_result: '合格' });
  const done = await w.A.post(`/enrolments/${q.eid}/actions/assessor_pass`, { version: await L.enrolmentVersion(w.A, q.eid) });
  L.check(done.status === '考核完成' && done.result === '合格', `the second physician's enrolment: ${JSON.stringify(done)}`);
  await page.locator('#logout').click();
  await P.login(page, examd.base, q.account, L.PASSWORD);
  await page.getByRole('heading', { level: 1, name: '首页' }).waitFor();
  await P.ready(page);
  L.check((await P.status(page)) === '考核完成（合格）', `首页 of a passed physician shows ${await P.status(page)}`);
  await P.open(page, '考核结果');
  await page.locator(`tr[data-enrolment="${q.eid}"]`).getByRole('link', { name: '合格证书' }).click();
  await page.getByRole('heading', { name: '医师定期考核合格证书' }).waitFor();
  await page.locator('.certificate', { hasText: '钱雅文' }).waitFor();
  await page.locator('.cert-photo img').waitFor();
  const fonts = await L.drawnFonts(ctx, page, '.certificate h1');
  L.log(`the certificate's title is drawn with ${fonts.map((f) => `${f.familyName} (${f.glyphCount} glyphs)`).join(', ')}`);
  L.check(fonts.some((f) => /Noto Serif CJK/.test(f.familyName)), 'the certificate is not drawn with Noto Serif CJK (fonts-noto-cjk)');
  await L.shot(page, 'certificate');
  await page.emulateMedia({ media: 'print' });
  L.check(await page.locator('.topbar').isHidden(), 'the print view keeps the header');
  L.check(await page.locator('#portal-nav').isHidden(), 'the print view keeps the navigation');
  L.check(await page.locator('.cert-tools').isHidden(), 'the print view keeps the buttons');
  await L.shot(page, 'certificate-print');
  await page.pdf({ path: path.join(out, 'certificate.pdf'), format: 'A4', landscape: true, printBackground: true, preferCSSPageSize: true });
  await page.emulateMedia({ media: 'screen' });
  L.check(existsSync(path.join(out, 'certificate.pdf')), 'no PDF');

  // ---- a phone ----
  await page.setViewportSize({ width: 390, height: 844 });
  await P.open(page, '考核报名');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  L.check(overflow <= 1, `the page is ${overflow}px wider than a phone`);
  await L.shot(page, 'phone-registration');
  await P.open(page, '考核结果');
  await L.shot(page, 'phone-results');

  L.noErrors(ctx, (e) => P.refusal(/\/api\/v1\/physician\/photo$/, [422])(e) || P.refusal(/\/api\/v1\/physician\/registration$/, [409])(e) ||
    P.refusal(/\/api\/v1\/(physician\/me|tests)$/, [403])(e));
});
