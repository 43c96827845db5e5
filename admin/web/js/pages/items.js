// items.js - 试题分析 (item analysis after a test window), for the province: the papers of a
// cycle (sittings, score distribution as a chart, KR-20), the questions flagged for review
// (negative discrimination, p > 0.95 or < 0.10, a distractor nobody picks) and every
// question's statistics with its option distribution, a recomputation request and the CSV
// export. The figures come from admind (GET /item-analysis…); nothing is computed here.

import * as api from '../api.js';
import { h, clear, btn, card, desc, listView, tag, toast, showError, drawer, paperName, fmtTime, table } from '../ui.js';
import { bars, columns } from '../chart.js';

const FLAGS = {
  negative_discrimination: ['区分度为负', 'red'],
  too_easy: ['过易 p>0.95', 'orange'],
  too_hard: ['过难 p<0.10', 'orange'],
  unused_distractor: ['干扰项无人选', 'blue'],
};
const RUN_STATUS = { queued: '排队中', running: '计算中', done: '已完成', failed: '失败' };
const ATTEMPT = { 1: '测评', 2: '补考' };
const n2 = (x, d = 2) => (x === null || x === undefined ? '—' : Number(x).toFixed(d));

function flagTags(fl) {
  return (fl || []).map((f) => tag(FLAGS[f] ? FLAGS[f][0] : f, FLAGS[f] ? FLAGS[f][1] : 'plain'));
}

// One question: its figures and its options as bars (the key green, unpicked distractors red).
function showQuestion(q) {
  const opts = Object.entries(q.options || {}).map(([k, v]) => {
    const key = (q.answer || '').includes(k);
    return { label: `${k}${key ? '（答案）' : ''}`, value: v, color: key ? '#2f9e6f' : v === 0 ? '#d9534f' : '#7a8699' };
  });
  drawer(
    `试题 ${q.question_id}`,
    h(
      'div',
      null,
      desc([
        ['题型', q.qtype],
        ['科目', q.section],
        ['试卷', `${q.category} ${paperName(q.paper)}（${ATTEMPT[q.attempt]}）`],
        ['题干', q.stem, { wide: true }],
        ['抽中次数（曝光率）', `${q.drawn}（${n2(q.exposure * 100, 1)}%）`],
        ['作答 / 答对', `${q.answered} / ${q.correct}`],
        ['通过率 p', n2(q.facility)],
        ['区分度（校正点二列）', n2(q.rpb)],
        ['高低分组区分度（27%）', `${n2(q.ul_index)}（高分组 ${q.upper_n} 人，低分组 ${q.lower_n} 人）`],
        ['作答用时中位数', q.median_time_s === null ? '—' : `${n2(q.median_time_s, 1)} 秒`],
        ['标记', flagTags(q.flags).length ? flagTags(q.flags) : '无', { wide: true }],
      ]),
      h('h4', null, '选项分布（原始选项字母）'),
      h('div', { class: 'item-options-chart' }, bars(opts, { unit: ' 人', labelW: 90, width: 420 })),
    ),
  );
}

function papersView(r) {
  if (!r.papers.length) return h('p', { class: 'muted' }, r.run ? '该周期没有可分析的测评记录' : '该周期尚未完成试题分析，可点击“重新计算”');
  const chartBox = h('div', { class: 'items-chart' });
  const draw = (p) =>
    clear(
      chartBox,
      h('h4', null, `${p.category} ${paperName(p.paper)}（${ATTEMPT[p.attempt]}）分数分布：${p.sittings} 人，平均 ${n2(p.mean_score, 1)} 分`),
      columns(p.distribution, { label: `${p.category}${paperName(p.paper)}分数分布` }),
    );
  const cols = [
    { title: '执业类别', key: 'category' },
    { title: '试卷', render: (p) => paperName(p.paper) },
    { title: '场次', render: (p) => ATTEMPT[p.attempt] },
    { title: '参考人数', key: 'sittings' },
    { title: '题量', key: 'questions' },
    { title: '平均分', render: (p) => n2(p.mean_score, 1) },
    { title: '标准差', render: (p) => n2(p.sd_score, 1) },
    { title: '中位数', key: 'median' },
    { title: '最低 / 最高', render: (p) => `${p.min_score} / ${p.max_score}` },
    { title: '信度 KR-20', render: (p) => n2(p.kr20) },
    { title: '测量标准误', render: (p) => n2(p.sem, 1) },
    { title: '试题数', key: 'items' },
    { title: '待复核', render: (p) => (p.flagged ? tag(String(p.flagged), 'red') : '0') },
    { title: '操作', render: (p) => btn('分数分布', () => draw(p), 'small') },
  ];
  draw(r.papers.reduce((a, b) => (b.sittings > a.sittings ? b : a)));
  return h('div', null, table(cols, r.papers).el, chartBox);
}

