// pages/qbank.js - 题库管理 (issue 17; admind's /api/v1/qbank/*, admin_qbank.c): 题库概况,
// 上传题目 (a dry run first: the bank's own report, line by line; a JSON Lines line can be
// fixed in the page and checked again; then 导入为草稿), 版本发布 (drafts published into a new
// bank version, or discarded), 题目管理 (search, 查看 with the key, 修改 one question as a new
// revision, 退役), 组卷蓝图 (per category x paper, feasibility checked live), 试卷预览 (a sample
// paper with keys and explanations, not stored) and the province's 题库管理员 accounts.
//
// Who: the province and its 题库管理员 (an authority account of kind 'qbank').

import * as api from '../api.js';
import { h, card, btn, link, toast, modal, confirmBox, tag, listView, form, desc, table, fmtTime, showError, filePicker, readFile, clear, drawer, showActivation } from '../ui.js';

const CATS = ['临床', '中医', '口腔', '公共卫生'];
const PAPERS = [['公共知识', '公共知识（人文医学）'], ['业务水平', '业务水平']];
const TYPES = ['A1', 'A2', 'A3', 'A4', 'B1', 'X'];
const LETTERS = 'ABCDEFGHIJ'.split('');
const REL_STATUS = { draft: ['草稿', 'blue'], published: ['已发布', 'green'], discarded: ['已放弃', 'gray'] };
const REL_KIND = { import: '上传', edit: '修改', retire: '退役' };
const Q_STATE = { draft: ['草稿', 'blue'], live: ['使用中', 'green'], retired: ['已退役', 'gray'] };
const st = (map, v) => (map[v] ? tag(map[v][0], map[v][1]) : v);

// ---- 题库概况 -------------------------------------------------------------------------------------------

export async function overview(ctx) {
  const o = await api.get('/qbank/overview');
  const totals = { live: 0, retired: 0, draft: 0 };
  for (const r of o.counts) for (const k of Object.keys(totals)) totals[k] += Number(r[k] || 0);
  return h(
    'div',
    null,
    card(
      '题库概况',
      desc([
        ['题库版本', String(o.bank_version)],
        ['使用中的题目', String(totals.live)],
        ['已退役', String(totals.retired)],
        ['草稿中的题目', String(totals.draft)],
        ['待发布的版本', h('a', { href: '#/qbank-releases' }, String(o.drafts))],
      ]),
      h('span', { class: 'muted' }, '已抽取的试卷始终按其抽取时的题目评分；退役的题目不再被抽取。'),
    ),
    card(
      '各科目题量（使用中 / 已退役 / 草稿）',
      table(
        [
          { title: '执业类别', key: 'category' },
          { title: '试卷', key: 'paper' },
          { title: '科目', key: 'section' },
          { title: '题型', key: 'qtype' },
          { title: '使用中', key: 'live' },
          { title: '已退役', key: 'retired' },
          { title: '草稿', key: 'draft' },
        ],
        o.counts,
      ).el,
    ),
  );
}

// ---- 上传题目 ------------------------------------------------------------------------------------------------

function reportView(r, onFix) {
  const sum = h(
    'p',
    { class: 'import-sum ' + (r.bad_lines ? 'warn' : 'ok'), role: 'status' },
    `检查完毕：共 ${r.lines} 行，可导入 ${r.questions} 道题，有问题 ${r.bad_lines} 行` + (r.duplicates ? `，其中重复 ${r.duplicates} 处（文件内或与题库中已有题目）` : '') + '。',
  );
  const cols = [
    { title: r.format === 'csv' ? '表格行号' : '行号', key: 'line', width: '80px' },
    { title: '字段', key: 'field', width: '100px', render: (x) => (x.field === '*' ? '整行' : x.field) },
    { title: '问题', key: 'text', cls: 'wrap' },
    { title: '详情', key: 'detail', cls: 'wrap', render: (x) => h('code', null, `${x.reason}${x.detail ? ': ' + x.detail : ''}`) },
  ];
  if (onFix) cols.push({ title: '操作', width: '80px', render: (x) => link('修改此行', () => onFix(x.line)) });
  return h(
    'div',
    { class: 'qb-report' },
    sum,
    r.issues.length ? table(cols, r.issues, { caption: r.issues_total > r.issues.length ? `前 ${r.issues.length} 个问题（共 ${r.issues_total} 个）` : '问题清单' }).el : '',
  );
}

