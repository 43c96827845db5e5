// console_accounts.test.mjs - authority accounts in the console (issue 16 item 2): the province
// opens a city account on 下级部门与账号 (the one-time activation code shown once), the city
// logs in with 666666 and that code, must change its password, opens a county account, and
// the province disables the city account: the city's open page is thrown out to the login
// and its password no longer logs in. Then the province disables and enables an institution
// from 机构账号. A physician asks on the exam page to change its 跟班带教 and the institution
// approves it on 跟班带教修改申请 (the home tile first). The other new pages (不良执业行为记录, 医师电子化注册, 不合格处理; the
// institution's 跟班带教修改申请 with its home tile, 补考管理, 考核统计) draw. No console or page
// error anywhere but the 4xx answers provoked here.

import * as P from '../browser/portal.mjs';
import * as L from './lib.mjs';

const CITY_PASSWORD = 'City#2026pw';

L.main('browser_console_accounts', async () => {
  const { pw, args, tmp } = await L.prerequisites();
  const migrated = await L.sqlValue(
    "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'result_action'",
  );
  if (migrated !== '1') await L.skip('the schema of the test stack lacks migration 012_authority.sql (deploy/migrate.sh)');
  if (!args.examd) await L.skip('no --examd: the 跟班带教 page of the physician is the exam page');
  const { admind, examd } = await L.startPortal(args, tmp);
  const base = admind.base;
  const w = await L.makeWorld(base, { admind: args.admind });
  const cityId = await L.sqlValue(`SELECT id FROM authority WHERE code = '${w.codes.city}'`);
  const countyId = await L.sqlValue(`SELECT id FROM authority WHERE code = '${w.codes.county}'`);
  const cityUser = `t${L.RUN}-c2`;
  const countyUser = `t${L.RUN}-k2`;

  const ctx = await L.launch(pw, tmp);
  const page = ctx.pages()[0] || (await ctx.newPage());
  const go = async (group, menu) => {
    await page.getByRole('navigation', { name: '功能菜单' }).getByRole('link', { name: menu, exact: true }).click();
    await page.locator('.crumbs .cur', { hasText: menu }).waitFor();
    await L.settled(page);
  };
  const dialog = (name) => page.getByRole('dialog', { name });
  const logout = async () => {
    await page.getByRole('button', { name: '退出' }).click();
    await page.getByText('您已安全退出').waitFor();
  };
  // Opens an account on 下级部门与账号 and returns the activation code the dialog shows.
  const newAccount = async (unitId, user, name) => {
    await page.getByRole('button', { name: '新增账号' }).click();
    const d = dialog('新增账号');
    await d.getByLabel('所属部门').selectOption(String(unitId));
    await d.getByLabel('用户名').fill(user);
    await d.getByLabel('姓名').fill(name);
    await d.getByRole('button', { name: '确定' }).click();
    const shown = dialog('账号已开设');
    await shown.waitFor();
    const code = (await shown.locator('.activation-code').textContent()).trim();
    L.check(/^[A-Z0-9]{5}-[A-Z0-9]{5}$/.test(code), `activation code shown: ${code}`);
    await L.shot(page, 'account-made-' + user);
    await shown.getByRole('button', { name: '确定' }).click();
    await page.locator('.list-table td', { hasText: user }).waitFor();
    L.activationCodes.set(user, code); // as the province writes it down for the city
    return code;
  };
  const closeCycleNotice = async () => {
    const n = dialog('考核周期提示');
    try {
      await n.waitFor({ timeout: 5000 });
      await n.getByRole('button', { name: '去确认' }).click();
    } catch {
      /* no open cycle notice */
    }
  };

  // ---- the province opens a city account -------------------------------------------------------------
  await L.uiLogin(page, base, 'authority', w.users.prov, L.PASSWORD);
  await page.locator('header.top').waitFor();
  await go('机构管理', '下级部门与账号');
  await L.shot(page, 'province-accounts');
  await newAccount(cityId, cityUser, '市新管理员');
  L.check((await L.sqlValue(`SELECT must_change_password FROM authority_account WHERE username = '${cityUser}'`)) === '1', 'a new account must change its password');
  await logout();

  // ---- the city logs in with 666666 + the code, must change the password --------------------------------
  await L.uiLogin(page, base, 'authority', cityUser, '666666');
  await page.getByRole('heading', { name: '初始化：修改初始密码' }).waitFor();
  await L.shot(page, 'city-forced-change');
  await page.getByLabel('原密码').fill('666666');
  await page.getByLabel('新密码', { exact: true }).fill(CITY_PASSWORD);
  await page.getByLabel('确认新密码').fill(CITY_PASSWORD);
  await page.getByRole('button', { name: '保存' }).click();
  await closeCycleNotice();
  await page.locator('header.top').waitFor();

  // ---- the city opens a county account; its own level is not offered -------------------------------------
  await go('机构管理', '下级部门与账号');
  const opts = await page.locator('.filters select[name="authority_id"] option').allTextContents();
  L.check(!opts.some((o) => o.includes('市级')), `the city is offered only units below it: ${opts.join(' | ')}`);
  await newAccount(countyId, countyUser, '县新管理员');
  await L.shot(page, 'city-accounts');
  const county = await L.login(base, 'authority', countyUser, '666666');
  L.check(county.mustChange === true, 'the county account must change its password');
  await logout();

  // ---- the province disables the city account: its page is thrown out, its password refused ---------------
  const cityPage = await ctx.newPage();
  await L.uiLogin(cityPage, base, 'authority', cityUser, CITY_PASSWORD);
  await cityPage.locator('header.top').waitFor();
  await L.uiLogin(page, base, 'authority', w.users.prov, L.PASSWORD);
  await go('机构管理', '下级部门与账号');
  const row = page.locator('.list-table tr', { has: page.locator('td', { hasText: cityUser }) });
  await row.getByRole('button', { name: '停用' }).click();
  await dialog('停用账号').getByRole('button', { name: '停用' }).click();
  await row.locator('.tag', { hasText: '已停用' }).waitFor();
  await L.shot(page, 'city-disabled');
  L.check((await L.sqlValue(`SELECT COUNT(*) FROM audit_log WHERE action = 'disable_account' AND entity_type = 'authority_account' AND entity_id = (SELECT id FROM authority_account WHERE username = '${cityUser}')`)) === '1', 'the disable is audited');
  // the city's next request is refused (its token revoked): the page returns to the login
  await cityPage.waitForTimeout(1500);
  await cityPage.getByRole('navigation', { name: '功能菜单' }).getByRole('link', { name: '首页', exact: true }).click();
  await cityPage.getByRole('button', { name: '登录' }).waitFor({ timeout: 20000 });
  await L.shot(cityPage, 'city-thrown-out');
  let refused = null;
  try {
    await L.login(base, 'authority', cityUser, CITY_PASSWORD);
  } catch (e) {
    refused = e.status;
  }
  L.check(refused === 403, `a disabled account's login: ${refused}`);
  await cityPage.close();

  // ---- 机构账号: disable and enable an institution -----------------------------------------------------------
  await go('机构管理', '机构账号');
  const inst = page.locator('.list-table tr', { has: page.locator('td', { hasText: w.hInfo.code }) });
  await inst.getByRole('button', { name: '停用' }).click();
  await dialog('停用机构账号').getByRole('button', { name: '停用' }).click();
  await inst.locator('.tag', { hasText: '已停用' }).waitFor();
  await inst.getByRole('button', { name: '启用' }).click();
  await dialog('启用机构账号').getByRole('button', { name: '启用' }).click();
  await inst.getByRole('button', { name: '停用' }).waitFor();
  await L.shot(page, 'institution-enabled');

  // ---- the other pages of issue 16 draw without an error ------------------------------------------------------
  for (const [group, menu, what] of [
    ['医师管理', '不良执业行为记录', '录入记录'],
    ['医师管理', '医师电子化注册', '导入注册数据'],
    ['考核管理', '不合格处理', '查询'],
  ]) {
    await go(group, menu);
    await page.getByRole('button', { name: what }).first().waitFor();
    await L.shot(page, 'page-' + menu);
  }
  await logout();

  // ---- 跟班带教修改申请: the physician asks on the exam page, the institution approves ---------------------------
  w.H = await L.login(base, 'institution', w.hInfo.code, L.PASSWORD); // its old token went with the disable
  const ph = await L.enrolPhysician(base, w.H, w, { procedure: '简易程序' });
  const ppage = await ctx.newPage();
  await P.login(ppage, examd.base, ph.account, L.PASSWORD);
  await P.open(ppage, '跟班带教');
  await ppage.getByLabel(/^\s*带教人数/).fill('3');
  await ppage.getByLabel(/^\s*带教学时/).fill('40');
  await ppage.getByLabel(/^\s*带教情况说明/).fill('带教规培住院医师 3 名，跟班门诊和病房');
  await ppage.getByLabel(/^\s*修改原因/).fill('报名时漏填');
  await ppage.getByRole('button', { name: '提交修改申请' }).click();
  await ppage.locator('.teaching-requests .tag', { hasText: '待审核' }).waitFor();
  await L.shot(ppage, 'physician-teaching-request');
  await ppage.close();

  await L.uiLogin(page, base, 'institution', w.hInfo.code, L.PASSWORD);
  await page.locator('header.top').waitFor();
  await page.locator('.task-label', { hasText: '跟班带教修改申请' }).waitFor();
  await go('考核管理', '跟班带教修改申请');
  const req = page.locator('.list-table tr', { hasText: '报名时漏填' });
  await req.getByRole('button', { name: '通过' }).click();
  await page.locator('.toast', { hasText: '已通过' }).first().waitFor();
  await req.waitFor({ state: 'detached' });
  L.check((await L.sqlValue(`SELECT CONCAT(sa_teaching_trainees, '/', sa_teaching_hours) FROM enrolment WHERE id = ${ph.eid}`)) === '3/40', 'the approved values are on the enrolment');
  for (const [group, menu] of [['考核管理', '跟班带教修改申请'], [null, '补考管理'], [null, '考核统计']]) {
    await go(group, menu);
    await L.shot(page, 'page-' + menu);
  }
  await page.locator('.card h2', { hasText: '考核统计' }).waitFor();
  await page.getByRole('navigation', { name: '功能菜单' }).getByRole('link', { name: '首页', exact: true }).click();
  await page.locator('.task-label', { hasText: '跟班带教修改申请' }).waitFor();
  await L.shot(page, 'institution-home');

  L.noErrors(ctx, (e) => L.loginRefusals(e) || (e.kind === 'console' && /status of 40[13]/.test(e.text)));
});
