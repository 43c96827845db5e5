// chart.js - the few charts the console draws, as SVG made here (no library): a ring for
// a completion rate with its numerator / denominator (the seed home page's 报名完成率
// 80 % (4/5)), horizontal bars for counts by status or rates by region, and columns for a
// distribution (the scores of a paper in 试题分析).

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

// counts[i] sittings with score i as vertical columns, the axis labelled every `step`
// scores; mark (e.g. the pass mark) drawn as a dashed line.
export function columns(counts, { width = 640, height = 200, label = '分数分布', mark, color = COLORS[0] } = {}) {
  const n = Math.max(1, counts.length);
  const top = Math.max(1, ...counts.map((c) => Number(c) || 0));
  const left = 36, bottom = 22, plotW = width - left - 8, plotH = height - bottom - 8;
  const w = plotW / n;
  const step = n > 60 ? 10 : n > 20 ? 5 : 1;
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, width, height, class: 'bars columns', role: 'img', 'aria-label': `${label}：${counts.map((c, i) => (c ? `${i}分 ${c}人` : '')).filter(Boolean).join('，')}` });
  svg.append(s('line', { x1: left, y1: 8 + plotH, x2: left + plotW, y2: 8 + plotH, stroke: '#c9d1db' }));
  svg.append(s('text', { x: left - 6, y: 14, 'text-anchor': 'end', class: 'bar-label' }, String(top)));
  counts.forEach((c, i) => {
    const hgt = (plotH * (Number(c) || 0)) / top;
    const x = left + i * w;
    if (c) svg.append(s('rect', { x: x + w * 0.1, y: 8 + plotH - hgt, width: Math.max(1, w * 0.8), height: hgt, fill: color }, s('title', {}, `${i} 分：${c} 人`)));
    if (i % step === 0) svg.append(s('text', { x: x + w / 2, y: height - 6, 'text-anchor': 'middle', class: 'bar-label' }, String(i)));
  });
  if (mark !== undefined && mark !== null && mark < n) {
    const x = left + mark * w;
    svg.append(s('line', { x1: x, y1: 8, x2: x, y2: 8 + plotH, stroke: '#d9534f', 'stroke-dasharray': '4 3' }));
  }
  return svg;
}

export { COLORS };
