// pages/physicians.js - 医师管理 → 医师列表 of the seed manuals: tabs 未确认参加 / 已确认参加 /
// 离岗, the filters 科室, 姓名, 证件号码 (15 or 18 digits), 年龄, 首次注册时间; 参加 and
// 批量参加 (this page's selection), 取消参加, 查看 (a drawer), 重置密码 (to 666666), 离岗,
// 删除; 新增医师, 批量导入医师 (CSV, checked first, every refused row with its reason),
// 导出 (the server's CSV, UTF-8 with BOM, with the filters of the page) and 调入 by ID
// number. Lists are paged by the server: 100,000 physicians are 10,000 pages, not one.

import * as api from '../api.js';
import { h, card, btn, link, toast, modal, confirmBox, askReason, tag, listView, form, drawer, desc, table, fmtDate, fmtTime, showError, readFile, csvLine, saveText, filePicker } from '../ui.js';

const TAB = { unconfirmed: '未确认参加', confirmed: '已确认参加', left: '离岗' };

let deptCache = null;
async function departments(force) {
  if (!deptCache || force) deptCache = (await api.get('/institution/departments')).items;
  return deptCache;
}

export async function page(ctx) {
  const depts = await departments(true);
  // seed 002: a province linked to 医师电子化注册 takes every physician from the registry
  const registry = await api.get('/registry').catch(() => ({ linked: false }));
  const manual = !registry.linked;
  const deptOpts = depts.map((d) => [String(d.id), d.name + (d.enabled ? '' : '（已停用）')]);
  const tab = ctx.params[0] && TAB[ctx.params[0]] ? ctx.params[0] : 'unconfirmed';
  const holder = h('div');

  const columns = () => {
    const cols = [
      { title: '序号', render: (r, i) => i + 1, width: '56px' },
      { title: '科室', render: (r) => r.department_name || '—' },
      { title: '姓名', key: 'name' },
      { title: '年龄', key: 'age', width: '56px' },
      { title: '证件号码', key: 'id_number' },
      { title: '执业类别', key: 'practice_category' },
      { title: '医师级别', key: 'practice_level' },
      { title: '执业证取得时间', render: (r) => fmtDate(r.practice_cert_date) },
      { title: '首次注册时间', render: (r) => h('span', null, fmtDate(r.first_registration_date), r.deferred && tab === 'unconfirmed' ? [' ', tag('推迟至下一周期', 'grey')] : null) },
    ];
    if (tab === 'confirmed') cols.push({ title: '考核程序', render: (r) => r.procedure_type || '—' }, { title: '本周期状态', render: (r) => tag(r.enrolment_status) });
    cols.push({ title: '操作', cls: 'ops-col', render: (r) => rowOps(r) });
    return cols;
  };

  const rowOps = (r) => {
    const ops = [];
    if (tab === 'unconfirmed') ops.push(link('参加', () => confirmOne(r)));
    if (tab === 'confirmed') ops.push(link('取消参加', () => cancelOne(r)));
    ops.push(link('查看', () => showPhysician(r.physician_id)));
    if (tab !== 'left') ops.push(link('重置密码', () => resetPassword(r)));
    if (tab === 'unconfirmed') ops.push(link('离岗', () => leave(r)), link('删除', () => remove(r), 'danger'));
    return h('div', { class: 'ops' }, ops);
  };

  const act = async (fn, msg) => {
    try {
      await fn();
      toast(msg);
      list.reload();
    } catch (e) {
      showError(e);
    }
  };
  const confirmOne = (r) => act(() => api.post(`/institution/physicians/${r.physician_id}/confirm`), `已确认 ${r.name} 参加本周期考核`);
  const cancelOne = async (r) => {
    if (!(await confirmBox('取消参加', `取消 ${r.name} 参加本周期考核？医师提交报名后不能取消，需由上级卫生行政部门驳回。`))) return;
    act(() => api.post(`/institution/physicians/${r.physician_id}/cancel`), '已取消参加');
  };
  const resetPassword = async (r) => {
    if (!(await confirmBox('重置密码', `将 ${r.name}（${r.account}）的密码重置为初始密码 666666？医师下次登录时需修改密码。`))) return;
    act(() => api.post(`/institution/physicians/${r.physician_id}/reset-password`), '密码已重置为 666666');
  };
  const leave = async (r) => {
    const reason = await askReason('离岗', '离岗原因', { hint: '如离职、退休、调往其他机构。离岗后其他机构可按证件号码调入。', danger: false });
    if (reason === null) return;
    act(() => api.post(`/institution/physicians/${r.physician_id}/leave`, { reason }), `${r.name} 已离岗`);
  };
  const remove = async (r) => {
    if (!(await confirmBox('删除医师', `确认 ${r.name} 已不再执业，删除该医师？历史考核记录仍保留。`, { danger: true, okText: '删除' }))) return;
    act(() => api.del(`/institution/physicians/${r.physician_id}`), '医师已删除');
  };

  const fetch = (p) => {
    const q = { ...p, tab: tab === 'left' ? 'all' : tab, status: tab === 'left' ? '离岗' : '' };
    return api.get('/institution/physicians' + api.qs(q));
  };

  const list = listView({
      filters : [
          {
              name : 'department_id',
              label : '科室',
              type : 'select',
              options : deptOpts,
              placeholderOption : '全部科室'
          },
          {name : 'name', label : '姓名', placeholder : '姓名（可模糊）'},
          {name : 'id_number', label : '证件号码', placeholder : '15 位或 18 位'},
          {
              name : 'age',
              label : '年龄',
              type : 'range',
              names : [ 'age_min', 'age_max' ],
              inputType : 'number',
              labels : [ '年龄从', '年龄至' ],
              attrs : {min : 0, max : 150}
          },
          {
              name : 'first_reg',
              label : '首次注册时间',
              type : 'range',
              names : [ 'first_reg_from', 'first_reg_to' ],
              inputType : 'date',
              labels : [ '首次注册时间从', '首次注册时间至' ],
              span : 2
          },
          tab === 'unconfirmed' && {
              name : 'due',
              label : '本周期应考',
              type : 'select',
              // seed [000]: first registered in an even year -> the following cycle
              options : [ [ '1', '应参加本周期' ], [ '0', '偶数年注册，推迟一周期' ] ],
              placeholderOption : '全部'
          },
          {
              name : 'activated',
              label : '账号激活',
              type : 'select',
              options : [ [ '0', '未激活（初始密码）' ], [ '1', '已激活' ] ],
              placeholderOption : '全部'
          },
      ].filter(Boolean),
      columns : columns(),
      fetch,
      select : tab === 'unconfirmed' ? (r) => r.physician_id : undefined,
      toolbar :
          (l) => [tab === 'unconfirmed' && btn('批量参加', () => batchConfirm(l), 'primary'),
                  btn('导出', () => exportList(l, 'csv')),
                  btn('导出 Excel', () => exportList(l, 'xlsx')),
                  manual && tab !== 'left' && btn('新增医师', () => addPhysician(l, depts)),
                  manual && tab !== 'left' && btn('批量导入医师', () => importDialog(l)),
                  !manual && h('span', {class : 'muted small tool-note registry-note'},
                               '本省已对接医师电子化注册系统，医师信息均来自注册系统，不允许手动新增医师'),
                  btn('调入医师', () => transferIn(l, depts)),
                  h('span', {class : 'muted small tool-note'},
                    tab === 'unconfirmed' ? '勾选本页医师后点击「批量参加」，将其纳入本周期考核名单'
                                          : ''),
  ],
  });

  const tabBar = h(
    'div',
    { class: 'tabs', role: 'tablist' },
    Object.entries(TAB).map(([k, label]) => h('button', { type: 'button', role: 'tab', class: 'tab', 'aria-selected': String(k === tab), onclick: () => ctx.go('physicians/' + k) }, label)),
  );
  holder.append(tabBar, list.el);
  await list.load(1);
  return card('医师列表', holder);
}