export async function upload(ctx) {
  const picker = filePicker({ accept: '.jsonl,.json,.csv,text/csv', aria: '选择题目文件', label: '选择文件（JSONL 或 CSV）' });
  const result = h('div', { class: 'import-result', 'aria-live': 'polite' });
  const state = { text: null, name: '', format: 'jsonl' };
  const enc = new TextEncoder();
  const body = () => (state.format === 'csv' ? state.raw : enc.encode(state.text));
  const ctype = () => (state.format === 'csv' ? 'text/csv' : 'application/x-ndjson');
  const importBtn = btn('导入为草稿', () => doImport().catch(showError), 'primary');
  importBtn.disabled = true;

  async function load() {
    const fl = picker.input.files[0];
    if (!fl) throw new Error('请选择要上传的文件');
    state.name = fl.name;
    state.format = /\.csv$/i.test(fl.name) ? 'csv' : 'jsonl';
    state.raw = await readFile(fl);
    state.text = state.format === 'jsonl' ? new TextDecoder().decode(state.raw) : null;
  }
  async function check() {
    const r = await api.call('POST', '/qbank/check?format=' + state.format, { raw: body(), ctype: ctype() });
    clear(result, reportView(r, state.format === 'jsonl' ? fixLine : null));
    importBtn.disabled = !!r.bad_lines || !r.questions;
    return r;
  }
  // a JSON Lines line fixed in the page, then the whole file checked again
  async function fixLine(n) {
    const lines = state.text.split('\n');
    const ta = h('textarea', { rows: 8, class: 'qb-line', 'aria-label': `第 ${n} 行内容` });
    ta.value = lines[n - 1] || '';
    const ok = await modal({
      title: `修改第 ${n} 行`,
      width: 760,
      okText: '保存并重新检查',
      body: h('div', null, h('p', { class: 'muted' }, '一行一道题（JSON 对象）。保存后重新检查整个文件。'), ta),
      onOk: () => {
        lines[n - 1] = ta.value.replace(/\n/g, ' ');
        state.text = lines.join('\n');
        return true;
      },
    });
    if (ok) await check();
  }
  async function doImport() {
    const r = await api.call('POST', `/qbank/releases?format=${state.format}&name=${encodeURIComponent(state.name.slice(0, 200))}`, { raw: body(), ctype: ctype() });
    toast(`已生成草稿版本 #${r.id}（${r.questions} 道题），发布后生效`);
    ctx.go('qbank-release/' + r.id);
  }
  const checkBtn = btn(
    '检查（试运行）',
    async () => {
      try {
        await load();
        await check();
      } catch (e) {
        if (e.body && e.body.error && e.body.error.report) clear(result, reportView(e.body.error.report));
        showError(e);
      }
    },
    '',
  );
  return card(
    '上传题目',
    h(
      'div',
      null,
      h(
        'ol',
        { class: 'steps' },
        h('li', null, '下载模板（含 A1、A2、A3、A4、B1、X 各题型示例）：', link('CSV 模板', () => api.download('/qbank/template?format=csv', '题库导入模板.csv').catch(showError)), '　', link('JSONL 模板', () => api.download('/qbank/template?format=jsonl', '题库导入模板.jsonl').catch(showError))),
        h('li', null, '选择文件并「检查」：与服务器 qbank import 相同的校验，逐行列出问题（含文件内和与题库中的重复）；JSONL 文件可在此页修改有问题的行；'),
        h('li', null, '没有问题后「导入为草稿」，再到「版本发布」中发布。文件不超过 8 MB。'),
      ),
      h('div', { class: 'import-pick' }, picker.el, checkBtn, importBtn),
      result,
    ),
  );
}

// ---- 版本发布 -------------------------------------------------------------------------------------------------

