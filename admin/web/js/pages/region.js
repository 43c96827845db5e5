// pages/region.js - what an authority manages below itself and records about its area (issue
// 16): 下级部门与账号 (units and accounts below its own level: 新增, 编辑, 停用/启用, 重置密码 with
// the one-time activation code), the institution operations added to 机构账号 (编辑, 停用/启用,
// 批量开设 from CSV), 不良执业行为记录 (录入, 导入), 电子化注册 (the province's link and the register
// import with its per-line changes), 不合格处理 (注销注册 / 收回执业证书 recorded once each); and for
// institutions 考核统计, 补考管理 and 跟班带教修改申请. Imports are all or nothing: the answer's
// errors are listed by file line.

import * as api from '../api.js';
import { exportButton } from './progress.js';
import { h, card, btn, link, toast, modal, confirmBox, askReason, tag, listView, form, desc, table, fmtTime, fmtDate, showError, readFile, csvLine, saveText, filePicker, showActivation } from '../ui.js';

const LEVEL = { province: '省级', city: '市级', county: '县级' };

// ---- shared: the CSV import dialog ---------------------------------------

// opts: {title, path, head[], sample[], note, dryRun: bool, done(r) -> node}
export async function csvImport(opts, after) {
  const picker = filePicker({ accept: '.csv,text/csv', aria: '选择 CSV 文件', label: '选择 CSV 文件' });
  const result = h('div', { class: 'import-result', 'aria-live': 'polite' });
  const run = async (dry) => {
    const fl = picker.input.files[0];
    if (!fl) throw new Error('请选择要导入的 CSV 文件');
    const raw = await readFile(fl);
    try {
      const r = await api.call('POST', opts.path + (dry ? '?dry_run=1' : ''), { raw, ctype: 'text/csv' });
      result.replaceChildren(h('p', { class: 'import-sum ok' }, dry ? '检查完毕，文件可以导入：' : '导入完成：'), opts.done(r));
      return r;
    } catch (e) {
      const errs = (e.body && e.body.error && e.body.error.errors) || [];
      result.replaceChildren(
        h('p', { class: 'import-sum warn', role: 'alert' }, e.message),
        errs.length ? table([{ title: '行号', key: 'row', width: '70px' }, { title: '问题', key: 'error', cls: 'wrap' }], errs, { caption: '有问题的行（行号为 CSV 文件中的行，表头为第 1 行）' }).el : '',
      );
      throw Object.assign(e, { shown: true });
    }
  };
  const checkBtn = opts.dryRun && btn('检查文件', () => run(true).catch((e) => e.shown || showError(e)));
  let done = false;
  await modal({
    title: opts.title,
    width: 820,
    okText: '导入',
    body: h(
      'div',
      null,
      h('ol', { class: 'steps' }, h('li', null, `按模板填写（UTF-8 CSV，第一行为表头，带 * 的列必填）；${opts.note || ''}`, link('下载模板', () => saveText(csvLine(opts.head) + csvLine(opts.sample), opts.title + '模板.csv'))), h('li', null, '任何一行有问题，整个文件都不导入，请按行号改正后重新选择文件。')),
      h('div', { class: 'import-pick' }, picker.el, checkBtn),
      result,
    ),
    onOk: async () => {
      if (done) return true;
      try {
        await run(false);
      } catch (e) {
        if (e.shown) return false;
        throw e;
      }
      done = true;
      result.closest('.dialog').querySelector('.dialog-foot .btn.primary').textContent = '完成';
      if (after) after();
      return false;
    },
  });
}

// ---- 下级部门与账号 ---------------------------------------------------------------------------------------

