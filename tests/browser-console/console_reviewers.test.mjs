// console_reviewers.test.mjs - issue 16 item 4 (seed [000] 分配、管理本机构信息审核员): the
// institution creates a 信息审核员 in the console and reads its login and one-time
// activation code; the reviewer logs in as 信息审核员 with 666666 and the code, must change
// the password, sees the review menus only (no 信息审核员, 医师列表, 本机构信息; the routes
// answer 403), reviews a 简易程序 submission, and the 操作日志 names it. The institution then
// disables it and the reviewer's session ends.

import * as L from './lib.mjs';

L.main('browser_console_reviewers', async () => {
  const { pw, args, tmp } = await L.prerequisites();
  const { admind } = await L.startPortal(args, tmp);
  const base = admind.base;
  const w = await L.makeWorld(base, { admind: args.admind });
  const ph = await L.enrolPhysician(base, w.H, w, { name: '孙审阅', procedure: '简易程序' });
  L.log(`world: institution ${w.hInfo.code}, physician ${ph.account} (enrolment ${ph.eid})`);

  const ctx = await L.launch(pw, tmp);
  const page = ctx.pages()[0] || (await ctx.newPage());
  const dialog = (name) => page.getByRole('dialog', { name });

  // -- 1. the institution creates a reviewer
  await L.uiLogin(page, base, 'institution', w.hInfo.code, L.PASSWORD);
  await page.getByRole('link', { name: '信息审核员' }).click();
  await page.getByRole('button', { name: '新增审核员' }).click();
  const nd = dialog('新增信息审核员');
  await nd.getByLabel('姓名').fill('钱审核');
  await nd.getByLabel('手机号码').fill('13912345678');
  await nd.getByRole('button', { name: '确定' }).click();
  const made = dialog('信息审核员已创建');
  await made.waitFor();
  const user = (await made.locator('.reviewer-login').textContent()).trim();
  const code = (await made.locator('.activation-code').textContent()).trim();
  L.check(user === `${w.hInfo.code}R001`, `reviewer login ${user}`);
  await L.shot(page, 'reviewer-created');
  await made.getByRole('button', { name: '确定' }).click();
  await page.locator('tr', { hasText: '钱审核' }).locator('.tag', { hasText: '待首次登录' }).waitFor();
  await page.getByRole('button', { name: '退出登录' }).click();

  // -- 2. the reviewer's first login: 666666 + activation code, then the forced change
  L.activationCodes.set(user, code);
  await L.uiLogin(page, base, 'reviewer', user, '666666');
  await page.getByRole('heading', { name: '初始化：修改初始密码' }).waitFor();
  await page.getByLabel('原密码').fill('666666');
  await page.getByLabel('新密码', { exact: true }).fill(L.PASSWORD);
  await page.getByLabel('确认新密码').fill(L.PASSWORD);
  await page.getByRole('button', { name: '保存' }).click();
  const notice = dialog('考核周期提示');
  await notice.waitFor();
  await notice.getByRole('button', { name: '去确认' }).click();
  await page.locator('header.top .who', { hasText: '钱审核' }).waitFor();
  await L.shot(page, 'reviewer-home');
  const menu = page.locator('nav.sidemenu');
  for (const m of ['简易程序审核', '一般程序审核', '免考审核']) L.check((await menu.getByRole('link', { name: m }).count()) === 1, `the reviewer's menu lacks ${m}`);
  for (const m of ['信息审核员', '医师列表', '本机构信息', '科室信息', '考核进度'])
    L.check((await menu.getByRole('link', { name: m }).count()) === 0, `the reviewer's menu shows ${m}`);
  // account management is refused by the server too, not only hidden
  const status = await page.evaluate(async () => {
    const s = JSON.parse(sessionStorage.getItem('dk.console') || '{}');
    const r = await fetch('/api/v1/institution/reviewers', { headers: { Authorization: 'Bearer ' + s.token } });
    return r.status;
  });
  L.check(status === 403, `GET /institution/reviewers as the reviewer: ${status}`);
  await page.goto(base + '/#/reviewers');
  await page.locator('.crumbs .cur', { hasText: '信息审核员' }).waitFor({ state: 'detached', timeout: 5000 }).catch(() => {});
  L.check((await page.locator('.crumbs .cur', { hasText: '信息审核员' }).count()) === 0, 'the reviewer opened 信息审核员');

  // -- 3. the reviewer reviews the 简易程序 submission
  await page.getByRole('link', { name: '简易程序审核' }).click();
  const row = page.locator('tr', { hasText: '孙审阅' });
  await row.waitFor();
  await row.getByRole('button', { name: '审核' }).click();
  await page.getByRole('heading', { name: /孙审阅/ }).waitFor();
  await page.getByRole('tab', { name: '工作业绩、职业道德' }).click();
  const evalForm = page.locator('.eval-form');
  await evalForm.getByRole('radiogroup', { name: '工作成绩' }).getByLabel('合格', { exact: true }).check();
  await evalForm.getByRole('radiogroup', { name: '职业道德' }).getByLabel('合格', { exact: true }).check();
  await L.shot(page, 'reviewer-evaluation');
  await page.getByRole('button', { name: '提交', exact: true }).click();
  await dialog('提交评定意见').getByRole('button', { name: '提交' }).click();
  await page.locator('.review-head .tag', { hasText: '待考核机构复核' }).waitFor();
  const rid = await L.sqlValue(`SELECT id FROM institution_reviewer WHERE username = '${user}'`);
  const a = await L.sqlValue(`SELECT CONCAT_WS('|', actor_type, actor_id, role) FROM audit_log WHERE action = 'inst_pass' AND entity_type = 'enrolment' AND entity_id = '${ph.eid}'`);
  L.check(a === `reviewer|${rid}|医疗卫生机构信息审核员`, `the audit row of the review: ${a}`);
  const by = await L.sqlValue(`SELECT inst_reviewed_by FROM enrolment WHERE id = ${ph.eid}`);
  L.check(by === '钱审核', `评定人: ${by}`);
  await page.getByRole('tab', { name: '操作日志' }).click();
  await page.locator('.tab-panels tr', { hasText: '钱审核' }).waitFor();
  await L.shot(page, 'reviewer-log');

  // -- 4. the institution disables the reviewer: its session ends
  const H = await L.login(base, 'institution', w.hInfo.code, L.PASSWORD); // 退出登录 above ended w.H's token
  await H.post(`/institution/reviewers/${rid}/disable`, {});
  await new Promise((r) => setTimeout(r, 1500)); // the loops' table of revocations (dom_token.h)
  await page.getByRole('link', { name: '一般程序审核' }).click();
  await page.locator('.login-form').waitFor({ timeout: 20000 });
  await L.shot(page, 'reviewer-disabled');
  // tolerated: the refused login attempts, the 403 the test provokes, the 401 after 停用
  L.noErrors(ctx, (e) => L.loginRefusals(e) || (e.kind === 'console' && ((/\/institution\/reviewers$/.test(e.url || '') && /status of 403/.test(e.text)) || /status of 401/.test(e.text))));
});
