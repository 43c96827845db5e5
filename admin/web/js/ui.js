// ui.js - the console's building blocks, all plain DOM: h() to make elements, formats
// (Beijing time, masked numbers, statuses as tags), forms, the list page (filters on top
// with 查询/重置, a table, the pager of the seed manuals: 共 N 条记录 < 1 2 3 > 10 条/页
// 跳至), dialogs, the side drawer and toasts.
//
// Nothing here knows the API; pages give the list a fetch(params) that returns
// {items, total}. Times from the API are UTC ISO strings; the console shows Beijing time.

// ---- elements ----------------------------------------------------------------------------------

export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'value') el.value = v;
      else if (k === 'checked' || k === 'disabled' || k === 'selected' || k === 'multiple') el[k] = !!v;
      else if (k === 'html') el.innerHTML = v;
      else el.setAttribute(k, v === true ? '' : v);
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const link = (text, onclick, cls = '') => h('button', { type: 'button', class: 'link ' + cls, onclick }, text);
export const btn = (text, onclick, cls = '') => h('button', { type: 'button', class: 'btn ' + cls, onclick }, text);

// ---- formats --------------------------------------------------------------------------------------

const pad = (n) => String(n).padStart(2, '0');

// "2024-06-03T03:39:05.000Z" -> "2024-06-03 11:39" (Beijing, UTC+8)
export function fmtTime(iso, seconds = false) {
  if (!iso) return '';
  const d = new Date(iso);
  if (isNaN(d)) return String(iso);
  const b = new Date(d.getTime() + 8 * 3600e3);
  const s = `${b.getUTCFullYear()}-${pad(b.getUTCMonth() + 1)}-${pad(b.getUTCDate())} ${pad(b.getUTCHours())}:${pad(b.getUTCMinutes())}`;
  return seconds ? s + ':' + pad(b.getUTCSeconds()) : s;
}

export function fmtDate(v) {
  if (!v) return '';
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) return v;
  return fmtTime(v).slice(0, 10);
}

// ISO UTC -> the value of a datetime-local input in Beijing time
export function toLocalInput(iso) {
  if (!iso) return '';
  return fmtTime(iso).replace(' ', 'T');
}

// a datetime-local value (Beijing time) -> ISO with the +08:00 zone
export function fromLocalInput(v) {
  return v ? (v.length === 16 ? v + ':00' : v) + '+08:00' : null;
}

export const paperName = (p) => (p === '公共知识' ? '人文医学' : p || '');

export function pct(x) {
  if (x === null || x === undefined || x === '') return '';
  return `${Number(x).toFixed(1)}%`;
}

const STATUS_COLOR = {
  待报名: 'grey',
  '待报名（被机构驳回）': 'red',
  待医疗卫生机构审核: 'blue',
  '待医疗卫生机构审核（被考核机构驳回）': 'orange',
  待考核机构复核: 'blue',
  待参加考核: 'cyan',
  待确认补考: 'orange',
  待参加补考: 'cyan',
  考核完成: 'green',
  退出本周期: 'grey',
  合格: 'green',
  不合格: 'red',
  通过: 'green',
  驳回: 'red',
  待审核: 'blue',
  疑似: 'orange',
  已认定: 'red',
  已撤销: 'grey',
  无: 'plain',
  在岗: 'green',
  离岗: 'grey',
  已完成: 'green',
  未完成: 'grey',
  免考: 'cyan',
  open: 'green',
  draft: 'grey',
  closed: 'plain',
};

export function tag(text, color) {
  if (text === null || text === undefined || text === '') return '';
  return h('span', { class: 'tag ' + (color || STATUS_COLOR[text] || 'plain') }, text);
}

export const CYCLE_STATUS = { draft: '草稿', open: '开放', closed: '已结束' };

// ---- toasts, dialogs, drawers ----------------------------------------------------------------------

