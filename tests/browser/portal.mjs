// portal.mjs - the physician's own pages on the exam page (exam-engine/web: 首页, 考核报名,
// 免考申请, 考核结果), driven as a physician drives them: log in (changing an initial
// password), open a page from the navigation, move between the registration's steps, fill
// them, upload the photo, submit, read a 驳回 reason. Shared by
// tests/browser/exam_registration.test.mjs and tests/browser-console/console_review.test.mjs;
// only the page is here: servers, people and checks of the database are the harness's
// (tests/browser-console/lib.mjs).

import { sqlValue } from './base.mjs';

const T = 20000; // generous: two cores shared with other work, ASan builds

// A field by its label, with or without the * of a required one
const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const byLabel = (scope, label) => scope.getByLabel(new RegExp('^\\s*' + esc(label) + '\\s*\\*?\\s*$'));

// Logs in on the exam page; with newPassword, changes the initial password when asked.
// Returns when the portal's navigation is shown.
export async function login(page, base, account, password, newPassword = null) {
  await page.goto(base + '/');
  await page.getByRole('heading', { name: '考生登录' }).waitFor({ timeout: T });
  await page.getByLabel('账号').fill(account);
  await page.getByLabel('密码').fill(password);
  if (password === '666666') {
    // the identity step of a first login: the ID number and name on file
    const [idn, name] = (await sqlValue(`SELECT id_number, name FROM physician WHERE account = '${account}' OR id_number = '${account}'`)).split('\t');
    await page.getByLabel('证件号码').fill(idn);
    await page.getByLabel('姓名').fill(name);
  }
  await page.getByRole('button', { name: '登录' }).click();
  const nav = page.locator('#portal-nav:not([hidden])');
  const change = page.getByRole('heading', { name: '修改初始密码' });
  await nav.or(change).first().waitFor({ timeout: T });
  if (await change.isVisible()) {
    if (!newPassword) throw new Error(`login of ${account}: the page asks for a new password`);
    await page.getByLabel('新密码', { exact: true }).fill(newPassword);
    await page.getByLabel('确认新密码').fill(newPassword);
    await page.getByRole('button', { name: '确认修改' }).click();
    await nav.waitFor({ timeout: T });
  }
}

// Waits until the portal page on screen has its data (no loading line, nothing busy).
export async function ready(page) {
  await page.waitForFunction(() => {
    const b = document.querySelector('.portal-body');
    return b && !b.querySelector('.loading-text') && !b.hasAttribute('aria-busy') && b.querySelector('h1');
  }, null, { timeout: T });
}

// Opens a page of the portal from the navigation: 首页, 考核报名, 免考申请, 考核结果
// (在线测评 is the tests list, heading 我的测评).
export async function open(page, name) {
  await page.locator('#portal-nav').getByRole('link', { name, exact: true }).click();
  if (name === '在线测评') return page.getByRole('heading', { name: '我的测评' }).waitFor({ timeout: T });
  await page.getByRole('heading', { level: 1, name }).waitFor({ timeout: T });
  await ready(page);
}

// The status the page shows (the tag of the status card).
export async function status(page) {
  return (await page.locator('.status-card .status-head .tag').textContent()).trim();
}

export async function waitStatus(page, text) {
  await page.locator('.status-card .status-head .tag', { hasText: text }).waitFor({ timeout: T });
}

// The 驳回 reasons shown (texts of the reason boxes).
export async function reasons(page) {
  return (await page.locator('.reason-box .reason-text').allTextContents()).map((s) => s.trim());
}

// Goes to a step of the registration (基本信息, 考核程序, 本人照片, 提交报名) with the step
// buttons; the step on screen is saved first, as the page does.
export async function step(page, name) {
  await page.locator('.steps-bar').getByRole('button', { name }).click();
  await page.locator('#step-title', { hasText: name }).waitFor({ timeout: T });
  await ready(page);
}

const profileGrid = (page) => page.locator('.step-panel > .form-grid');

// Step 1's fields. p: {department (the name), specialty, title, post, practice_scope,
// sex, birth_date, ethnicity, education, mobile, email, training ('是'|'否'),
// qualification_cert_no, qualification_date, practice_cert_no, practice_cert_date,
// first_registration_date}; only those given are changed.
export async function fillProfile(page, p) {
  const g = profileGrid(page);
  if (p.department) await byLabel(g, '科室').selectOption({ label: p.department });
  const text = [
    ['specialty', '从事专业'], ['title', '职称'], ['post', '职务'], ['practice_scope', '执业范围'], ['birth_date', '出生日期'],
    ['ethnicity', '民族'], ['mobile', '手机号码'], ['email', '电子邮箱'], ['qualification_cert_no', '医师资格证书编码'],
    ['qualification_date', '资格证书取得时间'], ['practice_cert_no', '医师执业证书编码'], ['practice_cert_date', '执业证书取得时间'],
    ['first_registration_date', '首次注册时间'],
  ];
  for (const [k, label] of text) if (p[k] !== undefined) await byLabel(g, label).fill(p[k]);
  if (p.sex) await byLabel(g, '性别').selectOption(p.sex);
  if (p.education) await byLabel(g, '学历').selectOption(p.education);
  if (p.training) await g.getByRole('group', { name: '住院医师规范化培训' }).getByLabel(p.training).check();
}

