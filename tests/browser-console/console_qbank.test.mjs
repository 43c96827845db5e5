// console_qbank.test.mjs - issue 17: the question bank in the console. The province opens a
// 题库管理员 account (题库管理员 page, the activation code shown once); the 题库管理员 logs in
// (initial password, activation code, forced change) and sees only 题库管理; uploads a JSON
// Lines file with a bad line, sees the report (line, field, reason), fixes the line in the
// page, checks again, imports it as a draft and publishes it (MariaDB: the rows live, the
// bank version bumped); the blueprint editor shows the feasibility live and refuses to
// publish an infeasible blueprint; the preview draws a paper with keys. A city authority
// gets 403 from the bank's API.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import * as L from './lib.mjs';

L.main('browser_console_qbank', async () => {
  const { pw, args, tmp } = await L.prerequisites();
  if ((await L.sqlValue("SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'qb_question' AND column_name = 'state'")) !== '1')
    await L.skip('migration 014_qbank_console.sql is not applied');
  if (Number(await L.sqlValue("SELECT COUNT(*) FROM qb_question WHERE category = '临床' AND state = 'live'")) < 100)
    await L.skip('the demo bank is not loaded (deploy/demo/load.sh)');
  const admind = await L.startAdmind(args.admind, tmp);
  const base = admind.base;
  const w = await L.makeWorld(base, { admind: args.admind });
  const ctx = await L.launch(pw, tmp);
  const user = `t${L.RUN}-qb`;

  // -- 1. the province opens a 题库管理员 account
  const prov = ctx.pages()[0] || (await ctx.newPage());
  await L.uiLogin(prov, base, 'authority', w.users.prov, L.PASSWORD);
  await prov.getByRole('link', { name: '题库管理员' }).click();
  await prov.getByRole('button', { name: '新增' }).click();
  const nd = prov.getByRole('dialog', { name: '新增题库管理员' });
  await nd.getByLabel('用户名').fill(user);
  await nd.getByLabel('姓名').fill('题库员甲');
  await nd.getByRole('button', { name: '确定' }).click();
  const shown = prov.getByRole('dialog', { name: '账号已开设' });
  const code = (await shown.locator('.activation-code').textContent()).trim();
  L.check(/^[A-Z0-9]{5}-[A-Z0-9]{5}$/.test(code), `activation code ${code}`);
  await L.shot(prov, 'qbank-admin-created');
  await shown.getByRole('button', { name: '确定' }).click();
  await prov.locator('tr', { hasText: user }).waitFor();
  L.activationCodes.set(user, code);

  // -- 2. the 题库管理员's first login: the bank's pages only
  const qb = await ctx.newPage();
  await L.uiLogin(qb, base, 'authority', user, '666666');
  await qb.getByLabel('原密码').fill('666666');
  await qb.getByLabel('新密码', { exact: true }).fill(L.PASSWORD);
  await qb.getByLabel('确认新密码').fill(L.PASSWORD);
  await qb.getByRole('button', { name: '保存' }).click();
  await qb.getByRole('heading', { name: '题库概况' }).waitFor();
  await qb.getByText('（题库管理员）').waitFor();
  L.check((await qb.locator('.sidemenu a').allTextContents()).every((t) => ['题库概况', '上传题目', '版本发布', '题目管理', '组卷蓝图', '试卷预览', '试题分析'].includes(t.trim())), 'the 题库管理员 menu has the bank only');
  await L.shot(qb, 'qbank-overview');

  // -- 3. upload with a bad line: the report, the line fixed in the page, the draft
  const line = (n, answer) =>
    JSON.stringify({ id: `B${L.RUN}-${n}`, category: '临床', paper: '业务水平', section: '内科学', type: 'A1', stem: `浏览器测试${L.RUN} 第${n}题`, options: { A: `甲${n}`, B: `乙${n}`, C: `丙${n}`, D: `丁${n}` }, answer });
  const file = path.join(tmp, 'upload.jsonl');
  writeFileSync(file, [line(1, 'A'), line(2, 'F'), line(3, 'C')].join('\n') + '\n');
  await qb.getByRole('link', { name: '上传题目' }).click();
  await qb.getByLabel('选择题目文件').setInputFiles(file);
  await qb.getByRole('button', { name: '检查（试运行）' }).click();
  await qb.getByText('有问题 1 行').waitFor();
  const bad = qb.locator('.qb-report tbody tr').first();
  L.check((await bad.locator('td').first().textContent()).trim() === '2', 'the bad line is line 2');
  await bad.getByText('answer', { exact: true }).waitFor();
  await bad.getByText('answer-not-in-options').waitFor();
  L.check(await qb.getByRole('button', { name: '导入为草稿' }).isDisabled(), 'no import while a line is bad');
  await L.shot(qb, 'upload-report');
  await bad.getByRole('button', { name: '修改此行' }).click();
  const fix = qb.getByRole('dialog', { name: '修改第 2 行' });
  await fix.getByLabel('第 2 行内容').fill(line(2, 'B'));
  await fix.getByRole('button', { name: '保存并重新检查' }).click();
  await qb.getByText('有问题 0 行').waitFor();
  await L.shot(qb, 'upload-fixed');
  await qb.getByRole('button', { name: '导入为草稿' }).click();
  await qb.getByRole('heading', { name: /版本 #\d+/ }).waitFor();
  await qb.locator('.tag', { hasText: '草稿' }).first().waitFor();
  L.check((await L.sqlValue(`SELECT GROUP_CONCAT(DISTINCT state) FROM qb_question WHERE id LIKE 'B${L.RUN}-%'`)) === 'draft', 'the upload is a draft');
  const v0 = Number(await L.sqlValue('SELECT version FROM qb_bank_version'));

  // -- 4. publish
  await qb.getByRole('button', { name: '发布', exact: true }).click();
  await qb.getByRole('dialog', { name: '发布版本' }).getByRole('button', { name: '发布' }).click();
  await qb.locator('.tag', { hasText: '已发布' }).first().waitFor();
  await L.shot(qb, 'published');
  L.check((await L.sqlValue(`SELECT CONCAT(COUNT(*), '/', GROUP_CONCAT(DISTINCT state)) FROM qb_question WHERE id LIKE 'B${L.RUN}-%'`)) === '3/live', 'published rows live');
  L.check(Number(await L.sqlValue('SELECT version FROM qb_bank_version')) > v0, 'the bank version moved');

  // -- 5. the blueprint editor: live feasibility, an infeasible blueprint cannot be published
  await qb.getByRole('link', { name: '组卷蓝图' }).click();
  await qb.getByText('题库可以按此蓝图组卷').waitFor();
  await L.shot(qb, 'blueprint');
  await qb.getByLabel('第 1 行题数').fill('400');
  await qb.getByText('题库无法按此蓝图组卷').waitFor();
  await qb.locator('tr.qb-infeasible').first().waitFor();
  L.check(await qb.getByRole('button', { name: '发布蓝图' }).isDisabled(), 'an infeasible blueprint cannot be published');
  await L.shot(qb, 'blueprint-infeasible');

  // -- 6. the preview: a sample paper with keys, not stored
  await qb.getByRole('link', { name: '试卷预览' }).click();
  await qb.getByLabel('试卷').selectOption('业务水平');
  await qb.getByLabel('随机种子').fill('7');
  await qb.getByRole('button', { name: '抽取样卷' }).click();
  await qb.locator('.qb-pq').first().waitFor();
  L.check((await qb.locator('.qb-pq').count()) >= 50, 'the preview has the paper');
  await qb.locator('.qb-key-mark').first().waitFor();
  await L.shot(qb, 'preview');

  // -- 7. the item analysis: the 题库管理员 opens it (its province has no finished window here:
  //    the page says so and offers the recomputation; console_items checks the figures)
  await qb.getByRole('link', { name: '试题分析' }).click();
  await qb.getByRole('heading', { name: /试题分析 · / }).waitFor();
  await qb.getByText(/尚未完成试题分析|没有可分析的测评记录/).first().waitFor();
  await L.shot(qb, 'item-analysis');

  // -- 8. a city authority: 403 from the bank, no menu
  await w.city.get('/qbank/overview', { ok: [403] });
  L.noErrors(ctx, L.loginRefusals);
});
