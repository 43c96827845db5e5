// console_bulk.test.mjs - issue 16 item 8: the province's bulk pages. After the test window,
// 缺考认定 lists the two physicians who did not sit, the dialog says 将处理 2 条 and marks
// them (待确认补考); 批量补考确认 lists them, one is decided through the API while the
// dialog is open: the page's action is refused (the set changed) and nothing happens; after
// a fresh preview 批量不予补考 with a reason ends both 考核完成 不合格, each audited.

import * as L from './lib.mjs';

L.main('browser_console_bulk', async () => {
  const { pw, args, tmp } = await L.prerequisites();
  const { admind } = await L.startPortal(args, tmp);
  const base = admind.base;
  const w = await L.makeWorld(base, { admind: args.admind });
  const eids = [];
  for (const name of ['缺考甲', '缺考乙', '缺考丙']) {
    const ph = await L.enrolPhysician(base, w.H, w, { name, procedure: '简易程序' });
    await w.H.post(`/enrolments/${ph.eid}/actions/inst_pass`, { version: await L.enrolmentVersion(w.H, ph.eid), work_result: '合格', ethics_result: '合格' });
    await w.A.post(`/enrolments/${ph.eid}/actions/assessor_pass`, { version: await L.enrolmentVersion(w.A, ph.eid) });
    eids.push(ph.eid);
  }
  await w.prov.put(`/cycles/${w.cycle.id}`, { test_start: L.iso(-2), test_end: new Date(Date.now() - 60000).toISOString() });
  const status = async (eid) => L.sqlValue(`SELECT CONCAT_WS('|', status, IFNULL(result, '')) FROM enrolment WHERE id = ${eid}`);

  const ctx = await L.launch(pw, tmp);
  const page = ctx.pages()[0] || (await ctx.newPage());
  const dialog = (name) => page.getByRole('dialog', { name });
  await L.uiLogin(page, base, 'authority', w.users.prov, L.PASSWORD);

  // -- 缺考认定: 3 in the list, 将处理 3 条
  await page.getByRole('link', { name: '缺考认定' }).click();
  await page.locator('.bulk-count', { hasText: '共 3 条' }).waitFor();
  await L.shot(page, 'absentees');
  await page.getByRole('button', { name: '认定缺考' }).click();
  const ad = dialog('认定缺考');
  await ad.locator('.bulk-preview', { hasText: '将处理 3 条' }).waitFor();
  await L.shot(page, 'absentees-preview');
  await ad.getByRole('button', { name: '确认认定缺考' }).click();
  await page.locator('.toast', { hasText: '已处理 3 条' }).waitFor();
  for (const e of eids) L.check((await status(e)) === '待确认补考|', `after 认定缺考: ${await status(e)}`);

  // -- 批量补考确认: a decision meanwhile makes the previewed set stale
  await page.getByRole('link', { name: '批量补考确认' }).click();
  await page.locator('.bulk-count', { hasText: '共 3 条' }).waitFor();
  await page.getByRole('button', { name: '批量不予补考' }).click();
  const rd = dialog('批量不予补考');
  await rd.locator('.bulk-preview', { hasText: '将处理 3 条' }).waitFor();
  await w.prov.post(`/enrolments/${eids[2]}/actions/makeup_confirm`, { version: await L.enrolmentVersion(w.prov, eids[2]) });
  await rd.getByLabel('不予补考的理由').fill('无正当理由缺考');
  await rd.getByRole('button', { name: '确认批量不予补考' }).click();
  await rd.locator('.dialog-error', { hasText: '待处理名单已变化' }).waitFor();
  await L.shot(page, 'makeup-stale');
  L.check((await status(eids[0])) === '待确认补考|', 'a refused bulk action changed a row');
  await rd.getByRole('button', { name: '取消' }).click();
  await page.locator('.bulk-count', { hasText: '共 2 条' }).waitFor();
  await page.getByRole('button', { name: '批量不予补考' }).click();
  const rd2 = dialog('批量不予补考');
  await rd2.locator('.bulk-preview', { hasText: '将处理 2 条' }).waitFor();
  await rd2.getByLabel('不予补考的理由').fill('无正当理由缺考');
  await rd2.getByRole('button', { name: '确认批量不予补考' }).click();
  await page.locator('.toast', { hasText: '已处理 2 条' }).waitFor();
  await L.shot(page, 'makeup-done');
  for (const e of eids.slice(0, 2)) L.check((await status(e)) === '考核完成|不合格', `after 不予补考: ${await status(e)}`);
  L.check((await status(eids[2])) === '待参加补考|', `the one confirmed alone: ${await status(eids[2])}`);
  const audited = await L.sqlValue(`SELECT COUNT(*) FROM audit_log WHERE action = 'makeup_refuse' AND entity_type = 'enrolment' AND entity_id IN ('${eids[0]}', '${eids[1]}') AND reason = '无正当理由缺考'`);
  L.check(audited === '2', `makeup_refuse rows: ${audited}`);
  await w.prov.put(`/cycles/${w.cycle.id}`, { test_end: L.iso(60) });
  // tolerated: the 409 the test provokes
  L.noErrors(ctx, (e) => L.loginRefusals(e) || (e.kind === 'console' && /status of 409/.test(e.text)));
});