export async function accounts(ctx) {
  const all = (await api.get('/authority/authorities')).items;
  const below = all.filter((a) => a.id !== ctx.me.authority.id);
  const canOpenUnit = ctx.me.authority.admin_level !== 'county';
  const unitOpts = below.map((a) => [String(a.id), `${a.name}（${LEVEL[a.admin_level]}，${a.code}）`]);
  const units = table(
    [
      { title: '部门', key: 'name' },
      { title: '级别', render: (a) => LEVEL[a.admin_level] },
      { title: '行政区划代码', key: 'code' },
      { title: '联系人', render: (a) => [a.contact_name, a.contact_phone].filter(Boolean).join(' ') || '—' },
      { title: '操作', render: (a) => link('编辑', () => editUnit(ctx, a)) },
    ],
    below,
    { empty: '本部门之下还没有下级卫生行政部门' },
  );
  const lv = listView({
    filters: [
      { name: 'authority_id', label: '所属部门', type: 'select', options: unitOpts, placeholderOption: '全部' },
      { name: 'q', label: '用户名或姓名' },
      { name: 'enabled', label: '状态', type: 'select', options: [['1', '启用'], ['0', '停用']], placeholderOption: '全部' },
    ],
    columns: [
      { title: '用户名', key: 'username' },
      { title: '姓名', key: 'display_name' },
      { title: '所属部门', render: (r) => `${r.authority_name}（${LEVEL[r.admin_level]}）` },
      { title: '状态', render: (r) => (!r.enabled ? tag('已停用', 'grey') : r.must_change_password ? tag('未激活', 'orange') : tag('正常', 'green')) },
      { title: '最近登录', render: (r) => fmtTime(r.last_login_at) },
      {
        title: '操作',
        render: (r) =>
          h(
            'div',
            { class: 'ops' },
            link('编辑', () => editAccount(lv, r)),
            link(r.enabled ? '停用' : '启用', () => toggleAccount(lv, r)),
            link('重置密码', () => resetAccount(lv, r)),
          ),
      },
    ],
    fetch: (p) => api.get('/authority/accounts' + api.qs(p)),
    toolbar: [btn('新增账号', () => newAccount(lv, unitOpts), 'primary')],
    empty: '暂无下级部门账号',
  });
  await lv.load(1);
  return h(
    'div',
    null,
    card('下级卫生行政部门', units.el, canOpenUnit && btn('新增下级部门', () => newUnit(ctx, all))),
    card('下级部门账号', h('div', null, h('p', { class: 'muted' }, ctx.province ? '省级卫生行政部门开设、管理市级和县级部门的账号；' : '市级卫生行政部门开设、管理所辖县级部门的账号；', '新账号和重置后的密码为 666666，首次登录须填写激活码并修改密码。停用或重置立即使该账号已登录的会话失效。'), lv.el)),
  );
}

async function newUnit(ctx, all) {
  const parents = all.filter((a) => a.admin_level !== 'county');
  const f = form([
    { name: 'parent_id', label: '上级部门', type: 'select', required: true, options: parents.map((a) => [String(a.id), `${a.name}（${LEVEL[a.admin_level]}）`]), placeholderOption: false },
    { name: 'code', label: '行政区划代码', required: true, attrs: { maxlength: 6, inputmode: 'numeric' }, placeholder: '6 位数字' },
    { name: 'name', label: '部门名称', required: true, attrs: { maxlength: 64 }, wide: true },
    { name: 'contact_name', label: '联系人', attrs: { maxlength: 64 } },
    { name: 'contact_phone', label: '联系电话', attrs: { maxlength: 32 } },
  ]);
  f.set('parent_id', String(ctx.me.authority.id));
  const ok = await modal({
    title: '新增下级部门',
    body: f.el,
    onOk: async () => {
      const v = f.check();
      const body = { parent_id: Number(v.parent_id), code: v.code, name: v.name };
      if (v.contact_name) body.contact_name = v.contact_name;
      if (v.contact_phone) body.contact_phone = v.contact_phone;
      await api.post('/authority/authorities', body);
    },
  });
  if (ok) {
    toast('已新增下级部门');
    ctx.refresh();
  }
}

