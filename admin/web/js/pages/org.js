// pages/org.js - what an institution keeps about itself: 本机构信息 (the fields with a red *
// are required), 科室信息 (创建科室 with 关联诊疗科目, 停用/启用, 编辑, 删除 only when no
// physician is in it) and 申请考核机构 (once the authority opened the right: a note and the
// application forms as attachments; the status page with 周期, 申请时间, 审核时间, 审核状态).

import * as api from '../api.js';
import { h, card, form, btn, link, toast, modal, confirmBox, table, tag, fmtTime, desc, readFile, showError, empty, filePicker } from '../ui.js';

const INST_TYPES = ['医院', '基层医疗卫生机构', '专业公共卫生机构', '行业组织', '学术组织', '其他'];
const INST_LEVELS = ['三级甲等', '三级乙等', '三级', '二级甲等', '二级乙等', '二级', '一级', '未定级'];

export async function profile(ctx) {
  const p = await api.get('/institution/profile');
  const f = form([
    { name: 'name', label: '机构名称', readonly: true },
    { name: 'code', label: '机构账号', readonly: true },
    { name: 'inst_type', label: '机构类别', type: 'select', options: INST_TYPES, required: true },
    { name: 'inst_level', label: '机构级别', type: 'select', options: INST_LEVELS, required: true },
    { name: 'ownership', label: '经营性质', type: 'select', options: ['公立', '非公立'], required: true },
    { name: 'credit_code', label: '统一社会信用代码', attrs: { maxlength: 18 } },
    { name: 'license_no', label: '执业许可证登记号', attrs: { maxlength: 64 } },
    { name: 'legal_representative', label: '法定代表人', required: true, attrs: { maxlength: 64 } },
    { name: 'address', label: '地址', required: true, wide: true, attrs: { maxlength: 255 } },
    { name: 'postcode', label: '邮政编码', attrs: { maxlength: 6, inputmode: 'numeric' } },
    { name: 'contact_name', label: '联系人', required: true, attrs: { maxlength: 64 } },
    { name: 'contact_phone', label: '联系电话', required: true, attrs: { maxlength: 32 } },
    { name: 'email', label: '电子邮箱', type: 'email', attrs: { maxlength: 128 } },
  ]).fill(p);
  const status = h('div', { class: 'notice-line' });
  const showStatus = (d) =>
    status.replaceChildren(
      d.missing_required.length
        ? h('span', { class: 'tag orange' }, '信息待完善')
        : h('span', { class: 'tag green' }, '信息已完善'),
      d.info_completed_at ? h('span', { class: 'muted small' }, ` 首次提交于 ${fmtTime(d.info_completed_at)}`) : '',
      d.is_assessor ? h('span', { class: 'tag cyan' }, '考核机构') : '',
    );
  showStatus(p);
  const save = btn('提交', async () => {
    try {
      const v = f.check();
      delete v.name;
      delete v.code;
      save.disabled = true;
      const d = await api.put('/institution/profile', v);
      f.fill(d);
      showStatus(d);
      toast('本机构信息已保存');
    } catch (e) {
      showError(e);
    } finally {
      save.disabled = false;
    }
  }, 'primary');
  return h(
    'div',
    null,
    card('本机构信息', h('div', null, status, f.el, h('div', { class: 'form-actions' }, save, h('span', { class: 'muted small' }, '带 * 的为必填项'))), ),
    card(
      '隶属卫生行政部门',
      desc([
        ['名称', p.authority_name],
        ['联系人', p.authority_contact_name],
        ['联系电话', p.authority_contact_phone],
      ]),
    ),
  );
}

// ---- 科室信息 -----------------------------------------------------------------------------------------

let subjectsCache = null;
async function subjects() {
  if (!subjectsCache) subjectsCache = (await api.get('/subjects')).items;
  return subjectsCache;
}

async function deptDialog(d, reload) {
  const subs = await subjects();
  const f = form(
    [
      { name: 'name', label: '科室名称', required: true, attrs: { maxlength: 64 } },
      { name: 'subject_ids', label: '关联诊疗科目', type: 'checkboxes', required: true, options: subs.map((s) => [String(s.id), `${s.code} ${s.name}`]) },
    ],
    { cols: 1 },
  );
  if (d) f.fill({ name: d.name, subject_ids: d.subjects.map((s) => String(s.id)) });
  const ok = await modal({
    title: d ? '编辑科室' : '创建科室',
    width: 720,
    body: f.el,
    onOk: async () => {
      const v = f.check();
      const body = { name: v.name, subject_ids: v.subject_ids.map(Number) };
      if (d) await api.put(`/institution/departments/${d.id}`, body);
      else await api.post('/institution/departments', body);
    },
  });
  if (ok) {
    toast(d ? '科室已修改' : '科室已创建');
    reload();
  }
}

