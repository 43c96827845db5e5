// form.js - the fields of the registration and exemption forms: a label, the control, a
// hint and an error line tied to it (aria-describedby), and the limits admind enforces
// checked before anything is sent. Text limits are characters, counted as admind counts
// them (code points: a Chinese character is one); a field over its limit says so at the
// field and is not sent (no maxlength: a paste is never cut silently). Numbers have their
// range; dates their format.

import { charLength, el } from './ui.js';

let seq = 0;

// One field. spec: {name, label, type: text|email|tel|date|number|textarea|select|
// radios, value, maxChars, required (for submitting: marked *, checked by check()),
// options: [[value, text]] (select, radios), list: [suggestions] (text), min, max,
// placeholder, hint, rows, wide}. Returns the wrapper; wrapper.control is the input
// (for radios the fieldset), wrapper.read() gives the value to send ('' -> null).
export function field(spec) {
  const id = `f-${spec.name}-${++seq}`;
  const hintId = id + '-hint';
  const errId = id + '-err';
  const describedBy = [spec.hint || spec.maxChars > 300 ? hintId : null, errId].filter(Boolean).join(' ');
  let control;
  const value = spec.value === null || spec.value === undefined ? '' : spec.value;
  if (spec.type === 'radios') {
    control = el('fieldset', { class: 'radios', id, 'aria-describedby': describedBy },
      el('legend', {}, spec.label, spec.required ? el('span', { class: 'req', 'aria-hidden': 'true', text: ' *' }) : null),
      ...spec.options.map(([v, t]) =>
        el('label', { class: 'radio' },
          el('input', { type: 'radio', name: id, value: String(v), checked: String(v) === String(value), required: spec.required }),
          ' ' + t)));
  } else if (spec.type === 'select') {
    control = el('select', { id, name: spec.name, 'aria-describedby': describedBy },
      el('option', { value: '', text: spec.placeholder || '请选择' }),
      ...spec.options.map(([v, t]) => el('option', { value: String(v), text: t, selected: String(v) === String(value) })));
  } else if (spec.type === 'textarea') {
    control = el('textarea', { id, name: spec.name, rows: spec.rows || 5, placeholder: spec.placeholder, 'aria-describedby': describedBy });
    control.value = value;
  } else {
    const attrs = { id, name: spec.name, type: spec.type || 'text', 'aria-describedby': describedBy, placeholder: spec.placeholder };
    if (spec.type === 'number') Object.assign(attrs, { min: spec.min ?? 0, max: spec.max, step: 1, inputmode: 'numeric' });
    if (spec.type === 'tel') attrs.inputmode = 'tel';
    if (spec.autocomplete) attrs.autocomplete = spec.autocomplete;
    if (spec.list) attrs.list = id + '-list';
    control = el('input', attrs);
    control.value = value;
  }
  if (spec.required && spec.type !== 'radios') control.setAttribute('aria-required', 'true');
  const counter = spec.maxChars > 300 ? el('span', { class: 'counter' }) : null;
  const hint = spec.hint || counter ? el('p', { class: 'hint small muted', id: hintId }, spec.hint || '', counter) : null;
  const error = el('p', { class: 'field-error', id: errId, role: 'alert', hidden: true });
  const label = spec.type === 'radios' ? null
    : el('label', { for: id }, spec.label, spec.required ? el('span', { class: 'req', 'aria-hidden': 'true', text: ' *' }) : null);
  const wrap = el('div', { class: 'field' + (spec.wide ? ' wide' : '') + (spec.type === 'radios' ? ' field-radios' : '') },
    label, control, spec.list ? el('datalist', { id: id + '-list' }, ...spec.list.map((v) => el('option', { value: v }))) : null, hint, error);
  wrap.control = control;
  wrap.spec = spec;

  const showCount = () => {
    if (!counter) return;
    const n = charLength(control.value.trim());
    counter.textContent = `已输入 ${n} 字，最多 ${spec.maxChars} 字`;
    counter.dataset.over = n > spec.maxChars ? '1' : '0';
  };
  wrap.read = () => {
    if (spec.type === 'radios') {
      const c = control.querySelector('input:checked');
      return c ? c.value : null;
    }
    const v = control.value.trim();
    if (v === '') return null;
    if (spec.type === 'number') return Number(v);
    return v;
  };
  // The problem with the value, or '' (required is checked only when asked: drafts may be partial)
  wrap.problem = (needRequired = false) => {
    const v = wrap.read();
    if (v === null) return needRequired && spec.required ? `请${spec.type === 'radios' || spec.type === 'select' ? '选择' : '填写'}${spec.label}` : '';
    if (spec.maxChars && typeof v === 'string' && charLength(v) > spec.maxChars)
      return `${spec.label}过长：最多 ${spec.maxChars} 字，现有 ${charLength(v)} 字`;
    if (spec.type === 'number') {
      if (!Number.isInteger(v) || v < (spec.min ?? 0) || (spec.max !== undefined && v > spec.max))
        return `${spec.label}应为 ${spec.min ?? 0} 到 ${spec.max} 之间的整数`;
    }
    if (spec.type === 'date' && !/^\d{4}-\d{2}-\d{2}$/.test(v)) return `${spec.label}应为日期（年-月-日）`;
    if (spec.type === 'email' && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v)) return `${spec.label}格式不正确`;
    if (spec.type === 'tel' && !/^[0-9+\-\s]{5,20}$/.test(v)) return `${spec.label}只能包含数字`;
    if (spec.check) return spec.check(v) || '';
    return '';
  };
  wrap.setError = (msg) => {
    error.textContent = msg || '';
    error.hidden = !msg;
    if (spec.type === 'radios') control.toggleAttribute('aria-invalid', !!msg);
    else control.setAttribute('aria-invalid', msg ? 'true' : 'false');
  };
  control.addEventListener(spec.type === 'radios' || spec.type === 'select' ? 'change' : 'input', () => {
    showCount();
    if (!error.hidden) wrap.setError(wrap.problem());
    if (spec.onchange) spec.onchange(wrap.read());
  });
  control.addEventListener('blur', () => wrap.setError(wrap.problem()), true);
  showCount();
  return wrap;
}