async function editUnit(ctx, a) {
  const f = form([
    { name: 'name', label: '部门名称', required: true, attrs: { maxlength: 64 }, wide: true },
    { name: 'contact_name', label: '联系人', attrs: { maxlength: 64 } },
    { name: 'contact_phone', label: '联系电话', attrs: { maxlength: 32 } },
  ]).fill(a);
  const ok = await modal({ title: `编辑 ${a.name}`, body: f.el, onOk: () => api.put(`/authority/authorities/${a.id}`, f.check()) });
  if (ok) {
    toast('已保存');
    ctx.refresh();
  }
}

async function newAccount(lv, unitOpts) {
  if (!unitOpts.length) return showError(new Error('请先新增下级卫生行政部门'));
  const f = form([
    { name: 'authority_id', label: '所属部门', type: 'select', required: true, options: unitOpts, placeholderOption: false },
    { name: 'username', label: '用户名', required: true, attrs: { maxlength: 32, autocomplete: 'off' }, placeholder: '3–32 位字母、数字或 - _ .' },
    { name: 'display_name', label: '姓名', required: true, attrs: { maxlength: 64 } },
  ]);
  let made = null;
  const ok = await modal({
    title: '新增账号',
    body: f.el,
    onOk: async () => {
      const v = f.check();
      made = await api.post('/authority/accounts', { authority_id: Number(v.authority_id), username: v.username, display_name: v.display_name });
    },
  });
  if (!ok) return;
  await showActivation('账号已开设', [['用户名', h('strong', null, made.username)], ['初始密码', made.initial_password], ['激活码', h('strong', { class: 'activation-code' }, made.activation_code)]]);
  lv.reload();
}

async function editAccount(lv, r) {
  const f = form([{ name: 'display_name', label: '姓名', required: true, attrs: { maxlength: 64 } }]).fill(r);
  const ok = await modal({ title: `编辑账号 ${r.username}`, body: f.el, onOk: () => api.put(`/authority/accounts/${r.id}`, f.check()) });
  if (ok) {
    toast('已保存');
    lv.reload();
  }
}

async function toggleAccount(lv, r) {
  const what = r.enabled ? '停用' : '启用';
  if (!(await confirmBox(`${what}账号`, `${what}账号「${r.username}」（${r.display_name}）？${r.enabled ? '停用后该账号立即退出登录且不能再登录。' : ''}`, { danger: !!r.enabled, okText: what }))) return;
  try {
    await api.post(`/authority/accounts/${r.id}/${r.enabled ? 'disable' : 'enable'}`);
    toast(`已${what}`);
    lv.reload();
  } catch (e) {
    showError(e);
  }
}

async function resetAccount(lv, r) {
  if (!(await confirmBox('重置密码', `将账号「${r.username}」的密码重置为 666666？该账号立即退出登录，下次登录须填写新的激活码并修改密码。`))) return;
  try {
    const made = await api.post(`/authority/accounts/${r.id}/reset-password`);
    await showActivation('密码已重置', [['用户名', h('strong', null, made.username)], ['初始密码', made.initial_password], ['激活码', h('strong', { class: 'activation-code' }, made.activation_code)]]);
    lv.reload();
  } catch (e) {
    showError(e);
  }
}

// ---- institutions of the area: the operations 机构账号 adds --------------------------------------------

export function institutionOps(lv, r) {
  return [
    link('编辑', () => editInstitution(lv, r)),
    link(r.enabled ? '停用' : '启用', async () => {
      const what = r.enabled ? '停用' : '启用';
      if (!(await confirmBox(`${what}机构账号`, `${what}「${r.name}」（${r.code}）？${r.enabled ? '停用后该机构立即退出登录且不能再登录。' : ''}`, { danger: !!r.enabled, okText: what }))) return;
      try {
        await api.post(`/authority/institutions/${r.id}/${r.enabled ? 'disable' : 'enable'}`);
        toast(`已${what}`);
        lv.reload();
      } catch (e) {
        showError(e);
      }
    }),
  ];
}