async function decide(id, publish, after) {
  const ok = await confirmBox(publish ? '发布版本' : '放弃草稿', publish ? `发布版本 #${id}？发布后新题目可被抽取，退役的题目不再被抽取；已开始的考试不受影响。` : `放弃草稿版本 #${id}？草稿中的题目将被删除。`, { okText: publish ? '发布' : '放弃', danger: !publish });
  if (!ok) return;
  try {
    const r = await api.post(`/qbank/releases/${id}/${publish ? 'publish' : 'discard'}`);
    toast(publish ? `已发布，题库版本 ${r.bank_version}` : '已放弃');
    after();
  } catch (e) {
    showError(e);
  }
}

export function releases(ctx) {
  const l = listView({
    filters: [{ name: 'status', label: '状态', type: 'select', options: [['draft', '草稿'], ['published', '已发布'], ['discarded', '已放弃']] }],
    fetch: (p) => api.get('/qbank/releases' + api.qs(p)),
    columns: [
      { title: '编号', key: 'id', width: '70px' },
      { title: '类型', render: (r) => REL_KIND[r.kind] || r.kind },
      { title: '内容', key: 'title', cls: 'wrap' },
      { title: '新增题目', key: 'questions' },
      { title: '退役题目', key: 'retirements' },
      { title: '状态', render: (r) => st(REL_STATUS, r.status) },
      { title: '题库版本', key: 'bank_version' },
      { title: '创建', render: (r) => `${r.created_by_name || ''} ${fmtTime(r.created_at)}` },
      {
        title: '操作',
        render: (r) => [link('查看', () => ctx.go('qbank-release/' + r.id)), r.status === 'draft' && [' ', link('发布', () => decide(r.id, true, () => l.reload()), 'qb-publish'), ' ', link('放弃', () => decide(r.id, false, () => l.reload()))]],
      },
    ],
  });
  l.load(1);
  return card('版本发布', l.el);
}

export async function release(ctx) {
  const id = ctx.params[0];
  const r = await api.get('/qbank/releases/' + encodeURIComponent(id));
  const qcols = [
    { title: '编号', key: 'id' },
    { title: '类别/试卷', render: (q) => `${q.category} ${q.paper}` },
    { title: '科目', key: 'section' },
    { title: '题型', key: 'qtype' },
    { title: '题干', key: 'stem', cls: 'wrap' },
    { title: '状态', render: (q) => st(Q_STATE, q.state) },
  ];
  const reload = () => ctx.refresh();
  return h(
    'div',
    null,
    card(
      `版本 #${r.id}`,
      desc([
        ['类型', REL_KIND[r.kind] || r.kind],
        ['内容', r.title],
        ['状态', st(REL_STATUS, r.status)],
        ['新增题目', String(r.questions)],
        ['退役题目', String(r.retirements)],
        ['题库版本', r.bank_version === null ? '—' : String(r.bank_version)],
        ['创建', `${r.created_by_name || ''} ${fmtTime(r.created_at)}`],
        ['发布/放弃', r.decided_at ? `${r.decided_by_name || ''} ${fmtTime(r.decided_at)}` : '—'],
      ]),
      r.status === 'draft' && h('span', null, btn('发布', () => decide(r.id, true, reload), 'primary qb-publish'), ' ', btn('放弃', () => decide(r.id, false, reload))),
    ),
    r.added.length ? card('新增的题目', table(qcols, r.added).el) : '',
    r.retired.length ? card('退役的题目', table(qcols, r.retired).el) : '',
  );
}

// ---- 题目管理 ----------------------------------------------------------------------------------------------

async function showQuestion(id) {
  try {
    const q = await api.get('/qbank/questions/' + encodeURIComponent(id));
    drawer(
      `题目 ${q.id}`,
      h(
        'div',
        { class: 'qb-question' },
        desc([
          ['类别/试卷', `${q.category} ${q.paper}`],
          ['科目', q.section],
          ['题型', q.type],
          ['组号', q.group],
          ['难度', String(q.difficulty)],
          ['状态', st(Q_STATE, q.state)],
          ['修订自', q.replaces],
        ]),
        q.case && h('div', { class: 'qb-case' }, h('strong', null, '病例：'), q.case),
        questionBody(q),
      ),
    );
  } catch (e) {
    showError(e);
  }
}