// ---- actions on many --------------------------------------------------------------------------------

async function batchConfirm(list) {
  const ids = [...list.state.selected];
  if (!ids.length) return showError(new Error('请先勾选本页要参加本周期考核的医师'));
  if (!(await confirmBox('批量参加', `确认所选 ${ids.length} 位医师参加本周期考核？`))) return;
  const names = new Map(list.state.items.map((x) => [x.physician_id, x.name]));
  let todo = ids;
  let done = 0;
  try {
    for (;;) {
      const r = await api.post('/institution/physicians/confirm-batch', { physician_ids: todo });
      done += r.confirmed;
      if (!r.failed) break;
      const failed = r.results.filter((x) => !x.ok);
      // some failures pass (a record changed meanwhile, a busy database): offer to retry those
      const retry = await modal({
        title: '批量参加结果',
        okText: `重试失败的 ${failed.length} 人`,
        cancelText: '关闭',
        width: 640,
        body: h(
          'div',
          null,
          h('p', null, `成功 ${done} 人，失败 ${failed.length} 人：`),
          table(
            [
              { title: '医师', render: (x) => names.get(x.physician_id) || x.physician_id },
              { title: '原因', render: (x) => x.error.message, cls: 'wrap' },
            ],
            failed,
          ).el,
        ),
      });
      if (!retry) break;
      todo = failed.map((x) => x.physician_id);
    }
    if (done) toast(`已确认 ${done} 位医师参加本周期考核`);
    list.reload();
  } catch (e) {
    showError(e);
    list.reload();
  }
}