let toastBox;
export function toast(msg, kind = 'ok') {
  if (!toastBox) {
    toastBox = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.append(toastBox);
  }
  const t = h('div', { class: 'toast ' + kind }, msg);
  toastBox.append(t);
  while (toastBox.children.length > 2) toastBox.firstChild.remove();
  setTimeout(() => t.classList.add('out'), kind === 'error' ? 5000 : 2600);
  setTimeout(() => t.remove(), kind === 'error' ? 5400 : 3000);
}

export function showError(e) {
  toast(e && e.message ? e.message : String(e), 'error');
}

// modal({title, body, okText, cancelText, danger, width, onOk}) -> Promise<boolean>.
// onOk may be async; returning false (or throwing) keeps the dialog open.
export function modal({ title, body, okText = '确定', cancelText = '取消', danger = false, width = 520, onOk, footer = true }) {
  return new Promise((resolve) => {
    const errBox = h('div', { class: 'dialog-error', role: 'alert', hidden: true });
    const close = (v) => {
      overlay.remove();
      document.removeEventListener('keydown', onKey);
      resolve(v);
    };
    const ok = h('button', { type: 'button', class: 'btn ' + (danger ? 'danger' : 'primary') }, okText);
    ok.addEventListener('click', async () => {
      errBox.hidden = true;
      ok.disabled = true;
      try {
        const r = onOk ? await onOk() : true;
        if (r !== false) close(r === undefined ? true : r);
      } catch (e) {
        errBox.textContent = e.message || String(e);
        errBox.hidden = false;
      } finally {
        ok.disabled = false;
      }
    });
    const onKey = (e) => {
      if (e.key === 'Escape') close(false);
    };
    document.addEventListener('keydown', onKey);
    const dialog = h(
      'div',
      { class: 'dialog', role: 'dialog', 'aria-modal': 'true', 'aria-label': title, style: { width: width + 'px' } },
      h('div', { class: 'dialog-head' }, h('h3', null, title), h('button', { type: 'button', class: 'x', 'aria-label': '关闭', onclick: () => close(false) }, '×')),
      h('div', { class: 'dialog-body' }, body, errBox),
      footer && h('div', { class: 'dialog-foot' }, cancelText && btn(cancelText, () => close(false)), ok),
    );
    const overlay = h('div', { class: 'overlay' }, dialog);
    document.body.append(overlay);
    const first = dialog.querySelector('input:not([type=hidden]):not([disabled]), textarea, select');
    (first || ok).focus();
  });
}

export function confirmBox(title, text, { okText = '确定', danger = false } = {}) {
  return modal({ title, body: h('p', { class: 'confirm-text' }, text), okText, danger });
}

// Asks for a reason (required unless optional); resolves to the text or null.
export async function askReason(title, label, { onOk, optional = false, okText = '确定', danger = true, hint, value = '' } = {}) {
  const ta = h('textarea', { rows: 4, maxlength: 600, placeholder: optional ? '（选填）' : '请输入' + label, 'aria-label': label }, value);
  let text = null;
  const ok = await modal({
    title,
    okText,
    danger,
    body: h('div', { class: 'form' }, h('label', { class: 'field' }, h('span', { class: 'lbl' + (optional ? '' : ' req') }, label), ta), hint && h('p', { class: 'hint' }, hint)),
    onOk: async () => {
      text = ta.value.trim();
      if (!text && !optional) throw new Error('请填写' + label);
      if (onOk) return onOk(text);
      return true;
    },
  });
  return ok ? text : null;
}

// A side drawer for details; returns {el, close}.
export function drawer(title, body, { width = 720 } = {}) {
  const close = () => {
    overlay.remove();
    document.removeEventListener('keydown', onKey);
  };
  const onKey = (e) => {
    if (e.key === 'Escape' && !document.querySelector('.overlay .dialog')) close();
  };
  document.addEventListener('keydown', onKey);
  const panel = h(
    'aside',
    { class: 'drawer', role: 'dialog', 'aria-label': title, style: { width: `min(${width}px, 96vw)` } },
    h('div', { class: 'drawer-head' }, h('h3', null, title), h('button', { type: 'button', class: 'x', 'aria-label': '关闭', onclick: close }, '×')),
    h('div', { class: 'drawer-body' }, body),
  );
  const overlay = h('div', { class: 'overlay drawer-overlay', onclick: (e) => e.target === overlay && close() }, panel);
  document.body.append(overlay);
  return { el: panel, body: panel.querySelector('.drawer-body'), close };
}

