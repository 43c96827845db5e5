// console_pages.test.mjs - every page of the console in use, one screenshot each, and no
// console or page error anywhere:
//   institution: login with the captcha after failed attempts, the forced password change,
//     the cycle notice, 本机构信息, 科室信息 (创建科室), 医师列表 (批量导入 with per-row errors,
//     新增医师, filters, 批量参加, 导出 as UTF-8 CSV with BOM, 查看, 重置密码), 免考审核,
//     一般程序审核, 简易程序审核, 首页 (tasks, rates), 考核进度, 测评进度, 监考管理, 历史考核结果,
//     the pass certificate (printable: @media print, Chinese serif font, PDF), 申请考核机构,
//     修改密码, 退出;
//   考核机构: 切换 between the two roles, 一般程序复核 / 简易程序复核 / 免考复核;
//   province: 首页, 考核周期 (开设 with its windows), 机构账号 (新增, 重置密码, 申请权限),
//     考核机构申请 (通过), 考核机构分配, 报名审核情况 (驳回), 补考确认, 考核进度, 测评进度,
//     监考管理, 辖区统计, 历史考核结果; a city account sees no province buttons.
// The physicians' side (registration, exemption request, a failed sitting) goes through
// the APIs of admind and examd.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as L from './lib.mjs';

const NEW_PASSWORD = 'Hosp#2026pw';