// stem, options (the key marked), explanation
function questionBody(q) {
  const key = new Set((q.answer || '').split(''));
  return h(
    'div',
    { class: 'qb-body' },
    h('p', { class: 'qb-stem' }, q.stem),
    h('ol', { class: 'qb-options', type: 'A' }, Object.entries(q.options || {}).map(([k, v]) => h('li', { class: key.has(k) ? 'qb-key' : '' }, `${k}. ${v}`, key.has(k) ? h('span', { class: 'qb-key-mark' }, ' ✓ 正确答案') : ''))),
    h('p', null, h('strong', null, '答案：'), q.answer),
    q.explanation && h('p', { class: 'qb-expl' }, h('strong', null, '解析：'), q.explanation),
  );
}

async function reviseDialog(ctx, row) {
  let q;
  try {
    q = await api.get('/qbank/questions/' + encodeURIComponent(row.id));
  } catch (e) {
    return showError(e);
  }
  const opts = Object.entries(q.options || {});
  const f = form(
    [
      q.case !== null && q.case !== undefined && { name: 'case', label: '病例（全组共用）', type: 'textarea', required: true, rows: 4, value: q.case },
      { name: 'stem', label: '题干', type: 'textarea', required: true, rows: 4, value: q.stem },
      ...LETTERS.map((l, i) => ({ name: 'opt' + l, label: '选项 ' + l, value: opts[i] ? opts[i][1] : '', hint: i >= 2 ? '留空表示没有此选项' : '' })),
      { name: 'answer', label: '答案', required: true, value: q.answer, hint: '单选一个字母；X 型题多个字母按顺序，如 ACD' },
      { name: 'difficulty', label: '难度（1-5）', type: 'number', value: q.difficulty, attrs: { min: 1, max: 5 } },
      { name: 'explanation', label: '解析', type: 'textarea', value: q.explanation || '' },
    ].filter(Boolean),
    { cols: 2 },
  );
  const report = h('div', { 'aria-live': 'polite' });
  await modal({
    title: `修改题目 ${q.id}`,
    width: 820,
    okText: '保存为草稿',
    body: h('div', null, h('p', { class: 'muted' }, q.group ? `此题属于组合题 ${q.group}：保存后整组生成修订（组号和各题编号加 -R 序号，病例${q.type === 'B1' ? '和选项' : ''}全组共用），发布后原组退役，已抽取的试卷仍使用原题。` : '保存后生成新的修订题目（编号加 -R 序号）和草稿版本；发布后原题退役，已抽取的试卷仍使用原题。'), f.el, report),
    onOk: async () => {
      const v = f.check();
      const options = {};
      for (const l of LETTERS) if (v['opt' + l]) options[l] = v['opt' + l];
      const nq = { id: q.id, category: q.category, paper: q.paper, section: q.section, type: q.type, stem: v.stem, options, answer: v.answer };
      if (v.difficulty) nq.difficulty = Number(v.difficulty);
      if (v.explanation) nq.explanation = v.explanation;
      if (v.case) nq.case = v.case;
      try {
        const r = await api.post(`/qbank/questions/${encodeURIComponent(q.id)}/revise`, { question: nq });
        toast(`已生成修订 ${r.new_id}（草稿版本 #${r.id}）`);
        ctx.go('qbank-release/' + r.id);
        return true;
      } catch (e) {
        if (e.body && e.body.error && e.body.error.report) clear(report, reportView(e.body.error.report));
        throw e;
      }
    },
  });
}

