// exam.js - the test itself: one question at a time, the answer sheet (答题卡), the
// server's countdown, answer saving and submitting.
//
// What the physician sees is what the server has, plus what waits in the outbox:
// every choice goes first to the outbox (localStorage, keyed by session), then to the
// server one at a time, in order; a question shows 保存中 / 已保存 / 未保存 from that.
// On a resume (reload, another device) the server's answers are merged with the
// outbox, whose unsent choices win and are sent. The remaining time comes only from
// the server (clock.js); at zero the page stops taking answers and polls the session
// until the server's sweeper has submitted it.

import * as api from './api.js';
import * as clock from './clock.js';
import { CaptureLoop } from './camera.js';
import { Departures, ruleText } from './integrity.js';
import { Outbox } from './outbox.js';
import { $, $$, el, fmtCountdown, fmtTime, fromTemplate, listNos, PAPER_NAMES, TYPE_NAMES } from './ui.js';

const SYNC_MS = 30000; // re-read the session (time, answers) this often
// shown once the time left is below them (again after a reload), the later one replacing
const WARNINGS = [
  { ms: 10 * 60000, kind: 'warn', text: '考试剩余时间已不足 10 分钟，请抓紧时间作答，并检查未作答和已标记的题目。' },
  { ms: 60000, kind: 'time', text: '考试剩余时间已不足 1 分钟。时间到系统将自动交卷，已保存的答案都会计入成绩。' },
];

function storeGet(key, dflt) {
  try {
    const v = localStorage.getItem(key);
    return v === null ? dflt : JSON.parse(v);
  } catch {
    return dflt;
  }
}

function storeSet(key, v) {
  try {
    localStorage.setItem(key, JSON.stringify(v));
  } catch {
    /* storage full or disabled: the value lives for this page only */
  }
}

function storeDel(key) {
  try {
    localStorage.removeItem(key);
  } catch {
    /* nothing to do */
  }
}

// Removes what the page kept about a session once it is over.
export function forgetSession(sid) {
  for (const k of ['dk.outbox.', 'dk.flags.', 'dk.pos.']) storeDel(k + sid);
}

/**
 * Shows a live session in root. s: the session reply of POST /sessions or GET
 * /sessions/{id} (with paper_detail). opts: camera (a Camera, may be closed), onDone(result,
 * s) when the paper is submitted, wait(info) for the waiting message, firstCaptureWithinMs
 * (the first photo at a random time within it instead of at once: a waiting room's release).
 * Returns a clean-up function.
 */