// ---- forms ---------------------------------------------------------------------------------------------

// field spec: {name, label, type: text|number|date|datetime|select|textarea|radio|checkboxes|password|file,
//   options: [[value, label]] or [value], required, value, placeholder, hint, readonly, attrs, wide}
export function form(specs, { cols = 2, cls = '' } = {}) {
  const inputs = {};
  const el = h('div', { class: `form cols-${cols} ${cls}` });
  for (const s of specs) {
    if (s.type === 'section') {
      el.append(h('h4', { class: 'form-section' }, s.label));
      continue;
    }
    if (s.type === 'range') {
      // two inputs in one field: {names: [from, to], inputType, labels: [aria labels]}
      const [a, b] = s.names;
      const mk = (n, i) => h('input', { type: s.inputType || 'text', name: n, id: 'f-' + n, 'aria-label': (s.labels || [])[i] || s.label, ...(s.attrs || {}) });
      const ia = mk(a, 0);
      const ib = mk(b, 1);
      inputs[a] = { spec: { ...s, name: a, type: s.inputType }, input: ia };
      inputs[b] = { spec: { ...s, name: b, type: s.inputType }, input: ib };
      el.append(h('div', { class: 'field' + (s.wide ? ' wide' : '') + (s.span ? ' span' + s.span : '') }, h('label', { class: 'lbl', for: 'f-' + a }, s.label), h('div', { class: 'ctl range' }, ia, h('span', { class: 'range-sep' }, '至'), ib)));
      continue;
    }
    const opts = (s.options || []).map((o) => (Array.isArray(o) ? o : [o, o]));
    let input;
    const id = 'f-' + s.name + '-' + Math.random().toString(36).slice(2, 7);
    const common = { id, name: s.name, required: !!s.required, disabled: s.readonly, placeholder: s.placeholder, ...(s.attrs || {}) };
    switch (s.type) {
      case 'select':
        input = h('select', common, s.placeholderOption !== false && h('option', { value: '' }, s.placeholderOption || '请选择'), opts.map(([v, l]) => h('option', { value: v }, l)));
        break;
      case 'textarea':
        input = h('textarea', { ...common, rows: s.rows || 3 });
        break;
      case 'radio':
        input = h(
          'div',
          { class: 'radios', role: 'radiogroup', 'aria-label': s.label, id },
          opts.map(([v, l]) => h('label', { class: 'radio' }, h('input', { type: 'radio', name: id, value: v }), ' ', l)),
        );
        break;
      case 'checkboxes':
        input = h(
          'div',
          { class: 'checks', id, role: 'group', 'aria-label': s.label },
          opts.map(([v, l]) => h('label', { class: 'check' }, h('input', { type: 'checkbox', value: v }), ' ', l)),
        );
        break;
      case 'datetime':
        input = h('input', { ...common, type: 'datetime-local' });
        break;
      default:
        input = h('input', { ...common, type: s.type || 'text', autocomplete: s.type === 'password' ? 'new-password' : 'off' });
    }
    inputs[s.name] = { spec: s, input };
    el.append(
      h(
        'div',
        { class: 'field' + (s.wide || s.type === 'textarea' || s.type === 'checkboxes' ? ' wide' : '') + (s.span ? ' span' + s.span : '') },
        h('label', { class: 'lbl' + (s.required ? ' req' : ''), for: id }, s.label),
        h('div', { class: 'ctl' }, input, s.hint && h('div', { class: 'hint' }, s.hint)),
      ),
    );
  }
  const api = {
    el,
    inputs,
    get(name) {
      const { spec, input } = inputs[name];
      if (spec.type === 'radio') return (input.querySelector('input:checked') || {}).value || '';
      if (spec.type === 'checkboxes') return [...input.querySelectorAll('input:checked')].map((i) => i.value);
      return input.value.trim();
    },
    set(name, v) {
      if (!inputs[name]) return;
      const { spec, input } = inputs[name];
      if (spec.type === 'radio') input.querySelectorAll('input').forEach((i) => (i.checked = i.value === String(v ?? '')));
      else if (spec.type === 'checkboxes') {
        const set = new Set((v || []).map(String));
        input.querySelectorAll('input').forEach((i) => (i.checked = set.has(i.value)));
      } else if (spec.type === 'datetime') input.value = toLocalInput(v);
      else input.value = v === null || v === undefined ? '' : String(v);
    },
    values() {
      const o = {};
      for (const n of Object.keys(inputs)) o[n] = api.get(n);
      return o;
    },
    fill(obj) {
      for (const n of Object.keys(inputs)) if (obj && n in obj) api.set(n, obj[n]);
      return api;
    },
    // the labels of required fields left empty
    missing() {
      return Object.values(inputs)
        .filter(({ spec }) => spec.required && !spec.readonly)
        .filter(({ spec }) => {
          const v = api.get(spec.name);
          return Array.isArray(v) ? !v.length : !v;
        })
        .map(({ spec }) => spec.label);
    },
    check() {
      const m = api.missing();
      if (m.length) throw new Error('请填写必填项：' + m.join('、'));
      return api.values();
    },
  };
  for (const s of specs) if (s.type !== 'section' && s.value !== undefined) api.set(s.name, s.value);
  return api;
}

