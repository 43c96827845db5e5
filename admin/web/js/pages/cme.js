// pages/cme.js - 继续医学教育 (issue 15, seed [003]; admind's /api/v1/cme/*): 继教项目 (申报 by
// the organising unit, 初审 by the city bureau, 审核 by the provincial office whose result
// is fed back on the Wednesday/Friday batch day), one project's page (签到 by card swipe or
// hand input, 纸质证书名单 import, 签到簿 export, 执行情况反馈, 核查, 授予学分), 继教IC卡 of a
// unit's staff, 学分查询 (a person's years and 年度验证), 学分统计 (by unit, city, level; CSV)
// and the province's 年度验证规则, 定考关联 setting and 节假日日历.

import * as api from '../api.js';
import { h, card, btn, link, toast, modal, askReason, tag, listView, form, desc, table, fmtTime, fmtDate, fromLocalInput, showError, filePicker, readFile, clear } from '../ui.js';

const STATUS_COLOR = { 待初审: 'blue', 初审退回: 'red', 待省级审核: 'blue', 审核通过: 'green', 审核不通过: 'red' };
const isCity = (ctx) => ctx.mode === 'authority' && ctx.me.level === 'city';
const num = (x) => (x === null || x === undefined ? '—' : Number(x).toFixed(1).replace(/\.0$/, ''));

// ---- projects ------------------------------------------------------------------------------------------

function sessionRow(list) {
  const row = form(
    [
      { name: 'title', label: '场次名称', required: true, attrs: { maxlength: 128 } },
      { name: 'venue', label: '地点', attrs: { maxlength: 128 } },
      { name: 'starts_at', label: '开始（北京时间）', type: 'datetime', required: true },
      { name: 'ends_at', label: '结束（北京时间）', type: 'datetime', required: true },
    ],
    { cols: 4, cls: 'cme-session' },
  );
  const el = h('div', { class: 'cme-session-row' }, row.el, link('删除场次', () => { el.remove(); list.splice(list.indexOf(row), 1); }));
  list.push(row);
  return el;
}

// p: a returned or refused project declared again (PUT with its version), else a new one
async function declareDialog(ctx, p = null) {
  const f = form(
    [
      { name: 'level', label: '项目级别', type: 'select', required: true, options: ['国家级', '省级', '市级'] },
      { name: 'project_no', label: '项目编号', required: true, attrs: { maxlength: 32 }, hint: '字母、数字、- 和 _' },
      { name: 'name', label: '项目名称', required: true, attrs: { maxlength: 128 }, wide: true },
      { name: 'credits', label: '学分', type: 'number', required: true, attrs: { min: 0.5, max: 25, step: 0.5 } },
      { name: 'notice', label: '办班通知', type: 'textarea', required: true, attrs: { maxlength: 5000 }, rows: 5, hint: '请提示学员携带继教IC卡或提供继教IC卡号' },
    ],
    { cols: 2 },
  );
  const rows = [];
  const box = h('div', { class: 'cme-sessions' });
  if (p) {
    f.fill({ ...p, credits: String(Number(p.credits)) });
    for (const s of p.sessions) {
      box.append(sessionRow(rows));
      rows[rows.length - 1].fill(s);
    }
  } else box.append(sessionRow(rows));
  const ok = await modal({
    title: p ? '修改后重新申报' : '申报继教项目',
    width: 900,
    body: h('div', null, h('p', { class: 'muted' }, '须至少在首场开始前 2 周申报；市级主办单位的项目先经市卫生局初审，省直单位直接报省继教办。'), f.el, h('h4', { class: 'form-section' }, '日程安排'), box, btn('添加场次', () => box.append(sessionRow(rows)))),
    okText: '提交申报',
    onOk: async () => {
      const v = f.check();
      if (!rows.length) throw new Error('请至少填写一个场次');
      const sessions = rows.map((r, i) => {
        const s = r.check();
        if (s.ends_at <= s.starts_at) throw new Error(`第 ${i + 1} 个场次的结束时间应晚于开始时间`);
        return { title: s.title, venue: s.venue || null, starts_at: fromLocalInput(s.starts_at), ends_at: fromLocalInput(s.ends_at) };
      });
      const body = { level: v.level, project_no: v.project_no, name: v.name, credits: Number(v.credits), notice: v.notice, sessions };
      if (p) {
        await api.put('/cme/projects/' + p.id, { ...body, version: p.version });
        ctx.refresh();
      } else {
        const r = await api.post('/cme/projects', body);
        location.hash = '#/cme-project/' + r.id;
      }
    },
  });
  if (ok) toast('已申报，等待' + (ctx.me.authority && ctx.me.authority.admin_level === 'province' ? '省继教办审核' : '市卫生局初审'));
}