async function exportList(list, format) {
  const p = list.params();
  delete p.page;
  delete p.page_size;
  const tab = location.hash.includes('/confirmed') ? 'confirmed' : location.hash.includes('/left') ? 'left' : 'unconfirmed';
  const q = { ...p, tab: tab === 'left' ? 'all' : tab, status: tab === 'left' ? '离岗' : '' };
  try {
    const d = new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10).replace(/-/g, '');
    await api.download('/institution/physicians/export' + api.qs({ ...q, format }), `医师列表-${TAB[tab]}-${d}.${format}`);
    toast(format === 'xlsx' ? '已导出 Excel 文件' : '已导出（UTF-8 CSV，可用 Excel 打开）');
  } catch (e) {
    showError(e);
  }
}

// ---- one physician -------------------------------------------------------------------------------------

const PHYS_FIELDS = [
  { name: 'name', label: '姓名', required: true, attrs: { maxlength: 64 } },
  { name: 'id_type', label: '证件类型', type: 'select', options: ['居民身份证', '护照', '港澳居民来往内地通行证', '台湾居民来往大陆通行证'], placeholderOption: false },
  { name: 'id_number', label: '证件号码', required: true, attrs: { maxlength: 32 } },
  { name: 'sex', label: '性别', type: 'select', options: ['男', '女'], hint: '居民身份证可不填，按证件号码识别' },
  { name: 'birth_date', label: '出生日期', type: 'date' },
  { name: 'department_id', label: '科室', type: 'select' },
  { name: 'practice_level', label: '医师级别', type: 'select', options: ['执业医师', '执业助理医师'], required: true },
  { name: 'practice_category', label: '执业类别', type: 'select', options: ['临床', '中医', '口腔', '公共卫生'], required: true },
  { name: 'practice_scope', label: '执业范围', placeholder: '如：内科专业' },
  { name: 'specialty', label: '从事专业' },
  { name: 'title', label: '职称', placeholder: '如：中级（主治/主管）' },
  { name: 'practice_cert_no', label: '执业证书编码' },
  { name: 'practice_cert_date', label: '执业证取得时间', type: 'date' },
  { name: 'first_registration_date', label: '首次注册时间', type: 'date' },
  { name: 'mobile', label: '手机号码', attrs: { maxlength: 20 } },
];

async function addPhysician(list, depts) {
  const specs = PHYS_FIELDS.map((s) => (s.name === 'department_id' ? { ...s, options: depts.filter((d) => d.enabled).map((d) => [String(d.id), d.name]) } : s));
  const f = form(specs, { cols: 2 });
  f.set('id_type', '居民身份证');
  let created = null;
  const ok = await modal({
    title: '新增医师',
    width: 760,
    body: h('div', null, h('p', { class: 'muted small' }, '已接入医师电子化注册系统的省份，医师信息来自注册系统，不需手工新增。'), f.el),
    onOk: async () => {
      const v = f.check();
      const body = {};
      for (const [k, x] of Object.entries(v)) if (x !== '') body[k] = k === 'department_id' ? Number(x) : x;
      created = await api.post('/institution/physicians', body);
    },
  });
  if (!ok) return;
  await modal({
      title : '医师已新增',
      cancelText : null,
      body : h(
          'div',
          null,
          desc(
              [
                  [ '登录账号', h('strong', null, created.account) ],
                  [ '初始密码', created.initial_password ]
              ],
              2),
          h('p', {class : 'muted small'},
            '医师首次登录时须填写本人证件号码和姓名（与登记一致）以验证身份，并修改初始密码。'),
          ),
  });
  list.reload();
}

