// verify.js - the public check of a pass certificate (verify.html, no login): the code from
// the QR code's address (?code=) or typed, asked of admind's GET /api/v1/public/certificates/
// {code}; shows 证书真实有效 with the holder's name, masked ID number, cycle, result, number
// and issuer, or 证书已撤销, or 查无此证书 (a forged or mistyped code). admind counts the
// checks per address (429 shows its message).

const $ = (id) => document.getElementById(id);

function row(label, value) {
  const tr = document.createElement('tr');
  const th = document.createElement('th');
  const td = document.createElement('td');
  th.textContent = label;
  td.textContent = value ?? '—';
  tr.append(th, td);
  return tr;
}

function show(kind, title, message, c) {
  const box = $('verify-result');
  box.replaceChildren();
  box.className = `verify-result ${kind}`;
  box.dataset.state = kind;
  const h = document.createElement('h2');
  h.textContent = title;
  const p = document.createElement('p');
  p.textContent = message;
  box.append(h, p);
  if (c) {
    const t = document.createElement('table');
    t.className = 'verify-table';
    t.append(
      row('姓名', c.name),
      row('证件号码', c.id_number),
      row('考核周期', c.cycle),
      row('考核结果', c.result),
      row('证书编号', c.cert_no),
      row('发证机关', c.issuer),
      row('发证日期', c.issued_on),
    );
    box.append(t);
  }
}

async function check(code) {
  code = (code || '').trim();
  if (!code) return;
  show('pending', '正在核验…', '');
  let r, body;
  try {
    r = await fetch(`api/v1/public/certificates/${encodeURIComponent(code)}`, { headers: { Accept: 'application/json' } });
    body = await r.json();
  } catch {
    show('error', '无法核验', '网络错误，请稍后重试。');
    return;
  }
  if (r.ok && body.valid) show('valid', '证书真实有效', body.message, body);
  else if (r.ok) show('revoked', '证书已撤销', body.message, body);
  else if (r.status === 404) show('invalid', '查无此证书', body.error?.message || '该验证码没有对应的合格证书。');
  else show('error', '无法核验', body.error?.message || `服务暂时不可用（${r.status}）`);
}

$('verify-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const code = $('code').value.trim();
  history.replaceState(null, '', `?code=${encodeURIComponent(code)}`);
  check(code);
});

const initial = new URLSearchParams(location.search).get('code');
if (initial) {
  $('code').value = initial;
  check(initial);
}