export async function projects(ctx) {
  const lv = listView({
    filters: [
      { name: 'q', label: '项目名称/编号' },
      { name: 'level', label: '项目级别', type: 'select', options: ['国家级', '省级', '市级'], placeholderOption: '全部' },
      { name: 'status', label: '状态', type: 'select', options: ['待初审', '初审退回', '待省级审核', '审核通过', '审核不通过'], placeholderOption: '全部' },
      { name: 'year', label: '年度', type: 'number', attrs: { min: 2000, max: 2200 } },
    ],
    columns: [
      { title: '项目编号', key: 'project_no' },
      { title: '项目名称', key: 'name', cls: 'wrap' },
      { title: '级别', key: 'level' },
      { title: '学分', render: (p) => `${p.category} ${num(p.credits)} 分` },
      ctx.mode === 'authority' && { title: '主办单位', key: 'organiser_name', cls: 'wrap' },
      { title: '举办时间', render: (p) => `${fmtTime(p.start_at)} 至 ${fmtTime(p.end_at)}` },
      { title: '状态', render: (p) => tag(p.status, STATUS_COLOR[p.status]) },
      { title: '结果反馈日', render: (p) => fmtDate(p.release_on) || '—' },
      { title: '执行情况', render: (p) => (p.granted_at ? tag('已授分', 'green') : p.feedback_status || '—') },
      { title: '操作', render: (p) => link('查看', () => (location.hash = '#/cme-project/' + p.id)) },
    ].filter(Boolean),
    fetch: (q) => api.get('/cme/projects' + api.qs(q)),
    toolbar: ctx.mode === 'institution' ? [btn('申报项目', () => declareDialog(ctx), 'primary')] : [],
  });
  lv.load(1);
  return card('继教项目', lv.el);
}

// ---- one project -----------------------------------------------------------------------------------------

function swipePanel(ctx, p) {
  const input = h('input', { type: 'text', class: 'cme-card-input', 'aria-label': '继教IC卡编号', placeholder: '刷卡或输入卡号后回车', autocomplete: 'off', maxlength: 40 });
  const method = form([{ name: 'method', label: '签到方式', type: 'radio', options: ['刷卡', '手工录入'] }], { cols: 1 });
  method.set('method', '刷卡');
  const sess = form([{ name: 'session_id', label: '场次', type: 'select', options: p.sessions.map((s) => [String(s.id), `第 ${s.seq} 场 ${s.title}（${fmtTime(s.starts_at)}）`]), placeholderOption: '当前场次（自动）' }], { cols: 1 });
  const log = h('ol', { class: 'cme-swipe-log', 'aria-live': 'polite' });
  const say = (text, ok) => log.prepend(h('li', { class: ok ? 'ok' : 'err' }, `${fmtTime(new Date().toISOString(), true)} ${text}`));
  input.addEventListener('keydown', async (e) => {
    if (e.key !== 'Enter') return;
    e.preventDefault();
    const no = input.value.trim();
    input.value = '';
    if (!no) return;
    const body = { card_no: no, method: method.get('method') || '刷卡' };
    if (sess.get('session_id')) body.session_id = Number(sess.get('session_id'));
    try {
      const r = await api.post(`/cme/projects/${p.id}/swipes`, body);
      say(`${r.card_no} ${r.name}（${r.unit}）第 ${r.seq} 场：${r.message}`, true);
    } catch (err) {
      say(`${no}：${err.message}`, false);
    }
    input.focus();
  });
  setTimeout(() => input.focus(), 0);
  return card('签到', h('div', null, h('p', { class: 'muted' }, '读卡器刷卡会自动输入卡号并回车；未带卡的学员可改为手工录入卡号。重复刷卡只记一次。'), h('div', { class: 'form cols-3' }, method.el, sess.el), input, log));
}