export function questions(ctx) {
  const l = listView({
    filters: [
      { name: 'category', label: '执业类别', type: 'select', options: CATS },
      { name: 'paper', label: '试卷', type: 'select', options: PAPERS },
      { name: 'section', label: '科目', attrs: { maxlength: 50 } },
      { name: 'type', label: '题型', type: 'select', options: TYPES },
      { name: 'state', label: '状态', type: 'select', options: [['live', '使用中'], ['retired', '已退役'], ['draft', '草稿']] },
      { name: 'id', label: '编号', attrs: { maxlength: 32 } },
      { name: 'q', label: '题干包含', attrs: { maxlength: 100 } },
    ],
    select: (r) => r.id,
    fetch: (p) => api.get('/qbank/questions' + api.qs(p)),
    toolbar: (list) => [
      btn('退役所选', async () => {
        const ids = [...list.state.selected];
        if (!ids.length) return toast('请先勾选题目', 'warn');
        if (!(await confirmBox('退役题目', `将 ${ids.length} 道题（组合题为整组）加入退役草稿？发布后不再被抽取，已抽取的试卷不受影响。`, { okText: '退役', danger: true }))) return;
        try {
          const r = await api.post('/qbank/retirements', { ids });
          toast(`已生成退役草稿版本 #${r.id}（${r.retirements} 道题）`);
          ctx.go('qbank-release/' + r.id);
        } catch (e) {
          showError(e);
        }
      }),
    ],
    columns: [
      { title: '编号', key: 'id' },
      { title: '类别/试卷', render: (r) => `${r.category} ${r.paper}` },
      { title: '科目', key: 'section' },
      { title: '题型', key: 'qtype' },
      { title: '题干', key: 'stem', cls: 'wrap' },
      { title: '状态', render: (r) => st(Q_STATE, r.state) },
      { title: '操作', render: (r) => [link('查看', () => showQuestion(r.id)), r.state === 'live' && [' ', link('修改', () => reviseDialog(ctx, r))]] },
    ],
  });
  l.load(1);
  return card('题目管理', l.el);
}

// ---- 组卷蓝图 ---------------------------------------------------------------------------------------------------

export async function blueprints(ctx) {
  const all = await api.get('/qbank/blueprints');
  const pick = form(
    [
      { name: 'category', label: '执业类别', type: 'select', options: CATS, placeholderOption: false },
      { name: 'paper', label: '试卷', type: 'select', options: PAPERS, placeholderOption: false },
    ],
    { cols: 2 },
  );
  const editor = h('div', { class: 'qb-bp' });
  const show = () => {
    const b = all.blueprints.find((x) => x.category === pick.get('category') && x.paper === pick.get('paper'));
    clear(editor, bpEditor(b || { category: pick.get('category'), paper: pick.get('paper'), question_count: 100, duration_min: 60, pass_mark: 60, sections: [] }));
  };
  pick.inputs.category.input.addEventListener('change', show);
  pick.inputs.paper.input.addEventListener('change', show);
  show();
  return card('组卷蓝图', h('div', null, h('p', { class: 'muted' }, `题库版本 ${all.bank_version}。每行：从一个科目（可限定题型）抽取若干道题；各行题数之和为总题数。修改后即时检查题库能否组卷，不能组卷的蓝图不能发布。`), pick.el, editor));
}

