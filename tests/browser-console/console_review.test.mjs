// console_review.test.mjs - issue 8, test 3: an institution reviews a 一般程序 submission in
// the console with a 不合格 and its reason, and rejects (驳回) another with a reason; the
// physician sees the reason on the exam page (医师个人端, examd's origin calling admind:
// CORS), edits 执业经历 and the self-assessment there and resubmits, and the institution
// finds the resubmission in its queue with the 提交日志 / 操作日志 telling the story. The
// 考核机构 then passes the first one and the progress page shows it 考核完成 不合格 with
// the reason. The physicians' first submissions are made through the API (lib.mjs).

import * as P from '../browser/portal.mjs';
import * as L from './lib.mjs';

const WORK_REASON = '本周期接诊量未达到科室要求，且有两次病历书写不合格';
const REJECT_REASON = '执业经历缺少 2015—2018 年在乡镇卫生院的工作记录，请补充后重新提交';

L.main('browser_console_review', async () => {
  const { pw, args, tmp } = await L.prerequisites();
  const { admind, examd } = await L.startPortal(args, tmp);
  const base = admind.base;
  const w = await L.makeWorld(base, { admind: args.admind });
  const p1 = await L.enrolPhysician(base, w.H, w, { name: '周明远', procedure: '一般程序' });
  const p2 = await L.enrolPhysician(base, w.H, w, { name: '吴思琪', procedure: '一般程序' });
  L.log(`world: institution ${w.hInfo.code}, physicians ${p1.account} (enrolment ${p1.eid}), ${p2.account} (enrolment ${p2.eid})`);

  const ctx = await L.launch(pw, tmp);
  const page = ctx.pages()[0] || (await ctx.newPage());
  await L.uiLogin(page, base, 'institution', w.hInfo.code, L.PASSWORD);
  await page.getByRole('link', { name: '一般程序审核' }).click();
  const row1 = page.locator('tr', { hasText: '周明远' });
  const row2 = page.locator('tr', { hasText: '吴思琪' });
  await row1.waitFor();
  await row2.waitFor();
  await L.shot(page, 'queue');

  // -- 1. 周明远: 工作成绩 不合格 with its reason, then 提交
  await row1.getByRole('button', { name: '审核' }).click();
  await page.getByRole('heading', { name: /周明远/ }).waitFor();
  await L.shot(page, 'review-person');
  await page.getByRole('tab', { name: '工作业绩、职业道德' }).click();
  await page.getByText('工作成绩自评').waitFor();
  await L.shot(page, 'review-work');
  const evalForm = page.locator('.eval-form');
  await evalForm.getByRole('radiogroup', { name: '完成工作数量' }).getByLabel('合格', { exact: true }).check();
  await evalForm.getByRole('radiogroup', { name: '工作成绩' }).getByLabel('不合格').check();
  await evalForm.getByRole('radiogroup', { name: '职业道德' }).getByLabel('合格', { exact: true }).check();
  // the reason is required: 提交 without it is refused in the page
  await page.getByRole('button', { name: '提交', exact: true }).click();
  await page.locator('.toast.error', { hasText: '不合格理由' }).waitFor();
  await evalForm.getByLabel('工作成绩不合格理由').fill(WORK_REASON);
  await evalForm.getByPlaceholder('审核人员姓名').fill('李审核');
  await L.shot(page, 'review-evaluation');
  await page.getByRole('button', { name: '提交', exact: true }).click();
  const dlg = page.getByRole('dialog', { name: '提交评定意见' });
  await dlg.getByText('结果为不合格').waitFor();
  await dlg.getByRole('button', { name: '提交' }).click();
  await page.locator('.review-head .tag', { hasText: '待考核机构复核' }).waitFor();
  await L.shot(page, 'review-submitted');
  const e1 = (await L.sqlValue(`SELECT CONCAT_WS('|', status, inst_quantity_result, inst_work_result, inst_work_reason, inst_ethics_result, inst_reviewed_by) FROM enrolment WHERE id = ${p1.eid}`)).split('|');
  L.check(e1[0] === '待考核机构复核', `status after 提交: ${e1[0]}`);
  L.check(e1[1] === '合格' && e1[2] === '不合格' && e1[3] === WORK_REASON && e1[4] === '合格' && e1[5] === '李审核', `stored evaluation: ${e1.join(' | ')}`);
  await page.getByRole('tab', { name: '操作日志' }).click();
  await page.locator('td', { hasText: '机构审核提交' }).waitFor();

  // -- 2. 吴思琪: 驳回 with a reason
  await page.getByRole('link', { name: '一般程序审核' }).click();
  await row2.getByRole('button', { name: '审核' }).click();
  await page.getByRole('heading', { name: /吴思琪/ }).waitFor();
  await page.getByRole('button', { name: '驳回', exact: true }).click();
  const rj = page.getByRole('dialog', { name: '驳回' });
  await rj.getByRole('button', { name: '确定' }).click();
  await rj.getByText('请填写驳回理由').waitFor(); // a reason is required
  await rj.getByLabel('驳回理由').fill(REJECT_REASON);
  await L.shot(page, 'reject-dialog');
  await rj.getByRole('button', { name: '确定' }).click();
  await page.locator('.review-head .tag', { hasText: '待报名（被机构驳回）' }).waitFor();
  await page.getByRole('tab', { name: '工作业绩、职业道德' }).click();
  await page.locator('.notice.warn', { hasText: REJECT_REASON }).waitFor();
  await L.shot(page, 'rejected');

  // -- 3. the physician sees the reason on the exam page, edits and resubmits there (on a phone)
  const pp = await ctx.newPage();
  await pp.setViewportSize({ width: 390, height: 844 });
  await P.login(pp, examd.base, p2.account, L.PASSWORD);
  await pp.getByRole('heading', { level: 1, name: '首页' }).waitFor(); // nothing to sit: the home page
  await P.ready(pp);
  L.check((await P.status(pp)) === '待报名（被机构驳回）', `the physician sees status ${await P.status(pp)}`);
  L.check((await P.reasons(pp)).includes(REJECT_REASON), `the physician does not see the reason: ${await P.reasons(pp)}`);
  await L.shot(pp, 'physician-home');
  await P.open(pp, '考核报名');
  L.check((await P.reasons(pp)).includes(REJECT_REASON), '考核报名 does not show the reason');
  L.check(await pp.locator('.steps-bar').isVisible(), 'the rejected registration is not editable again');
  await L.shot(pp, 'physician-rejected');
  await P.addExperience(pp, { start_date: '2015-07-01', end_date: '2018-06-30', institution_name: '测试县城关镇卫生院', department: '全科', position: '主治医师' });
  L.check((await P.saveAndNext(pp)).length === 0, 'the profile with the added 执业经历 was not saved');
  await P.fillProcedure(pp, { work: '已补充 2015—2018 年在城关镇卫生院的工作经历。认真完成门诊和病房的诊疗工作。' });
  L.check((await P.saveAndNext(pp)).length === 0, 'the edited self-assessment was not saved');
  await P.submit(pp);
  await L.shot(pp, 'physician-resubmitted');
  const st = await L.sqlValue(`SELECT CONCAT_WS('|', status, sa_work_text) FROM enrolment WHERE id = ${p2.eid}`);
  L.check(st.startsWith('待医疗卫生机构审核|已补充 2015—2018'), `after the resubmission on the exam page: ${st}`);
  L.log('the physician resubmitted on the exam page');
  await pp.close();

  // -- 4. the institution finds it again, with both submissions and the rejection in the logs
  await page.getByRole('link', { name: '一般程序审核' }).click();
  await row2.locator('.tag', { hasText: '待医疗卫生机构审核' }).waitFor();
  await L.shot(page, 'queue-resubmitted');
  await row2.getByRole('button', { name: '审核' }).click();
  await page.getByRole('heading', { name: /吴思琪/ }).waitFor();
  await page.getByRole('tab', { name: '医师信息' }).click();
  await page.getByRole('cell', { name: '测试县城关镇卫生院' }).waitFor();
  await page.getByRole('tab', { name: '提交日志' }).click();
  await L.check((await page.locator('.tab-panels tr', { hasText: '提交报名' }).count()) === 2, 'two submissions in 提交日志');
  await L.shot(page, 'submission-log');
  await page.getByRole('tab', { name: '操作日志' }).click();
  await page.locator('.tab-panels tr', { hasText: REJECT_REASON }).waitFor();
  await L.shot(page, 'operation-log');

  // -- 5. the 考核机构 passes 周明远: 考核完成 不合格 (工作成绩不合格), seen in 考核进度
  const v = await L.enrolmentVersion(w.A, p1.eid);
  const r = await w.A.post(`/enrolments/${p1.eid}/actions/assessor_pass`, { version: v });
  L.check(r.status === '考核完成' && r.result === '不合格', `after the re-review: ${JSON.stringify(r)}`);
  await page.getByRole('link', { name: '考核进度' }).click();
  const prow = page.locator('tr', { hasText: '周明远' });
  await prow.locator('.tag', { hasText: '不合格' }).waitFor();
  L.check((await prow.textContent()).includes('工作成绩不合格'), 'the progress row gives the reason of the 不合格');
  await L.shot(page, 'progress');

  L.noErrors(ctx, L.loginRefusals);
});