function paperPanel(p) {
  const pick = filePicker({ accept: '.csv,text/csv', label: '选择 CSV 文件', aria: '纸质证书学员名单' });
  const out = h('div', { class: 'cme-import-result' });
  const upload = async () => {
    const file = pick.input.files[0];
    if (!file) return toast('请选择文件', 'err');
    if (file.size > 4 << 20) return toast('文件不能超过 4 MB', 'err');
    try {
      const r = await api.call('POST', `/cme/projects/${p.id}/paper-attendees`, { raw: await readFile(file), ctype: 'text/csv' });
      clear(out, h('p', null, `已导入 ${r.imported} 人`));
    } catch (e) {
      const errs = (e.body && e.body.error && e.body.error.errors) || [];
      clear(out, h('p', { class: 'load-error', role: 'alert' }, e.message), errs.length ? table([{ title: '行号', key: 'row' }, { title: '错误', key: 'error' }], errs).el : null);
    }
  };
  return card('纸质证书学员', h('div', null, h('p', { class: 'muted' }, '省外人员及尚未使用系统单位的学员发纸质证书，在签到簿中与电子化授分学员分列。CSV 表头：姓名*,单位*,类别*（省外人员/单位未使用系统）,证件号码；有错误时整个文件不导入。'), pick.el, btn('导入', upload, 'primary'), out));
}

function feedbackPanel(ctx, p) {
  const f = form(
    [
      { name: 'summary', label: '执行情况', type: 'textarea', required: true, attrs: { maxlength: 2000 }, rows: 4 },
      { name: 'signin_sheet_sent', label: '签到簿（一式两份）', type: 'radio', options: [['1', '已报送省继教办'], ['0', '未报送']] },
      { name: 'failed', label: '考核不合格学员卡号', type: 'textarea', hint: '每行一个卡号；这些学员不授予学分', rows: 2 },
    ],
    { cols: 1 },
  );
  f.set('signin_sheet_sent', '1');
  const send = async () => {
    try {
      const v = f.check();
      const r = await api.post(`/cme/projects/${p.id}/feedback`, { summary: v.summary, signin_sheet_sent: v.signin_sheet_sent === '1', failed_cards: v.failed.split(/\s+/).filter(Boolean) });
      toast(r.late ? '已报送（逾期：应在项目结束后 2 周内报送）' : '已报送执行情况反馈', r.late ? 'err' : 'ok');
      ctx.refresh();
    } catch (e) {
      showError(e);
    }
  };
  return card('执行情况反馈', h('div', null, h('p', { class: 'muted' }, '项目结束后 2 周内报送；逾期报送会被标记。'), f.el, btn('报送', send, 'primary')));
}

async function grantDialog(ctx, p) {
  const f = form(
    [
      { name: 'committee_ref', label: '省继教委审核文号', required: true, attrs: { maxlength: 64 } },
      { name: 'committee_approved_on', label: '审核同意日期', type: 'date', required: true },
    ],
    { cols: 1 },
  );
  const progress = h('p', { class: 'cme-grant-progress', role: 'status' });
  const ok = await modal({
    title: '授予电子化学分',
    body: h('div', null, h('p', { class: 'muted' }, '为签到齐全且考核合格的学员授予学分；应在省继教委审核同意后 2 周内授予。'), f.el, progress),
    okText: '授予',
    onOk: async () => {
      const v = f.check();
      // the grant runs in batches: its progress is read while the request runs
      let polling = true;
      const poll = async () => {
        while (polling) {
          await new Promise((r) => setTimeout(r, 1000));
          if (!polling) break;
          try {
            const x = (await api.get(`/cme/projects/${p.id}`)).feedback;
            if (polling && x && x.grant_total) progress.textContent = `正在授予：已处理 ${x.grant_progress || 0} / ${x.grant_total} 名学员`;
          } catch {
            /* the next poll tries again */
          }
        }
      };
      poll();
      try {
        const r = await api.post(`/cme/projects/${p.id}/grant`, v);
        toast(`已为 ${r.granted} 名学员授予学分${r.late ? '（逾期）' : ''}`);
      } finally {
        polling = false;
      }
    },
  });
  if (ok) ctx.refresh();
}