async function editInstitution(lv, r) {
  const f = form([
    { name: 'name', label: '机构名称', required: true, attrs: { maxlength: 128 }, wide: true },
    { name: 'inst_type', label: '机构类别', type: 'select', options: ['医院', '基层医疗卫生机构', '专业公共卫生机构', '行业组织', '学术组织', '其他'] },
    { name: 'inst_level', label: '机构级别', type: 'select', options: ['三级甲等', '三级乙等', '三级', '二级甲等', '二级乙等', '二级', '一级', '未定级'] },
    { name: 'ownership', label: '经营性质', type: 'select', options: ['公立', '非公立'] },
    { name: 'contact_name', label: '联系人', attrs: { maxlength: 64 } },
    { name: 'contact_phone', label: '联系电话', attrs: { maxlength: 32 } },
  ]).fill(r);
  const ok = await modal({
    title: `编辑 ${r.code}`,
    width: 720,
    body: f.el,
    onOk: async () => {
      const v = f.check();
      const body = {};
      for (const [k, x] of Object.entries(v)) body[k] = x || null;
      body.name = v.name;
      await api.put(`/authority/institutions/${r.id}`, body);
    },
  });
  if (ok) {
    toast('已保存');
    lv.reload();
  }
}

export function importInstitutions(lv) {
  return csvImport(
    {
      title: '批量开设机构账号',
      path: '/authority/institutions/import',
      head: ['机构名称*', '行政区划代码', '机构类别', '机构级别', '经营性质', '联系人', '联系电话'],
      sample: ['某某县人民医院', '140105', '医院', '二级甲等', '公立', '张三', '0351-1234567'],
      note: '行政区划代码为空时开设在本部门；一次最多 200 行。',
      done: (r) =>
        h(
          'div',
          null,
          h('p', null, `已开设 ${r.imported} 个机构账号，初始密码 ${r.initial_password}。激活码仅显示这一次，请下载或抄送给各机构。`),
          btn('下载账号与激活码', () => saveText(csvLine(['行号', '机构账号', '机构名称', '激活码']) + r.created.map((c) => csvLine([String(c.row), c.code, c.name, c.activation_code])).join(''), '机构账号与激活码.csv')),
          table([{ title: '行号', key: 'row', width: '60px' }, { title: '机构账号', key: 'code' }, { title: '机构名称', key: 'name' }, { title: '激活码', render: (c) => h('strong', { class: 'activation-code' }, c.activation_code) }], r.created).el,
        ),
    },
    () => lv.reload(),
  );
}

// ---- 不良执业行为记录 ------------------------------------------------------------------------------------

export async function conduct() {
  const lv = listView({
    filters: [
      { name: 'name', label: '姓名' },
      { name: 'id_number', label: '证件号码', placeholder: '15 位或 18 位' },
      { name: 'kind', label: '类别', type: 'select', options: ['不良', '良好'], placeholderOption: '全部' },
    ],
    columns: [
      { title: '姓名', key: 'name' },
      { title: '证件号码', key: 'id_number' },
      { title: '执业机构', key: 'physician_institution' },
      { title: '类别', render: (r) => tag(r.kind, r.kind === '不良' ? 'red' : 'green') },
      { title: '医疗卫生机构', key: 'institution_name' },
      { title: '结案时间', render: (r) => fmtDate(r.closed_on) },
      { title: '处理结果', key: 'outcome', cls: 'wrap' },
      { title: '记分', render: (r) => (r.points === null ? '—' : String(r.points)) },
      { title: '来源', key: 'source' },
    ],
    fetch: (p) => api.get('/authority/conduct-records' + api.qs(p)),
    toolbar: (l) => [btn('录入记录', () => newConduct(l), 'primary'), btn('导入记录', () => importConduct(l))],
    empty: '暂无执业行为记录',
  });
  await lv.load(1);
  return card('不良执业行为记录', h('div', null, h('p', { class: 'muted' }, '卫生行政部门录入辖区医师的执业行为记录（结案时间、处理结果、记分），医疗卫生机构和考核机构审核时在「不良记录」中看到。'), lv.el));
}