export function runExam(root, s, opts) {
  const sid = s.session_id;
  const detail = s.paper_detail;
  const qs = detail.questions.slice().sort((a, b) => a.no - b.no);
  const groups = new Map((detail.groups || []).map((g) => [g.id, g]));
  const byNo = new Map(qs.map((q, i) => [q.no, i]));
  const outbox = new Outbox(sid);
  const saved = new Map(); // no -> choice the server has
  const savedAt = new Map(); // no -> server time it was saved
  const failed = new Map(); // no -> message of a choice the server refused
  const flags = new Set(storeGet('dk.flags.' + sid, []));
  let warnedMs = Infinity; // the last warning shown
  let cur = Math.min(Math.max(0, storeGet('dk.pos.' + sid, 0) | 0), qs.length - 1);
  let endsAt = s.server_time + s.remaining_ms; // server time of the deadline
  let closed = false; // no more answers: submitted, time up, or refused by the server
  let inflight = null; // the outbox entry being sent
  let pumping = false;
  let failures = 0;
  let retryTimer = null;
  let acks = 0; // answers acknowledged, so that a stale re-sync does not undo one
  const timers = [];
  const listeners = [];
  let capture = null; // the CaptureLoop, once the camera is attached
  let finishedOnce = false;
  let submitting = false;

  const frag = fromTemplate('t-exam');
  const view = frag.firstElementChild;
  root.replaceChildren(frag);
  const ui = {
    title: $(view, '.exam-name'),
    who: $(view, '.exam-who'),
    timer: $(view, '.timer'),
    timerValue: $(view, '.timer-value'),
    cam: $(view, '.pill.cam'),
    camText: $(view, '.cam-text'),
    net: $(view, '.pill.net'),
    netText: $(view, '.net-text'),
    notices: $(view, '.notices'),
    qno: $(view, '.qno'),
    qn: $(view, '.qn'),
    qtotal: $(view, '.qtotal'),
    qtype: $(view, '.qtype'),
    qsec: $(view, '.qsec'),
    flagBtn: $(view, '.flag-btn'),
    group: $(view, '.group'),
    groupTitle: $(view, '.group-title'),
    groupCase: $(view, '.group-case'),
    groupOpts: $(view, '.group-options'),
    hint: $(view, '.hint'),
    stem: $(view, '.stem'),
    opts: $(view, '.opts'),
    saveState: $(view, '.save-state'),
    clearBtn: $(view, '.clear-btn'),
    prev: $(view, '.prev'),
    next: $(view, '.next'),
    grid: $(view, '.grid'),
    cAnswered: $(view, '.c-answered'),
    cUnanswered: $(view, '.c-unanswered'),
    cFlagged: $(view, '.c-flagged'),
    cPending: $(view, '.c-pending'),
    sheetToggle: $(view, '.sheet-toggle'),
    sheet: $(view, '.sheet'),
    submitBtn: $(view, '.submit-btn'),
    selfview: $(view, '.selfview'),
    dlg: $(view, '.confirm-dialog'),
    dlgBody: $(view, '.confirm-body'),
    dlgOk: $(view, '.confirm-ok'),
    dlgCancel: $(view, '.confirm-cancel'),
    endDlg: $(view, '.end-dialog'),
    endTitle: $(view, '.end-title'),
    endBody: $(view, '.end-body'),
  };

  const who = api.physician();
  ui.title.textContent = `${PAPER_NAMES[s.paper] || s.paper}（${detail.category || s.category || ''}）`;
  ui.who.textContent = who ? `考生：${who.name}` : '';
  ui.qtotal.textContent = qs.length;

  function on(target, type, fn, o) {
    target.addEventListener(type, fn, o);
    listeners.push(() => target.removeEventListener(type, fn, o));
  }

  // ---- answers: what is shown, what is saved --------------------------------------------

  function choiceOf(no) {
    const p = outbox.pending(no);
    if (p) return p.choice;
    return saved.get(no) || '';
  }

  function stateOf(no) {
    const p = outbox.pending(no);
    if (p) {
      if (inflight && inflight.seq === p.seq) return 'saving';
      return navigator.onLine && failures === 0 ? 'saving' : 'pending';
    }
    if (failed.has(no)) return 'error';
    return saved.get(no) ? 'saved' : 'none';
  }

  for (const [no, c] of Object.entries(s.answers || {})) saved.set(Number(no), c);
  // the outbox's unsent choices win over the server's; the ones it already has are done
  for (const it of outbox.items.slice()) if ((saved.get(it.no) || '') === it.choice) outbox.done(it);

  function choose(no, choice) {
    if (closed) return;
    failed.delete(no);
    if (!outbox.pending(no) && (saved.get(no) || '') === choice) return;
    outbox.put(no, choice);
    refreshQuestion(no);
    refreshNet();
    pump();
  }

  // Sends the outbox, head first, one at a time.
  async function pump() {
    if (pumping || closed) return;
    pumping = true;
    clearTimeout(retryTimer);
    try {
      while (!closed && outbox.size) {
        if (!navigator.onLine) {
          failures = Math.max(failures, 1);
          break; // the 'online' event starts again
        }
        const item = outbox.head();
        inflight = item;
        refreshQuestion(item.no);
        refreshNet();
        try {
          const r = await api.put(`/api/v1/sessions/${sid}/answers/${item.no}`, { choice: item.choice });
          acks++;
          failures = 0;
          if (r.choice) saved.set(item.no, r.choice);
          else saved.delete(item.no);
          savedAt.set(item.no, r.saved_at);
          outbox.done(item);
        } catch (e) {
          if (e.transient) {
            failures++;
            const wait = api.backoff(e, Math.min(failures, 4));
            retryTimer = setTimeout(pump, wait);
            break;
          }
          if (e.status === 409) {
            closeByServer();
            break;
          }
          if (e.status === 401 || e.status === 403) break; // app.js takes the physician to login
          // a choice the server refuses (400/404): drop it and say so on the question
          failed.set(item.no, e.message);
          outbox.done(item);
        } finally {
          inflight = null;
          refreshQuestion(item.no);
          refreshNet();
        }
      }
    } finally {
      pumping = false;
      refreshNet();
      refreshConfirm();
    }
  }

  // ---- the question ------------------------------------------------------------------

  function optionsOf(q) {
    if (q.options && q.options.length) return q.options;
    const g = q.group && groups.get(q.group);
    return (g && g.options) || [];
  }

  function groupRange(g) {
    const nos = (g.nos || []).slice().sort((a, b) => a - b);
    if (!nos.length) return '';
    return nos.length > 1 ? `第 ${nos[0]}–${nos[nos.length - 1]} 题` : `第 ${nos[0]} 题`;
  }

  function renderQuestion(focus) {
    const q = qs[cur];
    storeSet('dk.pos.' + sid, cur);
    ui.qn.textContent = q.no;
    ui.qtype.textContent = TYPE_NAMES[q.type] || q.type;
    ui.qsec.textContent = q.section || '';
    const g = q.group ? groups.get(q.group) : null;
    if (g && (g.case || (g.options && g.options.length))) {
      ui.group.hidden = false;
      ui.group.dataset.kind = g.type || '';
      if (g.type === 'B1' || (!g.case && g.options)) {
        ui.groupTitle.textContent = `共用备选答案（${groupRange(g)}）`;
        ui.groupCase.hidden = true;
        ui.groupOpts.hidden = false;
        ui.groupOpts.replaceChildren(
          ...g.options.map((o) => el('li', {}, el('b', { text: o.label + '.' }), ' ', o.text)),
        );
      } else {
        ui.groupTitle.textContent = `病例（${groupRange(g)}共用题干）`;
        ui.groupCase.hidden = false;
        ui.groupCase.textContent = g.case || '';
        ui.groupOpts.hidden = true;
      }
    } else {
      ui.group.hidden = true;
    }
    const multi = q.type === 'X';
    ui.hint.textContent = multi
      ? '多项选择题：请选出所有正确答案，可选择多个选项。'
      : q.type === 'B1'
        ? '请从共用备选答案中选择一个最合适的答案；每个备选答案可被选择一次、多次或不被选择。'
        : '单项选择题：请选出一个最佳答案。';
    ui.hint.dataset.multi = multi ? '1' : '0';
    ui.stem.textContent = q.stem;
    const name = 'q' + q.no;
    ui.opts.setAttribute('role', multi ? 'group' : 'radiogroup');
    ui.opts.replaceChildren(
      ...optionsOf(q).map((o, i) => {
        const input = el('input', {
          type: multi ? 'checkbox' : 'radio',
          name,
          value: o.label,
          'aria-keyshortcuts': String(i + 1),
        });
        input.addEventListener('change', () => onPick(q, input));
        return el(
          'label',
          { class: 'opt' },
          input,
          el('span', { class: 'letter', 'aria-hidden': 'true', text: o.label }),
          el('span', { class: 'text' }, el('span', { class: 'sr-only', text: o.label + '. ' }), o.text),
        );
      }),
    );
    ui.prev.disabled = cur === 0;
    ui.next.disabled = cur === qs.length - 1;
    refreshQuestion(q.no);
    for (const b of $$(ui.grid, 'button[aria-current]')) b.removeAttribute('aria-current');
    const btn = ui.grid.querySelector(`button[data-no="${q.no}"]`);
    if (btn) btn.setAttribute('aria-current', 'step');
    if (focus) ui.qno.focus({ preventScroll: false });
  }

  function onPick(q, input) {
    if (q.type === 'X') {
      const letters = $$(ui.opts, 'input:checked')
        .map((i) => i.value)
        .sort()
        .join('');
      choose(q.no, letters);
    } else if (input.checked) {
      choose(q.no, input.value);
    }
  }

  const STATE_TEXT = {
    none: () => '本题未作答',
    saving: () => '保存中……',
    pending: () => '未保存：网络中断，答案已暂存在本机，网络恢复后自动上传',
    saved: (no) => (savedAt.get(no) ? `已保存（${fmtTime(savedAt.get(no))}）` : '已保存'),
    error: (no) => `未保存：${failed.get(no)}`,
  };

  // the answer state of one question: its sheet cell and, if shown, the question
  function refreshQuestion(no) {
    const st = stateOf(no);
    const choice = choiceOf(no);
    const b = ui.grid.querySelector(`button[data-no="${no}"]`);
    if (b) {
      b.classList.toggle('answered', !!choice);
      b.classList.toggle('pending', st === 'pending' || st === 'saving');
      b.classList.toggle('flagged', flags.has(no));
      b.setAttribute(
        'aria-label',
        `第 ${no} 题，${choice ? '已作答' : '未作答'}${flags.has(no) ? '，已标记' : ''}${st === 'pending' ? '，未保存' : ''}`,
      );
    }
    if (qs[cur].no === no) {
      for (const i of $$(ui.opts, 'input')) i.checked = choice.includes(i.value);
      for (const l of $$(ui.opts, '.opt')) l.classList.toggle('chosen', l.querySelector('input').checked);
      ui.saveState.dataset.state = st;
      ui.saveState.textContent = STATE_TEXT[st](no);
      ui.clearBtn.hidden = !choice || closed;
      const f = flags.has(no);
      ui.flagBtn.setAttribute('aria-pressed', f ? 'true' : 'false');
      ui.flagBtn.textContent = f ? '取消标记' : '标记';
    }
    refreshCounts();
  }

  function counts() {
    let answered = 0;
    const unanswered = [];
    for (const q of qs) {
      if (choiceOf(q.no)) answered++;
      else unanswered.push(q.no);
    }
    return { answered, unanswered, flagged: qs.filter((q) => flags.has(q.no)).map((q) => q.no) };
  }

  function refreshCounts() {
    const c = counts();
    ui.cAnswered.textContent = c.answered;
    ui.cUnanswered.textContent = c.unanswered.length;
    ui.cFlagged.textContent = c.flagged.length;
    ui.sheetToggle.textContent = `答题卡（已作答 ${c.answered}/${qs.length}）`;
  }

  function refreshNet() {
    const n = outbox.size;
    ui.cPending.textContent = n;
    let state, text;
    if (!n) {
      state = 'ok';
      text = '答案已全部保存';
    } else if (navigator.onLine && failures === 0) {
      state = 'busy';
      text = `正在保存 ${n} 个答案……`;
    } else {
      state = 'warn';
      text = `网络中断：${n} 个答案待上传`;
    }
    ui.net.dataset.state = state;
    ui.netText.textContent = text;
    ui.net.title = !outbox.durable ? '注意：浏览器存储不可用，请不要刷新页面' : '';
    notice(
      'net',
      state === 'warn' && !closed
        ? `网络连接中断。您可以继续作答，答案已暂存在本机（${n} 个待上传），网络恢复后将自动按顺序上传。请不要关闭或刷新本页面。`
        : null,
      'warn',
    );
  }

  function buildGrid() {
    const cells = [];
    let section = null;
    for (const q of qs) {
      if (q.section !== section) {
        section = q.section;
        if (section) cells.push(el('p', { class: 'grid-sec', text: section }));
      }
      cells.push(
        el('button', {
          type: 'button',
          class: 'cell',
          'data-no': q.no,
          text: q.no,
          onclick: () => go(byNo.get(q.no), true),
        }),
      );
    }
    ui.grid.replaceChildren(...cells);
    for (const q of qs) refreshQuestion(q.no);
  }

  function go(i, focus) {
    if (i < 0 || i >= qs.length) return;
    cur = i;
    renderQuestion(focus);
    if (window.matchMedia('(max-width: 820px)').matches) setSheet(false);
  }

  function toggleFlag() {
    const no = qs[cur].no;
    if (flags.has(no)) flags.delete(no);
    else flags.add(no);
    storeSet('dk.flags.' + sid, [...flags]);
    refreshQuestion(no);
  }

  function setSheet(open) {
    ui.sheetToggle.setAttribute('aria-expanded', open ? 'true' : 'false');
    ui.sheet.classList.toggle('open', open);
  }

  // ---- notices (warnings, the network, the camera) ----------------------------------------

  function notice(key, text, kind = 'info') {
    let n = ui.notices.querySelector(`[data-key="${key}"]`);
    if (!text) {
      if (n) n.remove();
      return;
    }
    if (!n) {
      n = el('div', { class: 'notice', 'data-key': key, role: kind === 'info' ? 'status' : 'alert' });
      ui.notices.append(n);
    }
    n.dataset.kind = kind;
    if (n.textContent !== text) n.textContent = text;
  }

  const CAM_TEXT = { ok: '摄像头正常', lost: '摄像头未连接', opening: '正在连接摄像头', retry: '照片待上传', retake: '请重新拍照', challenge: '活体检测', 'challenge-done': '摄像头正常' };
  let retakeTimer = null;
  let challengeTimer = null;
  let camLost = false;
  let camTimer = null;
  function cameraStatus(kind, text) {
    if (closed) return;
    ui.cam.dataset.state = kind === 'ok' || kind === 'challenge-done' ? 'ok' : kind === 'opening' ? 'busy' : 'warn';
    ui.camText.textContent = CAM_TEXT[kind] || text;
    if (kind === 'challenge' || kind === 'challenge-done') {
      // a liveness challenge at a random moment: the prompts, then the outcome for 8 s
      clearTimeout(challengeTimer);
      notice('challenge', text, kind === 'challenge' ? 'warn' : 'info');
      if (kind === 'challenge-done') challengeTimer = setTimeout(() => notice('challenge', null), 8000);
      return;
    }
    if (kind === 'retake') {
      // the proctor could not judge the last photo (too small, blurred, dark, bright,
      // turned): say why at once; the notice stays 20 s, past the new capture
      notice('retake', text, 'warn');
      clearTimeout(retakeTimer);
      retakeTimer = setTimeout(() => notice('retake', null), 20000);
    } else if (kind === 'lost') {
      clearTimeout(camTimer);
      camLost = true;
      notice('cam', text, 'warn');
    } else if (kind === 'ok') {
      if (!camLost) return;
      camLost = false; // say it is back, for a few seconds
      notice('cam', '摄像头已恢复连接，请继续作答。', 'info');
      clearTimeout(camTimer);
      camTimer = setTimeout(() => notice('cam', null), 6000);
    } else {
      clearTimeout(camTimer);
      notice('cam', null);
    }
  }

  // ---- time ----------------------------------------------------------------------------

  function tick() {
    if (closed) return;
    const left = endsAt - clock.now();
    ui.timerValue.textContent = fmtCountdown(left);
    ui.timer.dataset.remainingMs = String(Math.max(0, Math.round(left)));
    ui.timer.dataset.level = left <= 60000 ? 'danger' : left <= 600000 ? 'warn' : '';
    for (const w of WARNINGS) {
      if (left <= w.ms && left > 0 && w.ms < warnedMs) {
        warnedMs = w.ms;
        notice('time', w.text, w.kind);
      }
    }
    if (left <= 0) timeUp();
  }

  async function sync() {
    if (closed || !navigator.onLine) return;
    const before = acks;
    try {
      const r = await api.get(`/api/v1/sessions/${sid}?brief=1`);
      if (r.status !== 'live') {
        if (r.result) finished(r.result, r);
        else closeByServer();
        return;
      }
      endsAt = r.server_time + r.remaining_ms;
      if (before === acks && !inflight) {
        // answers given on another device: take the server's where nothing waits here
        const server = new Map(Object.entries(r.answers || {}).map(([k, v]) => [Number(k), v]));
        for (const q of qs) {
          if (outbox.pending(q.no)) continue;
          const a = server.get(q.no) || '';
          if ((saved.get(q.no) || '') !== a) {
            if (a) saved.set(q.no, a);
            else saved.delete(q.no);
            refreshQuestion(q.no);
          }
        }
      }
    } catch {
      /* the next tick of the sync tries again */
    }
  }

  // ---- the end -------------------------------------------------------------------------

  function stopAll() {
    closed = true;
    for (const t of timers) clearInterval(t);
    clearTimeout(retryTimer);
    if (capture) capture.stop();
    departures.stop(); // what waits in its outbox is still sent
    fsGate(true);
    for (const i of $$(view, '.opts input')) i.disabled = true;
    for (const b of [ui.flagBtn, ui.clearBtn, ui.submitBtn]) b.disabled = true;
    notice('net', null);
  }

  function finished(result, r) {
    if (finishedOnce) return;
    finishedOnce = true;
    stopAll();
    if (ui.dlg.open) ui.dlg.close();
    if (ui.endDlg.open) ui.endDlg.close();
    const lost = outbox.size;
    forgetSession(sid);
    opts.onDone(result, { ...s, ...r, lost });
  }

  // the deadline passed on the server's clock: the server's sweeper submits the paper
  function timeUp() {
    if (closed) return;
    const lost = outbox.size;
    stopAll();
    ui.timerValue.textContent = '00:00:00';
    ui.timer.dataset.remainingMs = '0';
    showEnd(
      '考试时间到',
      lost
        ? `考试时间已到，系统正在自动交卷。有 ${lost} 个答案因网络中断未能在时间结束前上传，不计入成绩。`
        : '考试时间已到，系统正在自动交卷，已保存的答案全部计入成绩。',
    );
    pollSubmitted();
  }

  // the server refused an answer as closed (409): submitted elsewhere or out of time
  function closeByServer() {
    if (closed) return;
    stopAll();
    showEnd('考试已结束', '本场考试已结束（时间已到或已在其他设备交卷），答案不能再修改。正在获取成绩……');
    pollSubmitted();
  }

  function showEnd(title, body) {
    if (ui.dlg.open) ui.dlg.close();
    ui.endTitle.textContent = title;
    ui.endBody.textContent = body;
    if (!ui.endDlg.open) ui.endDlg.showModal();
  }

  // Polls until the server has submitted the paper; the end message stays up for at
  // least a few seconds so that it can be read before the result replaces it.
  async function pollSubmitted() {
    const shownAt = performance.now();
    for (let attempt = 0; !finishedOnce; attempt++) {
      try {
        const r = await api.get(`/api/v1/sessions/${sid}?brief=1`);
        if (r.status === 'submitted' && r.result) {
          await api.sleep(Math.max(0, 3000 - (performance.now() - shownAt)));
          return finished(r.result, r);
        }
      } catch (e) {
        if (e.status === 401 || e.status === 403) return;
      }
      await api.sleep(1500 + Math.random() * 1500);
    }
  }

  // ---- submit --------------------------------------------------------------------------

  function refreshConfirm() {
    if (!ui.dlg.open || submitting) return;
    const c = counts();
    const body = [];
    body.push(
      el('p', {}, `本试卷共 ${qs.length} 题，已作答 `, el('b', { text: c.answered }), ' 题，未作答 ',
        el('b', { class: c.unanswered.length ? 'warn-text' : '', text: c.unanswered.length }), ' 题。'),
    );
    if (c.unanswered.length) {
      const links = c.unanswered.slice(0, 20).map((no) =>
        el('button', { type: 'button', class: 'link', text: String(no), onclick: () => { ui.dlg.close(); go(byNo.get(no), true); } }),
      );
      const p = el('p', { class: 'nos' }, '未作答：');
      links.forEach((l, i) => p.append(i ? '、' : '', l));
      if (c.unanswered.length > 20) p.append(` 等 ${c.unanswered.length} 题`);
      body.push(p);
    }
    if (c.flagged.length) body.push(el('p', { class: 'nos', text: `已标记待检查：${listNos(c.flagged)}。` }));
    if (outbox.size)
      body.push(
        el('p', { class: 'notice', 'data-kind': 'warn', text: `还有 ${outbox.size} 个答案尚未上传。网络恢复、答案全部保存后才能交卷。` }),
      );
    body.push(el('p', { text: '交卷后将不能再修改答案。确定要交卷吗？' }));
    ui.dlgBody.replaceChildren(...body);
    ui.dlgOk.disabled = outbox.size > 0;
  }

  async function confirmSubmit() {
    if (submitting || outbox.size) return;
    submitting = true;
    ui.dlgOk.disabled = true;
    ui.dlgCancel.disabled = true;
    ui.dlgOk.textContent = '正在交卷……';
    try {
      const r = await api.retrying(() => api.post(`/api/v1/sessions/${sid}/submit`, {}), {
        onWait: opts.wait,
        retryNetwork: true,
        maxAttempts: 20,
      });
      if (r.result) finished(r.result, r);
      else pollSubmitted();
    } catch (e) {
      if (e.status === 409) {
        closeByServer();
      } else {
        submitting = false;
        ui.dlgOk.textContent = '确认交卷';
        ui.dlgCancel.disabled = false;
        refreshConfirm();
        ui.dlgBody.append(el('p', { class: 'notice', 'data-kind': 'warn', text: `交卷没有成功：${e.message}。请稍后再次点击“确认交卷”。` }));
      }
    }
  }

  // ---- keyboard ------------------------------------------------------------------------

  function onKey(ev) {
    if (closed || ev.ctrlKey || ev.altKey || ev.metaKey) return;
    if (ui.dlg.open || ui.endDlg.open) return;
    const t = ev.target;
    if (t && (t.tagName === 'TEXTAREA' || (t.tagName === 'INPUT' && !/^(radio|checkbox)$/.test(t.type)))) return;
    const inputs = $$(ui.opts, 'input');
    const k = ev.key;
    let idx = -1;
    if (/^[1-9]$/.test(k)) idx = Number(k) - 1;
    else if (/^[a-jA-J]$/.test(k) && k.toLowerCase() !== 'm') idx = inputs.findIndex((i) => i.value === k.toUpperCase());
    if (idx >= 0 && idx < inputs.length) {
      ev.preventDefault();
      const i = inputs[idx];
      if (i.type === 'checkbox') i.checked = !i.checked;
      else i.checked = true;
      i.focus();
      onPick(qs[cur], i);
      return;
    }
    if (k === 'ArrowLeft' || k === 'PageUp') {
      ev.preventDefault();
      go(cur - 1, true);
    } else if (k === 'ArrowRight' || k === 'PageDown') {
      ev.preventDefault();
      go(cur + 1, true);
    } else if ((k === 'ArrowDown' || k === 'ArrowUp') && t && t.type === 'checkbox' && inputs.includes(t)) {
      ev.preventDefault(); // radios move natively; checkboxes move focus here
      const j = inputs.indexOf(t) + (k === 'ArrowDown' ? 1 : -1);
      if (j >= 0 && j < inputs.length) inputs[j].focus();
    } else if (k === 'm' || k === 'M') {
      ev.preventDefault();
      toggleFlag();
    }
  }

  // ---- wiring --------------------------------------------------------------------------

  on(ui.prev, 'click', () => go(cur - 1, true));
  on(ui.next, 'click', () => go(cur + 1, true));
  on(ui.flagBtn, 'click', toggleFlag);
  on(ui.clearBtn, 'click', () => {
    choose(qs[cur].no, '');
    ui.qno.focus();
  });
  on(ui.sheetToggle, 'click', () => setSheet(ui.sheetToggle.getAttribute('aria-expanded') !== 'true'));
  on(ui.submitBtn, 'click', () => {
    if (closed) return;
    ui.dlg.showModal();
    refreshConfirm();
    ui.dlgCancel.focus();
  });
  on(ui.dlgCancel, 'click', () => ui.dlg.close());
  on(ui.dlg, 'cancel', (ev) => submitting && ev.preventDefault()); // Esc while submitting
  on(ui.endDlg, 'cancel', (ev) => ev.preventDefault()); // the end is not dismissed
  on(ui.dlgOk, 'click', confirmSubmit);
  on(document, 'keydown', onKey);
  on(window, 'online', () => {
    failures = 0;
    pump();
    sync();
    refreshNet();
  });
  on(window, 'offline', () => {
    failures = Math.max(failures, 1);
    refreshNet();
    for (const it of outbox.items) refreshQuestion(it.no);
  });
  on(document, 'visibilitychange', () => {
    if (document.visibilityState === 'visible') sync();
  });

  // ---- leaving the page (切屏), fullscreen, copying (integrity.js) ---------------------------

  const rules = s.integrity || {};
  const rule = ruleText(rules);
  if (rule) notice('rule', '考试纪律：' + rule, 'info');
  let fsDlg = null;
  // the cycle asks for fullscreen: the questions stay covered until the page is in it
  function fsGate(inside) {
    if (inside || closed || !rules.require_fullscreen) {
      if (fsDlg && fsDlg.open) fsDlg.close();
      return;
    }
    if (!fsDlg) {
      const btn = el('button', { type: 'button', class: 'btn primary fs-enter' }, '进入全屏继续作答');
      fsDlg = el('dialog', { class: 'fs-dialog', 'aria-labelledby': 'fs-title' },
        el('h2', { id: 'fs-title' }, '本场考试要求全屏作答'),
        el('p', {}, '请进入全屏后继续作答。退出全屏会记为一次离开考试页面。'),
        btn);
      on(btn, 'click', () => document.documentElement.requestFullscreen().catch(() => {}));
      on(fsDlg, 'cancel', (ev) => ev.preventDefault());
      view.append(fsDlg);
    }
    if (!fsDlg.open) fsDlg.showModal();
  }
  const departures = new Departures(sid, rules, {
    count(n) {
      if (!rules.warn_at || n < rules.warn_at) return;
      const tail = rules.submit_at ? `，累计 ${rules.submit_at} 次将自动交卷` : '';
      notice('dep', `您已离开考试页面 ${n} 次${tail}。离开记录会提供给监考人员核查，请专心作答。`, 'warn');
    },
    autoSubmit() {
      if (closed) return;
      stopAll();
      showEnd('已自动交卷', `您离开考试页面已达 ${rules.submit_at} 次，按本场考试规定，试卷已自动提交。正在获取成绩……`);
      pollSubmitted();
    },
    fullscreen: fsGate,
  });
  listeners.push(() => departures.stop());
  fsGate(!!document.fullscreenElement);
  // no copying the questions out (a deterrent only: the README says why)
  const qcard = $(view, '.qcard');
  for (const type of ['copy', 'cut', 'paste', 'contextmenu', 'dragstart']) on(qcard, type, (ev) => ev.preventDefault());

  // the sticky top (bar and notices) changes height: the sheet and scrolling follow it
  const top = $(view, '.exam-top');
  const ro = new ResizeObserver(() => view.style.setProperty('--top-h', top.offsetHeight + 'px'));
  ro.observe(top);
  listeners.push(() => ro.disconnect());

  buildGrid();
  renderQuestion(false);
  refreshNet();
  timers.push(setInterval(tick, 250));
  timers.push(setInterval(sync, SYNC_MS));
  tick();

  if (opts.camera) {
    opts.camera.attach(ui.selfview);
    capture = new CaptureLoop(opts.camera, sid, cameraStatus);
    capture.start(opts.firstCaptureWithinMs || 0);
  }
  pump();
  ui.qno.focus();

  return () => {
    closed = true;
    for (const t of timers) clearInterval(t);
    clearTimeout(retryTimer);
    if (capture) capture.stop();
    for (const off of listeners) off();
  };
}