export async function project(ctx) {
  const id = ctx.params[0];
  const p = await api.get('/cme/projects/' + id);
  const act = [];
  const ver = { version: p.version };
  if (ctx.mode === 'institution' && (p.status === '初审退回' || p.status === '审核不通过')) act.push(btn('修改后重新申报', () => declareDialog(ctx, p), 'primary'));
  if (isCity(ctx) && p.status === '待初审') {
    act.push(
      btn('初审通过', async () => {
        try {
          await api.post(`/cme/projects/${id}/city-review`, { decision: '通过', ...ver });
          toast('初审通过，已报省继教办');
          ctx.refresh();
        } catch (e) {
          showError(e);
        }
      }, 'primary'),
      btn('退回', () => askReason('退回项目', '初审意见', { onOk: async (opinion) => { await api.post(`/cme/projects/${id}/city-review`, { decision: '退回', opinion, ...ver }); ctx.refresh(); } })),
    );
  }
  if (ctx.province && p.raw_status === '待省级审核') {
    act.push(
      btn('审核通过', async () => {
        try {
          const r = await api.post(`/cme/projects/${id}/province-review`, { decision: '通过', ...ver });
          toast(`已审核，结果将于 ${r.release_on} 反馈`);
          ctx.refresh();
        } catch (e) {
          showError(e);
        }
      }, 'primary'),
      btn('不通过', () => askReason('审核不通过', '审核意见', { onOk: async (opinion) => { await api.post(`/cme/projects/${id}/province-review`, { decision: '不通过', opinion, ...ver }); ctx.refresh(); } })),
    );
  }
  const fb = p.feedback;
  if (ctx.province && fb && fb.status === '待核查') {
    act.push(
      btn('核查通过', async () => {
        try {
          await api.post(`/cme/projects/${id}/feedback/check`, { decision: '通过' });
          toast('执行情况核查通过');
          ctx.refresh();
        } catch (e) {
          showError(e);
        }
      }, 'primary'),
      btn('退回执行情况', () => askReason('退回执行情况反馈', '核查意见', { onOk: async (opinion) => { await api.post(`/cme/projects/${id}/feedback/check`, { decision: '退回', opinion }); ctx.refresh(); } })),
    );
  }
  if (ctx.province && fb && fb.status === '核查通过' && !fb.granted_at) act.push(btn('授予学分', () => grantDialog(ctx, p), 'primary'));
  const sheet = () => api.download(`/cme/projects/${id}/signin-sheet`, `签到簿-${p.project_no}.csv`).catch(showError);
  const sheetXlsx = () => api.download(`/cme/projects/${id}/signin-sheet?format=xlsx`, `签到簿-${p.project_no}.xlsx`).catch(showError);
  const info = card(
    `${p.project_no} ${p.name}`,
    h(
      'div',
      null,
      desc(
        [
          ['项目级别', p.level],
          ['学分', `${p.category} ${num(p.credits)} 分`],
          ['状态', tag(p.status, STATUS_COLOR[p.status])],
          ['主办单位', p.organiser_name],
          ['初审', p.provincial_direct ? '省直单位，不经市级初审' : p.city_opinion || (p.city_reviewed_at ? '通过' : '—')],
          ['结果反馈日', p.release_on ? `${fmtDate(p.release_on)}${p.released ? '' : '（未到反馈日）'}` : '—'],
          ['审核意见', p.province_opinion],
          ['电子化学员', `${p.electronic_attendees} 人`],
          ['纸质证书学员', `${p.paper_attendees} 人`],
          ['已授学分', `${p.credits_granted} 人`],
          ['办班通知', h('div', { class: 'pre' }, p.notice), { wide: true }],
        ],
        3,
      ),
      h('h4', { class: 'form-section' }, '日程安排'),
      table(
        [
          { title: '场次', key: 'seq' },
          { title: '名称', key: 'title' },
          { title: '地点', key: 'venue' },
          { title: '时间', render: (s) => `${fmtTime(s.starts_at)} 至 ${fmtTime(s.ends_at)}` },
          { title: '签到人数', key: 'attendees' },
        ],
        p.sessions,
      ).el,
      fb &&
        h(
          'div',
          null,
          h('h4', { class: 'form-section' }, '执行情况反馈'),
          desc(
            [
              ['报送时间', fmtTime(fb.submitted_at)],
              ['是否逾期', fb.late ? tag('逾期', 'red') : '按时'],
              ['签到簿', fb.signin_sheet_sent ? '已报送' : '未报送'],
              ['核查', fb.status],
              ['核查意见', fb.check_opinion],
              ['授予学分', fb.granted_at ? `${fmtTime(fb.granted_at)}，${fb.granted_count} 人${fb.grant_late ? '（逾期）' : ''}` : fb.grant_started_at ? `授予中：${fb.grant_progress || 0} / ${fb.grant_total}（中断后可再次点击授予学分继续）` : '—'],
              ['执行情况', fb.summary, { wide: true }],
            ],
            3,
          ),
        ),
    ),
    [...act, btn('导出签到簿', sheet), btn('导出签到簿（Excel）', sheetXlsx), btn('返回列表', () => (location.hash = '#/cme-projects'))],
  );
  const parts = [info];
  const running = ctx.mode === 'institution' && p.status === '审核通过';
  if (running && !fb) parts.push(swipePanel(ctx, p), paperPanel(p));
  if (running && (!fb || fb.status === '退回') && new Date(p.end_at) <= new Date()) parts.push(feedbackPanel(ctx, p));
  return h('div', null, ...parts);
}