// ---- tables and lists ------------------------------------------------------------------------------------

// columns: [{title, key, render(row, i), width, cls}]; opts: {select: rowKey fn, empty}
export function table(columns, rows, { select, empty = '暂无数据', startIndex = 0, caption } = {}) {
  const selected = new Set();
  const all = select && h('input', { type: 'checkbox', 'aria-label': '全选本页' });
  const head = h('tr', null, select && h('th', { class: 'sel' }, all), columns.map((c) => h('th', { style: c.width ? { width: c.width } : null, class: c.cls }, c.title)));
  const body = h('tbody');
  const boxes = [];
  const keys = [];
  if (!rows.length) body.append(h('tr', { class: 'empty' }, h('td', { colspan: columns.length + (select ? 1 : 0) }, empty)));
  rows.forEach((r, i) => {
    const tr = h('tr');
    if (select) {
      const key = select(r);
      const cb = h('input', { type: 'checkbox', 'aria-label': '选择第 ' + (startIndex + i + 1) + ' 行' });
      cb.addEventListener('change', () => {
        if (cb.checked) selected.add(key);
        else selected.delete(key);
        all.checked = boxes.every((b) => b.checked);
      });
      boxes.push(cb);
      keys.push(key);
      tr.append(h('td', { class: 'sel' }, cb));
    }
    for (const c of columns) {
      const v = c.render ? c.render(r, startIndex + i) : r[c.key];
      tr.append(h('td', { class: c.cls }, v === null || v === undefined ? '' : v));
    }
    body.append(tr);
  });
  if (all)
    all.addEventListener('change', () => {
      boxes.forEach((b, i) => {
        b.checked = all.checked;
        if (all.checked) selected.add(keys[i]);
        else selected.delete(keys[i]);
      });
    });
  const el = h('div', { class: 'table-wrap' }, h('table', { class: 'grid' }, caption && h('caption', null, caption), h('thead', null, head), body));
  return { el, selected };
}

