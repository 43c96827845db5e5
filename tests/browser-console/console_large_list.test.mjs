// console_large_list.test.mjs - a list of 100,000 physicians stays fast: an institution of
// its own gets 100,000 physicians (inserted in MariaDB in one statement, as an import of
// the 医师电子化注册系统 would leave them), and the console's 医师列表 shows the first
// page, the last page (跳至), a name filter and an ID number filter, each within 3 s
// from the click to the drawn table; the page holds one page of rows, never the list.
// The rows are inserted and deleted in batches of 10,000, and CTest runs the test alone
// (RUN_SERIAL): 100,000 rows in one statement hold locks that other tests' transactions
// deadlock against. The rows are deleted at the end (other tests share the database).

import * as L from './lib.mjs';

const N = 100000;
const LIMIT_MS = 3000;

L.main('browser_console_large_list', async () => {
  const { pw, args, tmp } = await L.prerequisites();
  const admind = await L.startAdmind(args.admind, tmp);
  const base = admind.base;
  const w = await L.makeWorld(base, { admind: args.admind });
  const inst = w.hInfo.id;
  const code = w.hInfo.code;
  // ID numbers 66 + institution id (8 digits) + sequence (7 digits) + 0: unique to this run
  const prefix = '66' + String(inst).padStart(8, '0');
  // in batches of 10,000 (short transactions: other tests share the database)
  const t0 = Date.now();
  for (let from = 1; from <= N; from += 10000) {
    await L.sql(
      `INSERT INTO physician (id_number, name, sex, birth_date, account, password_hash, must_change_password, institution_id, ` +
        `practice_level, practice_category, practice_scope, first_registration_date, source) ` +
        `SELECT CONCAT('${prefix}', LPAD(seq, 7, '0'), '0'), CONCAT('批量', ELT(1 + seq % 8, '张', '王', '李', '赵', '刘', '陈', '杨', '黄'), seq), ` +
        `IF(seq % 2, '男', '女'), '1980-01-01' + INTERVAL (seq % 9000) DAY, CONCAT('${code}', LPAD(seq, 6, '0')), 'x', 1, ${inst}, ` +
        `IF(seq % 5, '执业医师', '执业助理医师'), ELT(1 + seq % 4, '临床', '中医', '口腔', '公共卫生'), '内科专业', ` +
        `'2005-07-01' + INTERVAL (seq % 5000) DAY, '电子化注册' FROM seq_1_to_${N} WHERE seq BETWEEN ${from} AND ${from + 9999}`,
    );
  }
  L.log(`${N} physicians inserted in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  try {
    const ctx = await L.launch(pw, tmp);
    const page = ctx.pages()[0] || (await ctx.newPage());
    await L.uiLogin(page, base, 'institution', code, L.PASSWORD);

    const timed = async (what, action, until) => {
      const t = Date.now();
      await action();
      await until();
      await L.settled(page);
      const ms = Date.now() - t;
      L.log(`${what}: ${ms} ms`);
      L.check(ms < LIMIT_MS, `${what} took ${ms} ms (limit ${LIMIT_MS} ms)`);
      return ms;
    };
    const total = page.locator('.pager .total');
    await timed('医师列表, first page', () => page.getByRole('link', { name: '医师列表' }).click(), () => total.filter({ hasText: `共 ${N} 条记录` }).waitFor());
    L.check((await page.locator('tbody tr').count()) === 10, 'one page of 10 rows is drawn');
    await L.shot(page, 'first-page');
    const pages = N / 10;
    await timed('跳至 the last page', async () => {
      await page.getByLabel('跳至页').fill(String(pages));
      await page.getByLabel('跳至页').press('Enter');
    }, () => page.locator('.pg.cur', { hasText: String(pages) }).waitFor());
    L.check((await page.locator('tbody tr').first().textContent()).includes(String(N - 9)), 'the last page shows the last physicians');
    await L.shot(page, 'last-page');
    await timed('100 rows per page', () => page.getByLabel('每页条数').selectOption('100'), () => page.locator('tbody tr').nth(99).waitFor());
    await timed('name filter', async () => {
      await page.getByLabel('姓名').fill('批量王77777');
      await page.getByRole('button', { name: '查询', exact: true }).click();
    }, () => total.filter({ hasText: '共 1 条记录' }).waitFor());
    await L.shot(page, 'name-filter');
    await timed('ID number filter', async () => {
      await page.getByRole('button', { name: '重置', exact: true }).click();
      await total.filter({ hasText: `共 ${N} 条记录` }).waitFor();
      await page.getByLabel('证件号码').fill(`${prefix}00123450`);
      await page.getByRole('button', { name: '查询', exact: true }).click();
    }, () => total.filter({ hasText: '共 1 条记录' }).waitFor());
    L.check((await page.locator('tbody tr').first().textContent()).includes('批量'), 'the physician of that ID number');
    await L.shot(page, 'id-filter');
    L.noErrors(ctx, L.loginRefusals);
  } finally {
    const t1 = Date.now();
    for (let i = 0; i < 12; i++) await L.sql(`DELETE FROM physician WHERE institution_id = ${inst} AND id_number LIKE '${prefix}%' LIMIT 10000`);
    L.log(`the ${N} physicians deleted in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
  }
});