// ---- cards, records ---------------------------------------------------------------------------------------

async function cardDialog(ctx) {
  const f = form(
    [
      { name: 'physician_id', label: '医师编号（本单位医师）', type: 'number', hint: '医师填写编号即可；其他卫生技术人员填写姓名' },
      { name: 'name', label: '姓名', attrs: { maxlength: 64 } },
      { name: 'id_number', label: '证件号码', attrs: { maxlength: 18 } },
      { name: 'card_no', label: '继教IC卡编号', attrs: { maxlength: 20 }, hint: '已持卡的填写卡号；未办卡的留空，由系统生成' },
    ],
    { cols: 1 },
  );
  let made = null;
  const ok = await modal({
    title: '登记继教IC卡',
    body: f.el,
    okText: '登记',
    onOk: async () => {
      const v = f.values();
      const body = {};
      if (v.physician_id) body.physician_id = Number(v.physician_id);
      else if (v.name) body.name = v.name;
      else throw new Error('请填写医师编号或姓名');
      if (v.id_number) body.id_number = v.id_number;
      if (v.card_no) body.card_no = v.card_no;
      made = await api.post('/cme/cards', body);
    },
  });
  if (ok && made) {
    toast(`${made.name} 的继教IC卡编号：${made.card_no}${made.generated ? '（系统生成）' : ''}`);
    ctx.refresh();
  }
}

export async function cards(ctx) {
  const lv = listView({
    filters: [{ name: 'name', label: '姓名' }, { name: 'card_no', label: '卡号' }],
    columns: [
      { title: '继教IC卡编号', key: 'card_no' },
      { title: '姓名', key: 'name' },
      { title: '证件号码', key: 'id_number' },
      { title: '单位', key: 'institution_name' },
      { title: '来源', render: (c) => (c.generated ? '系统生成' : '持卡登记') },
      { title: '登记时间', render: (c) => fmtTime(c.created_at) },
      { title: '操作', render: (c) => link('学分', () => (location.hash = '#/cme-records/' + c.card_no)) },
    ],
    fetch: (q) => api.get('/cme/cards' + api.qs(q)),
    toolbar: ctx.mode === 'institution' ? [btn('登记继教IC卡', () => cardDialog(ctx), 'primary')] : [],
  });
  lv.load(1);
  return card('继教IC卡', lv.el);
}

