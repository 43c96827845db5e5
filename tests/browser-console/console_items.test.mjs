// console_items.test.mjs - issue 17 items 5 and 6: 试题分析 in the console. A world of its
// own; 40 physicians of its institution sit both papers (qbank sim-sittings: simulated,
// ability-driven answers drawn from the stack's bank); the province opens 试题分析 (the menu
// item is the province's only: the city has none), sets 最少抽中次数 to 3 and asks for a
// recomputation, which admind's analysis pool computes off the request path; the page then
// shows the paper's statistics with its score distribution chart, and the flagged questions
// (待复核) whose drawer shows the options chart with the key.

import { run } from '../browser/base.mjs';
import * as L from './lib.mjs';

L.main('browser_console_items', async () => {
  const { pw, args, tmp } = await L.prerequisites();
  if (!args.qbank) await L.skip('missing --qbank');
  if ((await L.sqlValue("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'item_stats_question'")) !== '1')
    await L.skip('migration 015_item_stats.sql is not applied');
  if ((await L.sqlValue("SELECT COUNT(*) FROM qb_blueprint WHERE category = '临床'")) === '0')
    await L.skip('the stack has no question bank (deploy/demo/load.sh loads the demo bank)');
  const { admind } = await L.startPortal(args, tmp);
  const base = admind.base;
  const w = await L.makeWorld(base, { admind: args.admind });

  // 40 sittings of each paper, simulated (the physicians are the world's, made in SQL)
  await L.sql(
    `INSERT INTO physician (id_number, name, account, password_hash, institution_id, practice_level, practice_category)
     SELECT CONCAT('98', LPAD(${Number(L.RUN.slice(-8))} * 100 + seq, 16, '0')), CONCAT('模拟', seq),
            CONCAT('${w.hInfo.code}', LPAD(50000 + seq, 5, '0')), 'x', ${w.hInfo.id}, '执业医师', '临床'
     FROM seq_1_to_40;
     INSERT INTO enrolment (cycle_id, physician_id, institution_id, status, procedure_type)
     SELECT ${w.cycle.id}, id, ${w.hInfo.id}, '待参加考核', '一般程序' FROM physician
     WHERE institution_id = ${w.hInfo.id} AND account LIKE '${w.hInfo.code}5%';`,
  );
  const out = await run(args.qbank, ['sim-sittings', '--cycle', String(w.cycle.id), '--seed', L.RUN]);
  L.log(out.trim());

  const ctx = await L.launch(pw, tmp);
  const page = ctx.pages()[0] || (await ctx.newPage());

  // the city has no 试题分析 (a page of its own: the session is the tab's)
  const cityPage = await ctx.newPage();
  await L.uiLogin(cityPage, base, 'authority', w.users.city, L.PASSWORD);
  await cityPage.getByRole('link', { name: '考核进度' }).waitFor();
  L.check((await cityPage.getByRole('link', { name: '试题分析' }).count()) === 0, 'a city sees no 试题分析');
  await cityPage.close();

  // the province asks for the analysis
  await L.uiLogin(page, base, 'authority', w.users.prov, L.PASSWORD);
  await page.getByRole('link', { name: '试题分析' }).click();
  await page.getByText('该周期尚未完成试题分析').waitFor();
  await page.getByLabel('最少抽中次数').fill('3');
  await page.getByRole('button', { name: '重新计算' }).click();
  for (let i = 0; i < 100; i++) {
    if ((await L.sqlValue(`SELECT COUNT(*) FROM item_analysis_run WHERE cycle_id = ${w.cycle.id} AND status = 'done'`)) === '1') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await page.reload();
  await page.getByRole('heading', { name: /试题分析 · / }).waitFor();
  // the papers, the chart of the scores
  await page.locator('table.grid tr', { hasText: '业务水平' }).first().waitFor();
  const chart = page.locator('.items-chart svg.columns');
  await chart.waitFor();
  L.check((await chart.locator('rect').count()) > 3, 'the score distribution has columns');
  await L.shot(page, 'papers');
  // the flagged questions (the list opens on 全部待复核)
  const rows = page.locator('.list-table tbody tr');
  await rows.first().locator('.tag').first().waitFor();
  const n = await rows.count();
  L.check(n > 0, 'flagged questions are listed');
  const total = await page.locator('.list-pager .total').textContent();
  L.log(`flagged: ${total}`);
  await L.shot(page, 'flagged');
  // one question's figures and its options chart, the key marked
  await rows.first().locator('button.link').click();
  const dr = page.locator('.drawer');
  await dr.getByText('区分度（校正点二列）').waitFor();
  await dr.locator('svg.bars').waitFor();
  await dr.getByText(/（答案）/).first().waitFor();
  await L.shot(page, 'question');
  L.check((await L.sqlValue(`SELECT COUNT(*) FROM audit_log WHERE action = 'item_analysis_request' AND actor_id = (SELECT id FROM authority_account WHERE username = '${w.users.prov}')`)) === '1', 'the request is audited');
  L.noErrors(ctx, L.loginRefusals);
});