function bpEditor(b) {
  const head = form(
    [
      { name: 'duration_min', label: '考试时长（分钟）', type: 'number', value: b.duration_min ?? 60, attrs: { min: 1, max: 600 } },
      { name: 'pass_mark', label: '合格分数线', type: 'number', value: b.pass_mark ?? 60, attrs: { min: 0, max: 500 } },
    ],
    { cols: 2 },
  );
  const rows = (b.sections || []).map((s) => ({ section: s.section, type: s.type || [], count: s.count, available: s.available, feasible: s.feasible }));
  const tbody = h('tbody');
  const status = h('div', { class: 'qb-feasible', role: 'status', 'aria-live': 'polite' });
  const total = h('strong');
  const publishBtn = btn('发布蓝图', () => publish().catch(showError), 'primary');
  let timer = null;
  let seq = 0;
  const body = () => ({
    category: b.category,
    paper: b.paper,
    question_count: rows.reduce((a, r) => a + (Number(r.count) || 0), 0),
    duration_min: Number(head.get('duration_min')),
    pass_mark: Number(head.get('pass_mark')),
    sections: rows.map((r) => ({ section: r.section, count: Number(r.count), type: r.type })),
  });
  function draw() {
    clear(
      tbody,
      rows.map((r, i) => {
        const sec = h('input', { value: r.section, maxlength: 50, 'aria-label': `第 ${i + 1} 行科目`, oninput: () => ((r.section = sec.value.trim()), changed()) });
        const cnt = h('input', { type: 'number', min: 1, max: 500, value: r.count, class: 'qb-count', 'aria-label': `第 ${i + 1} 行题数`, oninput: () => ((r.count = cnt.value), changed()) });
        const types = h(
          'span',
          { class: 'checks' },
          TYPES.map((t) => {
            const c = h('input', { type: 'checkbox', value: t, checked: r.type.includes(t), 'aria-label': `第 ${i + 1} 行题型 ${t}` });
            c.addEventListener('change', () => {
              r.type = TYPES.filter((x) => (x === t ? c.checked : r.type.includes(x)));
              changed();
            });
            return h('label', { class: 'check' }, c, ' ', t);
          }),
        );
        const avail = r.available === undefined ? '…' : String(r.available);
        return h(
          'tr',
          { class: r.feasible === false ? 'qb-infeasible' : '' },
          h('td', null, sec),
          h('td', null, types),
          h('td', null, cnt),
          h('td', { class: 'qb-avail' }, avail),
          h('td', null, r.feasible === undefined ? '' : r.feasible ? tag('可组卷', 'green') : tag('不足', 'red')),
          h('td', null, link('删除', () => (rows.splice(i, 1), draw(), changed()))),
        );
      }),
    );
    total.textContent = String(body().question_count);
  }
  function changed() {
    total.textContent = String(body().question_count);
    clearTimeout(timer);
    timer = setTimeout(check, 350);
  }
  // what the server would refuse with the library's (English) reason, said here first
  function problem() {
    const b = body();
    if (!rows.length) return '请至少增加一行';
    for (const [i, r] of rows.entries()) {
      if (!r.section) return `第 ${i + 1} 行请填写科目`;
      if ([...r.section].length > 50) return `第 ${i + 1} 行科目不能超过 50 个字`;
      if (!(Number(r.count) >= 1)) return `第 ${i + 1} 行题数至少为 1`;
      for (let k = 0; k < i; k++) {
        const o = rows[k];
        const overlap = !o.type.length || !r.type.length || o.type.some((t) => r.type.includes(t));
        if (o.section === r.section && overlap) return `第 ${i + 1} 行与第 ${k + 1} 行科目相同且题型重叠`;
      }
    }
    if (b.question_count > 500) return '总题数不能超过 500';
    if (!(b.duration_min >= 1 && b.duration_min <= 600)) return '考试时长应为 1 到 600 分钟';
    if (!(b.pass_mark >= 0 && b.pass_mark <= b.question_count)) return '合格分数线应在 0 到总题数之间';
    return null;
  }
  async function check() {
    const my = ++seq;
    publishBtn.disabled = true;
    const bad = problem();
    if (bad) {
      clear(status, h('span', { class: 'form-error' }, bad));
      return;
    }
    try {
      const r = await api.post('/qbank/blueprints/check', body());
      if (my !== seq) return;
      r.sections.forEach((s, i) => rows[i] && Object.assign(rows[i], { available: s.available, feasible: s.feasible }));
      draw();
      const short = rows
        .filter((x) => x.feasible === false)
        .map((x) => (x.available < Number(x.count) ? `${x.section} 需要 ${x.count} 道，题库可用 ${x.available} 道` : `${x.section} 的整组题无法恰好凑成 ${x.count} 道`))
        .join('；');
      clear(status, r.feasible ? tag('题库可以按此蓝图组卷', 'green') : h('span', null, tag('题库无法按此蓝图组卷', 'red'), ' ', short));
      publishBtn.disabled = !r.feasible;
    } catch (e) {
      if (my !== seq) return;
      clear(status, h('span', { class: 'form-error' }, e.message));
    }
  }
  async function publish() {
    const r = await api.put('/qbank/blueprints', body());
    toast(`蓝图已发布（${r.category} ${r.paper}）`);
  }
  head.el.addEventListener('input', changed);
  draw();
  check();
  return h(
    'div',
    null,
    head.el,
    h(
      'div',
      { class: 'table-wrap' },
      h('table', { class: 'grid qb-bp-rows' }, h('thead', null, h('tr', null, ['科目', '题型（不选为全部）', '题数', '题库可用', '', ''].map((t) => h('th', null, t)))), tbody),
    ),
    h('p', null, link('＋ 增加一行', () => (rows.push({ section: '', type: [], count: 1 }), draw(), changed())), '　总题数：', total),
    status,
    h('div', { class: 'row-actions' }, publishBtn),
  );
}

