// pages/invigilation.js - 监考管理: the list of test sittings with their lowest capture
// similarity (filter below the cycle's threshold, 40 % by default, to look at those
// first), the system's warnings, 标记状态 and 查看状态; one sitting's captures beside the
// registered photo (#/session/<id>). An institution marks 疑似; only the authority takes
// a mark back (取消疑似), and the provincial authority decides 认定作弊 (the test fails)
// or 撤销认定, always with a reason. Every photo shown is fetched with the token and
// every view is written to the audit log by the server (PIPL).

import * as api from '../api.js';
import { h, card, btn, link, toast, askReason, tag, listView, desc, table, fmtTime, paperName, showError, empty } from '../ui.js';
import { regionInstitutions } from './progress.js';

// capture flags (one frame) and the proctor's session decisions (proctor/proctor_session.h):
// a sitting is flagged from all of its captures, each flag with the frames behind it
const FLAG = {
  low_similarity: '相似度低',
  no_face: '未检测到人脸',
  multiple_faces: '多人',
  missing_captures: '抓拍缺失',
  low_similarity_run: '连续多张相似度低',
  low_similarity_share: '相似度低的照片过半',
  low_similarity_median: '相似度中位数低',
  no_face_time: '长时间未检测到人脸',
  retake: '需重拍（照片质量）',
  // the exam page's signals (issue 18)
  departures: '切屏（离开考试页面）',
  concurrent_devices: '多设备同时作答',
};
const DEPARTURE_KIND = { hidden: '切换窗口/标签页', blur: '窗口失去焦点', fullscreen: '退出全屏' };
const fmtDur = (ms) => {
  const s = Math.round(Number(ms) / 1000);
  return s < 60 ? `${s} 秒` : `${Math.floor(s / 60)} 分 ${s % 60} 秒`;
};
// the list's count of departures, whether or not they reached the warning
const departuresText = (r) => (Number(r.departures) > 0 ? `切屏 ${r.departures} 次（共 ${fmtDur(r.departure_ms)}）` : '');
const flags = (s) => (s ? [...new Set(String(s).split(','))].map((f) => FLAG[f] || f).join('、') : '');
// "low_similarity_run:4,no_face_time:3" (the list's suspect_frames): each warning with its frame count
const flagFrames = (s) =>
  String(s)
    .split(',')
    .map((x) => {
      const [f, n] = x.split(':');
      return Number(n) > 0 ? `${FLAG[f] || f}（${n} 张）` : FLAG[f] || f;
    })
    .join('、');
// what a session decision's score means
function suspectScore(r) {
  if (r.score === null) return '—';
  const n = Number(r.score);
  if (r.reason === 'missing_captures') return `${n} 次`;
  if (r.reason === 'no_face_time') return `${Math.round(n / 60)} 分钟`;
  if (r.reason === 'multiple_faces') return `${n} 张`;
  if (r.reason === 'low_similarity_median') return `中位数 ${n.toFixed(1)}%`;
  if (r.reason === 'departures') return `${n} 次`;
  if (r.reason === 'concurrent_devices') return `${n} 台设备`;
  return `最低 ${n.toFixed(1)}%`;
}

function threshold(ctx) {
  return ctx.me.cycle ? Number(ctx.me.cycle.similarity_threshold) : 40;
}

function simText(v, th) {
  if (v === null || v === undefined) return h('span', { class: 'muted' }, '—');
  const n = Number(v);
  return h('span', { class: n < th ? 'sim low' : 'sim' }, `${n.toFixed(1)}%`);
}

// what the acting role may do with a sitting in this mark status (the same rows as the
// server's workflow table; the server checks again)
function actionsFor(ctx, mark, hasResult) {
  const a = [];
  if (mark === '无' || mark === '已撤销') a.push('mark');
  if (ctx.mode === 'authority' && mark === '疑似') a.push('unmark');
  if (ctx.province && hasResult && mark !== '已认定') a.push('determine');
  if (ctx.province && hasResult && mark === '已认定') a.push('revoke');
  return a;
}

const LABEL = { mark: '标记疑似', unmark: '取消疑似', determine: '认定作弊', revoke: '撤销认定' };