export function pager({ total, page, size, onChange, sizes = [10, 20, 50, 100] }) {
  const pages = Math.max(1, Math.ceil(total / size));
  const go = (p) => onChange(Math.min(Math.max(1, p), pages), size);
  const nums = [];
  const win = new Set([1, pages, page - 2, page - 1, page, page + 1, page + 2].filter((p) => p >= 1 && p <= pages));
  let last = 0;
  for (const p of [...win].sort((a, b) => a - b)) {
    if (p - last > 1) nums.push(h('span', { class: 'gap' }, '…'));
    nums.push(h('button', { type: 'button', class: 'pg' + (p === page ? ' cur' : ''), 'aria-current': p === page ? 'page' : null, onclick: () => go(p) }, String(p)));
    last = p;
  }
  const jump = h('input', { type: 'number', min: 1, max: pages, class: 'jump', 'aria-label': '跳至页' });
  jump.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && jump.value) go(Number(jump.value));
  });
  const sizeSel = h('select', { 'aria-label': '每页条数', onchange: () => onChange(1, Number(sizeSel.value)) }, sizes.map((s) => h('option', { value: s, selected: s === size }, `${s} 条/页`)));
  return h(
    'nav',
    { class: 'pager', 'aria-label': '分页' },
    h('span', { class: 'total' }, `共 ${total} 条记录`),
    h('button', { type: 'button', class: 'pg', disabled: page <= 1, 'aria-label': '上一页', onclick: () => go(page - 1) }, '‹'),
    nums,
    h('button', { type: 'button', class: 'pg', disabled: page >= pages, 'aria-label': '下一页', onclick: () => go(page + 1) }, '›'),
    sizeSel,
    h('span', { class: 'jumpbox' }, '跳至 ', jump, ' 页'),
  );
}

// A list page: filters on top (查询 / 重置), an optional toolbar, the table and the pager.
// opts: {filters: form specs, columns, fetch(params) -> {items,total}, toolbar: [nodes] or fn(list),
//        select: rowKey fn, size, defaults: {name: value}, cols: filter columns, empty}
export function listView(opts) {
  const f = opts.filters && opts.filters.length ? form(opts.filters, { cols: opts.cols || 4, cls: 'filters' }) : null;
  const state = { page: 1, size: opts.size || 10, total: 0, items: [], selected: new Set() };
  const tableBox = h('div', { class: 'list-table' });
  const pagerBox = h('div', { class: 'list-pager' });
  const tools = h('div', { class: 'toolbar' });
  const el = h('div', { class: 'list' });
  let seq = 0;
  const list = {
    el,
    state,
    form: f,
    params() {
      const p = f ? f.values() : {};
      for (const [k, v] of Object.entries(p)) if (Array.isArray(v)) p[k] = v.join(',');
      return { ...p, page: state.page, page_size: state.size };
    },
    async load(page) {
      if (page) state.page = page;
      const my = ++seq;
      tableBox.classList.add('loading');
      try {
        const r = await opts.fetch(list.params());
        if (my !== seq) return;
        state.items = r.items || [];
        state.total = r.total ?? state.items.length;
        if (state.items.length === 0 && state.page > 1 && state.total > 0) return list.load(Math.ceil(state.total / state.size));
        const t = table(opts.columns, state.items, { select: opts.select, empty: opts.empty, startIndex: (state.page - 1) * state.size });
        state.selected = t.selected;
        clear(tableBox, t.el);
        clear(
          pagerBox,
          opts.paged === false
            ? h('div', { class: 'pager' }, h('span', { class: 'total' }, `共 ${state.total} 条记录`))
            : pager({ total: state.total, page: state.page, size: state.size, onChange: (p, s) => ((state.size = s), list.load(p)) }),
        );
        if (opts.after) opts.after(r, list);
      } catch (e) {
        if (my !== seq) return;
        clear(tableBox, h('div', { class: 'load-error', role: 'alert' }, e.message));
        clear(pagerBox);
      } finally {
        if (my === seq) tableBox.classList.remove('loading');
      }
    },
    reload() {
      return list.load();
    },
    reset() {
      if (f) {
        for (const n of Object.keys(f.inputs)) f.set(n, (opts.defaults || {})[n] ?? '');
      }
      return list.load(1);
    },
  };
  if (f) {
    for (const [n, v] of Object.entries(opts.defaults || {})) f.set(n, v);
    f.el.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && e.target.tagName === 'INPUT') list.load(1);
    });
    el.append(
      h('div', { class: 'filter-bar' }, f.el, h('div', { class: 'filter-actions' }, btn('查询', () => list.load(1), 'primary'), btn('重置', () => list.reset()))),
    );
  }
  const toolbar = typeof opts.toolbar === 'function' ? opts.toolbar(list) : opts.toolbar;
  if (toolbar && toolbar.length) {
    append(tools, toolbar);
    el.append(tools);
  }
  el.append(tableBox, pagerBox);
  return list;
}

