// registration.js - 考核报名: the physician's registration in four steps as the seeds
// have it (基本信息 with 执业经历 → 考核程序 and the self-assessment of that procedure →
// 本人照片 → 提交报名), and, when the server says it may not be edited, the same content
// read-only under the status.
//
// Every step saves to admind when the physician moves on (PUT /physician/profile,
// PUT /physician/registration with the `version` read, PUT /physician/photo) and the page
// then reads /physician/me again, so what it shows is what the server has. A 409 (the
// registration changed elsewhere, was reviewed, or the window closed) is shown with the
// server's words and a 重新加载 button; nothing is overwritten.

import * as api from './api.js';
import { check, field, values } from './form.js';
import { evaluation, loadError, loadMe, statusCard, tag, windowState, windowsTable } from './portal.js';
import { $, dialog, el, fmtWhen } from './ui.js';
import { yearsTable as creditYears } from './credits.js';
import { fileBox } from './files.js';

const STEPS = ['基本信息', '考核程序', '本人照片', '提交报名'];
const PHOTO_MAX = 4 << 20;

const EDUCATION = ['中专', '大专', '本科', '硕士研究生', '博士研究生', '其他'];
const TITLES = ['初级（医士）', '初级（医师）', '中级（主治医师）', '副高级（副主任医师）', '正高级（主任医师）'];
const ETHNIC = ['汉族', '壮族', '回族', '满族', '维吾尔族', '苗族', '彝族', '土家族', '藏族', '蒙古族', '侗族', '布依族', '瑶族', '白族', '朝鲜族', '哈尼族', '黎族', '哈萨克族', '傣族', '畲族'];
// 《医师定期考核管理办法》第十八条: who may use the simple procedure
const SIMPLE_CONDITIONS = [
  '具有5年以上执业经历，考核周期内有良好行为记录',
  '具有12年以上执业经历，考核周期内无不良行为记录',
  '省级以上卫生行政部门规定的其他情形',
];

const PROCEDURES = [
  ['一般程序', '一般程序', '参加人文医学和业务水平测评；填写完成工作数量、工作成绩和职业道德自评。'],
  ['简易程序', '简易程序', '符合简易程序条件的医师适用，只参加人文医学测评；填写适用条件、工作成绩和职业道德自评、个人述职。'],
];

// What submitting needs (admind's SUBMIT_REQ), said in the page before it refuses.
function missingForSubmit(me) {
  const p = me.physician;
  const e = me.enrolment;
  const m = [];
  if (!p.department_id) m.push(['基本信息', '科室']);
  if (!e.procedure_type) m.push(['考核程序', '考核程序']);
  if (e.procedure_type === '一般程序' && (e.sa_patient_visits === null || e.sa_patient_visits === undefined)) m.push(['考核程序', '接诊病人数']);
  if (e.procedure_type === '简易程序' && !e.sa_simple_condition) m.push(['考核程序', '简易程序适用条件']);
  if (!e.sa_work_text) m.push(['考核程序', '工作成绩自评']);
  if (!e.sa_ethics_text) m.push(['考核程序', '职业道德自评']);
  if (!p.has_photo) m.push(['本人照片', '本人照片']);
  return m;
}

// A refused photo in plain words, from what admind found (its 413/422 carry `faces` and
// `flag`: no_face, multiple_faces or bad_image, as examd's camera check reports them).
export function photoMessage(e) {
  const { faces, flag } = e.detail || {};
  if (e.status === 413) return '照片文件太大：请上传不超过 4 MB 的 JPEG 照片。';
  if (flag === 'no_face')
    return '照片中没有检测到人脸。请上传本人近期正面免冠照片：面部完整、清晰，光线充足，不要佩戴帽子、口罩或墨镜。';
  if (flag === 'multiple_faces')
    return `照片中检测到 ${faces} 张人脸，照片中只能有您本人一人。请重新拍摄或选择只有本人的照片。`;
  if (flag === 'bad_image') return '照片无法识别：请重新拍摄，或选择一张清晰的 JPEG 照片（不要截图，不要只改文件扩展名）。';
  return e.message;
}

const yesNo = (v) => (v === true || v === 1 ? '有' : v === false || v === 0 ? '无' : '');
const boolFrom = (v) => (v === '1' ? true : v === '0' ? false : null);
const boolTo = (v) => (v === true || v === 1 ? '1' : v === false || v === 0 ? '0' : '');

