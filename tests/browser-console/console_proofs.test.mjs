// console_proofs.test.mjs - issue 16 item 1 (seed [002] 查看医师上传的凭证): a physician who
// chose the 简易程序 uploads proof material on the exam page's 考核报名 (no more "hand it in
// offline"), sees it listed, deletes a wrong one and submits; the institution opens the proof
// from 简易程序审核 in the console, and the view is in the audit log and the enrolment's
// 操作日志.

import { writeFileSync } from 'node:fs';
import path from 'node:path';

import * as P from '../browser/portal.mjs';
import * as L from './lib.mjs';

L.main('browser_console_proofs', async () => {
  const { pw, args, tmp } = await L.prerequisites();
  const { admind, examd } = await L.startPortal(args, tmp);
  const base = admind.base;
  const w = await L.makeWorld(base, { admind: args.admind });
  const ph = await L.enrolPhysician(base, w.H, w, { name: '郑简易', procedure: '简易程序', submit: false });
  const pdf = path.join(tmp, '良好执业行为记录.pdf');
  writeFileSync(pdf, '%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n');
  const wrong = path.join(tmp, '错传的文件.pdf');
  writeFileSync(wrong, '%PDF-1.4\n% wrong\n%%EOF\n');
  L.log(`world: institution ${w.hInfo.code}, physician ${ph.account} (enrolment ${ph.eid})`);

  const ctx = await L.launch(pw, tmp);
  // -- 1. the physician uploads on the exam page
  const pp = await ctx.newPage();
  await P.login(pp, examd.base, ph.account, L.PASSWORD);
  await P.ready(pp);
  await P.open(pp, '考核报名');
  await P.step(pp, '考核程序');
  const box = pp.locator('.files-box', { hasText: '简易程序申请材料' });
  await box.waitFor();
  L.check(!(await pp.getByText('请按所在机构的要求提交').count()), 'the page still says to hand the proof in offline');
  await pp.locator('#proof-files').setInputFiles([pdf, wrong]);
  await box.locator('.file-name', { hasText: '错传的文件.pdf' }).waitFor();
  await box.locator('.file-name', { hasText: '良好执业行为记录.pdf' }).waitFor();
  await L.shot(pp, 'physician-uploaded');
  await box.getByRole('button', { name: '删除 错传的文件.pdf' }).click();
  await box.locator('.upload-msg', { hasText: '已删除' }).waitFor();
  L.check(!(await box.locator('.file-name', { hasText: '错传的文件.pdf' }).count()), 'the deleted file is still listed');
  const stored = await L.sqlValue(`SELECT GROUP_CONCAT(file_name) FROM attachment WHERE owner_type = 'enrolment' AND owner_id = ${ph.eid} AND deleted_at IS NULL`);
  L.check(stored === '良好执业行为记录.pdf', `proofs on the enrolment: ${stored}`);
  await P.submit(pp);
  await P.step(pp, '提交报名').catch(() => {});
  await L.shot(pp, 'physician-submitted');
  await pp.close();

  // -- 2. the institution opens it from 简易程序审核
  const page = ctx.pages()[0] || (await ctx.newPage());
  await L.uiLogin(page, base, 'institution', w.hInfo.code, L.PASSWORD);
  await page.getByRole('link', { name: '简易程序审核' }).click();
  const row = page.locator('tr', { hasText: '郑简易' });
  await row.waitFor();
  await row.getByRole('button', { name: '审核' }).click();
  await page.getByRole('heading', { name: /郑简易/ }).waitFor();
  await page.getByRole('tab', { name: '工作业绩、职业道德' }).click();
  const link = page.getByRole('button', { name: '简易程序申请材料：良好执业行为记录.pdf' });
  await link.waitFor();
  await L.shot(page, 'institution-review');
  const [popup] = await Promise.all([ctx.waitForEvent('page'), link.click()]);
  await popup.waitForLoadState().catch(() => {});
  await popup.close();
  const aid = await L.sqlValue(`SELECT id FROM attachment WHERE owner_type = 'enrolment' AND owner_id = ${ph.eid} AND deleted_at IS NULL`);
  let views = '0';
  for (let i = 0; i < 50 && views === '0'; i++) {
    views = await L.sqlValue(`SELECT COUNT(*) FROM audit_log WHERE action = 'attachment_download' AND entity_type = 'attachment' AND entity_id = '${aid}' AND actor_type = 'institution' AND actor_id = ${w.hInfo.id}`);
    if (views === '0') await new Promise((r) => setTimeout(r, 100));
  }
  L.check(views === '1', `the institution's view of the proof is audited (${views})`);
  await page.reload(); // the log as the server has it now, with the view
  await page.getByRole('heading', { name: /郑简易/ }).waitFor();
  await page.getByRole('tab', { name: '操作日志' }).click();
  await page.locator('.tab-panels tr', { hasText: '查看附件' }).waitFor();
  await L.shot(page, 'operation-log');
  L.noErrors(ctx, L.loginRefusals);
});