// Checks fields (and extra problems [[field-or-element, message]]); shows each message at
// its field, focuses the first, and returns the list of messages ([] when all is well).
export function check(fields, needRequired = false, extra = []) {
  const msgs = [];
  let first = null;
  for (const f of fields) {
    const p = f.problem(needRequired);
    f.setError(p);
    if (p) {
      msgs.push(p);
      first = first || f.control;
    }
  }
  for (const [f, p] of extra) {
    if (f && f.setError) f.setError(p);
    msgs.push(p);
    first = first || (f && (f.control || f));
  }
  if (first) {
    const target = first.matches && first.matches('fieldset') ? first.querySelector('input') : first;
    if (target && target.focus) target.focus();
  }
  return msgs;
}

// Values of fields by name (only those given).
export function values(fields) {
  const o = {};
  for (const f of fields) o[f.spec.name] = f.read();
  return o;
}

// A file the server will refuse, said before sending: types by their first bytes, size.
const MAGIC = {
  pdf: [0x25, 0x50, 0x44, 0x46], // %PDF
  jpg: [0xff, 0xd8, 0xff],
  png: [0x89, 0x50, 0x4e, 0x47],
};

export async function fileKind(file) {
  const head = new Uint8Array(await file.slice(0, 8).arrayBuffer());
  for (const [k, m] of Object.entries(MAGIC)) if (m.every((b, i) => head[i] === b)) return k;
  return null;
}

export const MIME = { pdf: 'application/pdf', jpg: 'image/jpeg', png: 'image/png' };

export function fmtBytes(n) {
  if (n >= 1 << 20) return (n / (1 << 20)).toFixed(1) + ' MB';
  if (n >= 1024) return Math.round(n / 1024) + ' KB';
  return n + ' 字节';
}
