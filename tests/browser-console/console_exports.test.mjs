// console_exports.test.mjs - issue 16, items 11 and 12 in the console: an institution
// downloads 考核进度 with 导出 Excel (the file opens as a workbook in openpyxl, the masked ID
// number in it) and a pass certificate with 下载 PDF (pdftotext reads it: title, holder,
// (下载证书 saves the same as a PNG, seed [004])
// 发证机关, number, the verification address of its QR code); then anyone, not logged in,
// opens that address: 证书真实有效 with the masked ID number; a forged code says 查无此证书,
// and a certificate whose pass was taken away says 证书已撤销.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as L from './lib.mjs';

const PY = '/usr/bin/python3';

L.main('browser_console_exports', async () => {
  const { pw, args, tmp, out } = await L.prerequisites();
  if (!existsSync('/usr/bin/pdftotext')) await L.skip('pdftotext is not installed (poppler-utils, deploy/setup.sh)');
  try {
    execFileSync(PY, ['-c', 'import openpyxl']);
  } catch {
    await L.skip('/usr/bin/python3 has no openpyxl (python3-openpyxl, deploy/setup.sh)');
  }
  const cols = await L.sqlValue("SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'certificate' AND column_name = 'verify_code'");
  if (cols !== '1') await L.skip('migration 013_certificate_verify.sql is not applied (deploy/migrate.sh)');
  // the QR code points at this admind's own verification page
  const port = await L.freePort();
  const verifyUrl = `http://127.0.0.1:${port}/verify.html?code=`;
  const admind = await L.startAdmind(args.admind, tmp, { DK_CERT_VERIFY_URL: verifyUrl }, port);
  const base = admind.base;
  const w = await L.makeWorld(base, { admind: args.admind });

  // 陈书华 passes: 简易程序 with 人文医学 exempted, through both reviews (the API)
  const p = await L.enrolPhysician(base, w.H, w, { name: '陈书华', procedure: '简易程序', submit: false });
  const x = await p.client.post('/physician/exemption', { exemption_type: '其他情形' });
  await p.client.post(`/enrolments/${p.eid}/actions/submit`, {});
  const xver = async () => (await w.H.get(`/enrolments/${p.eid}`)).exemptions.find((e) => e.id === x.id).version;
  await w.H.post(`/exemptions/${x.id}/actions/inst_pass`, { version: await xver() });
  await w.H.post(`/enrolments/${p.eid}/actions/inst_pass`, { version: await L.enrolmentVersion(w.H, p.eid), work_result: '合格', ethics_result: '合格', reviewer_name: '李审核' });
  await w.A.post(`/exemptions/${x.id}/actions/assessor_pass`, { version: await xver() });
  await w.A.post(`/enrolments/${p.eid}/actions/assessor_pass`, { version: await L.enrolmentVersion(w.H, p.eid) });
  const [status, result, idn] = (await L.sqlValue(`SELECT CONCAT_WS('|', e.status, e.result, p.id_number) FROM enrolment e JOIN physician p ON p.id = e.physician_id WHERE e.id = ${p.eid}`)).split('|');
  L.check(status === '考核完成' && result === '合格', `陈书华 passed: ${status} ${result}`);
  L.log(`world: institution ${w.hInfo.code}, 陈书华 enrolment ${p.eid} 考核完成 合格`);

  const ctx = await L.launch(pw, tmp);
  const page = ctx.pages()[0] || (await ctx.newPage());
  await L.uiLogin(page, base, 'institution', w.hInfo.code, L.PASSWORD);

  // -- 1. 考核进度 → 导出 Excel: a workbook with the row, the ID number masked
  await page.getByRole('link', { name: '考核进度' }).click();
  await page.locator('tr', { hasText: '陈书华' }).waitFor();
  await L.shot(page, 'progress');
  const [xl] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: '导出 Excel' }).click()]);
  L.check(/^考核进度-\d{8}\.xlsx$/.test(xl.suggestedFilename()), `xlsx file name ${xl.suggestedFilename()}`);
  const xlsxOut = path.join(out, 'progress.xlsx');
  await xl.saveAs(xlsxOut);
  const rows = JSON.parse(
    execFileSync(PY, ['-c', 'import json,sys,openpyxl; ws=openpyxl.load_workbook(sys.argv[1]).active; print(json.dumps([[c.value for c in r] for r in ws.iter_rows()], ensure_ascii=False))', xlsxOut]).toString(),
  );
  const row = rows.find((r) => r.includes('陈书华'));
  L.check(rows[0][0].startsWith('考核进度'), `the workbook's title row: ${rows[0]}`);
  L.check(row && row.includes('考核完成') && row.includes('合格'), `the workbook's row: ${row}`);
  L.check(!JSON.stringify(rows).includes(idn) && row.some((v) => typeof v === 'string' && v.includes('*')), 'the ID number is masked in the workbook');
  L.log(`exported ${xlsxOut}: ${rows.length} rows`);

  // -- 2. 历史考核结果 → 合格证书 → 下载 PDF
  await page.getByRole('link', { name: '历史考核结果查询' }).click();
  const hrow = page.locator('tr', { hasText: '陈书华' });
  await hrow.waitFor();
  await hrow.getByText('合格证书').click();
  await page.getByRole('button', { name: '下载 PDF' }).waitFor();
  await L.shot(page, 'certificate-page');
  const [pdf] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: '下载 PDF' }).click()]);
  L.check(/^合格证书-.+\.pdf$/.test(pdf.suggestedFilename()), `pdf file name ${pdf.suggestedFilename()}`);
  const pdfOut = path.join(out, 'certificate.pdf');
  await pdf.saveAs(pdfOut);
  L.check(readFileSync(pdfOut).subarray(0, 5).toString() === '%PDF-', 'the download is a PDF');
  const text = execFileSync('/usr/bin/pdftotext', ['-layout', pdfOut, '-']).toString();
  const flat = text.replace(/[ \n]/g, '');
  const [certNo, code] = (await L.sqlValue(`SELECT CONCAT_WS('|', cert_no, verify_code) FROM certificate WHERE enrolment_id = ${p.eid}`)).split('|');
  for (const want of ['医师定期考核合格证书', '陈书华', certNo, `测试县${L.RUN.slice(-6)}卫生健康局`, '发证机关', `验证码：${code}`])
    L.check(flat.includes(want), `the PDF shows ${want}`);
  const m = flat.match(/http:\/\/127\.0\.0\.1:\d+\/verify\.html\?code=[0-9A-Z]{20}/);
  L.check(m && m[0] === verifyUrl + code, `the PDF's verification address: ${m && m[0]}`);
  // 下载证书: the picture seed [004] saves
  const [img] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: '下载证书' }).click()]);
  const pngOut = path.join(out, 'certificate.png');
  await img.saveAs(pngOut);
  L.check(/\.png$/.test(img.suggestedFilename()) && readFileSync(pngOut).subarray(1, 4).toString() === 'PNG', `下载证书 saves a PNG (${img.suggestedFilename()})`);
  const downloads = await L.sqlValue(`SELECT COUNT(*) FROM audit_log WHERE action = 'certificate_download' AND entity_id = '${p.eid}'`);
  L.check(downloads === '2', `the downloads are audited (${downloads})`);
  // the first page as an image, kept with the screenshots
  try {
    execFileSync('/usr/bin/pdftoppm', ['-png', '-r', '60', '-singlefile', pdfOut, path.join(out, 'certificate-pdf')]);
  } catch {
    /* pdftoppm is poppler-utils too; the text check above is the test */
  }

  // -- 3. the verification page, not logged in: genuine, forged, revoked
  const anon = await (await pw.chromium.launch({ executablePath: L.CHROMIUM, headless: true, args: ['--no-sandbox', '--headless'] })).newContext({ locale: 'zh-CN' });
  const v = await anon.newPage();
  await v.goto(m[0]);
  const res = v.locator('#verify-result');
  await res.locator('h2', { hasText: '证书真实有效' }).waitFor();
  const shown = await res.textContent();
  L.check(shown.includes('陈书华') && shown.includes(certNo) && shown.includes('合格'), `genuine: ${shown}`);
  L.check(!shown.includes(idn) && shown.includes(idn.slice(0, 3)) && shown.includes('*'), 'the ID number is masked on the public page');
  await L.shot(v, 'verify-genuine');
  const forged = code.split('').reverse().join('') === code ? '0'.repeat(20) : code.split('').reverse().join('');
  await v.getByLabel('验证码').fill(forged);
  await v.getByRole('button', { name: '核验' }).click();
  await res.locator('h2', { hasText: '查无此证书' }).waitFor();
  L.check((await res.textContent()).includes('伪造'), 'a forged code is called so');
  await L.shot(v, 'verify-forged');
  await L.sql(`UPDATE enrolment SET status = '待确认补考', result = NULL WHERE id = ${p.eid}`); // as after 认定作弊
  await v.goto(m[0]);
  await res.locator('h2', { hasText: '证书已撤销' }).waitFor();
  await L.shot(v, 'verify-revoked');
  await L.sql(`UPDATE enrolment SET status = '考核完成', result = '合格' WHERE id = ${p.eid}`);
  await anon.browser().close();

  L.noErrors(ctx);
  L.log('exports: 导出 Excel opens in openpyxl; 下载 PDF reads in pdftotext; the public check says genuine, forged and revoked');
});