// ---- 试卷预览 -----------------------------------------------------------------------------------------------

export function preview(ctx) {
  const f = form(
    [
      { name: 'category', label: '执业类别', type: 'select', options: CATS, placeholderOption: false },
      { name: 'paper', label: '试卷', type: 'select', options: PAPERS, placeholderOption: false },
      { name: 'seed', label: '随机种子', type: 'number', hint: '留空则随机；相同种子和题库版本抽出相同试卷', attrs: { min: 0 } },
    ],
    { cols: 3 },
  );
  const out = h('div', { class: 'qb-preview' });
  const draw = async () => {
    const v = f.values();
    const body = { category: v.category, paper: v.paper };
    if (v.seed !== '') body.seed = Number(v.seed);
    try {
      const p = await api.post('/qbank/preview', body);
      clear(
        out,
        h('p', { class: 'muted' }, `${p.category} ${p.paper}：${p.questions.length} 道题，种子 ${p.seed}，题库版本 ${p.bank_version}（仅供审阅，不保存）`),
        p.questions.map((q) => h('div', { class: 'qb-pq' }, h('h4', null, `${q.no}. [${q.type}] ${q.section}`, h('small', { class: 'muted' }, ` ${q.id}`)), q.case && h('div', { class: 'qb-case' }, q.case), questionBody(q))),
      );
    } catch (e) {
      showError(e);
    }
  };
  return card('试卷预览', h('div', null, f.el, h('div', { class: 'row-actions' }, btn('抽取样卷', draw, 'primary')), out));
}

// ---- 题库管理员 (the province) -----------------------------------------------------------------------------------------

export async function admins(ctx) {
  const box = h('div');
  const load = async () => {
    const r = await api.get('/authority/qbank-admins');
    clear(
      box,
      table(
        [
          { title: '用户名', key: 'username' },
          { title: '姓名', key: 'display_name' },
          { title: '状态', render: (a) => (a.enabled ? tag('启用', 'green') : tag('停用', 'gray')) },
          { title: '最近登录', render: (a) => fmtTime(a.last_login_at) },
          { title: '操作', render: (a) => link(a.enabled ? '停用' : '启用', () => api.post(`/authority/qbank-admins/${a.id}/${a.enabled ? 'disable' : 'enable'}`).then(load, showError)) },
        ],
        r.items,
      ).el,
    );
  };
  const add = async () => {
    const f = form(
      [
        { name: 'username', label: '用户名', required: true, attrs: { maxlength: 64 }, hint: '4 到 64 位字母、数字或 _ - .' },
        { name: 'display_name', label: '姓名', required: true, attrs: { maxlength: 64 } },
      ],
      { cols: 1 },
    );
    await modal({
      title: '新增题库管理员',
      body: f.el,
      onOk: async () => {
        const r = await api.post('/authority/qbank-admins', f.check());
        await showActivation('账号已开设', [['用户名', h('strong', null, r.username)], ['初始密码', r.initial_password], ['激活码', h('strong', { class: 'activation-code' }, r.activation_code)]]);
        load();
        return true;
      },
    });
  };
  await load();
  return card('题库管理员', h('div', null, h('p', { class: 'muted' }, '题库管理员以「卫生行政部门」类型登录，只能使用题库管理功能。'), box), btn('新增', add, 'primary'));
}