// Runs an action on a sitting, asking what it needs; resolves true when done.
export async function act(sid, action, version, name) {
  const run = (body) => api.post(`/invigilation/${sid}/actions/${action}`, body);
  let ok;
  if (action === 'mark') {
    ok = (await askReason('标记疑似', '备注', {
      optional: true,
      okText: '标记疑似',
      hint: `将 ${name} 的本场测评标记为疑似作弊。标记仅为标记，由省级卫生行政部门认定是否作弊；取消标记需联系主管卫生行政部门。`,
      onOk: (note) => run(note ? { note } : {}),
    })) !== null;
  } else if (action === 'determine') {
    ok = (await askReason('认定作弊', '认定理由', {
      okText: '认定作弊',
      hint: `认定 ${name} 本场测评作弊后，该测评结果为不合格。`,
      onOk: (reason) => run({ version, reason }),
    })) !== null;
  } else if (action === 'revoke') {
    ok = (await askReason('撤销认定', '撤销理由', { okText: '撤销认定', danger: false, hint: '撤销后测评结果恢复为按得分判定。', onOk: (reason) => run({ version, reason }) })) !== null;
  } else {
    ok = (await askReason('取消疑似标记', '取消理由', { okText: '取消标记', danger: false, onOk: (reason) => run({ version, reason }) })) !== null;
  }
  if (ok) toast(`已${LABEL[action]}`);
  return ok;
}

export async function list(ctx) {
  const auth = ctx.mode === 'authority';
  const th = threshold(ctx);
  const instOpts = auth ? (await regionInstitutions()).map((i) => [String(i.id), i.name]) : [];
  const lv = listView({
    filters: [
      auth && { name: 'institution_id', label: '医疗卫生机构', type: 'select', options: instOpts, placeholderOption: '全部机构' },
      { name: 'max_similarity', label: '相似度', type: 'select', options: [[String(th), `低于 ${th}%（建议优先查看）`], ['60', '低于 60%'], ['80', '低于 80%']], placeholderOption: '全部' },
      { name: 'mark_status', label: '标记状态', type: 'select', options: ['无', '疑似', '已认定', '已撤销'], placeholderOption: '全部' },
      { name: 'viewed', label: '查看状态', type: 'select', options: [['1', '已查看'], ['0', '未查看']], placeholderOption: '全部' },
      {
        name: 'suspect',
        label: '系统预警',
        type: 'select',
        options: [['1', '仅看有预警的'], ['face', '人脸预警'], ['departures', '切屏'], ['concurrent_devices', '多设备同时作答']],
        placeholderOption: '全部',
      },
      { name: 'paper', label: '试卷名称', type: 'select', options: [['公共知识', '人文医学'], ['业务水平', '业务水平']], placeholderOption: '全部' },
      { name: 'name', label: '姓名' },
      { name: 'id_number', label: '证件号码' },
    ].filter(Boolean),
    defaults: ctx.params[0] ? { mark_status: ctx.params[0] } : {},
    columns: [
      { title: '序号', render: (r, i) => i + 1, width: '56px' },
      auth && { title: '管辖区', key: 'region' },
      auth && { title: '医疗卫生机构', key: 'institution_name' },
      { title: '姓名', key: 'name' },
      { title: '年龄', key: 'age', width: '56px' },
      { title: '证件号码', key: 'id_number' },
      { title: '考核程序', key: 'procedure_type' },
      { title: '试卷名称', render: (r) => paperName(r.paper) + (r.attempt > 1 ? '（补考）' : '') },
      { title: '测评时间', render: (r) => fmtTime(r.started_at) },
      { title: '最低相似度', render: (r) => simText(r.min_similarity, Number(r.similarity_threshold) || th) },
      { title: '抓拍', render: (r) => `${r.captures} 张` },
      {
        title: '系统预警',
        render: (r) =>
          h('span', null,
            r.suspect_frames ? h('span', { class: 'warnflag' }, flagFrames(r.suspect_frames)) : null,
            departuresText(r) ? h('div', { class: 'muted small departures' }, departuresText(r)) : null,
            r.concurrent_devices && !String(r.suspect_frames || '').includes('concurrent_devices') ? h('div', { class: 'warnflag small' }, FLAG.concurrent_devices) : null),
      },
      { title: '测评结果', render: (r) => (r.passed === null ? tag(r.session_status === 'live' ? '测评中' : '未交卷', 'grey') : r.cheating_confirmed ? tag('不合格') : tag(r.passed ? '合格' : '不合格')) },
      { title: '标记状态', render: (r) => tag(r.mark_status) },
      { title: '查看状态', render: (r) => (r.viewed ? tag('已查看', 'plain') : tag('未查看', 'orange')) },
      {
        title: '操作',
        render: (r) =>
          h(
            'div',
            { class: 'ops' },
            link('查看', () => ctx.go('session/' + r.session_id)),
            actionsFor(ctx, r.mark_status, r.passed !== null).map((a) =>
              link(LABEL[a], async () => {
                if (await act(r.session_id, a, r.version, r.name)) lv.reload();
              }, a === 'determine' ? 'danger' : ''),
            ),
          ),
      },
    ].filter(Boolean),
    fetch: (p) => api.get('/invigilation' + api.qs(p)),
    cols: 4,
  });
  await lv.load(1);
  const hint = auth
    ? ctx.province
      ? '医疗卫生机构标记的疑似名单由省级卫生行政部门认定是否作弊。认定作弊后该测评结果为不合格；撤销认定后恢复按得分判定。'
      : '认定作弊和撤销认定由省级卫生行政部门办理；本部门可查看、标记疑似或取消疑似标记。'
    : `人脸识别监考：建议先筛选相似度低于 ${th}% 的测评，对照医师本人照片查看抓拍照片，疑似替考的点击「标记疑似」。标记仅为标记，最终由省级卫生行政部门认定。`;
  return card('监考管理', h('div', null, h('p', { class: 'muted' }, hint), lv.el));
}