export function yearsTable(years) {
  return table(
    [
      { title: '年度', key: 'year' },
      { title: 'I类学分', render: (y) => num(y.i_credits) },
      { title: 'II类学分', render: (y) => num(y.ii_credits) },
      { title: '合计', render: (y) => num(y.total) },
      { title: '要求', render: (y) => `≥ ${num(y.rule.total_min)}（I类 ${num(y.rule.i_min)}–${num(y.rule.i_max)}，II类 ${num(y.rule.ii_min)}–${num(y.rule.ii_max)}）${y.rule.source}` },
      { title: '年度验证', render: (y) => tag(y.status, y.passed ? 'green' : 'red') },
      { title: '差额', render: (y) => y.shortfall || '—' },
    ],
    years,
    { empty: '暂无学分' },
  ).el;
}

export async function records(ctx) {
  const f = form([{ name: 'card_no', label: '继教IC卡编号', required: true }], { cols: 3 });
  const out = h('div');
  const show = async () => {
    try {
      const v = f.check();
      const r = await api.get('/cme/records' + api.qs({ card_no: v.card_no }));
      clear(
        out,
        desc([['姓名', r.card.name], ['卡号', r.card.card_no], ['单位', r.card.institution_name]], 3),
        h('h4', { class: 'form-section' }, '年度验证'),
        yearsTable(r.years),
        h('h4', { class: 'form-section' }, '学分明细'),
        table([{ title: '年度', key: 'year' }, { title: '项目', render: (c) => `${c.project_no} ${c.project_name}` }, { title: '级别', key: 'level' }, { title: '类别', key: 'category' }, { title: '学分', render: (c) => num(c.credits) }, { title: '授予时间', render: (c) => fmtTime(c.granted_at) }], r.credits, { empty: '暂无学分' }).el,
      );
    } catch (e) {
      clear(out, h('div', { class: 'load-error', role: 'alert' }, e.message));
    }
  };
  if (ctx.params[0]) {
    f.set('card_no', ctx.params[0]);
    show();
  }
  f.el.addEventListener('keydown', (e) => e.key === 'Enter' && show());
  return card('学分查询', h('div', null, h('div', { class: 'filter-bar' }, f.el, h('div', { class: 'filter-actions' }, btn('查询', show, 'primary'))), out));
}

// ---- statistics, rules ------------------------------------------------------------------------------------

export async function stats(ctx) {
  const f = form(
    [
      { name: 'year', label: '年度', type: 'number', value: String(new Date().getFullYear()), attrs: { min: 2000, max: 2200 } },
      { name: 'by', label: '统计方式', type: 'select', options: [['unit', '按单位'], ['city', '按市'], ['level', '按项目级别']], placeholderOption: false },
    ],
    { cols: 3 },
  );
  const out = h('div');
  const q = () => api.qs(f.values());
  const show = async () => {
    try {
      const r = await api.get('/cme/stats' + q());
      const lvl = r.by === 'level';
      const cols = lvl
        ? [{ title: '项目级别', key: 'name' }, { title: '项目数', key: 'projects' }, { title: '审核通过', key: 'approved' }, { title: '签到人数', key: 'persons' }, { title: '授分人数', key: 'achieved' }, { title: '授予学分', render: (x) => num(x.credits) }, { title: '授分率', render: (x) => (x.rate === null ? '—' : x.rate + '%') }]
        : [{ title: r.by === 'city' ? '市' : '单位', key: 'name' }, { title: '学员数', key: 'persons' }, { title: '达标人数', key: 'achieved' }, { title: '完成率', render: (x) => (x.rate === null ? '—' : x.rate + '%') }];
      clear(out, h('p', { class: 'muted' }, `${r.year} 年度要求：≥ ${num(r.rule.total_min)} 学分，I类 ${num(r.rule.i_min)}–${num(r.rule.i_max)}，II类 ${num(r.rule.ii_min)}–${num(r.rule.ii_max)}（${r.rule.source}）；合计 ${r.total.persons} 人，达标 ${r.total.achieved} 人`), table(cols, r.items).el);
    } catch (e) {
      clear(out, h('div', { class: 'load-error', role: 'alert' }, e.message));
    }
  };
  const exp = () => api.download('/cme/stats' + q() + '&format=csv', `继教学分统计-${f.get('year')}.csv`).catch(showError);
  const expXlsx = () => api.download('/cme/stats' + q() + '&format=xlsx', `继教学分统计-${f.get('year')}.xlsx`).catch(showError);
  show();
  return card('学分统计', h('div', null, h('div', { class: 'filter-bar' }, f.el, h('div', { class: 'filter-actions' }, btn('查询', show, 'primary'), btn('导出', exp), btn('导出 Excel', expXlsx))), out));
}