async function newConduct(lv) {
  const f = form([
    { name: 'id_number', label: '医师证件号码', required: true, placeholder: '15 位或 18 位' },
    { name: 'kind', label: '类别', type: 'select', options: ['不良', '良好'], placeholderOption: false },
    { name: 'closed_on', label: '结案时间', type: 'date', required: true },
    { name: 'points', label: '记分', type: 'number', attrs: { min: 0, max: 100 } },
    { name: 'outcome', label: '处理结果', type: 'textarea', required: true, attrs: { maxlength: 1000 } },
  ]);
  const ok = await modal({
    title: '录入执业行为记录',
    width: 680,
    body: f.el,
    onOk: async () => {
      const v = f.check();
      const body = { id_number: v.id_number, kind: v.kind, closed_on: v.closed_on, outcome: v.outcome };
      if (v.points !== '') body.points = Number(v.points);
      await api.post('/authority/conduct-records', body);
    },
  });
  if (ok) {
    toast('已录入');
    lv.reload();
  }
}

function importConduct(lv) {
  return csvImport(
    {
      title: '导入执业行为记录',
      path: '/authority/conduct-records/import',
      head: ['证件号码*', '姓名*', '机构编码', '结案时间*', '处理结果*', '记分', '类别'],
      sample: ['140105199001011234', '张三', '140105H00001', '2024-03-01', '警告', '6', '不良'],
      note: '姓名须与证件号码一致；机构编码为空时记在医师所在机构；类别为空时为「不良」；一次最多 5000 行。',
      done: (r) => h('p', null, `已导入 ${r.imported} 条记录。`),
    },
    () => lv.reload(),
  );
}

// ---- 电子化注册 ----------------------------------------------------------------------------------------------

export async function registry(ctx) {
  const st = await api.get('/registry');
  const lines = h('div');
  const head = ['证件号码*', '姓名*', '机构编码*', '医师级别*', '执业类别*', '执业范围', '首次注册时间', '执业证书编码', '执业证取得时间'];
  const show = (r) =>
    h(
      'div',
      null,
      h('p', null, `共 ${r.rows} 行：新增 ${r.added}，变更 ${r.changed}，无变化 ${r.unchanged}。${r.dry_run ? '（检查结果，尚未写入）' : ''}`),
      table(
        [
          { title: '行号', key: 'row', width: '60px' },
          { title: '证件号码', key: 'id_number' },
          { title: '姓名', key: 'name' },
          { title: '结果', render: (l) => tag(l.outcome, l.outcome === '新增' ? 'green' : l.outcome === '变更' ? 'orange' : 'plain') },
          { title: '变更内容', cls: 'wrap', render: (l) => (l.changes || []).map((c) => `${c.label}：${c.from ?? '（空）'} → ${c.to}`).join('；') || (l.account ? `新账号 ${l.account}` : '—') },
        ],
        r.lines.slice(0, 500),
      ).el,
    );
  const toggle =
    ctx.province &&
    btn(st.linked ? '取消对接' : '设为已对接', async () => {
      const on = !st.linked;
      if (!(await confirmBox('医师电子化注册', on ? '设为已对接后，本省医疗卫生机构不能再手动新增或批量导入医师，医师信息由注册系统数据导入。确定？' : '取消对接后，医疗卫生机构可以手动新增医师。确定？'))) return;
      try {
        await api.put('/registry', { linked: on });
        toast('已保存');
        ctx.refresh();
      } catch (e) {
        showError(e);
      }
    });
  return card(
    '医师电子化注册',
    h(
      'div',
      null,
      desc([['所属省份', st.province_name], ['对接状态', st.linked ? tag('已对接', 'green') : tag('未对接', 'plain')]], 2),
      h('p', { class: 'muted' }, '已对接医师电子化注册系统的省份，所有医师信息均来自注册系统，不允许手动新增医师。导入注册系统数据：新的医师开设账号（初始密码 666666），已有医师按注册数据更新，结果逐行列出。'),
      h('div', { class: 'toolbar' }, toggle, btn('导入注册数据', () => csvImport({ title: '导入医师电子化注册数据', path: '/registry/import', head, sample: ['140105199001011234', '张三', '140105H00001', '执业医师', '临床', '内科专业', '2015-07-01', '110000000000001', '2015-06-20'], note: '一次最多 5000 行；可先「检查文件」查看每一行会新增、变更还是无变化。', dryRun: true, done: (r) => (lines.replaceChildren(show(r)), show(r)) }), 'primary')),
      lines,
    ),
  );
}