export async function show(view, ctx) {
  const body = $(view, '.portal-body');
  const state = { me: null, step: 0, notice: null, photoUrl: null, detail: null };
  ctx.onLeave(() => {
    if (state.photoUrl) URL.revokeObjectURL(state.photoUrl);
  });

  async function reload(step = state.step, notice = null) {
    state.notice = notice;
    body.setAttribute('aria-busy', 'true');
    try {
      state.me = await loadMe(ctx);
      // once submitted, reviewers may have written: other institutions' opinions, the log
      const e = state.me.enrolment;
      state.detail = e && e.status !== '待报名' ? await api.admin.get(`/api/v1/enrolments/${e.id}`).catch((x) => {
        if (x.status === 401) throw x;
        return null;
      }) : null;
    } catch (e) {
      body.removeAttribute('aria-busy');
      if (e.status === 401) return;
      return loadError(body, e, () => reload(step, notice));
    }
    state.step = step;
    body.removeAttribute('aria-busy');
    render();
  }

  // A failed save: the server's words; a 409 means the record changed (elsewhere, by a
  // review, or the window closed): offer to reload, never overwrite.
  function saveFailed(box, e) {
    if (e.status === 401) return;
    const kids = [el('span', { text: e.status === 409 ? `没有保存：${e.message}` : e.message })];
    if (e.status === 409)
      kids.push(' ', el('button', { type: 'button', class: 'btn small-btn', text: '重新加载', onclick: () => reload(state.step) }),
        el('span', { class: 'small', text: '（将显示服务器上的最新内容，本页未保存的修改会丢失）' }));
    box.replaceChildren(...kids);
    box.hidden = false;
    box.focus();
  }

  function render() {
    const me = state.me;
    const e = me.enrolment;
    const editable = !!(e && e.editable);
    const canWithdraw = !!(e && (e.actions || []).some((a) => a.action === 'withdraw'));
    const withdrawBtn = canWithdraw ? el('button', { type: 'button', class: 'btn danger-outline', text: '退出本周期', onclick: withdraw }) : null;
    const c = me.cycle;
    const reg = c && (c.registration_start || c.registration_end) ? windowState(c, 'registration_start', 'registration_end') : null;
    const parts = [
      el('h1', { id: 'portal-title', text: '考核报名' }),
      el('p', { class: 'lead' }, c ? c.name : '当前没有开放的考核周期',
        reg ? el('span', { class: 'reg-window' }, `医师报名时间：${fmtWhen(c.registration_start)} 至 ${fmtWhen(c.registration_end)}（北京时间）`, tag(reg[0], reg[1])) : null),
    ];
    if (state.notice) parts.push(el('p', { class: 'notice', 'data-kind': 'ok', role: 'status', text: state.notice }));
    parts.push(statusCard(me, ctx, { here: 'registration', extra: withdrawBtn ? [withdrawBtn] : [] }));
    const evalBox = el('div', { class: 'eval-slot' }, evaluation(e, state.detail ? state.detail.opinions : []));
    parts.push(evalBox);
    if (editable) parts.push(stepper());
    else if (e && e.status !== '待报名' && e.status !== '待报名（被机构驳回）') parts.push(summary(me));
    else if (e) parts.push(el('p', { class: 'notice', 'data-kind': 'warn', text: '现在不能修改或提交报名信息：不在医师报名时间内，或考核周期已结束。如有疑问，请联系所在医疗卫生机构。' }), summary(me));
    else parts.push(summary(me, { profileOnly: true }));
    if (me.cycle) parts.push(el('details', { class: 'card windows-box' }, el('summary', { text: '考核安排（北京时间）' }), windowsTable(me.cycle)));
    if (e) parts.push(history(e.id));
    body.replaceChildren(...parts);
  }

  // ---- the steps ----------------------------------------------------------------------------

  function stepper() {
    const nav = el('ol', { class: 'steps-bar', 'aria-label': '报名步骤' },
      ...STEPS.map((name, i) => el('li', { 'data-state': i < state.step ? 'done' : i === state.step ? 'current' : 'todo' },
        el('button', { type: 'button', class: 'step-btn', 'aria-current': i === state.step ? 'step' : null, onclick: () => goStep(i) },
          el('span', { class: 'step-no', text: String(i + 1) }), el('span', { text: name })))));
    const panel = el('section', { class: 'card step-panel', 'aria-labelledby': 'step-title' });
    const builders = [stepProfile, stepProcedure, stepPhoto, stepSubmit];
    panel.append(el('h2', { id: 'step-title', tabindex: '-1', text: `第 ${state.step + 1} 步：${STEPS[state.step]}` }), ...builders[state.step]().filter(Boolean));
    return el('div', { class: 'stepper' }, nav, panel);
  }

  let saveCurrent = null; // saves the step on screen before another is shown; false = stay
  async function goStep(i) {
    if (i === state.step) return;
    if (saveCurrent && !(await saveCurrent())) return;
    await reload(i);
    const h = document.getElementById('step-title');
    if (h) h.focus();
  }

  function errorBox() {
    return el('p', { class: 'notice save-error', 'data-kind': 'warn', role: 'alert', tabindex: '-1', hidden: true });
  }

  function buttons(...btns) {
    return el('div', { class: 'row step-actions' }, ...btns);
  }

  // step 1: 基本信息 + 执业经历
  function stepProfile() {
    const p = state.me.physician;
    const depts = state.me.departments || [];
    const f = (spec) => field({ value: p[spec.name], ...spec });
    const fields = [
      f({ name: 'department_id', label: '科室', type: 'select', required: true, options: depts.map((d) => [d.id, d.name]),
        hint: depts.length ? '只能选择所在机构已启用的科室。' : '所在机构还没有可选的科室，请联系机构先创建科室。' }),
      f({ name: 'specialty', label: '从事专业', maxChars: 64, placeholder: '如：心血管内科' }),
      f({ name: 'title', label: '职称', maxChars: 32, list: TITLES }),
      f({ name: 'post', label: '职务', maxChars: 32 }),
      f({ name: 'practice_scope', label: '执业范围', maxChars: 64, placeholder: '如：内科专业' }),
      f({ name: 'standardized_training', label: '住院医师规范化培训', type: 'radios', value: boolTo(p.standardized_training), options: [['1', '是'], ['0', '否']] }),
      f({ name: 'sex', label: '性别', type: 'select', options: [['男', '男'], ['女', '女']] }),
      f({ name: 'birth_date', label: '出生日期', type: 'date' }),
      f({ name: 'ethnicity', label: '民族', maxChars: 16, list: ETHNIC }),
      f({ name: 'education', label: '学历', type: 'select', options: EDUCATION.map((x) => [x, x]) }),
      f({ name: 'mobile', label: '手机号码', type: 'tel', maxChars: 20, autocomplete: 'tel' }),
      f({ name: 'email', label: '电子邮箱', type: 'email', maxChars: 128, autocomplete: 'email' }),
      f({ name: 'qualification_cert_no', label: '医师资格证书编码', maxChars: 32 }),
      f({ name: 'qualification_date', label: '资格证书取得时间', type: 'date' }),
      f({ name: 'practice_cert_no', label: '医师执业证书编码', maxChars: 32 }),
      f({ name: 'practice_cert_date', label: '执业证书取得时间', type: 'date' }),
      f({ name: 'first_registration_date', label: '首次注册时间', type: 'date' }),
    ];
    const exp = experienceEditor(state.me.experience || []);
    const err = errorBox();
    const save = async (needRequired) => {
      const msgs = check(fields, false, exp.problems());
      if (needRequired && !fields[0].read()) {
        fields[0].setError('请选择科室');
        msgs.push('请选择科室');
      }
      if (msgs.length) return false;
      const v = values(fields);
      v.department_id = v.department_id === null ? undefined : Number(v.department_id);
      v.standardized_training = boolFrom(v.standardized_training);
      v.experience = exp.read();
      try {
        await api.admin.put('/api/v1/physician/profile', v);
        return true;
      } catch (e) {
        saveFailed(err, e);
        return false;
      }
    };
    saveCurrent = () => save(false);
    return [
      el('dl', { class: 'facts' },
        ...[['姓名', p.name], ['证件类型', p.id_type], ['证件号码', p.id_number], ['账号', p.account], ['医师级别', p.practice_level], ['执业类别', p.practice_category], ['执业机构', state.me.institution && state.me.institution.name]]
          .map(([k, v]) => el('div', {}, el('dt', { text: k }), el('dd', { text: v || '—' })))),
      el('p', { class: 'small muted', text: '以上信息由所在机构登记，如有错误请联系所在机构修改。带 * 的为提交报名时必填项。' }),
      el('div', { class: 'form-grid' }, ...fields),
      exp.node,
      err,
      buttons(
        el('button', { type: 'button', class: 'btn', text: '保存', onclick: async () => { if (await save(false)) reload(0, '基本信息已保存。'); } }),
        el('button', { type: 'button', class: 'btn primary', text: '保存并下一步', onclick: async () => { if (await save(true)) { saveCurrent = null; goStep(1); } } })),
    ];
  }

  // 执业经历: rows added and removed in the page, saved with the profile (≤ 30)
  function experienceEditor(list) {
    const rows = [];
    const tbody = el('div', { class: 'exp-list' });
    const addBtn = el('button', { type: 'button', class: 'btn', text: '＋ 新增执业经历' });
    const count = el('p', { class: 'small muted', role: 'status' });
    const refresh = () => {
      rows.forEach((r, i) => { r.no.textContent = `第 ${i + 1} 条`; });
      addBtn.disabled = rows.length >= 30;
      count.textContent = rows.length ? `共 ${rows.length} 条（最多 30 条）` : '还没有执业经历，请点击“新增执业经历”添加。';
    };
    const add = (x = {}) => {
      const r = {};
      r.fields = [
        field({ name: 'start_date', label: '起始日期', type: 'date', value: x.start_date, required: true }),
        field({ name: 'end_date', label: '终止日期', type: 'date', value: x.end_date, hint: '仍在此执业的，留空（至今）' }),
        field({ name: 'institution_name', label: '执业机构', maxChars: 128, value: x.institution_name, required: true }),
        field({ name: 'department', label: '科室', maxChars: 64, value: x.department }),
        field({ name: 'position', label: '职务', maxChars: 64, value: x.position }),
      ];
      r.no = el('h3', { class: 'exp-no' });
      r.node = el('div', { class: 'exp-row', role: 'group' },
        el('div', { class: 'exp-head' }, r.no,
          el('button', { type: 'button', class: 'btn link', text: '删除此条', onclick: () => {
            rows.splice(rows.indexOf(r), 1);
            r.node.remove();
            refresh();
            addBtn.focus();
          } })),
        el('div', { class: 'form-grid exp-grid' }, ...r.fields));
      r.node.setAttribute('aria-label', '执业经历');
      rows.push(r);
      tbody.append(r.node);
      refresh();
      return r;
    };
    addBtn.addEventListener('click', () => {
      const r = add();
      r.fields[0].control.focus();
    });
    list.forEach((x) => add(x));
    refresh();
    return {
      node: el('section', { class: 'exp', 'aria-labelledby': 'exp-title' },
        el('h3', { id: 'exp-title', class: 'sub', text: '执业经历' }), tbody, count, addBtn),
      // a row is saved whole: its own required fields are required at every save
      problems: () => {
        const out = [];
        for (const r of rows) {
          for (const f of r.fields) {
            const p = f.problem(true);
            if (p) out.push([f, p]);
            else f.setError('');
          }
          const v = values(r.fields);
          if (v.start_date && v.end_date && v.end_date < v.start_date) out.push([r.fields[1], '终止日期不能早于起始日期']);
        }
        return out;
      },
      read: () => rows.map((r) => {
        const v = values(r.fields);
        const o = { start_date: v.start_date, institution_name: v.institution_name };
        if (v.end_date) o.end_date = v.end_date;
        if (v.department) o.department = v.department;
        if (v.position) o.position = v.position;
        return o;
      }),
    };
  }

  // step 2: 考核程序 and its self-assessment
  function stepProcedure() {
    const e = state.me.enrolment;
    const err = errorBox();
    const proc = field({ name: 'procedure_type', label: '考核程序', type: 'radios', required: true, value: e.procedure_type || '',
      options: PROCEDURES.map(([v, t, what]) => [v, `${t}：${what}`]), onchange: () => toggle() });
    const general = [
      field({ name: 'sa_patient_visits', label: '接诊病人数（人次）', type: 'number', max: 9999999, value: e.sa_patient_visits, required: true }),
      field({ name: 'sa_operations', label: '手术量（例，外科科室填写）', type: 'number', max: 9999999, value: e.sa_operations }),
      field({ name: 'sa_examinations', label: '检验/检查量（例，医技科室填写）', type: 'number', max: 99999999, value: e.sa_examinations }),
      field({ name: 'sa_other_workload', label: '其他工作量', type: 'textarea', rows: 2, maxChars: 1000, value: e.sa_other_workload, wide: true }),
    ];
    const simple = [
      field({ name: 'sa_simple_condition', label: '简易程序适用条件', type: 'select', required: true, value: e.sa_simple_condition,
        options: [...new Set([...SIMPLE_CONDITIONS, ...(e.sa_simple_condition ? [e.sa_simple_condition] : [])])].map((x) => [x, x]), wide: true }),
    ];
    const common = [
      field({ name: 'sa_work_text', label: '工作成绩自评', type: 'textarea', rows: 6, maxChars: 60000, value: e.sa_work_text, required: true, wide: true,
        hint: '本考核周期内完成的医疗、预防、保健工作，业务水平提高和取得的成绩。' }),
      field({ name: 'sa_ethics_text', label: '职业道德自评', type: 'textarea', rows: 5, maxChars: 60000, value: e.sa_ethics_text, required: true, wide: true,
        hint: '遵守法律法规、医德医风、服务态度、廉洁行医等方面的情况。' }),
      field({ name: 'sa_report_text', label: '个人述职报告', type: 'textarea', rows: 5, maxChars: 60000, value: e.sa_report_text, wide: true }),
      field({ name: 'sa_good_record', label: '良好执业行为记录', type: 'radios', value: boolTo(e.sa_good_record), options: [['1', '有'], ['0', '无']] }),
      field({ name: 'sa_bad_record', label: '不良执业行为记录', type: 'radios', value: boolTo(e.sa_bad_record), options: [['1', '有'], ['0', '无']] }),
    ];
    const generalBox = el('fieldset', { class: 'group-box' }, el('legend', { text: '完成工作数量（本考核周期）' }), el('div', { class: 'form-grid' }, ...general));
    const simpleBox = el('fieldset', { class: 'group-box' }, el('legend', { text: '简易程序申请' }), el('div', { class: 'form-grid' }, ...simple),
      el('p', { class: 'small muted', text: '请上传符合简易程序条件的证明材料（如良好执业行为记录、表彰文件等），所在医疗卫生机构和考核机构审核时查看。选择简易程序后只参加人文医学测评。' }),
      proofBox(e, !!e.editable));
    const commonBox = el('fieldset', { class: 'group-box' }, el('legend', { text: '工作成绩、职业道德自评' }), el('div', { class: 'form-grid' }, ...common),
      e.cme ? el('div', { class: 'cme-box' }, el('h3', { text: '继续医学教育年度验证（本考核周期，由学分系统带入）' }),
        el('p', { class: 'small muted', text: `继教IC卡：${e.cme.card_no || '未登记'}${e.cme.required ? '。本省要求本周期已结束的各年度验证达标，一般程序的工作成绩方可评为合格。' : ''}` }),
        creditYears(e.cme.years, '本考核周期各年度继续医学教育年度验证')) : null);
    const toggle = () => {
      const v = proc.read();
      generalBox.hidden = v !== '一般程序';
      simpleBox.hidden = v !== '简易程序';
      commonBox.hidden = !v;
    };
    toggle();
    const save = async (needRequired) => {
      const v = proc.read();
      const active = [...(v === '一般程序' ? general : v === '简易程序' ? simple : []), ...(v ? common : [])];
      const msgs = check(needRequired ? [proc, ...active] : active, needRequired);
      if (msgs.length) return false;
      const body = { procedure_type: v, version: e.version };
      const vals = values(active);
      Object.assign(body, vals);
      if (v) {
        // the other procedure's own fields are cleared, so that the review shows one procedure
        for (const f of v === '一般程序' ? simple : general) body[f.spec.name] = null;
        body.sa_good_record = boolFrom(vals.sa_good_record);
        body.sa_bad_record = boolFrom(vals.sa_bad_record);
      }
      if (!v) delete body.procedure_type;
      try {
        await api.admin.put('/api/v1/physician/registration', body);
        return true;
      } catch (x) {
        saveFailed(err, x);
        return false;
      }
    };
    saveCurrent = () => save(false);
    return [
      el('p', { class: 'small muted', text: '请根据本人情况选择考核程序，并如实填写自评。带 * 的为必填项。' }),
      proc, generalBox, simpleBox, commonBox, err,
      buttons(
        el('button', { type: 'button', class: 'btn', text: '上一步', onclick: () => goStep(0) }),
        el('button', { type: 'button', class: 'btn', text: '保存', onclick: async () => { if (await save(false)) reload(1, '考核程序与自评已保存。'); } }),
        el('button', { type: 'button', class: 'btn primary', text: '保存并下一步', onclick: async () => { if (await save(true)) { saveCurrent = null; goStep(2); } } })),
    ];
  }

  // step 3: 本人照片 (uploaded at once; admind finds exactly one face or says why not)
  function stepPhoto() {
    saveCurrent = null;
    const p = state.me.physician;
    const img = el('img', { class: 'photo-preview', alt: '本人照片预览', hidden: true });
    const empty = el('div', { class: 'photo-empty', text: '尚未上传照片' });
    const msg = el('p', { class: 'photo-msg', role: 'status', 'aria-live': 'polite', tabindex: '-1' });
    const input = el('input', { type: 'file', id: 'photo-file', accept: 'image/jpeg,.jpg,.jpeg', class: 'sr-only' });
    const say = (state_, text) => {
      msg.dataset.state = state_;
      msg.textContent = text;
    };
    const showUrl = (u) => {
      if (state.photoUrl && state.photoUrl !== u) URL.revokeObjectURL(state.photoUrl);
      state.photoUrl = u;
      img.src = u;
      img.hidden = false;
      empty.hidden = true;
    };
    if (state.photoUrl) showUrl(state.photoUrl);
    else if (p.has_photo) {
      api.admin.blob('/api/v1/physician/photo').then((b) => showUrl(URL.createObjectURL(b)), () => {});
    }
    if (p.has_photo) say('ok', `已上传照片${p.photo_updated_at ? `（${fmtWhen(p.photo_updated_at)}）` : ''}。如需更换，请重新选择照片。`);
    input.addEventListener('change', async () => {
      const file = input.files && input.files[0];
      input.value = '';
      if (!file) return;
      const head = new Uint8Array(await file.slice(0, 3).arrayBuffer());
      if (!(head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff)) return say('bad', '只能上传 JPEG 格式（.jpg）的照片。');
      if (file.size > PHOTO_MAX) return say('bad', '照片文件太大：请上传不超过 4 MB 的 JPEG 照片。');
      const local = URL.createObjectURL(file);
      const before = state.photoUrl;
      img.src = local;
      img.hidden = false;
      empty.hidden = true;
      say('busy', '正在上传照片并检测人脸……');
      try {
        const r = await api.admin.put('/api/v1/physician/photo', new Blob([file], { type: 'image/jpeg' }));
        showUrl(local);
        state.me.physician.has_photo = true;
        say('ok', r.embedded ? '照片已保存：检测到一张清晰的人脸。' : '照片已保存。（人脸比对暂不可用，将由所在机构核对照片。）');
      } catch (e) {
        URL.revokeObjectURL(local);
        if (before) img.src = before;
        else {
          img.hidden = true;
          empty.hidden = false;
        }
        if (e.status === 401) return;
        if (e.status === 409) return saveFailed(msgErr, e);
        say('bad', photoMessage(e));
        msg.focus();
      }
    });
    const msgErr = errorBox();
    return [
      el('div', { class: 'photo-layout' },
        el('div', { class: 'photo-frame' }, img, empty),
        el('div', {},
          el('h3', { text: '照片要求' }),
          el('ul', { class: 'plain-list' },
            el('li', { text: '本人近期正面免冠照片，面部完整、清晰，光线充足；' }),
            el('li', { text: '照片中只能有本人一人，不要佩戴帽子、口罩或墨镜；' }),
            el('li', { text: 'JPEG 格式（.jpg），不超过 4 MB。' })),
          el('p', { class: 'small muted', text: '照片用于测评时的人脸核验，仅在考核审核所需期间保存。' }),
          input,
          el('label', { for: 'photo-file', class: 'btn primary file-btn' }, p.has_photo ? '更换照片' : '选择照片'),
          msg)),
      msgErr,
      buttons(
        el('button', { type: 'button', class: 'btn', text: '上一步', onclick: () => goStep(1) }),
        el('button', { type: 'button', class: 'btn primary', text: '下一步', onclick: () => goStep(3) })),
    ];
  }

  // step 4: what will be submitted, what is missing, the commitment, 提交报名
  function stepSubmit() {
    saveCurrent = null;
    const me = state.me;
    const e = me.enrolment;
    const missing = missingForSubmit(me);
    const canSubmit = (e.actions || []).some((a) => a.action === 'submit');
    const err = errorBox();
    const agree = el('input', { type: 'checkbox', id: 'agree-submit' });
    const submitBtn = el('button', { type: 'button', class: 'btn primary', text: e.status === '待报名（被机构驳回）' ? '重新提交报名' : '提交报名', disabled: true });
    const refresh = () => { submitBtn.disabled = !(agree.checked && !missing.length && canSubmit); };
    agree.addEventListener('change', refresh);
    submitBtn.addEventListener('click', async () => {
      submitBtn.disabled = true;
      err.hidden = true;
      try {
        await api.admin.post(`/api/v1/enrolments/${e.id}/actions/submit`, {});
      } catch (x) {
        refresh();
        return saveFailed(err, x);
      }
      saveCurrent = null;
      await reload(0, '报名已提交，请等待所在医疗卫生机构审核。审核结果会显示在本页。');
      const t = document.getElementById('portal-title');
      if (t) t.scrollIntoView();
    });
    return [
      missing.length
        ? el('div', { class: 'notice', 'data-kind': 'warn', role: 'alert' },
          el('b', { text: '还有以下必填内容没有填写，不能提交：' }),
          el('ul', {}, ...missing.map(([step, what]) => el('li', {}, `${what}（`, el('button', { type: 'button', class: 'btn link', text: step, onclick: () => goStep(STEPS.indexOf(step)) }), '）'))))
        : el('p', { class: 'notice', 'data-kind': 'info', text: '请核对以下报名信息。提交后，在所在医疗卫生机构审核期间不能修改。' }),
      // not required by the server, but what the reviewers look for (seed [002])
      e.procedure_type === '简易程序' && !(e.attachments || []).length
        ? el('p', { class: 'notice', 'data-kind': 'warn' }, '您选择了简易程序，但还没有上传证明材料，审核机构可能因此驳回。 ',
          el('button', { type: 'button', class: 'btn link', text: '去上传', onclick: () => goStep(1) }))
        : null,
      summary(me),
      el('label', { class: 'agree' }, agree, ' 本人承诺以上填报的信息真实、准确、完整，如有虚假，愿意承担相应责任。'),
      err,
      buttons(el('button', { type: 'button', class: 'btn', text: '上一步', onclick: () => goStep(2) }), submitBtn),
    ];
  }

  // ---- read-only ----------------------------------------------------------------------------

  function summary(me, { profileOnly = false } = {}) {
    const p = me.physician;
    const e = me.enrolment;
    const dl = (rows) => el('dl', { class: 'facts' }, ...rows.map(([k, v]) => el('div', {}, el('dt', { text: k }), el('dd', { text: v === null || v === undefined || v === '' ? '—' : String(v) }))));
    const exp = me.experience || [];
    const photo = el('div', { class: 'photo-frame small-photo' }, el('div', { class: 'photo-empty', text: p.has_photo ? '照片加载中' : '尚未上传照片' }));
    if (p.has_photo) {
      api.admin.blob('/api/v1/physician/photo').then((b) => {
        const u = URL.createObjectURL(b);
        ctx.onLeave(() => URL.revokeObjectURL(u));
        photo.replaceChildren(el('img', { class: 'photo-preview', src: u, alt: '本人照片' }));
      }, () => {});
    }
    const sections = [
      el('section', { class: 'sum-section' },
        el('h3', { text: '基本信息' }),
        el('div', { class: 'sum-with-photo' },
          dl([['姓名', p.name], ['性别', p.sex], ['证件号码', p.id_number], ['出生日期', p.birth_date], ['民族', p.ethnicity], ['学历', p.education],
            ['手机号码', p.mobile], ['电子邮箱', p.email], ['科室', p.department_name], ['从事专业', p.specialty], ['职称', p.title], ['职务', p.post],
            ['医师级别', p.practice_level], ['执业类别', p.practice_category], ['执业范围', p.practice_scope],
            ['住院医师规范化培训', p.standardized_training === true ? '是' : p.standardized_training === false ? '否' : ''],
            ['医师资格证书编码', p.qualification_cert_no], ['执业证书编码', p.practice_cert_no], ['执业证书取得时间', p.practice_cert_date], ['首次注册时间', p.first_registration_date]]),
          photo)),
      el('section', { class: 'sum-section' },
        el('h3', { text: '执业经历' }),
        exp.length
          ? el('div', { class: 'table-wrap' }, el('table', { class: 'data' },
            el('thead', {}, el('tr', {}, ...['起止时间', '执业机构', '科室', '职务'].map((t) => el('th', { scope: 'col', text: t })))),
            el('tbody', {}, ...exp.map((x) => el('tr', {},
              el('td', { text: `${x.start_date} 至 ${x.end_date || '今'}` }), el('td', { text: x.institution_name }), el('td', { text: x.department || '' }), el('td', { text: x.position || '' }))))))
          : el('p', { class: 'muted', text: '未填写' })),
    ];
    if (!profileOnly && e) {
      const rows = [['考核程序', e.procedure_type]];
      if (e.procedure_type === '一般程序')
        rows.push(['接诊病人数（人次）', e.sa_patient_visits], ['手术量（例）', e.sa_operations], ['检验/检查量（例）', e.sa_examinations], ['其他工作量', e.sa_other_workload]);
      if (e.procedure_type === '简易程序') rows.push(['简易程序适用条件', e.sa_simple_condition]);
      rows.push(['良好执业行为记录', yesNo(e.sa_good_record)], ['不良执业行为记录', yesNo(e.sa_bad_record)]);
      sections.push(el('section', { class: 'sum-section' },
        el('h3', { text: '考核程序与自评' }),
        dl(rows),
        ...[['工作成绩自评', e.sa_work_text], ['职业道德自评', e.sa_ethics_text], ['个人述职报告', e.sa_report_text]].map(([k, v]) =>
          el('div', { class: 'sum-text' }, el('h4', { text: k }), el('p', { class: v ? 'pre' : 'muted', text: v || '未填写' }))),
        e.procedure_type === '简易程序' || (e.attachments || []).length ? proofBox(e, false) : null));
    }
    return el('div', { class: 'card summary' }, ...sections);
  }

  // 简易程序申请材料: uploaded at once (POST /physician/registration/attachments), deleted
  // while the registration is editable; the box alone is redrawn, so that what is typed in
  // the form stays.
  function proofBox(e, editable) {
    const box = fileBox({
      id: 'proof-files', title: '简易程序申请材料（证明材料）', files: e.attachments || [], canUpload: editable,
      empty: editable ? '还没有上传证明材料。' : '未上传证明材料。', button: '上传证明材料',
      uploadPath: (file) => `/api/v1/physician/registration/attachments?file_name=${encodeURIComponent(file.name)}&kind=${encodeURIComponent('简易程序申请材料')}`,
      removePath: (f) => `/api/v1/physician/registration/attachments/${f.id}`,
      reload: async (notice) => {
        try {
          const me = await api.admin.get('/api/v1/physician/me');
          if (me.enrolment) state.me.enrolment.attachments = me.enrolment.attachments;
          const next = proofBox(state.me.enrolment, editable && me.enrolment && me.enrolment.editable);
          box.replaceWith(next);
          if (notice) {
            const m = next.querySelector('.upload-msg');
            if (m) { m.dataset.state = 'ok'; m.textContent = notice; }
          }
        } catch (x) {
          if (x.status !== 401) box.append(el('p', { class: 'notice', 'data-kind': 'warn', role: 'alert', text: x.message }));
        }
      },
    });
    return box;
  }

  // 办理记录 (the enrolment's log: submissions, rejections, reviews), read when opened
  // (already there once the registration was submitted).
  function history(eid) {
    const box = el('div', {}, el('p', { class: 'muted', text: '正在加载……' }));
    const d = el('details', { class: 'card history' }, el('summary', { text: '办理记录' }), box);
    let loaded = false;
    d.addEventListener('toggle', async () => {
      if (!d.open || loaded) return;
      loaded = true;
      try {
        const r = state.detail || (await api.admin.get(`/api/v1/enrolments/${eid}`));
        const items = r.log || [];
        box.replaceChildren(items.length
          ? el('ol', { class: 'timeline' }, ...items.map((l) => el('li', {},
            el('span', { class: 'tl-time', text: fmtWhen(l.created_at) }),
            el('span', { class: 'tl-who', text: `${l.actor_name || ''}${l.role ? `（${l.role}）` : ''}` }),
            el('span', { class: 'tl-what', text: `${l.from_status && l.to_status && l.from_status !== l.to_status ? `${l.from_status} → ${l.to_status}` : actionName(l.action)}` }),
            l.reason ? el('span', { class: 'tl-reason', text: `理由：${l.reason}` }) : null)))
          : el('p', { class: 'muted', text: '暂无记录' }));
      } catch (e) {
        loaded = false;
        if (e.status !== 401) box.replaceChildren(el('p', { class: 'notice', 'data-kind': 'warn', text: e.message }));
      }
    });
    return d;
  }

  // 退出本周期: only where the server offers it; the reason is required
  async function withdraw() {
    const e = state.me.enrolment;
    const reason = field({ name: 'reason', label: '退出理由', type: 'textarea', rows: 3, maxChars: 1000, required: true, wide: true,
      hint: '例如：本周期不属于应参加定期考核的人员。' });
    const v = await dialog({
      title: '退出本周期',
      okText: '确认退出',
      danger: true,
      body: [
        el('p', { text: '退出后，您本周期将不参加定期考核，报名信息不能再提交。确认本周期不应参加考核时才退出。' }),
        reason,
      ],
      ok: () => {
        if (check([reason], true).length) throw new Error(''); // said at the field (required, ≤ 1000 字)
        return reason.read();
      },
    });
    if (!v) return;
    try {
      await api.admin.post(`/api/v1/enrolments/${e.id}/actions/withdraw`, { reason: v });
      await reload(0, '您已退出本考核周期。');
    } catch (x) {
      if (x.status === 401) return;
      await reload(state.step);
      const box = body.querySelector('.status-card');
      if (box) box.after(el('p', { class: 'notice', 'data-kind': 'warn', role: 'alert', text: `没有能够退出：${x.message}` }));
    }
  }

  body.append(el('h1', { id: 'portal-title', text: '考核报名' }), el('p', { class: 'loading-text', role: 'status' }, el('span', { class: 'spinner', 'aria-hidden': 'true' }), '正在加载……'));
  await api.site().catch(() => {});
  await reload(0);
}

const ACTION_NAMES = {
  confirm: '确认参加本周期考核', update_profile: '修改基本信息', save_registration: '保存考核程序与自评', upload_photo: '上传本人照片',
  upload_attachment: '上传附件', delete_attachment: '删除附件', attachment_download: '查看附件', submit: '提交报名', withdraw: '退出本周期', request: '申请免考', inst_pass: '医疗卫生机构审核通过',
  inst_reject: '医疗卫生机构驳回', assessor_pass: '考核机构复核通过', assessor_reject: '考核机构复核驳回', authority_reject: '卫生行政部门驳回',
  makeup_confirm: '确认补考', makeup_refuse: '不予补考', issue_certificate: '签发合格证书',
};
const actionName = (a) => ACTION_NAMES[a] || a;