L.main('browser_console_pages', async () => {
  const { pw, args, tmp, out } = await L.prerequisites();
  const admind = await L.startAdmind(args.admind, tmp);
  const examd = await L.startExamd(args.examd, tmp);
  const base = admind.base;
  const w = await L.makeWorld(base, { admind: args.admind }, { hMustChange: true });
  const H = w.hInfo;
  L.log(`world: province ${w.users.prov}, institution ${H.code}, 考核机构 ${w.aInfo.code}`);

  const ctx = await L.launch(pw, tmp);
  const page = ctx.pages()[0] || (await ctx.newPage());
  const go = async (menu) => {
    await page.getByRole('navigation', { name: '功能菜单' }).getByRole('link', { name: menu, exact: true }).click();
    if (menu === '首页') await page.locator('.main .home').waitFor();
    else await page.locator('.crumbs .cur', { hasText: menu }).waitFor();
    await L.settled(page);
  };
  const dialog = (name) => page.getByRole('dialog', { name });
  const toast = (text) => page.locator('.toast', { hasText: text }).first().waitFor();
  // Waits for the exemption's 状态 row to say text: the page reloads after a decision, and
  // only this row's tag changes then (机构审核 and 考核机构复核 show 通过 tags of their own).
  const exemptionStatus = (text) =>
    page.locator('.exemption .desc-item', { has: page.locator('dt', { hasText: /^状态$/ }) })
      .locator('.tag', { hasText: new RegExp(`^${text}$`) }).waitFor();

  // ---- login: two wrong passwords, then the captcha ------------------------------------------------
  await page.goto(base + '/');
  await L.shot(page, 'login');
  await page.getByRole('radio', { name: '医疗卫生机构 / 考核机构' }).check();
  await page.getByLabel('账号', { exact: true }).fill(H.code);
  for (let i = 0; i < 2; i++) {
    await page.getByLabel('密码', { exact: true }).fill('wrong-' + i);
    await page.getByRole('button', { name: '登录' }).click();
    await page.locator('.form-error', { hasText: '账号或密码错误' }).waitFor();
  }
  await page.locator('.captcha-row:not([hidden])').waitFor();
  await page.waitForFunction(() => document.querySelector('.captcha-img').src.startsWith('data:image/svg+xml'));
  await L.shot(page, 'login-captcha');
  // the captcha's answer: the page asked /api/v1/captcha; read it as a person reads the picture
  await L.uiLogin(page, base, 'institution', H.code, '666666');

  // ---- forced change, cycle notice ------------------------------------------------------------------
  await page.getByRole('heading', { name: '初始化：修改初始密码' }).waitFor();
  await L.shot(page, 'forced-password-change');
  await page.getByLabel('原密码').fill('666666');
  await page.getByLabel('新密码', { exact: true }).fill('short');
  await page.getByLabel('确认新密码').fill('short');
  await page.getByRole('button', { name: '保存' }).click();
  await page.locator('.form-error', { hasText: '至少 8 位' }).waitFor();
  await page.getByLabel('新密码', { exact: true }).fill(NEW_PASSWORD);
  await page.getByLabel('确认新密码').fill(NEW_PASSWORD);
  await page.getByRole('button', { name: '保存' }).click();
  await dialog('考核周期提示').waitFor();
  await L.shot(page, 'cycle-notice');
  await dialog('考核周期提示').getByRole('button', { name: '去确认' }).click();
  await page.locator('.crumbs .cur', { hasText: '本机构信息' }).waitFor();

  // ---- 本机构信息 ----------------------------------------------------------------------------------
  await page.locator('.tag', { hasText: '信息待完善' }).waitFor();
  await page.getByLabel('法定代表人').fill('赵院长');
  await page.getByLabel('地址').fill('测试县人民路 1 号');
  await page.getByLabel('统一社会信用代码').fill('12140000MB1234567X');
  await page.getByRole('button', { name: '提交' }).click();
  await page.locator('.tag', { hasText: '信息已完善' }).waitFor();
  await L.shot(page, 'profile');

  // ---- 科室信息 ------------------------------------------------------------------------------------
  await go('科室信息');
  for (const [dept, subj] of [['内科', '内科'], ['外科', '外科']]) {
    await page.getByRole('button', { name: '创建科室' }).click();
    const d = dialog('创建科室');
    await d.getByLabel('科室名称').fill(dept);
    await d.locator('.checks label', { hasText: subj }).first().locator('input').check();
    await d.getByRole('button', { name: '确定' }).click();
    await page.locator('tbody tr td:nth-child(2)', { hasText: new RegExp(`^${dept}$`) }).waitFor();
  }
  await page.getByRole('button', { name: '创建科室' }).click();
  await dialog('创建科室').getByLabel('科室名称').fill('临时科');
  await dialog('创建科室').locator('.checks input').first().check();
  await dialog('创建科室').getByRole('button', { name: '确定' }).click();
  const tmpRow = page.locator('tbody tr', { hasText: '临时科' });
  await tmpRow.getByRole('button', { name: '编辑' }).click();
  await dialog('编辑科室').getByLabel('科室名称').fill('临时科室');
  await dialog('编辑科室').getByRole('button', { name: '确定' }).click();
  await tmpRow.filter({ hasText: '临时科室' }).waitFor();
  await tmpRow.getByRole('button', { name: '停用' }).click();
  await tmpRow.locator('.tag', { hasText: '已停用' }).waitFor();
  await L.shot(page, 'departments');
  await tmpRow.getByRole('button', { name: '启用' }).click();
  await tmpRow.locator('.tag', { hasText: '正常' }).waitFor();
  await tmpRow.getByRole('button', { name: '删除' }).click();
  await dialog('删除科室').getByRole('button', { name: '删除' }).click();
  await tmpRow.waitFor({ state: 'detached' });

  // ---- 医师列表: import with per-row errors ------------------------------------------------------------
  await go('医师列表');
  const ids = [0, 1, 2, 3].map(() => L.newIdNumber(w.codes.county));
  const csv =
    '\ufeff姓名*,证件类型,证件号码*,性别,出生日期,科室,医师级别*,执业类别*,执业范围,从事专业,职称,首次注册时间,执业证取得时间,执业证书编码,手机号码\r\n' +
    `钱一鸣,居民身份证,${ids[0]},,,内科,执业医师,临床,内科专业,心血管内科,中级,2012-07-01,2012-06-01,141000000000001,13800000001\r\n` +
    `孙二娘,居民身份证,${ids[1]},,,外科,执业医师,临床,外科专业,普外科,副高,2010-07-01,2010-06-01,141000000000002,13800000002\r\n` +
    `李三思,居民身份证,123456789012345678,,,内科,执业医师,临床,内科专业,,,2015-07-01,,,\r\n` +
    `周四海,居民身份证,${ids[2]},,,儿科,执业医师,临床,儿科专业,,,2016-07-01,,,\r\n` +
    `吴五常,居民身份证,${ids[3]},,,内科,执业助理医师,中医,中医专业,,初级,2018-07-01,,,\r\n`;
  const csvPath = path.join(tmp, '医师导入.csv');
  (await import('node:fs')).writeFileSync(csvPath, csv);
  await page.getByRole('button', { name: '批量导入医师' }).click();
  const imp = dialog('批量导入医师');
  await imp.getByLabel('选择 CSV 文件').setInputFiles(csvPath);
  await imp.getByRole('button', { name: '检查文件' }).click();
  await imp.getByText('检查完毕：可导入 3 行，有问题 2 行。').waitFor();
  await imp.locator('tr', { hasText: '证件号码不是有效的' }).getByRole('cell', { name: '4', exact: true }).waitFor();
  await imp.locator('tr', { hasText: '儿科' }).getByRole('cell', { name: '5', exact: true }).waitFor();
  await L.shot(page, 'import-check');
  await imp.getByRole('button', { name: '导入' }).click();
  await imp.getByText('导入完成：成功 3 行，失败 2 行。').waitFor();
  await L.shot(page, 'import-done');
  await imp.getByRole('button', { name: '完成' }).click();
  await page.locator('.pager .total', { hasText: '共 3 条记录' }).waitFor();

  // 新增医师
  await page.getByRole('button', { name: '新增医师' }).click();
  const add = dialog('新增医师');
  await add.getByLabel('姓名').fill('郑六合');
  await add.getByLabel('证件号码').fill(L.newIdNumber(w.codes.county));
  await add.getByLabel('科室').selectOption({ label: '内科' });
  await add.getByLabel('医师级别').selectOption('执业医师');
  await add.getByLabel('执业类别').selectOption('临床');
  await add.getByLabel('首次注册时间').fill('2013-07-01');
  await L.shot(page, 'add-physician');
  await add.getByRole('button', { name: '确定' }).click();
  await dialog('医师已新增').getByText(H.code + '000').waitFor();
  await dialog('医师已新增').getByRole('button', { name: '确定' }).click();
  await page.locator('.pager .total', { hasText: '共 4 条记录' }).waitFor();

  // filters
  await page.getByLabel('姓名', { exact: true }).fill('孙二');
  await page.getByRole('button', { name: '查询', exact: true }).click();
  await page.locator('.pager .total', { hasText: '共 1 条记录' }).waitFor();
  await page.getByRole('button', { name: '重置', exact: true }).click();
  await page.getByLabel('首次注册时间从').fill('2012-01-01');
  await page.getByRole('button', { name: '查询', exact: true }).click();
  await page.locator('.pager .total', { hasText: '共 3 条记录' }).waitFor();
  await L.shot(page, 'physicians-filtered');
  await page.getByRole('button', { name: '重置', exact: true }).click();
  await page.locator('.pager .total', { hasText: '共 4 条记录' }).waitFor();

  // 查看
  await page.locator('tr', { hasText: '钱一鸣' }).getByRole('button', { name: '查看' }).click();
  await page.getByRole('dialog', { name: '医师信息' }).getByText('心血管内科').waitFor();
  await L.shot(page, 'physician-drawer');
  await page.getByRole('dialog', { name: '医师信息' }).getByRole('button', { name: '关闭' }).click();

  // 重置密码
  await page.locator('tr', { hasText: '吴五常' }).getByRole('button', { name: '重置密码' }).click();
  await dialog('重置密码').getByRole('button', { name: '确定' }).click();
  await toast('密码已重置为 666666');

  // 批量参加 (all four)
  await page.getByLabel('全选本页').check();
  await page.getByRole('button', { name: '批量参加' }).click();
  await dialog('批量参加').getByRole('button', { name: '确定' }).click();
  const confirmed = page.locator('.toast', { hasText: '已确认 4 位医师参加本周期考核' });
  const partly = dialog('批量参加结果');
  await confirmed.or(partly).first().waitFor();
  if (await partly.count()) {
    // admind answers a row with a database deadlock as a failure (it does not retry): the
    // page offers to retry the failed rows
    L.log(`批量参加: some rows failed, retried from the page: ${(await partly.locator('tbody').textContent()).trim()}`);
    await L.shot(page, 'batch-confirm-partly');
    await partly.getByRole('button', { name: /重试失败的/ }).click();
  }
  await confirmed.waitFor();
  await page.getByRole('tab', { name: '已确认参加' }).click();
  await page.locator('.pager .total', { hasText: '共 4 条记录' }).waitFor();
  await L.shot(page, 'physicians-confirmed');

  // 导出: the server's CSV with a BOM, Excel reads it as UTF-8
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: '导出', exact: true }).click()]);
  const csvOut = path.join(out, 'export.csv');
  await download.saveAs(csvOut);
  const exported = readFileSync(csvOut);
  L.check(exported[0] === 0xef && exported[1] === 0xbb && exported[2] === 0xbf, 'the export starts with the UTF-8 BOM');
  const text = exported.toString('utf8').slice(1);
  L.check(text.startsWith('序号,账号,科室,姓名'), `the export's header: ${text.slice(0, 60)}`);
  L.check(text.trim().split(/\r?\n/).length === 5 && text.includes('钱一鸣') && text.includes('待报名'), 'the export has the four confirmed physicians');
  L.check(/\.csv$/.test(download.suggestedFilename()), `export file name ${download.suggestedFilename()}`);
  L.log(`exported ${csvOut} (${exported.length} bytes)`);

  // ---- the physicians register (API): 钱 一般程序, 孙 一般程序, 郑 简易程序 with a 免考 request
  const rows = (await L.sql(`SELECT p.name, p.id, p.account, e.id FROM physician p JOIN enrolment e ON e.physician_id = p.id WHERE p.institution_id = ${H.id}`)).trim().split('\n').map((l) => l.split('\t'));
  const P = Object.fromEntries(rows.map(([n, id, acct, eid]) => [n, { id: Number(id), account: acct, eid: Number(eid) }]));
  const register = async (name, procedure, { exemption } = {}) => {
    const c = await L.firstLogin(base, 'physician', P[name].account);
    await c.call('PUT', '/physician/photo', undefined, { raw: L.GREY_JPEG, ctype: 'image/jpeg' });
    await c.put('/physician/profile', { ethnicity: '汉族', education: '本科', experience: [{ start_date: '2012-07-01', institution_name: H.name, department: '内科', position: '医师' }] });
    await c.put('/physician/registration', {
      procedure_type: procedure, sa_patient_visits: 1800, sa_operations: procedure === '一般程序' ? 120 : null, sa_work_text: `${name}：本周期完成门诊、病房工作。`,
      sa_ethics_text: '恪守医德，无投诉。', sa_report_text: '个人述职报告。', sa_simple_condition: procedure === '简易程序' ? '连续两个周期考核合格' : null,
      sa_good_record: true, sa_bad_record: false,
    });
    if (exemption) {
      await c.post('/physician/exemption', { exemption_type: '援外医疗', description: '本周期参加援外医疗队 1 年' });
      await c.call('POST', '/physician/exemption/attachments?file_name=' + encodeURIComponent('援外证明.pdf') + '&kind=' + encodeURIComponent('证明材料'), undefined, { raw: Buffer.from('%PDF-1.4\n% 援外证明\n'), ctype: 'application/pdf' });
    }
    await c.post(`/enrolments/${P[name].eid}/actions/submit`, {});
    P[name].client = c;
  };
  await register('钱一鸣', '一般程序');
  await register('孙二娘', '一般程序');
  await register('郑六合', '简易程序', { exemption: true });

  // ---- 首页 with tasks and rates ------------------------------------------------------------------------
  await go('首页');
  await page.locator('.tasks li', { hasText: '一般程序待审核' }).locator('.task-count', { hasText: '2' }).waitFor();
  await page.locator('.tasks li', { hasText: '免考申请待审核' }).locator('.task-count', { hasText: '1' }).waitFor();
  await page.locator('figure.ring', { hasText: '报名完成率' }).getByText('3 / 4').waitFor();
  await L.shot(page, 'home-institution');

  // ---- 免考审核 → 通过 ------------------------------------------------------------------------------------
  await page.locator('.tasks li', { hasText: '免考申请待审核' }).getByRole('button', { name: '去处理' }).click();
  await page.locator('tr', { hasText: '郑六合' }).getByRole('button', { name: '审核' }).click();
  await page.getByText('援外医疗').first().waitFor();
  await page.getByRole('button', { name: '证明材料：援外证明.pdf' }).waitFor();
  await L.shot(page, 'exemption-review');
  await page.getByRole('button', { name: '免考通过' }).click();
  await dialog('免考通过').getByRole('button', { name: '确定' }).click();
  await exemptionStatus('待考核机构复核');

  // ---- 简易程序审核 → 合格, 提交 ----------------------------------------------------------------------------
  await go('简易程序审核');
  await page.locator('tr', { hasText: '郑六合' }).getByRole('button', { name: '审核' }).click();
  await page.getByRole('tab', { name: '工作业绩、职业道德' }).click();
  await page.getByText('连续两个周期考核合格').waitFor();
  await L.shot(page, 'simple-review');
  const ev = page.locator('.eval-form');
  await ev.getByRole('radiogroup', { name: '工作成绩' }).getByLabel('合格', { exact: true }).check();
  await ev.getByRole('radiogroup', { name: '职业道德' }).getByLabel('合格', { exact: true }).check();
  await page.getByRole('button', { name: '提交', exact: true }).click();
  await dialog('提交评定意见').getByRole('button', { name: '提交' }).click();
  await page.locator('.review-head .tag', { hasText: '待考核机构复核' }).waitFor();

  // ---- 一般程序审核: 钱 合格, 孙 合格; 多执业机构意见 ---------------------------------------------------------------
  for (const name of ['钱一鸣', '孙二娘']) {
    await go('一般程序审核');
    await page.locator('tr', { hasText: name }).getByRole('button', { name: '审核' }).click();
    await page.getByRole('tab', { name: '工作业绩、职业道德' }).click();
    if (name === '钱一鸣') {
      await page.getByRole('button', { name: '新增意见' }).click();
      const od = dialog('新增多执业机构意见');
      await od.getByLabel('其它执业机构').fill('测试县中医院');
      await od.getByLabel('意见').fill('在我院多点执业期间表现良好');
      await od.getByRole('button', { name: '确定' }).click();
      await page.getByRole('cell', { name: '在我院多点执业期间表现良好' }).waitFor();
      await L.shot(page, 'general-review');
    }
    for (const g of ['完成工作数量', '工作成绩', '职业道德']) await ev.getByRole('radiogroup', { name: g }).getByLabel('合格', { exact: true }).check();
    await page.getByRole('button', { name: '提交', exact: true }).click();
    await dialog('提交评定意见').getByRole('button', { name: '提交' }).click();
    await page.locator('.review-head .tag', { hasText: '待考核机构复核' }).waitFor();
  }

  // ---- 申请考核机构 (not opened yet), 修改密码, 退出 ---------------------------------------------------------------
  await go('申请考核机构');
  await page.locator('.notice.warn', { hasText: '尚未开通' }).waitFor();
  await L.shot(page, 'apply-not-opened');
  await page.getByRole('button', { name: '修改密码' }).click();
  const pd = dialog('修改密码');
  await pd.getByLabel('原密码').fill(NEW_PASSWORD);
  await pd.getByLabel('新密码', { exact: true }).fill(L.PASSWORD);
  await pd.getByLabel('确认新密码').fill(L.PASSWORD);
  await pd.getByRole('button', { name: '确认' }).click();
  await toast('密码已修改');
  await page.getByRole('button', { name: '退出' }).click();
  await page.getByText('您已安全退出').waitFor();

  // ---- the 考核机构: 切换, 复核 ---------------------------------------------------------------------------------------
  await L.uiLogin(page, base, 'institution', w.aInfo.code, L.PASSWORD);
  await page.locator('.who', { hasText: '医疗卫生机构' }).waitFor();
  await page.getByRole('button', { name: '切换' }).click();
  await dialog('切换身份').getByRole('button', { name: '切换' }).click();
  await page.locator('.who', { hasText: '考核机构' }).waitFor();
  await page.locator('.tasks li', { hasText: '考核机构待复核' }).locator('.task-count', { hasText: '3' }).waitFor();
  await L.shot(page, 'home-assessor');
  await go('免考复核');
  await page.locator('tr', { hasText: '郑六合' }).getByRole('button', { name: '审核' }).click();
  await page.getByRole('button', { name: '免考通过' }).click();
  await dialog('免考通过').getByRole('button', { name: '确定' }).click();
  await exemptionStatus('通过');
  await go('简易程序复核');
  await L.shot(page, 'assessor-simple-queue');
  await page.locator('tr', { hasText: '郑六合' }).getByRole('button', { name: '复核' }).click();
  await page.getByRole('tab', { name: '工作业绩、职业道德' }).click();
  await page.getByRole('heading', { name: '医疗卫生机构评定意见' }).waitFor();
  await L.shot(page, 'assessor-review');
  await page.getByRole('button', { name: '复核通过' }).click();
  await dialog('复核通过').getByRole('button', { name: '复核通过' }).click();
  // 简易程序 with 人文医学 exempted: nothing left to sit, 考核完成 合格
  await page.locator('.review-head .tag', { hasText: '考核完成' }).waitFor();
  await go('一般程序复核');
  for (const name of ['钱一鸣', '孙二娘']) {
    await page.locator('tr', { hasText: name }).getByRole('button', { name: '复核' }).click();
    await page.getByRole('button', { name: '复核通过' }).click();
    await dialog('复核通过').getByRole('button', { name: '复核通过' }).click();
    await page.locator('.review-head .tag', { hasText: '待参加考核' }).waitFor();
    await go('一般程序复核');
  }
  await page.getByRole('button', { name: '切换' }).click();
  await dialog('切换身份').getByRole('button', { name: '切换' }).click();
  await page.locator('.who', { hasText: '医疗卫生机构' }).waitFor();
  await page.getByRole('button', { name: '退出' }).click();

  // ---- 钱 fails 人文医学 (an empty sitting): 待确认补考 for the province
  const exam = await L.examLogin(examd.base, P['钱一鸣'].account, L.PASSWORD);
  const r = await L.submitSitting(exam, await L.startSitting(exam, '公共知识'));
  L.check(r.passed === false, 'an empty sitting fails');
  const sidQ = await L.startSitting(exam, '业务水平');
  await L.answerAll(exam, sidQ);
  await L.submitSitting(exam, sidQ);
  L.check((await L.sqlValue(`SELECT status FROM enrolment WHERE id = ${P['钱一鸣'].eid}`)) === '待确认补考', '人文医学 failed: 待确认补考');
  const exam2 = await L.examLogin(examd.base, P['孙二娘'].account, L.PASSWORD);
  for (const paper of ['公共知识', '业务水平']) {
    const sid2 = await L.startSitting(exam2, paper);
    await L.answerAll(exam2, sid2);
    await L.submitSitting(exam2, sid2);
  }
  L.check((await L.sqlValue(`SELECT CONCAT(status, result) FROM enrolment WHERE id = ${P['孙二娘'].eid}`)) === '考核完成合格', 'both tests passed: 考核完成 合格');

  // ---- the institution again: progress pages, invigilation, history, the certificate -------------------------
  await L.uiLogin(page, base, 'institution', H.code, L.PASSWORD);
  await go('考核进度');
  await page.locator('tr', { hasText: '郑六合' }).locator('.tag', { hasText: '合格' }).waitFor();
  await L.shot(page, 'progress');
  await go('测评进度');
  await page.locator('tr', { hasText: '钱一鸣' }).first().waitFor();
  await L.shot(page, 'test-progress');
  await go('监考管理');
  await page.locator('tr', { hasText: '孙二娘' }).first().waitFor();
  await L.shot(page, 'invigilation');
  await go('历史考核结果查询');
  await page.locator('tr', { hasText: '郑六合' }).getByRole('button', { name: '合格证书' }).click();
  await page.getByRole('heading', { name: '医师定期考核合格证书' }).waitFor();
  await page.locator('.certificate', { hasText: '郑六合' }).waitFor();
  // the font Chromium really drew the certificate with (DevTools: platform fonts of a node)
  const fonts = await L.drawnFonts(ctx, page, '.certificate h1');
  L.log(`the certificate's title is drawn with ${fonts.map((f) => `${f.familyName} (${f.glyphCount} glyphs)`).join(', ')}`);
  L.check(fonts.some((f) => /Noto Serif CJK/.test(f.familyName)), 'the certificate is drawn with Noto Serif CJK (fonts-noto-cjk)');
  await L.shot(page, 'certificate');
  await page.emulateMedia({ media: 'print' });
  L.check(await page.locator('header.top').isHidden(), 'the print view hides the console frame');
  L.check(await page.locator('.cert-tools').isHidden(), 'the print view hides the buttons');
  await L.shot(page, 'certificate-print');
  await page.pdf({ path: path.join(out, 'certificate.pdf'), format: 'A4', landscape: true, printBackground: true, preferCSSPageSize: true });
  await page.emulateMedia({ media: 'screen' });
  L.log(`certificate PDF ${path.join(out, 'certificate.pdf')}`);
  await page.getByRole('button', { name: '返回' }).click();
  await page.locator('.crumbs .cur', { hasText: '历史考核结果查询' }).waitFor();
  await L.shot(page, 'history');
  await go('监考管理');
  const sunRow = page.locator('tbody tr', { hasText: '孙二娘' }).first();
  await sunRow.getByRole('button', { name: '标记疑似' }).click();
  await dialog('标记疑似').getByRole('button', { name: '标记疑似' }).click();
  await page.locator('tbody tr', { hasText: '孙二娘' }).locator('.tag', { hasText: '疑似' }).first().waitFor();
  await page.getByRole('button', { name: '退出' }).click();

  // ---- the province ---------------------------------------------------------------------------------------------------
  await L.uiLogin(page, base, 'authority', w.users.prov, L.PASSWORD);
  await page.locator('.tasks li', { hasText: '待确认补考' }).locator('.task-count', { hasText: '1' }).waitFor();
  await L.shot(page, 'home-province');

  // 考核周期: open a draft cycle for next year
  await go('考核周期');
  await page.getByRole('button', { name: '开设考核周期' }).click();
  const cd = dialog('开设考核周期');
  const year = new Date().getFullYear() + 3;
  await cd.getByLabel('周期编号').fill('N' + L.RUN.slice(-6));
  await cd.getByLabel('周期名称').fill(`${year}—${year + 2} 年度医师定期考核`);
  const dt = cd.locator('input[type=datetime-local]');
  const times = [[`${year}-01-01T00:00`, `${year + 2}-12-31T23:59`], [`${year}-02-01T08:00`, `${year}-03-31T17:00`], [`${year}-03-01T08:00`, `${year}-05-31T17:00`]];
  for (let i = 0; i < times.length; i++) {
    await dt.nth(2 * i).fill(times[i][0]);
    await dt.nth(2 * i + 1).fill(times[i][1]);
  }
  await L.shot(page, 'cycle-dialog');
  await cd.getByRole('button', { name: '保存' }).click();
  await page.getByRole('cell', { name: `${year}—${year + 2} 年度医师定期考核` }).waitFor();
  const created = (await L.sqlValue(`SELECT CONCAT_WS('|', status, DATE_FORMAT(period_start, '%Y-%m-%d %H:%i'), DATE_FORMAT(registration_end, '%Y-%m-%d %H:%i')) FROM cycle WHERE code = 'N${L.RUN.slice(-6)}'`)).split('|');
  L.check(created[0] === 'draft' && created[1] === `${year - 1}-12-31 16:00` && created[2] === `${year}-05-31 09:00`, `the cycle's times are Beijing time stored as UTC: ${created.join(' | ')}`);
  await page.locator('tbody tr', { hasText: `${year}—${year + 2} 年度` }).getByRole('button', { name: '编辑' }).click();
  await dialog('编辑考核周期').getByLabel('周期名称').fill(`${year}—${year + 2} 年度医师定期考核（草案）`);
  await dialog('编辑考核周期').getByRole('button', { name: '保存' }).click();
  await page.getByRole('cell', { name: `${year}—${year + 2} 年度医师定期考核（草案）` }).waitFor();
  await L.shot(page, 'cycles');

  // 机构账号: 新增, 开通申请权限 for H
  await go('机构账号');
  await page.getByRole('button', { name: '新增机构账号' }).click();
  const nd = dialog('新增机构账号');
  await nd.getByLabel('机构名称').fill(`测试县妇幼保健院${L.RUN.slice(-6)}`);
  await nd.getByLabel('隶属卫生行政部门').selectOption({ index: 2 });
  await nd.getByLabel('机构类别').selectOption('专业公共卫生机构');
  await nd.getByRole('button', { name: '确定' }).click();
  await dialog('机构账号已开设').getByText(w.codes.county + 'H').waitFor();
  await L.shot(page, 'institution-created');
  await dialog('机构账号已开设').getByRole('button', { name: '确定' }).click();
  await page.locator('tbody tr', { hasText: '测试县妇幼保健院' }).getByRole('button', { name: '重置密码' }).click();
  await dialog('重置密码').getByRole('button', { name: '确定' }).click();
  // a reset shows a new one-time activation code, once
  await dialog('密码已重置').locator('.activation-code').waitFor();
  await dialog('密码已重置').getByRole('button', { name: '确定' }).click();
  await page.locator('tr', { hasText: H.code }).getByRole('button', { name: '开通申请权限' }).click();
  await toast('已开通申请考核机构权限');
  await page.locator('tr', { hasText: H.code }).locator('.tag', { hasText: '已开通' }).waitFor();
  await L.shot(page, 'institutions');

  // 补考确认
  await go('补考确认');
  await page.locator('tr', { hasText: '钱一鸣' }).getByRole('button', { name: '确认补考' }).click();
  await dialog('确认补考').getByRole('button', { name: '确认补考' }).click();
  await toast('已确认补考');
  L.check((await L.sqlValue(`SELECT status FROM enrolment WHERE id = ${P['钱一鸣'].eid}`)) === '待参加补考', 'the makeup is confirmed');
  await L.shot(page, 'makeup');

  // 报名审核情况: 驳回 a submitted registration (吴 submits first)
  await register('吴五常', '一般程序');
  await go('报名审核情况');
  await page.locator('tr', { hasText: '吴五常' }).getByRole('button', { name: '驳回' }).click();
  await dialog('驳回报名').getByLabel('驳回理由').fill('该医师本周期已在外省参加考核');
  await dialog('驳回报名').getByRole('button', { name: '确定' }).click();
  await page.locator('tr', { hasText: '吴五常' }).locator('.tag', { hasText: '待报名' }).waitFor();
  await L.shot(page, 'enrolments');

  for (const [menu, name] of [['考核进度', 'progress-province'], ['测评进度', 'test-progress-province'], ['监考管理', 'invigilation-province'], ['考核统计', 'stats'], ['历史考核结果查询', 'history-province'], ['业务流程说明', 'workflow']]) {
    await go(menu);
    await L.shot(page, name);
  }
  await page.getByRole('button', { name: '退出' }).click();

  // ---- H: 申请考核机构 with its form; 吴 (rejected by the authority) 取消参加, then 离岗 ------------------------------------------
  await L.uiLogin(page, base, 'institution', H.code, L.PASSWORD);
  await go('申请考核机构');
  await page.locator('.notice', { hasText: '已为本机构开通' }).waitFor();
  await page.getByRole('button', { name: '提交申请' }).click();
  const ad = dialog('申请考核机构');
  await ad.getByLabel('申请说明').fill('本院具备考核条件，申请承担本县医师定期考核');
  const formPath = path.join(tmp, '考核机构申请表.pdf');
  (await import('node:fs')).writeFileSync(formPath, '%PDF-1.4\n% 考核机构申请表\n');
  await ad.getByLabel('申请材料').setInputFiles(formPath);
  await L.shot(page, 'apply-dialog');
  await ad.getByRole('button', { name: '提交申请' }).click();
  await page.locator('tbody tr', { hasText: '待审核' }).getByRole('cell', { name: '1 个' }).waitFor();
  await L.shot(page, 'apply-submitted');
  await go('医师列表');
  await page.getByRole('tab', { name: '已确认参加' }).click();
  await page.locator('tr', { hasText: '吴五常' }).getByRole('button', { name: '取消参加' }).click();
  await dialog('取消参加').getByRole('button', { name: '确定' }).click();
  await toast('已取消参加');
  await page.getByRole('tab', { name: '未确认参加' }).click();
  await page.locator('tr', { hasText: '吴五常' }).getByRole('button', { name: '离岗' }).click();
  await dialog('离岗').getByLabel('离岗原因').fill('调往测试市中心医院');
  await dialog('离岗').getByRole('button', { name: '确定' }).click();
  await toast('吴五常 已离岗');
  await page.getByRole('tab', { name: '离岗' }).click();
  await page.locator('tr', { hasText: '吴五常' }).waitFor();
  await L.shot(page, 'physicians-left');
  await page.getByRole('button', { name: '退出' }).click();

  // ---- A (as 医疗卫生机构): 调入 吴 by the ID number -----------------------------------------------------------------------
  await L.uiLogin(page, base, 'institution', w.aInfo.code, L.PASSWORD);
  await page.locator('.who', { hasText: '医疗卫生机构' }).waitFor();
  await go('医师列表');
  await page.getByRole('button', { name: '调入医师' }).click();
  const td = dialog('调入医师');
  await td.getByLabel('证件号码').fill(ids[3]);
  await td.getByRole('button', { name: '查询' }).click();
  await td.locator('tr', { hasText: '吴五常' }).locator('.tag', { hasText: '是' }).waitFor();
  await L.shot(page, 'transfer-in');
  await td.getByRole('button', { name: '调入' }).click();
  await toast('医师已调入本机构');
  await page.locator('tr', { hasText: '吴五常' }).waitFor();
  L.check((await L.sqlValue(`SELECT CONCAT(institution_id, status) FROM physician WHERE id_number = '${ids[3]}'`)) === `${w.aInfo.id}在岗`, '吴 is now with A');
  await page.getByRole('button', { name: '退出' }).click();

  // ---- the province approves H's application ------------------------------------------------------------------------------------
  await L.uiLogin(page, base, 'authority', w.users.prov, L.PASSWORD);
  await page.locator('.tasks li', { hasText: '考核机构申请待审核' }).getByRole('button', { name: '去处理' }).click();
  const arow = page.locator('tr', { hasText: H.name });
  await arow.getByRole('button', { name: '附件1' }).waitFor();
  await L.shot(page, 'applications');
  await arow.getByRole('button', { name: '通过' }).click();
  await dialog('批准考核机构申请').getByRole('button', { name: '通过' }).click();
  await arow.locator('.tag', { hasText: '通过' }).waitFor();
  L.check((await L.sqlValue(`SELECT is_assessor FROM institution WHERE id = ${H.id}`)) === '1', 'H is a 考核机构 now');
  await go('考核机构分配');
  await page.locator('tr', { hasText: H.name }).getByText(w.aInfo.name).waitFor();
  await L.shot(page, 'assignments');
  await page.getByRole('button', { name: '退出' }).click();

  // ---- a city account: the same pages without the province's buttons -------------------------------------------------
  await L.uiLogin(page, base, 'authority', w.users.city, L.PASSWORD);
  await go('考核周期');
  L.check((await page.getByRole('button', { name: '开设考核周期' }).count()) === 0, 'a city cannot open a cycle');
  await go('补考确认');
  L.check((await page.getByRole('button', { name: '确认补考' }).count()) === 0, 'a city cannot confirm makeups');
  await L.shot(page, 'makeup-city');
  // the city takes back H's 疑似 mark on 孙 (only an authority may), with a reason; it cannot 认定作弊
  await go('监考管理');
  const mk = page.locator('tbody tr', { hasText: '孙二娘' }).filter({ has: page.locator('.tag', { hasText: '疑似' }) });
  L.check((await mk.getByRole('button', { name: '认定作弊' }).count()) === 0, 'a city cannot 认定作弊');
  await mk.getByRole('button', { name: '取消疑似' }).click();
  await dialog('取消疑似标记').getByLabel('取消理由').fill('核查后为本人，光线原因');
  await dialog('取消疑似标记').getByRole('button', { name: '取消标记' }).click();
  await toast('已取消疑似');
  L.check((await L.sqlValue(`SELECT COUNT(*) FROM invigilation v JOIN exam_session s ON s.id = v.session_id WHERE s.enrolment_id = ${P['孙二娘'].eid} AND v.mark_status = '疑似'`)) === '0', 'the mark is taken back');
  await L.shot(page, 'invigilation-city');
  await go('首页');
  await L.shot(page, 'home-city');

  L.noErrors(ctx, L.loginRefusals);
});