export async function departments(ctx) {
  const box = h('div');
  const reload = async () => {
    const { items } = await api.get('/institution/departments');
    const t = table(
      [
        { title: '序号', render: (r, i) => i + 1, width: '60px' },
        { title: '科室', key: 'name' },
        { title: '关联诊疗科目', render: (r) => r.subjects.map((s) => s.name).join('、'), cls: 'wrap' },
        { title: '医师数', key: 'physicians', width: '80px' },
        { title: '状态', render: (r) => tag(r.state, r.enabled ? 'green' : 'grey'), width: '90px' },
        {
          title: '操作',
          width: '200px',
          render: (r) =>
            h(
              'div',
              { class: 'ops' },
              link(r.enabled ? '停用' : '启用', async () => {
                try {
                  await api.post(`/institution/departments/${r.id}/${r.enabled ? 'disable' : 'enable'}`);
                  toast(r.enabled ? '已停用，医师不能再选择该科室' : '已启用');
                  reload();
                } catch (e) {
                  showError(e);
                }
              }),
              link('编辑', () => deptDialog(r, reload)),
              link('删除', async () => {
                if (r.physicians > 0) return showError(new Error(`科室中还有 ${r.physicians} 位医师，不能删除；可先停用，再为医师选择新的科室`));
                if (!(await confirmBox('删除科室', `确定删除科室「${r.name}」？`, { danger: true, okText: '删除' }))) return;
                try {
                  await api.del(`/institution/departments/${r.id}`);
                  toast('科室已删除');
                  reload();
                } catch (e) {
                  showError(e);
                }
              }, 'danger'),
            ),
        },
      ],
      items,
      { empty: '尚未创建科室：医师报名时需要选择科室，请先创建' },
    );
    box.replaceChildren(t.el);
  };
  await reload();
  return card(
    '科室信息',
    h('div', null, h('p', { class: 'muted' }, '医师报名时需选择所在科室，只能选择已启用的科室。科室中有医师时不能删除，可先停用。'), box),
    btn('创建科室', () => deptDialog(null, reload), 'primary'),
  );
}

// ---- 申请考核机构 -------------------------------------------------------------------------------------

export async function apply(ctx) {
  const d = await api.get('/institution/assessor-applications');
  const state = d.is_assessor
    ? h('div', { class: 'notice ok' }, '本机构已是考核机构，可在页面右上角「切换」为考核机构身份，复核所承担机构的医师。')
    : d.can_apply
      ? h('div', { class: 'notice' }, '隶属卫生行政部门已为本机构开通「申请考核机构」权限。请下载并填写申请表格，盖章扫描后作为附件上传，提交申请。')
      : h('div', { class: 'notice warn' }, '「申请考核机构」权限由隶属卫生行政部门为符合考核机构条件的医疗卫生机构开通，本机构尚未开通。');
  const pending = d.items.some((x) => x.status === '待审核');
  const t = table(
    [
      { title: '周期', render: (r) => r.cycle_code || '—' },
      { title: '申请说明', key: 'note', cls: 'wrap' },
      { title: '附件', render: (r) => `${r.attachments} 个` },
      { title: '申请时间', render: (r) => fmtTime(r.submitted_at, true) },
      { title: '审核时间', render: (r) => fmtTime(r.decided_at, true) },
      { title: '审核状态', render: (r) => tag(r.status) },
      { title: '审核意见', render: (r) => r.reason || '', cls: 'wrap' },
    ],
    d.items,
    { empty: '暂无申请记录' },
  );
  const canApply = d.can_apply && !d.is_assessor && !pending;
  return card(
    '申请考核机构',
    h('div', null, state, t.el),
    canApply && btn('提交申请', () => applyDialog(ctx), 'primary'),
  );
}

async function applyDialog(ctx) {
  const f = form([{ name: 'note', label: '申请说明', type: 'textarea', required: true, placeholder: '本机构承担考核工作的条件、考核范围等' }], { cols: 1 });
  const picker = filePicker({ accept: '.pdf,.jpg,.jpeg,.png', multiple: true, aria: '申请材料' });
  f.el.append(h('div', { class: 'field wide' }, h('span', { class: 'lbl req' }, '申请材料'), h('div', { class: 'ctl' }, picker.el, h('div', { class: 'hint' }, '申请表格等，PDF、JPG 或 PNG，可多选，每个不超过 10 MB'))));
  const ok = await modal({
    title: '申请考核机构',
    width: 620,
    body: f.el,
    okText: '提交申请',
    onOk: async () => {
      const v = f.check();
      const files = [...picker.input.files];
      if (!files.length) throw new Error('请选择申请材料');
      const app = await api.post('/institution/assessor-applications', { note: v.note });
      for (const file of files) {
        const raw = await readFile(file);
        await api.call('POST', `/institution/assessor-applications/${app.id}/attachments${api.qs({ file_name: file.name, kind: '考核机构申请表' })}`, { raw, ctype: file.type || 'application/octet-stream' });
      }
    },
  });
  if (ok) {
    toast('申请已提交，请等待卫生行政部门审核');
    ctx.refresh();
  }
}