export async function rules(ctx) {
  const year = new Date().getFullYear();
  const out = h('div');
  const draw = async (y) => {
    const [r, s, cal] = await Promise.all([api.get('/cme/rules' + api.qs({ year: y })), api.get('/cme/settings'), api.get('/cme/calendar' + api.qs({ year: y }))]);
    const f = form(
      [
        { name: 'year', label: '年度', type: 'number', attrs: { min: 2000, max: 2200 } },
        { name: 'total_min', label: '年度总学分 ≥', type: 'number', attrs: { step: 0.5, min: 0 } },
        { name: 'i_min', label: 'I类下限', type: 'number', attrs: { step: 0.5, min: 0 } },
        { name: 'i_max', label: 'I类上限', type: 'number', attrs: { step: 0.5, min: 0 } },
        { name: 'ii_min', label: 'II类下限', type: 'number', attrs: { step: 0.5, min: 0 } },
        { name: 'ii_max', label: 'II类上限', type: 'number', attrs: { step: 0.5, min: 0 } },
      ],
      { cols: 3 },
    );
    f.fill({ ...r, year: y });
    const save = async () => {
      try {
        const v = f.values();
        await api.put('/cme/rules/' + v.year, { total_min: Number(v.total_min), i_min: Number(v.i_min), i_max: Number(v.i_max), ii_min: Number(v.ii_min), ii_max: Number(v.ii_max) });
        toast(`${v.year} 年度验证规则已保存`);
      } catch (e) {
        showError(e);
      }
    };
    const req = h('input', { type: 'checkbox', checked: s.require_verification, disabled: !ctx.province, 'aria-label': '一般程序工作成绩评定合格须继教年度验证达标' });
    req.addEventListener('change', async () => {
      try {
        await api.put('/cme/settings', { require_verification: req.checked });
        toast('已保存');
      } catch (e) {
        req.checked = !req.checked;
        showError(e);
      }
    });
    const day = form([{ name: 'day', label: '日期', type: 'date' }, { name: 'kind', label: '类别', type: 'select', options: ['节假日', '调休工作日'], placeholderOption: false }, { name: 'name', label: '名称', attrs: { maxlength: 32 } }], { cols: 4 });
    const addDay = async () => {
      try {
        const v = day.check();
        if (!v.day || !v.name) throw new Error('请填写日期和名称');
        await api.put('/cme/calendar/' + v.day, { kind: v.kind, name: v.name });
        draw(y);
      } catch (e) {
        showError(e);
      }
    };
    clear(
      out,
      card(`年度验证规则（${r.source}）`, h('div', null, h('p', { class: 'muted' }, 'I类、II类学分分别计入上限以内的部分；全国规定：每年不少于 25 学分，其中 I类 5–10 学分，II类 15–20 学分。'), f.el, ctx.province && btn('保存规则', save, 'primary'), btn('查看该年度', () => draw(Number(f.get('year')) || year)))),
      card('与定期考核关联', h('label', { class: 'check' }, req, ' 一般程序的工作成绩评定为合格前，须本周期已结束的各年度继教年度验证达标')),
      card(
        `节假日日历（${y} 年）`,
        h(
          'div',
          null,
          h('p', { class: 'muted' }, '省继教办每周三、五集中反馈审核结果，逢节假日顺延至下一个工作日；调休工作日视为工作日。'),
          table([{ title: '日期', key: 'day' }, { title: '类别', key: 'kind' }, { title: '名称', key: 'name' }, { title: '操作', render: (d) => ctx.province && link('删除', async () => { try { await api.del('/cme/calendar/' + d.day); draw(y); } catch (e) { showError(e); } }) }], cal.items).el,
          ctx.province && h('div', null, day.el, btn('添加', addDay, 'primary')),
        ),
      ),
    );
  };
  await draw(year);
  return out;
}
