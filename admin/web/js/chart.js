// chart.js - the few charts the console draws, as SVG made here (no library): a ring for
// a completion rate with its numerator / denominator (the seed home page's 报名完成率
// 80 % (4/5)), and horizontal bars for counts by status or rates by region.

const NS = 'http://www.w3.org/2000/svg';

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, v);
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

const COLORS = ['#2f7bd1', '#2f9e6f', '#e08a1e', '#8a63d2', '#d9534f', '#1fa3a3', '#7a8699'];

// A rate {label, numerator, denominator, percent} as a ring with the percent inside.
export function ring(rate, { color = COLORS[0], caption = '', size = 148 } = {}) {
  const r = 52;
  const c = 2 * Math.PI * r;
  const p = Math.max(0, Math.min(100, Number(rate.percent) || 0));
  const svg = s(
    'svg',
    { viewBox: '0 0 140 140', width: size, height: size, role: 'img', 'aria-label': `${rate.label} ${p}%（${rate.numerator}/${rate.denominator}）` },
    s('circle', { cx: 70, cy: 70, r, fill: 'none', stroke: '#e8edf3', 'stroke-width': 14 }),
    s('circle', {
      cx: 70, cy: 70, r, fill: 'none', stroke: color, 'stroke-width': 14, 'stroke-linecap': p > 0 ? 'round' : 'butt',
      'stroke-dasharray': `${(c * p) / 100} ${c}`, transform: 'rotate(-90 70 70)',
    }),
    s('text', { x: 70, y: 68, 'text-anchor': 'middle', class: 'ring-pct' }, `${p % 1 ? p.toFixed(1) : p}%`),
    s('text', { x: 70, y: 90, 'text-anchor': 'middle', class: 'ring-frac' }, `${rate.numerator} / ${rate.denominator}`),
  );
  const box = document.createElement('figure');
  box.className = 'ring';
  const cap = document.createElement('figcaption');
  cap.innerHTML = '';
  cap.append(Object.assign(document.createElement('strong'), { textContent: rate.label }));
  if (caption) cap.append(Object.assign(document.createElement('span'), { textContent: caption }));
  box.append(svg, cap);
  return box;
}

// items: [{label, value, text?}] as horizontal bars scaled to max (or the largest value).
export function bars(items, { max, unit = '', color, width = 460, rowH = 28, labelW = 170 } = {}) {
  const top = max || Math.max(1, ...items.map((i) => Number(i.value) || 0));
  const h = Math.max(rowH, items.length * rowH + 8);
  const barW = width - labelW - 70;
  const svg = s('svg', { viewBox: `0 0 ${width} ${h}`, width, height: h, class: 'bars', role: 'img', 'aria-label': items.map((i) => `${i.label} ${i.text ?? i.value}${unit}`).join('，') });
  items.forEach((it, k) => {
    const y = 4 + k * rowH;
    const v = Number(it.value) || 0;
    const w = Math.max(v > 0 ? 2 : 0, (barW * v) / top);
    const label = it.label.length > 14 ? it.label.slice(0, 13) + '…' : it.label;
    svg.append(
      s('text', { x: labelW - 8, y: y + rowH / 2 + 4, 'text-anchor': 'end', class: 'bar-label' }, label),
      s('rect', { x: labelW, y: y + 5, width: barW, height: rowH - 10, rx: 3, fill: '#eef2f7' }),
      s('rect', { x: labelW, y: y + 5, width: w, height: rowH - 10, rx: 3, fill: it.color || color || COLORS[k % COLORS.length] }),
      s('text', { x: labelW + w + 6, y: y + rowH / 2 + 4, class: 'bar-value' }, `${it.text ?? v}${unit}`),
    );
  });
  return svg;
}

export { COLORS };
