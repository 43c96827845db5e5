// pages/progress.js - 进度管理 and results: 考核进度 (filters 考核程序 and 考核状态), 测评进度
// (one row per physician and paper: 试卷名称, 测评结果, 测评状态), 历史考核结果 (every cycle,
// 免考状态, 考核结果) and the pass certificate, a printable page (A4, Chinese serif font,
// @media print leaves only the certificate) valid with the issuing authority's seal.
// The authority sees the same lists for its region with an institution filter. Each list
// downloads as admind's spreadsheet (导出 Excel: ?format=xlsx with the filters shown); the
// certificate downloads as admind's PDF (下载 PDF: ?format=pdf, with its QR code).

import * as api from '../api.js';
import { certificateElement } from '../../shared/certificate.js';
import { h, card, btn, link, tag, listView, fmtDate, paperName, toast, showError } from '../ui.js';

const STATUSES = ['待报名', '待报名（被机构驳回）', '待医疗卫生机构审核', '待医疗卫生机构审核（被考核机构驳回）', '待考核机构复核', '待参加考核', '待确认补考', '待参加补考', '考核完成', '退出本周期'];

// the institutions an authority may filter on (its region; the first 500 by code)
let instCache = null;
export async function regionInstitutions() {
  if (!instCache) instCache = (await api.get('/authority/institutions?page_size=500')).items;
  return instCache;
}

async function instFilter(ctx) {
  if (ctx.mode !== 'authority') return [];
  const list = await regionInstitutions();
  return [{ name: 'institution_id', label: '医疗卫生机构', type: 'select', options: list.map((i) => [String(i.id), i.name]), placeholderOption: '全部机构' }];
}

// 导出 Excel: the list (its filters, every page) as admind's XLSX, saved as <name>-<date>.xlsx.
export function exportButton(list, path, name) {
  return btn('导出 Excel', async () => {
    const p = list.params();
    delete p.page;
    delete p.page_size;
    const d = new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10).replace(/-/g, '');
    try {
      await api.download(path + api.qs({ ...p, format: 'xlsx' }), `${name}-${d}.xlsx`);
      toast('已导出 Excel 文件');
    } catch (e) {
      showError(e);
    }
  });
}

const canPrint = (r) => r.status === '考核完成' && r.result === '合格';

export async function progress(ctx) {
  const auth = ctx.mode === 'authority';
  const list = listView({
    filters: [
      ...(await instFilter(ctx)),
      { name: 'procedure', label: '考核程序', type: 'select', options: ['一般程序', '简易程序'], placeholderOption: '全部' },
      { name: 'status', label: '考核状态', type: 'select', options: STATUSES, placeholderOption: '全部' },
      { name: 'name', label: '姓名' },
      { name: 'id_number', label: '证件号码' },
    ],
    columns: [
      { title: '序号', render: (r, i) => i + 1, width: '56px' },
      auth ? { title: '医疗卫生机构', key: 'institution_name' } : { title: '科室', render: (r) => r.department_name || '—' },
      { title: '姓名', key: 'name' },
      { title: '年龄', key: 'age', width: '56px' },
      { title: '证件号码', key: 'id_number' },
      { title: '执业类别', key: 'practice_category' },
      { title: '医师级别', key: 'practice_level' },
      { title: '考核机构', render: (r) => r.assessor_name || '—' },
      { title: '考核程序', render: (r) => r.procedure_type || '—' },
      { title: '考核状态', render: (r) => tag(r.status) },
      { title: '考核结果', render: (r) => (r.result ? h('span', { title: r.result_reason || '' }, tag(r.result), r.result === '不合格' && r.result_reason ? h('small', { class: 'muted' }, ' ' + r.result_reason) : '') : '') },
      {
        title: '操作',
        render: (r) => h('div', { class: 'ops' }, link('查看', () => ctx.go('review/' + r.enrolment_id)), canPrint(r) && link('打印', () => ctx.go('certificate/' + r.enrolment_id))),
      },
    ],
    fetch: (p) => api.get('/institution/progress' + api.qs(p)),
    toolbar: (l) => [exportButton(l, '/institution/progress', '考核进度')],
    cols: auth ? 5 : 4,
  });
  await list.load(1);
  return card('考核进度', list.el);
}