// Adds a row to 执业经历: {start_date, end_date?, institution_name, department?, position?}
export async function addExperience(page, x) {
  await page.getByRole('button', { name: '新增执业经历' }).click();
  const row = page.locator('.exp-row').last();
  await byLabel(row, '起始日期').fill(x.start_date);
  if (x.end_date) await byLabel(row, '终止日期').fill(x.end_date);
  await byLabel(row, '执业机构').fill(x.institution_name);
  if (x.department) await byLabel(row, '科室').fill(x.department);
  if (x.position) await byLabel(row, '职务').fill(x.position);
  return row;
}

// Step 2: the procedure and its self-assessment. s: {procedure ('一般程序'|'简易程序'),
// visits, operations, examinations, other, condition (简易程序), work, ethics, report,
// good ('有'|'无'), bad ('有'|'无')}; only those given are changed.
export async function fillProcedure(page, s) {
  const panel = page.locator('.step-panel');
  if (s.procedure) await panel.getByRole('radio', { name: new RegExp('^' + s.procedure) }).check();
  const fields = [
    ['visits', '接诊病人数（人次）'], ['operations', '手术量（例，外科科室填写）'], ['examinations', '检验/检查量（例，医技科室填写）'],
    ['other', '其他工作量'], ['work', '工作成绩自评'], ['ethics', '职业道德自评'], ['report', '个人述职报告'],
  ];
  for (const [k, label] of fields) if (s[k] !== undefined) await byLabel(panel, label).fill(String(s[k]));
  if (s.condition) await byLabel(panel, '简易程序适用条件').selectOption(s.condition);
  if (s.good) await panel.getByRole('group', { name: '良好执业行为记录' }).getByLabel(s.good).check();
  if (s.bad) await panel.getByRole('group', { name: '不良执业行为记录' }).getByLabel(s.bad).check();
}

// Clicks 保存并下一步 and waits for the next step (or returns the errors shown when the
// page stays: [] when it moved on).
export async function saveAndNext(page) {
  const before = await page.locator('#step-title').textContent();
  await page.getByRole('button', { name: '保存并下一步' }).click();
  const moved = page.locator('#step-title').filter({ hasNotText: before });
  const error = page.locator('.step-panel .field-error:not([hidden]), .step-panel .save-error:not([hidden])');
  await moved.or(error).first().waitFor({ timeout: T });
  if (await moved.count()) {
    await ready(page);
    return [];
  }
  return (await error.allTextContents()).map((s) => s.trim());
}

// Step 3: chooses a file for the photo and waits for the page's verdict:
// {state: 'ok'|'bad', text}.
export async function uploadPhoto(page, file) {
  const msg = page.locator('.photo-msg');
  const old = (await msg.count()) ? await msg.textContent() : '';
  await page.locator('#photo-file').setInputFiles(file);
  await page.waitForFunction(
    (prev) => {
      const m = document.querySelector('.photo-msg');
      return m && (m.dataset.state === 'ok' || m.dataset.state === 'bad') && m.textContent !== prev;
    },
    old,
    { timeout: 60000 }, // the face models on a busy machine
  );
  return { state: await msg.getAttribute('data-state'), text: (await msg.textContent()).trim() };
}

// Step 4: the commitment and 提交报名 (重新提交报名 after a 驳回); waits for the new status.
export async function submit(page) {
  if (!(await page.locator('#step-title', { hasText: '提交报名' }).count())) await step(page, '提交报名');
  await page.getByLabel(/本人承诺/).check();
  await page.locator('.step-actions').getByRole('button', { name: /提交报名$/ }).click();
  await waitStatus(page, '待医疗卫生机构审核');
  await ready(page);
}

// Console errors the portal's own refusals cause (Chromium logs every 4xx answer to
// fetch() as one): those of admind routes matching `route` (a RegExp on the URL) with one
// of `statuses`, e.g. the 422 of a photo without a face the test uploads on purpose.
export const refusal = (route, statuses) => (e) =>
  e.kind === 'console' && route.test(e.url || '') && statuses.some((s) => e.text.includes(`status of ${s}`));