// ---- one sitting ----------------------------------------------------------------------------------------------

function photo(path, alt, cls) {
  const img = h('img', { class: cls, alt });
  const box = h('div', { class: cls + '-wrap' }, img);
  api.blobUrl(path).then(
    (u) => (img.src = u),
    (e) => box.replaceChildren(h('div', { class: cls + ' empty' }, e.message)),
  );
  return box;
}

export async function detail(ctx) {
  const sid = ctx.params[0];
  const wrap = h('div', { class: 'invig' });
  const load = async () => {
    const d = await api.get(`/invigilation/${sid}`);
    const s = d.session;
    const th = Number(s.similarity_threshold) || 40;
    let onlyLow = d.captures.some((c) => c.similarity !== null && Number(c.similarity) < th) && d.captures.length > 12;
    const grid = h('div', { class: 'captures' });
    // the frames behind each system warning: capture id -> the warnings it supports
    const behind = new Map();
    for (const x of d.suspects) for (const id of x.frames || []) behind.set(id, [...(behind.get(id) || []), FLAG[x.reason] || x.reason]);
    const capTime = new Map(d.captures.map((c) => [c.id, c.taken_at]));
    const drawGrid = () => {
      const caps = onlyLow ? d.captures.filter((c) => c.similarity !== null && Number(c.similarity) < th) : d.captures;
      grid.replaceChildren(
        ...(caps.length
          ? caps.map((c) =>
              h(
                'figure',
                { class: 'capture' + (c.similarity !== null && Number(c.similarity) < th ? ' low' : '') + (c.flag ? ' flagged' : '') + (behind.has(c.id) ? ' evidence' : ''), 'data-capture': c.id },
                c.has_photo ? photo(`/captures/${c.id}/photo`, `抓拍照片 ${fmtTime(c.taken_at, true)}`, 'cap-img') : h('div', { class: 'cap-img empty' }, c.photo_deleted_at ? '已按保存期限删除' : '无照片'),
                h(
                  'figcaption',
                  null,
                  h('div', null, '相似度 ', simText(c.similarity, th)),
                  h('div', { class: 'muted small' }, fmtTime(c.taken_at, true), c.purpose === 'start' ? ' · 开考' : ''),
                  c.flag && h('div', { class: 'warnflag small' }, FLAG[c.flag] || c.flag),
                  c.faces !== null && c.faces !== 1 && h('div', { class: 'warnflag small' }, `检测到 ${c.faces} 张人脸`),
                  c.error && h('div', { class: 'muted small' }, c.error),
                  behind.has(c.id) && h('div', { class: 'warnflag small evidence-of' }, `预警依据：${behind.get(c.id).join('、')}`),
                ),
              ),
            )
          : [empty('没有符合条件的抓拍照片')]),
      );
    };
    drawGrid();
    const toggle = h('label', { class: 'check' }, h('input', { type: 'checkbox', checked: onlyLow, onchange: (e) => ((onlyLow = e.target.checked), drawGrid()) }), ` 只看相似度低于 ${th}% 的照片`);
    const acts = actionsFor(ctx, s.mark_status, s.passed !== null).filter((a) => (d.actions || []).some((x) => x.action === a));
    const left = h(
      'div',
      { class: 'invig-left' },
      h('h4', { class: 'sub' }, '医师本人照片（报名登记照片）'),
      s.has_registered_photo ? photo(`/physicians/${s.physician_id}/photo`, `${s.name}的报名照片`, 'reg-img') : h('div', { class: 'reg-img empty' }, '医师未上传本人照片'),
      desc(
        [
          ['姓名', s.name],
          ['性别', s.sex],
          ['证件号码', s.id_number],
          ['医疗卫生机构', s.institution_name],
          ['执业类别', s.practice_category],
          ['考核程序', s.procedure_type],
          ['试卷名称', paperName(s.paper) + (s.attempt > 1 ? '（补考）' : '')],
          ['开始时间', fmtTime(s.started_at, true)],
          ['交卷时间', fmtTime(s.submitted_at, true)],
          ['得分', s.score === null ? '—' : `${s.score} / ${s.total}`],
          ['测评结果', s.final_passed === null ? '未交卷' : tag(s.final_passed ? '合格' : '不合格')],
          ['标记状态', tag(s.mark_status)],
          ['查看次数', s.view_count || 0],
          s.mark_note && ['标记备注', s.mark_note],
        ],
        1,
      ),
    );
    const actions = acts.length
      ? h(
          'div',
          { class: 'row-actions' },
          acts.map((a) =>
            btn(LABEL[a], async () => {
              if (await act(sid, a, s.version, s.name)) load().catch(showError);
            }, a === 'determine' || a === 'mark' ? 'danger' : 'primary'),
          ),
        )
      : null;
    // the exam page's signals: each departure, and the devices (addresses masked by the server)
    const pageCard = card(
      '离开考试页面（切屏）与作答设备',
      h(
        'div',
        { class: 'page-signals' },
        table(
          [
            { title: '开始时间', render: (r) => fmtTime(r.started_at, true) },
            { title: '方式', render: (r) => DEPARTURE_KIND[r.kind] || r.kind },
            { title: '时长', render: (r) => fmtDur(r.duration_ms) },
          ],
          d.departures || [],
          { empty: '没有离开考试页面的记录', caption: `离开考试页面 ${s.departures || 0} 次，共 ${fmtDur(s.departure_ms || 0)}` },
        ).el,
        table(
          [
            { title: '浏览器', key: 'user_agent', cls: 'wrap' },
            { title: '网络地址', key: 'address' },
            { title: '首次打开', render: (r) => fmtTime(r.first_seen, true) },
            { title: '最后打开', render: (r) => fmtTime(r.last_seen, true) },
          ],
          d.devices || [],
          { empty: '无', caption: s.concurrent_devices ? '作答设备（曾在两台设备上同时作答）' : '作答设备' },
        ).el,
      ),
    );
    wrap.replaceChildren(
      card(
        `监考照片 — ${s.name}`,
        h(
          'div',
          { class: 'invig-body' },
          left,
          h('div', { class: 'invig-right' }, h('div', { class: 'sub-head' }, h('h4', { class: 'sub' }, `抓拍照片（${d.captures.length} 张）`), toggle), grid),
        ),
        h('div', { class: 'row-actions' }, actions, btn('返回', () => window.history.back())),
      ),
      card(
        '系统预警与认定记录',
        h(
          'div',
          null,
          table(
            [
              { title: '预警', render: (r) => FLAG[r.reason] || r.reason },
              { title: '分值', render: suspectScore },
              {
                title: '依据照片',
                cls: 'wrap',
                render: (r) =>
                  r.reason === 'departures' || r.reason === 'concurrent_devices'
                    ? h('button', { type: 'button', class: 'btn link see-departures', onclick: () => pageCard.scrollIntoView({ behavior: 'smooth' }) },
                        r.reason === 'departures' ? `查看 ${d.departures.length} 次离开记录` : `查看 ${d.devices.length} 台作答设备`)
                    : r.frames && r.frames.length
                      ? `${r.frames.length} 张：` + r.frames.map((id) => (capTime.has(id) ? fmtTime(capTime.get(id), true) : `#${id}`)).join('、')
                      : r.reason === 'missing_captures'
                        ? '—'
                        : `${r.occurrences} 次`,
              },
              { title: '时间', render: (r) => fmtTime(r.created_at, true) },
            ],
            d.suspects,
            { empty: '无系统预警', caption: '系统预警' },
          ).el,
          table(
            [
              { title: '决定', render: (r) => tag(r.decision, r.decision === '认定作弊' ? 'red' : 'grey') },
              { title: '理由', key: 'reason', cls: 'wrap' },
              { title: '决定人', render: (r) => `${r.authority} ${r.decided_by}` },
              { title: '时间', render: (r) => fmtTime(r.created_at, true) },
            ],
            d.determinations,
            { empty: '无', caption: '认定记录' },
          ).el,
        ),
      ),
      pageCard,
    );
  };
  await load();
  return wrap;
}
