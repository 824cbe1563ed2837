// SVG charts small enough to carry in every binary: bars, horizontal bars,
// lines, a funnel, a scatter and stacked bars. Each chart is a <figure>
// with a labelled <svg role="img">, a <title> per mark (tooltips), and a
// visually hidden table with the same numbers for screen readers.
// Charts draw left to right even in a right-to-left page (as numbers do).

import { h } from './ui.js';

const W = 640;
const PALETTE = ['#2563eb', '#16a34a', '#f59e0b', '#dc2626', '#7c3aed', '#0891b2', '#db2777', '#65a30d'];

export function color(i) { return PALETTE[i % PALETTE.length]; }

function s(tag, attrs, ...children) { return h('svg:' + tag, attrs, ...children); }

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  const m = v / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

function figure(title, svg, rows, headers) {
  const tbl = h('table', { class: 'sr-only' },
    h('caption', null, title),
    h('thead', null, h('tr', null, headers.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', null, rows.map((r) => h('tr', null, r.map((c) => h('td', null, String(c)))))));
  return h('figure', { class: 'chart' }, h('figcaption', null, title), h('div', { class: 'chart-svg', dir: 'ltr' }, svg), tbl);
}

function svgRoot(height, title) {
  return s('svg', { viewBox: `0 0 ${W} ${height}`, role: 'img', 'aria-label': title, preserveAspectRatio: 'xMidYMid meet' },
    s('title', null, title));
}

function axisY(svg, max, x0, y0, y1, fmt) {
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    const y = y0 - ((y0 - y1) * i) / 4;
    svg.append(s('line', { x1: x0, x2: W - 10, y1: y, y2: y, class: 'grid' }),
      s('text', { x: x0 - 6, y: y + 4, 'text-anchor': 'end', class: 'axis' }, fmt(v)));
  }
}

// data: [{label, value}], format(value) for the numbers.
export function barChart({ title, data, format = String, height = 260 }) {
  const svg = svgRoot(height, title);
  const x0 = 70; const y0 = height - 40; const y1 = 10;
  const max = niceMax(Math.max(0, ...data.map((d) => d.value)));
  axisY(svg, max, x0, y0, y1, format);
  const bw = (W - x0 - 20) / Math.max(1, data.length);
  data.forEach((d, i) => {
    const hgt = ((y0 - y1) * Math.max(0, d.value)) / max;
    const x = x0 + i * bw + bw * 0.15;
    svg.append(s('rect', { x, y: y0 - hgt, width: bw * 0.7, height: hgt, fill: d.color || color(0), class: 'bar' },
      s('title', null, `${d.label}: ${format(d.value)}`)));
    svg.append(s('text', { x: x + bw * 0.35, y: y0 + 16, 'text-anchor': 'middle', class: 'axis' }, trim(d.label, bw / 7)));
  });
  return figure(title, svg, data.map((d) => [d.label, format(d.value)]), ['', '']);
}

// Horizontal bars: good for long labels (managers, products).
export function hbarChart({ title, data, format = String }) {
  const row = 28;
  const height = Math.max(60, data.length * row + 20);
  const svg = svgRoot(height, title);
  const x0 = 170;
  const max = niceMax(Math.max(0, ...data.map((d) => d.value)));
  data.forEach((d, i) => {
    const y = 10 + i * row;
    const w = ((W - x0 - 90) * Math.max(0, d.value)) / max;
    svg.append(s('text', { x: x0 - 8, y: y + 17, 'text-anchor': 'end', class: 'axis' }, trim(d.label, 24)));
    svg.append(s('rect', { x: x0, y: y + 4, width: Math.max(1, w), height: row - 10, fill: d.color || color(i), class: 'bar' },
      s('title', null, `${d.label}: ${format(d.value)}`)));
    svg.append(s('text', { x: x0 + w + 6, y: y + 17, class: 'value' }, format(d.value)));
  });
  return figure(title, svg, data.map((d) => [d.label, format(d.value)]), ['', '']);
}

// A funnel: one row per stage, width by value, the percentage beside.
export function funnelChart({ title, data, format = String, pctFormat = (p) => `${p.toFixed(0)} %` }) {
  const row = 38;
  const height = data.length * row + 10;
  const svg = svgRoot(height, title);
  const max = Math.max(1, ...data.map((d) => d.value));
  const cx = 360; const full = 400;
  data.forEach((d, i) => {
    const w = Math.max(4, (full * d.value) / max);
    const y = 5 + i * row;
    svg.append(s('rect', { x: cx - w / 2, y, width: w, height: row - 6, rx: 4, fill: color(i), class: 'bar' },
      s('title', null, `${d.label}: ${format(d.value)}`)));
    svg.append(s('text', { x: 10, y: y + 21, class: 'axis' }, trim(d.label, 18)));
    svg.append(s('text', { x: cx, y: y + 21, 'text-anchor': 'middle', class: 'value on-bar' }, format(d.value)));
    if (d.pct !== undefined && d.pct !== null) svg.append(s('text', { x: W - 10, y: y + 21, 'text-anchor': 'end', class: 'axis' }, pctFormat(d.pct)));
  });
  return figure(title, svg, data.map((d) => [d.label, format(d.value), d.pct === undefined ? '' : pctFormat(d.pct)]), ['', '', '']);
}

// series: [{name, points: [[x (number, e.g. ms), y]]}]; xFormat for ticks.
export function lineChart({ title, series, format = String, xFormat = String, height = 200 }) {
  const svg = svgRoot(height, title);
  const x0 = 60; const y0 = height - 30; const y1 = 10; const x1 = W - 10;
  const pts = series.flatMap((sr) => sr.points);
  const max = niceMax(Math.max(0, ...pts.map((p) => p[1])));
  axisY(svg, max, x0, y0, y1, format);
  if (pts.length) {
    const xmin = Math.min(...pts.map((p) => p[0]));
    const xmax = Math.max(...pts.map((p) => p[0]));
    const span = xmax - xmin || 1;
    const X = (x) => x0 + ((x1 - x0) * (x - xmin)) / span;
    const Y = (y) => y0 - ((y0 - y1) * y) / max;
    series.forEach((sr, i) => {
      if (!sr.points.length) return;
      const d = sr.points.map((p, j) => `${j ? 'L' : 'M'}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(' ');
      svg.append(s('path', { d, fill: 'none', stroke: sr.color || color(i), 'stroke-width': 2, class: 'line' },
        s('title', null, sr.name)));
    });
    svg.append(s('text', { x: x0, y: height - 8, class: 'axis' }, xFormat(xmin)),
      s('text', { x: x1, y: height - 8, 'text-anchor': 'end', class: 'axis' }, xFormat(xmax)));
  }
  const legend = h('ul', { class: 'legend' }, series.map((sr, i) =>
    h('li', null, h('span', { class: 'swatch', style: { background: sr.color || color(i) } }), sr.name)));
  const fig = figure(title, svg, series.flatMap((sr) => sr.points.map((p) => [sr.name, xFormat(p[0]), format(p[1])])), ['', '', '']);
  fig.append(legend);
  return fig;
}

// points: [{label, x, y, r?, color?}] with axis labels and optional
// quadrant lines at qx, qy (the BCG matrix, ABC/XYZ).
// xMax, yMax: the axes' ends when the caller knows them (a share up to
// 100 %), else a round value above the largest point.
export function scatterChart({ title, points, xLabel, yLabel, xFormat = String, yFormat = String, qx, qy, height = 320, xMax, yMax }) {
  const svg = svgRoot(height, title);
  const x0 = 60; const y0 = height - 40; const y1 = 10; const x1 = W - 20;
  const xs = points.map((p) => p.x); const ys = points.map((p) => p.y);
  const xmin = Math.min(0, ...xs); const xmax = xMax || niceMax(Math.max(1, ...xs));
  const ymin = Math.min(0, ...ys); const ymax = yMax || niceMax(Math.max(1, ...ys));
  const X = (x) => x0 + ((x1 - x0) * (x - xmin)) / (xmax - xmin || 1);
  const Y = (y) => y0 - ((y0 - y1) * (y - ymin)) / (ymax - ymin || 1);
  svg.append(s('line', { x1: x0, x2: x1, y1: y0, y2: y0, class: 'axis-line' }), s('line', { x1: x0, x2: x0, y1, y2: y0, class: 'axis-line' }));
  if (qx !== undefined) svg.append(s('line', { x1: X(qx), x2: X(qx), y1, y2: y0, class: 'quadrant' }));
  if (qy !== undefined) svg.append(s('line', { x1: x0, x2: x1, y1: Y(qy), y2: Y(qy), class: 'quadrant' }));
  svg.append(s('text', { x: (x0 + x1) / 2, y: height - 8, 'text-anchor': 'middle', class: 'axis' }, xLabel || ''),
    s('text', { x: 12, y: (y0 + y1) / 2, 'text-anchor': 'middle', class: 'axis', transform: `rotate(-90 12 ${(y0 + y1) / 2})` }, yLabel || ''));
  points.forEach((p, i) => {
    svg.append(s('circle', { cx: X(p.x), cy: Y(p.y), r: p.r || 6, fill: p.color || color(i), class: 'dot' },
      s('title', null, `${p.label}: ${xFormat(p.x)}, ${yFormat(p.y)}`)));
  });
  // Labels where they overlap no other label: beside the dot, else on its
  // other side, above or below, else moved down until free (two products
  // with nearly the same figures must both stay readable).
  const placed = [];
  const overlaps = (b) => placed.some((o) => b.x < o.x + o.w && o.x < b.x + b.w && b.y < o.y + o.h && o.y < b.y + b.h);
  points.forEach((p) => {
    const text = trim(p.label, 16);
    const w = 7 * text.length + 2; const hgt = 13; const r = p.r || 6;
    const cx = X(p.x); const cy = Y(p.y);
    const tries = [[cx + r + 3, cy - 9], [cx - r - 3 - w, cy - 9], [cx - w / 2, cy - r - 3 - hgt], [cx - w / 2, cy + r + 3]];
    for (let k = 1; k <= 6; k++) tries.push([cx + r + 3, cy - 9 + k * hgt], [cx + r + 3, cy - 9 - k * hgt]);
    const inside = (b) => b.x >= x0 && b.x + b.w <= x1 + 20 && b.y >= 0 && b.y + b.h <= y0;
    const boxes = tries.map(([bx, by]) => ({ x: bx, y: by, w, h: hgt }));
    const box = boxes.find((b) => inside(b) && !overlaps(b)) || boxes.find((b) => !overlaps(b)) || boxes[0];
    placed.push(box);
    svg.append(s('text', { x: box.x, y: box.y + 10, class: 'axis' }, text));
  });
  return figure(title, svg, points.map((p) => [p.label, xFormat(p.x), yFormat(p.y)]), ['', xLabel || '', yLabel || '']);
}

// data: [{label, parts: [{name, value}]}] stacked per label.
export function stackedBar({ title, data, format = String, height = 260 }) {
  const svg = svgRoot(height, title);
  const x0 = 70; const y0 = height - 40; const y1 = 10;
  const names = [...new Set(data.flatMap((d) => d.parts.map((p) => p.name)))];
  const max = niceMax(Math.max(0, ...data.map((d) => d.parts.reduce((a, p) => a + Math.max(0, p.value), 0))));
  axisY(svg, max, x0, y0, y1, format);
  const bw = (W - x0 - 20) / Math.max(1, data.length);
  data.forEach((d, i) => {
    let y = y0;
    const x = x0 + i * bw + bw * 0.15;
    d.parts.forEach((p) => {
      const hgt = ((y0 - y1) * Math.max(0, p.value)) / max;
      y -= hgt;
      svg.append(s('rect', { x, y, width: bw * 0.7, height: hgt, fill: color(names.indexOf(p.name)), class: 'bar' },
        s('title', null, `${d.label} · ${p.name}: ${format(p.value)}`)));
    });
    svg.append(s('text', { x: x + bw * 0.35, y: y0 + 16, 'text-anchor': 'middle', class: 'axis' }, trim(d.label, bw / 7)));
  });
  const fig = figure(title, svg, data.flatMap((d) => d.parts.map((p) => [d.label, p.name, format(p.value)])), ['', '', '']);
  fig.append(h('ul', { class: 'legend' }, names.map((n, i) => h('li', null, h('span', { class: 'swatch', style: { background: color(i) } }), n))));
  return fig;
}

function trim(text, n) {
  const str = String(text ?? '');
  const max = Math.max(3, Math.floor(n));
  return str.length > max ? str.slice(0, max - 1) + '…' : str;
}