export async function showPhysician(pid) {
  const d = drawer('医师信息', h('p', { class: 'muted' }, '加载中…'));
  try {
    const x = await api.get(`/institution/physicians/${pid}`);
    const p = x.physician;
    let photo = h('div', { class: 'photo-box empty' }, '未上传照片');
    if (p.has_photo) {
      photo = h('img', { class: 'photo-box', alt: `${p.name}的本人照片` });
      api.blobUrl(`/physicians/${pid}/photo`).then((u) => (photo.src = u), () => {});
    }
    d.body.replaceChildren(
      h(
        'div',
        { class: 'person-head' },
        photo,
        desc(
          [
            ['姓名', p.name],
            ['性别', p.sex],
            ['年龄', p.age],
            ['证件类型', p.id_type],
            ['证件号码', p.id_number],
            ['出生日期', fmtDate(p.birth_date)],
            ['登录账号', p.account],
            ['状态', tag(p.status)],
            ['来源', p.source],
          ],
          3,
        ),
      ),
      h('h4', { class: 'sub' }, '执业信息'),
      desc([
        ['科室', p.department_name],
        ['从事专业', p.specialty],
        ['职称', p.title],
        ['职务', p.post],
        ['医师级别', p.practice_level],
        ['执业类别', p.practice_category],
        ['执业范围', p.practice_scope],
        ['执业证书编码', p.practice_cert_no],
        ['执业证取得时间', fmtDate(p.practice_cert_date)],
        ['首次注册时间', fmtDate(p.first_registration_date)],
        ['手机号码', p.mobile],
        ['最近登录', fmtTime(p.last_login_at)],
      ]),
      h('h4', { class: 'sub' }, '历次考核'),
      table(
        [
          { title: '周期', render: (r) => `${r.cycle_code} ${r.cycle_name}` },
          { title: '考核程序', render: (r) => r.procedure_type || '—' },
          { title: '状态', render: (r) => tag(r.status) },
          { title: '结果', render: (r) => tag(r.result) },
          { title: '操作', render: (r) => link('查看', () => ((location.hash = '#/review/' + r.enrolment_id), d.close())) },
        ],
        x.enrolments,
        { empty: '尚未参加考核' },
      ).el,
      x.transfers.length ? [h('h4', { class: 'sub' }, '调动记录'), table([{ title: '类型', key: 'kind' }, { title: '原机构', key: 'from_institution' }, { title: '新机构', key: 'to_institution' }, { title: '原因', key: 'reason' }, { title: '时间', render: (r) => fmtTime(r.created_at) }], x.transfers).el] : null,
    );
  } catch (e) {
    d.body.replaceChildren(h('div', { class: 'load-error' }, e.message));
  }
}

// ---- import ------------------------------------------------------------------------------------------------

const IMPORT_HEAD = ['姓名*', '证件类型', '证件号码*', '性别', '出生日期', '科室', '医师级别*', '执业类别*', '执业范围', '从事专业', '职称', '首次注册时间', '执业证取得时间', '执业证书编码', '手机号码'];

function template() {
  saveText(
    csvLine(IMPORT_HEAD) + csvLine(['张三', '居民身份证', '110101199003071234', '男', '1990-03-07', '内科', '执业医师', '临床', '内科专业', '心血管内科', '中级', '2015-07-01', '2015-06-20', '110000000000001', '13800000000']),
    '批量导入医师模板.csv',
  );
}

