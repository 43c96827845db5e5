// files.js - a box of uploaded proofs (PDF/JPG/PNG, each ≤ 10 MB) with 下载 and, while the
// owner may still change them, 上传 (several at once) and 删除: the 免考申请's 证明材料 and
// the 简易程序申请材料 of 考核报名 (seed [002] 查看医师上传的凭证). The files are checked in
// the page (kind by content, size, name) before any upload; the server checks them again.

import * as api from './api.js';
import { fileKind, fmtBytes, MIME } from './form.js';
import { el, fmtWhen } from './ui.js';

const FILE_MAX = 10 << 20;

// opts: { id (input id), title, files, canUpload, uploadPath(file) -> admind path,
//         removePath(f) -> path or null (no 删除), reload(notice), empty, button, hint }
export function fileBox(opts) {
  const msg = el('p', { class: 'photo-msg', role: 'status', 'aria-live': 'polite' });
  const list = el('ul', { class: 'files' }, ...opts.files.map((f) => el('li', {},
    el('span', { class: 'file-name', text: f.file_name }),
    el('span', { class: 'small muted', text: ` ${f.kind ? `${f.kind} · ` : ''}${fmtBytes(f.bytes)} · ${fmtWhen(f.uploaded_at)}` }),
    ' ',
    el('button', { type: 'button', class: 'btn link', text: '下载', 'aria-label': `下载 ${f.file_name}`, onclick: () => download(f, msg, list) }),
    opts.canUpload && opts.removePath
      ? el('button', { type: 'button', class: 'btn link', text: '删除', 'aria-label': `删除 ${f.file_name}`, onclick: () => remove(f) })
      : null)));
  const input = el('input', { type: 'file', id: opts.id, multiple: true, accept: '.pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png', class: 'sr-only' });
  input.addEventListener('change', async () => {
    const chosen = [...(input.files || [])];
    input.value = '';
    let ok = 0;
    const problems = [];
    for (const file of chosen) {
      const kind = await fileKind(file);
      if (!kind) { problems.push(`${file.name}：只支持 PDF、JPG、PNG 文件`); continue; }
      if (file.size > FILE_MAX) { problems.push(`${file.name}：文件太大（不能超过 10 MB）`); continue; }
      if (new TextEncoder().encode(file.name).length > 255) { problems.push(`${file.name}：文件名太长`); continue; }
      msg.dataset.state = 'busy';
      msg.textContent = `正在上传 ${file.name}……`;
      try {
        await api.admin.post(opts.uploadPath(file), new Blob([file], { type: MIME[kind] }));
        ok++;
      } catch (e) {
        if (e.status === 401) return;
        problems.push(`${file.name}：${e.message}`);
      }
    }
    if (ok && !problems.length) return opts.reload(`已上传 ${ok} 个文件。`);
    if (ok) await opts.reload(`已上传 ${ok} 个文件。`);
    const m = document.querySelector(`#${opts.id}`)?.closest('.files-box')?.querySelector('.upload-msg') || msg;
    m.dataset.state = 'bad';
    m.textContent = problems.join('；');
  });

  async function remove(f) {
    try {
      await api.admin.request('DELETE', opts.removePath(f));
      await opts.reload(`已删除 ${f.file_name}。`);
    } catch (e) {
      if (e.status === 401) return;
      msg.dataset.state = 'bad';
      msg.textContent = `${f.file_name} 删除失败：${e.message}`;
    }
  }

  const titleId = `${opts.id}-title`;
  return el('section', { class: 'files-box', 'aria-labelledby': titleId },
    el('h3', { id: titleId, text: opts.title }),
    opts.files.length ? list : el('p', { class: 'muted', text: opts.empty }),
    opts.canUpload
      ? el('div', {},
        input,
        el('label', { for: opts.id, class: 'btn file-btn' }, opts.button),
        el('p', { class: 'small muted', text: opts.hint || '支持 PDF、JPG、PNG 文件，每个不超过 10 MB，可一次选择多个。' }),
        Object.assign(msg, { className: 'photo-msg upload-msg' }))
      : null);
}

async function download(f, msg, list) {
  try {
    const b = await api.admin.blob(`/api/v1/attachments/${f.id}`);
    const u = URL.createObjectURL(b);
    const a = el('a', { href: u, download: f.file_name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(u), 10000);
  } catch (e) {
    if (e.status === 401) return;
    (msg.isConnected ? msg : list).after(el('p', { class: 'notice', 'data-kind': 'warn', role: 'alert', text: `${f.file_name} 下载失败：${e.message}` }));
  }
}