// ---- 不合格处理 ----------------------------------------------------------------------------------------------

export async function failed() {
  const lv = listView({
    filters: [
      { name: 'name', label: '姓名' },
      { name: 'id_number', label: '证件号码' },
      { name: 'done', label: '处理状态', type: 'select', options: [['0', '待处理'], ['1', '已处理完毕']], placeholderOption: '全部' },
    ],
    defaults: { done: '0' },
    columns: [
      { title: '周期', key: 'cycle_code', width: '60px' },
      { title: '姓名', key: 'name' },
      { title: '证件号码', key: 'id_number' },
      { title: '执业机构', key: 'institution_name' },
      { title: '执业证书编码', render: (r) => r.practice_cert_no || '—' },
      { title: '不合格原因', render: (r) => r.result_reason || '—' },
      { title: '考核完成', render: (r) => fmtDate(r.completed_at) },
      { title: '已办理', cls: 'wrap', render: (r) => (r.actions_done.length ? r.actions_done.map((a) => h('div', null, `${a.action}：${fmtDate(a.done_on)} ${a.done_by}${a.document_no ? '（' + a.document_no + '）' : ''}`)) : '—') },
      { title: '待办理', render: (r) => (r.next.length ? r.next.map((n) => tag(n, 'orange')) : tag('已处理完毕', 'green')) },
      { title: '操作', render: (r) => h('div', { class: 'ops' }, r.next.map((n) => link('记录' + n, () => record(lv, r, n)))) },
    ],
    fetch: (p) => api.get('/authority/failed' + api.qs(p)),
    toolbar: (l) => [exportButton(l, '/authority/failed', '考核不合格名单')],
    empty: '没有考核不合格的医师',
  });
  await lv.load(1);
  return card('不合格处理', h('div', null, h('p', { class: 'muted' }, '对考核不合格的医师，由卫生健康行政部门注销注册，收回医师执业证书（《医师定期考核管理办法》）。办理后在此记录办理日期和文号，每项只记录一次。'), lv.el));
}

async function record(lv, r, action) {
  const f = form([
    { name: 'done_on', label: '办理日期', type: 'date', required: true },
    { name: 'document_no', label: '文号', attrs: { maxlength: 64 } },
    { name: 'note', label: '备注', type: 'textarea', attrs: { maxlength: 1000 } },
  ]);
  f.set('done_on', new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10));
  const ok = await modal({
    title: `记录${action}：${r.name}`,
    body: f.el,
    onOk: async () => {
      const v = f.check();
      const body = { action, done_on: v.done_on };
      if (v.document_no) body.document_no = v.document_no;
      if (v.note) body.note = v.note;
      await api.post(`/authority/failed/${r.enrolment_id}/actions`, body);
    },
  });
  if (ok) {
    toast(`已记录${action}`);
    lv.reload();
  }
}

// ---- the institution: 考核统计, 补考管理, 跟班带教修改申请 --------------------------------------------------

export async function instStats() {
  const r = await api.get('/institution/stats');
  const cols = [
    { title: '科室', render: (x) => x.department_name || '合计' },
    { title: '确认参加', key: 'confirmed' },
    { title: '已填报', key: 'submitted' },
    { title: '已审核', key: 'reviewed' },
    { title: '考核完成', key: 'completed' },
    { title: '合格', key: 'passed' },
    { title: '不合格', key: 'failed' },
    { title: '退出本周期', key: 'withdrawn' },
    { title: '报名完成率', render: (x) => `${x.rates.registration.percent ?? 0}%` },
    { title: '最终完成率', render: (x) => `${x.rates.final.percent ?? 0}%` },
  ];
  return card('考核统计', h('div', null, h('p', { class: 'muted' }, '本机构参加本周期考核的医师，按科室统计。'), table(cols, [...r.items, { ...r.total, rates: r.rates, department_name: '合计' }], { empty: '本周期还没有确认参加的医师' }).el));
}