export async function page(ctx) {
  if (!ctx.province && !(ctx.me.roles || []).includes('qbank')) return card('试题分析', h('p', { class: 'muted' }, '试题分析仅限省级卫生行政部门和题库管理员使用'));
  const cycleId = ctx.params && ctx.params[0] ? Number(ctx.params[0]) : null;
  const r = await api.get('/item-analysis' + api.qs(cycleId ? { cycle_id: cycleId } : {}));
  const cid = r.cycle.id;
  const sel = h(
    'select',
    { 'aria-label': '考核周期', onchange: () => ctx.go('items/' + sel.value) },
    r.cycles.map((c) => h('option', { value: c.id, selected: c.id === cid }, `${c.name}${c.analysed ? '' : '（未分析）'}`)),
  );
  const minN = h('input', { type: 'number', min: 1, max: 10000, value: r.run ? r.run.min_n : r.thresholds.min_n_default, class: 'small-input', 'aria-label': '最少抽中次数' });
  const recompute = async () => {
    try {
      await api.post('/item-analysis/runs', { cycle_id: cid, min_n: Number(minN.value) });
      toast('已提交重新计算，完成后刷新本页即可看到结果');
      ctx.go('items/' + cid);
    } catch (e) {
      showError(e);
    }
  };
  const run = r.run;
  const status = h(
    'div',
    null,
    desc([
      ['考核周期', sel],
      ['最近一次分析', run ? `${fmtTime(run.finished_at)}（${run.requested_by}）` : '尚未分析'],
      ['分析范围', run ? `${run.sessions} 场测评、${run.answers} 条作答，用时 ${(run.duration_ms / 1000).toFixed(1)} 秒` : '—'],
      ['标记条件', `抽中 ≥ ${run ? run.min_n : r.thresholds.min_n_default} 次，且区分度为负、p > 0.95、p < 0.10 或有干扰项无人选择`, { wide: true }],
      ['进行中', r.pending ? tag(RUN_STATUS[r.pending.status], 'blue') : '无'],
    ]),
    h('div', { class: 'toolbar' }, h('label', null, '最少抽中次数 ', minN), btn('重新计算', recompute, 'primary'), btn('导出 CSV', () => exportCsv(cid, list))),
  );
  const list = listView({
    filters: [
      { name: 'category', label: '执业类别', type: 'select', options: ['临床', '中医', '口腔', '公共卫生'] },
      { name: 'paper', label: '试卷', type: 'select', options: [['公共知识', '人文医学'], ['业务水平', '业务水平']] },
      { name: 'attempt', label: '场次', type: 'select', options: [['1', '测评'], ['2', '补考']] },
      { name: 'flag', label: '标记', type: 'select', options: [['any', '全部待复核'], ...Object.entries(FLAGS).map(([k, v]) => [k, v[0]])] },
    ],
    defaults: { flag: 'any' },
    columns: [
      { title: '试题编号', render: (q) => h('button', { type: 'button', class: 'link', onclick: () => showQuestion(q) }, q.question_id) },
      { title: '题型', key: 'qtype' },
      { title: '科目', key: 'section' },
      { title: '题干', render: (q) => h('span', { class: 'items-stem', title: q.stem || '' }, q.stem || '') },
      { title: '试卷', render: (q) => `${q.category}${paperName(q.paper)}${q.attempt === 2 ? '（补考）' : ''}` },
      { title: '抽中', key: 'drawn' },
      { title: '通过率 p', render: (q) => n2(q.facility) },
      { title: '区分度', render: (q) => n2(q.rpb) },
      { title: '高低分组', render: (q) => n2(q.ul_index) },
      { title: '用时中位数(秒)', render: (q) => n2(q.median_time_s, 1) },
      { title: '标记', render: (q) => flagTags(q.flags) },
    ],
    fetch: (p) => api.get('/item-analysis/questions' + api.qs({ ...p, cycle_id: cid })),
    empty: '没有符合条件的试题',
  });
  list.load(1);
  return h('div', null, card(`试题分析 · ${r.cycle.name}`, status), card('试卷统计', papersView(r)), card('试题统计（默认显示待复核试题）', list.el));
}

function exportCsv(cid, list) {
  const p = list.params();
  delete p.page;
  delete p.page_size;
  api.download('/item-analysis/export' + api.qs({ ...p, cycle_id: cid }), `试题分析-${cid}.csv`).catch(showError);
}