async function importDialog(list) {
  const picker = filePicker({ accept: '.csv,text/csv', aria: '选择 CSV 文件', label: '选择 CSV 文件' });
  const file = picker.input;
  const result = h('div', { class: 'import-result', 'aria-live': 'polite' });
  let dry = true;
  const run = async (dryRun) => {
    const fl = file.files[0];
    if (!fl) throw new Error('请选择要导入的 CSV 文件');
    const raw = await readFile(fl);
    const r = await api.call('POST', '/institution/physicians/import' + (dryRun ? '?dry_run=1' : ''), { raw, ctype: 'text/csv' });
    result.replaceChildren(
      h(
        'p',
        { class: r.failed ? 'import-sum warn' : 'import-sum ok' },
        dryRun ? `检查完毕：可导入 ${r.imported} 行，有问题 ${r.failed} 行。` : `导入完成：成功 ${r.imported} 行，失败 ${r.failed} 行。`,
      ),
      r.errors.length
        ? table(
            [
              { title: '行号', key: 'row', width: '70px' },
              { title: '问题', key: 'error', cls: 'wrap' },
            ],
            r.errors,
            { caption: '未能导入的行（行号为 CSV 文件中的行，表头为第 1 行）' },
          ).el
        : '',
      !dryRun && r.created.length
        ? table(
            [
              { title: '行号', key: 'row', width: '70px' },
              { title: '登录账号', key: 'account' },
            ],
            r.created.slice(0, 200),
            { caption: `已创建的医师账号（初始密码 666666）${r.created.length > 200 ? '，前 200 个' : ''}` },
          ).el
        : '',
    );
    return r;
  };
  const checkBtn = btn('检查文件', async () => {
    try {
      await run(true);
    } catch (e) {
      showError(e);
    }
  });
  let done = false;
  await modal({
    title: '批量导入医师',
    width: 760,
    okText: '导入',
    body: h(
      'div',
      null,
      h('ol', { class: 'steps' }, h('li', null, '下载模板，按模板填写（UTF-8 编码的 CSV，第一行为表头，带 * 的列必填，一次最多 5000 行）；', link('下载模板', template)), h('li', null, '选择文件，可先「检查文件」查看每一行的问题；'), h('li', null, '点击「导入」：有问题的行不导入，其余行导入。')),
      h('div', { class: 'import-pick' }, picker.el, checkBtn),
      result,
    ),
    onOk: async () => {
      if (done) return true;
      dry = false;
      await run(dry);
      done = true;
      const okBtn = result.closest('.dialog').querySelector('.dialog-foot .btn.primary');
      okBtn.textContent = '完成';
      checkBtn.disabled = true;
      list.reload();
      return false; // keep the dialog open to show the rows; 关闭 closes it
    },
  });
}

// ---- 调入 ----------------------------------------------------------------------------------------------------

async function transferIn(list, depts) {
  const f = form(
    [
      { name: 'id_number', label: '证件号码', required: true, placeholder: '15 位或 18 位身份证号码' },
      { name: 'department_id', label: '调入科室', type: 'select', options: depts.filter((d) => d.enabled).map((d) => [String(d.id), d.name]) },
    ],
    { cols: 2 },
  );
  const found = h('div', { class: 'transfer-found' });
  let candidate = null;
  const lookup = btn('查询', async () => {
    candidate = null;
    try {
      const id = f.get('id_number');
      if (id.length !== 15 && id.length !== 18) throw new Error('请输入 15 位或 18 位证件号码');
      const r = await api.get('/institution/transfer-candidates' + api.qs({ id_number: id }));
      if (!r.items.length) return found.replaceChildren(h('p', { class: 'muted' }, '没有找到该证件号码的医师'));
      candidate = r.items.find((x) => x.can_transfer) || null;
      found.replaceChildren(
        table(
          [
            { title: '姓名', key: 'name' },
            { title: '证件号码', key: 'id_number' },
            { title: '执业类别', key: 'practice_category' },
            { title: '原机构', key: 'institution_name' },
            { title: '状态', render: (x) => tag(x.status) },
            { title: '可调入', render: (x) => (x.can_transfer ? tag('是', 'green') : tag('否：仍在原机构在岗', 'grey')) },
          ],
          r.items,
        ).el,
      );
    } catch (e) {
      showError(e);
    }
  });
  const ok = await modal({
    title: '调入医师',
    width: 760,
    okText: '调入',
    body: h('div', null, h('p', { class: 'muted small' }, '从其他机构调来的医师，需原机构先办理离岗，再按证件号码调入本机构。'), f.el, h('div', { class: 'row-actions' }, lookup), found),
    onOk: async () => {
      const v = f.check();
      if (!candidate) throw new Error('请先查询，并确认该医师可以调入');
      const body = { id_number: v.id_number };
      if (v.department_id) body.department_id = Number(v.department_id);
      await api.post('/institution/physicians/transfer-in', body);
    },
  });
  if (ok) {
    toast('医师已调入本机构');
    list.reload();
  }
}
