// certificate.js - the 医师定期考核合格证书 as one element, built from admind's certificate
// (GET /api/v1/enrolments/{id}/certificate). One copy for both web roots: the physician's
// pages (exam-engine/web) and the console (admin/web) reach this folder as shared/ (a
// link in each web root), so a change to the certificate is made once.
//
//   certificateElement(c, { photo, dateCn }) -> <article class="certificate">
//     photo:  the element in the photo frame (the caller fills it when the photo loads)
//     dateCn: a date or time -> 'YYYY 年 M 月 D 日' in Beijing time (the page's own helper)

function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const k of kids.flat()) if (k !== null && k !== undefined) e.append(k);
  return e;
}

export function certificateElement(c, { photo, dateCn }) {
  const p = c.physician || {};
  const cycle = c.cycle || {};
  const row = (k, v) => h('tr', null, h('th', { scope: 'row' }, k), h('td', null, v || '—'));
  return h('article', { class: 'certificate', 'aria-labelledby': 'cert-title' },
    h('div', { class: 'cert-border' },
      h('header', null,
        h('h1', { id: 'cert-title' }, c.title || '医师定期考核合格证书'),
        h('p', { class: 'cert-no' }, `证书编号：${c.cert_no || ''}`)),
      h('div', { class: 'cert-main' },
        photo,
        h('table', { class: 'cert-table' }, h('tbody', null,
          row('姓　　名', p.name), row('性　　别', p.sex), row('证件号码', p.id_number),
          row('出生日期', dateCn(p.birth_date)), row('医师级别', p.practice_level),
          row('执业类别', p.practice_category), row('执业范围', p.practice_scope),
          row('执业证书编码', p.practice_cert_no), row('执业机构', c.institution_name)))),
      h('p', { class: 'cert-text' },
        `该医师参加 ${cycle.name || ''}（${dateCn(cycle.period_start)} 至 ${dateCn(cycle.period_end)}），` +
          `按照${c.procedure_type || ''}进行定期考核，考核结果为`,
        h('strong', null, c.result || ''), '，特发此证。'),
      h('footer', { class: 'cert-foot' },
        h('div', { class: 'seal', 'aria-hidden': 'true' }, h('span', null, '（发证机关盖章）')),
        h('div', { class: 'issuer' },
          h('p', null, '发证机关：', h('strong', null, c.issuer ? c.issuer.name : '')),
          h('p', null, `发证日期：${dateCn(c.issued_at)}`))),
      c.seal_note ? h('p', { class: 'seal-note' }, c.seal_note) : null));
}
