// console_cme.test.mjs - issue 15: the CME credit flow in the console and the exam page.
// The organising unit declares a national project (first session 15 days ahead); the city
// bureau returns it with an opinion, the unit corrects it and declares again, the city
// passes; the provincial office passes it and the page says on which batch day
// (Wednesday/Friday) the result goes out; the batch day arrives (release_on moved to
// today in MariaDB, as the sessions' times are moved below: time passing); the unit registers
// a card for its physician (generated number); at the course a keyboard-wedge reader "types"
// the number and Enter into the sign-in box: 签到成功, a second swipe counts once, an unknown
// number is refused by number; the project ends; the organiser sends the feedback; the office
// checks it and grants; the statistics show the grant; the province requires 年度验证 for the
// assessment: the institution's 一般程序 evaluation 合格 is refused while last year (a year of
// the cycle) is not 达标, and the review shows the years; the physician sees 我的学分 and the
// years in the self-assessment on the exam page.

import * as P from '../browser/portal.mjs';
import * as L from './lib.mjs';

const beijing = (days, hours = 9) => {
  const d = new Date(Date.now() + 8 * 3600e3 + days * 86400e3);
  return `${d.toISOString().slice(0, 10)}T${String(hours).padStart(2, '0')}:00`;
};

L.main('browser_console_cme', async () => {
  const { pw, args, tmp } = await L.prerequisites();
  if ((await L.sqlValue("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'cme_project'")) !== '1')
    await L.skip('migration 009_cme.sql is not applied');
  const { admind, examd } = await L.startPortal(args, tmp);
  const base = admind.base;
  const w = await L.makeWorld(base, { admind: args.admind });
  const ph = await L.enrolPhysician(base, w.H, w, { name: '孙继教', procedure: '一般程序' });
  const today = await L.sqlValue('SELECT DATE(UTC_TIMESTAMP() + INTERVAL 8 HOUR)');
  const year = Number(today.slice(0, 4));
  L.log(`world: institution ${w.hInfo.code}, physician ${ph.account} (enrolment ${ph.eid})`);

  const ctx = await L.launch(pw, tmp);
  // the 4xx answers this test provokes on purpose: an unknown card, the refused evaluation
  const provoked = (e) =>
    L.loginRefusals(e) || (e.kind === 'console' && /status of (404|409)/.test(e.text) && /\/api\/v1\/(cme\/projects\/\d+\/swipes|enrolments\/\d+\/actions\/inst_pass)$/.test(e.url));

  // -- 1. the organiser declares
  const org = ctx.pages()[0] || (await ctx.newPage());
  await L.uiLogin(org, base, 'institution', w.hInfo.code, L.PASSWORD);
  await org.getByRole('link', { name: '继教项目' }).click();
  await org.getByRole('button', { name: '申报项目' }).click();
  const dlg = org.getByRole('dialog', { name: '申报继教项目' });
  await dlg.getByLabel('项目级别').selectOption('国家级');
  await dlg.getByLabel('项目编号').fill('2026-01-01-' + L.RUN.slice(-6));
  await dlg.getByLabel('项目名称').fill('心血管疾病诊治新进展学习班');
  await dlg.getByLabel('学分').fill('10');
  await dlg.getByLabel('办班通知').fill('请学员携带继教IC卡或提供继教IC卡号。');
  await dlg.getByLabel('场次名称').fill('开班与专题讲座');
  await dlg.getByLabel('地点').fill('学术报告厅');
  await dlg.getByLabel('开始（北京时间）').fill(beijing(15, 9));
  await dlg.getByLabel('结束（北京时间）').fill(beijing(15, 12));
  await L.shot(org, 'declare');
  await dlg.getByRole('button', { name: '提交申报' }).click();
  await org.getByRole('heading', { name: /心血管疾病诊治新进展学习班/ }).waitFor();
  const pid = Number(org.url().split('/').pop());
  L.check(pid > 0, `project page ${org.url()}`);
  await org.locator('.tag', { hasText: '待初审' }).waitFor();
  await L.shot(org, 'declared');

  // -- 2. the city bureau's 初审
  const city = await ctx.newPage();
  await L.uiLogin(city, base, 'authority', w.users.city, L.PASSWORD);
  await city.goto(`${base}/#/cme-project/${pid}`);
  await city.getByRole('button', { name: '退回' }).click();
  const rd = city.getByRole('dialog', { name: '退回项目' });
  await rd.getByLabel('初审意见').fill('请补充日程安排中的授课教师');
  await rd.getByRole('button', { name: '确定' }).click();
  await city.locator('.tag', { hasText: '初审退回' }).waitFor();
  // the organiser reads the opinion, corrects and declares again
  await org.reload();
  await org.getByText('请补充日程安排中的授课教师').waitFor();
  await org.getByRole('button', { name: '修改后重新申报' }).click();
  const rdl = org.getByRole('dialog', { name: '修改后重新申报' });
  await rdl.getByLabel('场次名称').fill('开班与专题讲座（主讲：王教授）');
  await rdl.getByRole('button', { name: '提交申报' }).click();
  await org.locator('.tag', { hasText: '待初审' }).waitFor();
  await L.shot(org, 'declared-again');
  await city.reload();
  await city.getByRole('button', { name: '初审通过' }).click();
  await city.locator('.tag', { hasText: '待省级审核' }).waitFor();
  await L.shot(city, 'city-review');

  // -- 3. the provincial office; the result waits for the batch day
  const prov = await ctx.newPage();
  await L.uiLogin(prov, base, 'authority', w.users.prov, L.PASSWORD);
  await prov.getByRole('link', { name: '继教项目' }).click();
  await prov.locator('tr', { hasText: '心血管疾病诊治新进展学习班' }).getByRole('button', { name: '查看' }).click();
  await prov.getByRole('button', { name: '审核通过' }).click();
  await prov.locator('.toast', { hasText: '结果将于' }).waitFor();
  const rel = await L.sqlValue(`SELECT release_on FROM cme_project WHERE id = ${pid}`);
  const wd = new Date(rel + 'T00:00:00Z').getUTCDay();
  const hol = await L.sqlValue(`SELECT COUNT(*) FROM cme_calendar WHERE day BETWEEN '${today}' AND '${rel}'`);
  L.check(wd === 3 || wd === 5 || hol !== '0', `release day ${rel} is a Wednesday or Friday (or moved by a holiday)`);
  await L.shot(prov, 'province-review');
  await L.sql(`UPDATE cme_project SET release_on = '${today}' WHERE id = ${pid}`); // the batch day came

  // -- 4. a card for the physician (generated), then the course: the reader types number + Enter
  await org.getByRole('link', { name: '继教IC卡' }).click();
  await org.getByRole('button', { name: '登记继教IC卡' }).click();
  const cd = org.getByRole('dialog', { name: '登记继教IC卡' });
  await cd.getByLabel('医师编号（本单位医师）').fill(String(ph.id));
  await cd.getByRole('button', { name: '登记' }).click();
  await org.locator('.toast', { hasText: '继教IC卡编号' }).waitFor();
  const cardNo = await L.sqlValue(`SELECT card_no FROM cme_card WHERE physician_id = ${ph.id}`);
  await org.locator('tr', { hasText: cardNo }).waitFor();
  await L.shot(org, 'cards');
  await L.sql(`UPDATE cme_session SET starts_at = UTC_TIMESTAMP(3) - INTERVAL 10 MINUTE, ends_at = UTC_TIMESTAMP(3) + INTERVAL 2 HOUR WHERE project_id = ${pid};
               UPDATE cme_project SET start_at = UTC_TIMESTAMP(3) - INTERVAL 10 MINUTE, end_at = UTC_TIMESTAMP(3) + INTERVAL 2 HOUR WHERE id = ${pid}`);
  await org.goto(`${base}/#/cme-project/${pid}`);
  const box = org.getByLabel('继教IC卡编号');
  await box.waitFor();
  await box.focus();
  await org.keyboard.type(cardNo + '\n', { delay: 5 }); // what a keyboard-wedge reader does
  await org.locator('.cme-swipe-log li.ok', { hasText: '签到成功' }).waitFor();
  await org.keyboard.type(cardNo + '\n', { delay: 5 });
  await org.locator('.cme-swipe-log li.ok', { hasText: '重复刷卡只记一次' }).waitFor();
  await org.keyboard.type('999999999999\n', { delay: 5 });
  await org.locator('.cme-swipe-log li.err', { hasText: '卡号 999999999999 未登记' }).waitFor();
  await L.shot(org, 'swipes');
  L.check((await L.sqlValue(`SELECT CONCAT(COUNT(*), '/', MAX(swipes)) FROM cme_attendance WHERE project_id = ${pid}`)) === '1/2', 'one attendance row, two swipes');

  // -- 5. the project ends; the organiser reports; the office checks and grants
  await L.sql(`UPDATE cme_session SET starts_at = UTC_TIMESTAMP(3) - INTERVAL 3 HOUR, ends_at = UTC_TIMESTAMP(3) - INTERVAL 1 HOUR WHERE project_id = ${pid};
               UPDATE cme_project SET start_at = UTC_TIMESTAMP(3) - INTERVAL 3 HOUR, end_at = UTC_TIMESTAMP(3) - INTERVAL 1 HOUR WHERE id = ${pid}`);
  await org.reload();
  await org.getByLabel('执行情况').fill('按计划举办，学员 1 人，考核全部合格。');
  await org.getByRole('button', { name: '报送' }).click();
  await org.locator('.toast', { hasText: '已报送执行情况反馈' }).waitFor();
  await L.shot(org, 'feedback');
  await prov.goto(`${base}/#/cme-project/${pid}`);
  await prov.reload();
  await prov.getByRole('button', { name: '核查通过' }).click();
  await prov.getByRole('button', { name: '授予学分' }).click();
  const gd = prov.getByRole('dialog', { name: '授予电子化学分' });
  await gd.getByLabel('省继教委审核文号').fill('皖继委〔' + year + '〕' + L.RUN.slice(-3) + '号');
  await gd.getByLabel('审核同意日期').fill(today);
  await gd.getByRole('button', { name: '授予' }).click();
  await prov.locator('.toast', { hasText: '已为 1 名学员授予学分' }).waitFor();
  await L.shot(prov, 'granted');
  L.check((await L.sqlValue(`SELECT CONCAT(category, ' ', credits) FROM cme_credit WHERE project_id = ${pid}`)) === 'I类 10.0', 'credit row');

  // -- 6. statistics and the rules; the province requires the verification
  await prov.getByRole('link', { name: '学分统计' }).click();
  await prov.getByLabel('统计方式').selectOption('level');
  await prov.getByRole('button', { name: '查询' }).click();
  await prov.locator('tr', { hasText: '国家级' }).waitFor();
  await L.shot(prov, 'stats');
  await prov.getByRole('link', { name: '年度验证规则' }).click();
  const req = prov.getByLabel('一般程序工作成绩评定合格须继教年度验证达标');
  await req.check();
  await prov.locator('.toast', { hasText: '已保存' }).waitFor();
  await L.shot(prov, 'rules');

  // -- 7. the assessment: last year belongs to the cycle and has no credits
  await L.sql(`UPDATE cycle SET period_start = '${year - 1}-01-01' WHERE id = ${w.cycle.id}`);
  await org.goto(`${base}/#/review/${ph.eid}`);
  await org.getByRole('heading', { name: /孙继教/ }).waitFor();
  await org.getByRole('tab', { name: '继续医学教育' }).click();
  await org.locator('.tab-panels tr', { hasText: String(year - 1) }).locator('.tag', { hasText: '未达标' }).waitFor();
  await org.locator('.tab-panels tr', { hasText: String(year) }).getByText('10', { exact: true }).first().waitFor();
  await L.shot(org, 'review-cme');
  await org.getByRole('tab', { name: '工作业绩、职业道德' }).click();
  const ev = org.locator('.eval-form');
  await ev.getByRole('radiogroup', { name: '完成工作数量' }).getByLabel('合格', { exact: true }).check();
  await ev.getByRole('radiogroup', { name: '工作成绩' }).getByLabel('合格', { exact: true }).check();
  await ev.getByRole('radiogroup', { name: '职业道德' }).getByLabel('合格', { exact: true }).check();
  await ev.getByPlaceholder('审核人员姓名').fill('李审核');
  await org.getByRole('button', { name: '提交', exact: true }).click();
  const sd = org.getByRole('dialog', { name: '提交评定意见' });
  await sd.getByRole('button', { name: '提交' }).click();
  await org.getByText(`${year - 1} 年未达标`).first().waitFor();
  await L.shot(org, 'evaluation-refused');
  L.check((await L.sqlValue(`SELECT status FROM enrolment WHERE id = ${ph.eid}`)) === '待医疗卫生机构审核', 'the evaluation was refused');

  // -- 8. the physician: 我的学分 and the years in the self-assessment
  const pp = await ctx.newPage();
  await P.login(pp, examd.base, ph.account, L.PASSWORD);
  await P.ready(pp);
  await P.open(pp, '我的学分');
  await pp.getByText(`继教IC卡编号 ${cardNo}`).waitFor();
  await pp.locator(`tr[data-year="${year}"]`, { hasText: '10' }).waitFor();
  await pp.locator('.cme-credits tr', { hasText: '心血管疾病诊治新进展学习班' }).waitFor();
  await L.shot(pp, 'physician-credits');
  await L.sql(`UPDATE cme_province_setting SET require_verification = 0 WHERE province_id = (SELECT id FROM authority WHERE code = '${w.codes.prov}')`);

  L.noErrors(ctx, provoked);
});