export async function makeups() {
  const lv = listView({
    filters: [
      { name: 'name', label: '姓名' },
      { name: 'status', label: '考核状态', type: 'select', options: ['待确认补考', '待参加补考', '考核完成'], placeholderOption: '全部' },
    ],
    columns: [
      { title: '姓名', key: 'name' },
      { title: '证件号码', key: 'id_number' },
      { title: '考核程序', key: 'procedure_type' },
      { title: '不合格的测评', render: (r) => (r.failed_papers || '—').replace('公共知识', '人文医学') },
      { title: '考核状态', render: (r) => tag(r.status + (r.result ? ' ' + r.result : ''), r.status === '待参加补考' ? 'cyan' : r.status === '待确认补考' ? 'orange' : 'plain') },
      { title: '补考确认', render: (r) => (r.makeup_decision ? `${r.makeup_decision}（${fmtTime(r.makeup_decided_at)}）` : '等待省级卫生行政部门确认') },
      { title: '理由', cls: 'wrap', render: (r) => r.makeup_reason || '—' },
    ],
    fetch: (p) => api.get('/institution/makeups' + api.qs(p)),
    empty: '本周期没有需要补考的医师',
  });
  await lv.load(1);
  return card('补考管理', h('div', null, h('p', { class: 'muted' }, '首次测评不合格的医师由省级卫生行政部门确认是否允许补考；确认后在补考时间内参加补考。'), lv.el));
}

export async function teaching() {
  const lv = listView({
    filters: [
      { name: 'name', label: '姓名' },
      { name: 'status', label: '状态', type: 'select', options: ['待审核', '通过', '驳回'], placeholderOption: '全部' },
    ],
    defaults: { status: '待审核' },
    columns: [
      { title: '姓名', key: 'name' },
      { title: '科室', render: (r) => r.department_name || '—' },
      { title: '原带教情况', cls: 'wrap', render: (r) => (r.current_trainees === null ? '未填报' : `${r.current_trainees} 人，${r.current_hours} 学时；${r.current_description || ''}`) },
      { title: '申请修改为', cls: 'wrap', render: (r) => `${r.trainees} 人，${r.hours} 学时；${r.description}` },
      { title: '修改原因', key: 'reason', cls: 'wrap' },
      { title: '申请时间', render: (r) => fmtTime(r.created_at) },
      { title: '状态', render: (r) => tag(r.status, r.status === '待审核' ? 'orange' : r.status === '通过' ? 'green' : 'red') },
      {
        title: '操作',
        render: (r) =>
          r.status === '待审核' &&
          h(
            'div',
            { class: 'ops' },
            link('通过', async () => {
              try {
                await api.post(`/institution/teaching-requests/${r.id}/actions/approve`, { version: r.version });
                toast('已通过，带教情况已更新');
                lv.reload();
              } catch (e) {
                showError(e);
              }
            }),
            link('驳回', () =>
              askReason('驳回跟班带教修改申请', '驳回理由', {
                onOk: async (reason) => {
                  await api.post(`/institution/teaching-requests/${r.id}/actions/reject`, { version: r.version, reason });
                  toast('已驳回');
                  lv.reload();
                },
              }),
            ),
          ),
      },
    ],
    fetch: (p) => api.get('/institution/teaching-requests' + api.qs(p)),
    empty: '暂无跟班带教修改申请',
  });
  await lv.load(1);
  return card('跟班带教修改申请', h('div', null, h('p', { class: 'muted' }, '医师提交报名后如需修改本周期的跟班带教情况（带教人数、学时、说明），提出修改申请，由本机构审核：通过后带教情况按申请更新，驳回须说明理由。'), lv.el));
}