export async function testProgress(ctx) {
  const auth = ctx.mode === 'authority';
  const list = listView({
    filters: [
      ...(await instFilter(ctx)),
      { name: 'procedure', label: '考核程序', type: 'select', options: ['一般程序', '简易程序'], placeholderOption: '全部' },
      { name: 'paper', label: '试卷名称', type: 'select', options: [['公共知识', '人文医学（公共知识）'], ['业务水平', '业务水平']], placeholderOption: '全部' },
      { name: 'test_status', label: '测评状态', type: 'select', options: ['已完成', '未完成', '免考'], placeholderOption: '全部' },
      { name: 'result', label: '测评结果', type: 'select', options: ['合格', '不合格'], placeholderOption: '全部' },
      { name: 'name', label: '姓名' },
      { name: 'id_number', label: '证件号码' },
    ],
    columns: [
      { title: '序号', render: (r, i) => i + 1, width: '56px' },
      auth ? { title: '医疗卫生机构', key: 'institution_name' } : { title: '科室', render: (r) => r.department_name || '—' },
      { title: '姓名', key: 'name' },
      { title: '证件号码', key: 'id_number' },
      { title: '执业类别', key: 'practice_category' },
      { title: '考核机构', render: (r) => r.assessor_name || '—' },
      { title: '考核程序', key: 'procedure_type' },
      { title: '试卷名称', render: (r) => paperName(r.paper) },
      { title: '得分', render: (r) => (r.score === null || r.score === undefined ? '—' : `${r.score} / ${r.total}`) },
      { title: '测评结果', render: (r) => h('span', null, tag(r.result), r.cheating_confirmed ? tag('认定作弊', 'red') : '') },
      { title: '测评状态', render: (r) => tag(r.test_status) },
      { title: '次数', render: (r) => (r.attempts > 1 ? '补考' : r.attempts ? '首次' : '—') },
      { title: '操作', render: (r) => link('查看', () => ctx.go(`review/${r.enrolment_id}`)) },
    ],
    fetch: (p) => api.get('/institution/test-progress' + api.qs(p)),
    toolbar: (l) => [exportButton(l, '/institution/test-progress', '测评进度')],
    cols: 4,
  });
  await list.load(1);
  return card('测评进度', list.el);
}

export async function history(ctx) {
  const auth = ctx.mode === 'authority';
  const cycles = (await api.get('/cycles')).items;
  const list = listView({
    filters: [
      { name: 'cycle_id', label: '考核周期', type: 'select', options: cycles.map((c) => [String(c.id), `${c.code} ${c.name}`]), placeholderOption: '全部周期' },
      ...(await instFilter(ctx)),
      { name: 'name', label: '姓名' },
      { name: 'id_number', label: '证件号码' },
      { name: 'result', label: '考核结果', type: 'select', options: ['合格', '不合格'], placeholderOption: '全部' },
    ],
    columns: [
      { title: '考核周期', render: (r) => `${r.cycle_code} ${r.cycle_name}` },
      auth && { title: '医疗卫生机构', key: 'institution_name' },
      { title: '姓名', key: 'name' },
      { title: '证件号码', key: 'id_number' },
      { title: '执业类别', key: 'practice_category' },
      { title: '考核程序', render: (r) => r.procedure_type || '—' },
      { title: '考核状态', render: (r) => tag(r.status) },
      { title: '免考状态', render: (r) => tag(r.exemption_status) },
      { title: '考核结果', render: (r) => tag(r.result) || '—' },
      { title: '完成时间', render: (r) => fmtDate(r.completed_at) },
      { title: '操作', render: (r) => h('div', { class: 'ops' }, link('查看', () => ctx.go('review/' + r.enrolment_id)), r.certificate && link('合格证书', () => ctx.go('certificate/' + r.enrolment_id))) },
    ].filter(Boolean),
    fetch: (p) => api.get('/institution/history' + api.qs(p)),
    toolbar: (l) => [exportButton(l, '/institution/history', '历史考核结果')],
  });
  await list.load(1);
  return card('历史考核结果查询', list.el);
}

// ---- the certificate ---------------------------------------------------------------------------------------

const cn = (d) => {
  if (!d) return '';
  const s = fmtDate(d);
  const [y, m, dd] = s.split('-');
  return `${y} 年 ${Number(m)} 月 ${Number(dd)} 日`;
};

export async function certificate(ctx) {
  const eid = ctx.params[0];
  let c;
  try {
    c = await api.get(`/enrolments/${eid}/certificate`);
  } catch (e) {
    return card('合格证书', h('div', { class: 'load-error' }, e.message));
  }
  const p = c.physician;
  const photo = h('div', { class: 'cert-photo' }, '照片');
  if (c.has_photo) {
    api.blobUrl(`/physicians/${p.id}/photo`).then(
      (u) => photo.replaceChildren(h('img', { src: u, alt: `${p.name}的照片` })),
      () => {},
    );
  }
  const cert = h('div', { class: 'cert-scroll' }, certificateElement(c, { photo, dateCn: cn }));
  return h(
    'div',
    { class: 'cert-page' },
    h(
      'div',
      { class: 'no-print row-actions cert-tools' },
      btn('打印', () => window.print(), 'primary'),
      btn('下载证书', () => api.download(`/enrolments/${eid}/certificate?format=png`, `合格证书-${c.cert_no}.png`).catch(showError)),
      btn('下载 PDF', () => api.download(`/enrolments/${eid}/certificate?format=pdf`, `合格证书-${c.cert_no}.pdf`).catch(showError)),
      btn('返回', () => window.history.back()), h('span', { class: 'muted small' }, '打印时请选择 A4 横向；证书加盖发证机关印章后有效。PDF 上的二维码可供任何人核验证书真伪。'),
    ),
    cert,
  );
}