// ---- page frame ----------------------------------------------------------------------------------------

export function card(title, body, extra) {
  return h('section', { class: 'card' }, title && h('div', { class: 'card-head' }, h('h2', null, title), extra && h('div', { class: 'card-extra' }, extra)), h('div', { class: 'card-body' }, body));
}

// label/value pairs as a description grid; items: [[label, value, {wide}]]
export function desc(items, cols = 3) {
  return h(
    'dl',
    { class: `desc cols-${cols}` },
    items
      .filter(Boolean)
      .map(([k, v, o]) => h('div', { class: 'desc-item' + (o && o.wide ? ' wide' : '') }, h('dt', null, k), h('dd', null, v === null || v === undefined || v === '' ? '—' : v))),
  );
}

export function tabs(items, { onChange, active = 0 } = {}) {
  const bar = h('div', { class: 'tabs', role: 'tablist' });
  const panels = h('div', { class: 'tab-panels' });
  const btns = items.map((it, i) => {
    const b = h('button', { type: 'button', role: 'tab', class: 'tab', 'aria-selected': String(i === active), onclick: () => show(i) }, it.label);
    bar.append(b);
    return b;
  });
  const show = (i) => {
    btns.forEach((b, k) => b.setAttribute('aria-selected', String(k === i)));
    const it = items[i];
    clear(panels, typeof it.render === 'function' ? it.render() : it.render);
    if (onChange) onChange(i);
  };
  const el = h('div', { class: 'tabset' }, bar, panels);
  show(active);
  return { el, show };
}

export function empty(text) {
  return h('div', { class: 'empty-box' }, text);
}

// A file picker in Chinese (the browser's own button speaks the browser's language):
// returns {el, input}; the chosen file names are shown beside the button.
export function filePicker({ accept, multiple = false, label = '选择文件', aria }) {
  const input = h('input', { type: 'file', class: 'visually-hidden', accept, multiple, 'aria-label': aria || label });
  const names = h('span', { class: 'file-names muted' }, '未选择文件');
  input.addEventListener('change', () => {
    const list = [...input.files].map((f) => f.name);
    names.textContent = list.length ? list.join('、') : '未选择文件';
  });
  const el = h('span', { class: 'file-picker' }, h('label', { class: 'btn' }, label, input), names);
  return { el, input };
}

// Reads a File as an ArrayBuffer.
export function readFile(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(r.result);
    r.onerror = () => reject(new Error('无法读取文件'));
    r.readAsArrayBuffer(file);
  });
}

// A CSV line (RFC 4180) for templates made in the page.
export function csvLine(fields) {
  return fields.map((f) => (/[",\r\n]/.test(f) ? '"' + f.replace(/"/g, '""') + '"' : f)).join(',') + '\r\n';
}

export function saveText(text, filename, type = 'text/csv;charset=utf-8') {
  const u = URL.createObjectURL(new Blob(['\ufeff' + text], { type }));
  const a = h('a', { href: u, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(u), 10000);
}

// The one-time activation code of a new or reset account, shown once: rows for desc() (the
// code in a strong.activation-code), and what its holder must do.
const ACTIVATION_NOTE = '激活码仅显示这一次，请抄送给账号使用人：首次登录须同时填写初始密码 666666 和激活码，并修改密码。';
export async function showActivation(title, rows, note = ACTIVATION_NOTE) {
  await modal({ title, cancelText: null, body: h('div', null, desc(rows, 1), h('p', { class: 'muted small' }, note)) });
}
