// Small SVG charts for the evaluation view, drawn with DOM calls only (no inline styles: the page's CSP allows none).

const SVG = 'http://www.w3.org/2000/svg';
export const PALETTE = [
  '#1f4e79',
  '#d9822b',
  '#2e8b57',
  '#8e44ad',
  '#c0392b',
  '#16a085',
  '#7f8c8d',
  '#b7950b',
];

function el(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  for (const child of children) node.append(child);
  return node;
}

function text(x, y, content, attrs = {}) {
  return el('text', { x, y, ...attrs }, content);
}

function svg(width, height, label) {
  return el('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img', 'aria-label': label });
}

/** Grouped bars: one group per metric, one bar per run. Values are fractions. */
export function barChart(metrics, runs) {
  const width = 760;
  const height = 280;
  const left = 44;
  const bottom = 36;
  const top = 14;
  const plotHeight = height - top - bottom;
  const chart = svg(width, height, `Bar chart of ${metrics.join(', ')} per run`);
  for (let tick = 0; tick <= 5; tick++) {
    const y = top + plotHeight - (tick / 5) * plotHeight;
    chart.append(el('line', { x1: left, x2: width - 8, y1: y, y2: y, class: 'grid' }));
    chart.append(text(left - 6, y + 4, (tick / 5).toFixed(1), { 'text-anchor': 'end' }));
  }
  const groupWidth = (width - left - 16) / Math.max(metrics.length, 1);
  const barWidth = Math.min(46, (groupWidth - 20) / Math.max(runs.length, 1));
  metrics.forEach((metric, m) => {
    const groupStart = left + 8 + m * groupWidth + (groupWidth - barWidth * runs.length) / 2;
    runs.forEach((run, r) => {
      const value = run.metrics[metric];
      if (value === undefined) return;
      const barHeight = value * plotHeight;
      const x = groupStart + r * barWidth;
      const y = top + plotHeight - barHeight;
      const bar = el('rect', { x: x + 2, y, width: barWidth - 4, height: barHeight, fill: run.color, rx: 2 });
      bar.append(el('title', {}, `${run.name}: ${metric} ${value.toFixed(4)}`));
      chart.append(bar);
      chart.append(
        text(x + barWidth / 2, y - 3, value.toFixed(3), { 'text-anchor': 'middle', class: 'value-label' }),
      );
    });
    chart.append(
      text(left + 8 + m * groupWidth + groupWidth / 2, height - 14, metric, { 'text-anchor': 'middle' }),
    );
  });
  chart.append(
    el('line', { x1: left, x2: width - 8, y1: top + plotHeight, y2: top + plotHeight, class: 'axis' }),
  );
  return chart;
}

/** Recall against k, one line per run, k on a log scale. */
export function curveChart(runs) {
  const width = 760;
  const height = 280;
  const left = 44;
  const right = 34;
  const top = 14;
  const bottom = 36;
  const plotWidth = width - left - right;
  const plotHeight = height - top - bottom;
  const ks = [...new Set(runs.flatMap((run) => run.recallCurve.map((p) => p.k)))].sort((a, b) => a - b);
  const chart = svg(width, height, 'Recall at k curves per run');
  if (ks.length === 0) return chart;
  const lo = Math.log(ks[0]);
  const hi = Math.log(ks[ks.length - 1]);
  const xOf = (k) => left + (hi === lo ? plotWidth / 2 : ((Math.log(k) - lo) / (hi - lo)) * plotWidth);
  const yOf = (v) => top + plotHeight - v * plotHeight;
  for (let tick = 0; tick <= 5; tick++) {
    const y = yOf(tick / 5);
    chart.append(el('line', { x1: left, x2: width - right, y1: y, y2: y, class: 'grid' }));
    chart.append(text(left - 6, y + 4, (tick / 5).toFixed(1), { 'text-anchor': 'end' }));
  }
  for (const k of ks) {
    chart.append(el('line', { x1: xOf(k), x2: xOf(k), y1: top, y2: top + plotHeight, class: 'grid' }));
    chart.append(text(xOf(k), height - 18, `k=${k}`, { 'text-anchor': 'middle' }));
  }
  for (const run of runs) {
    if (run.recallCurve.length === 0) continue;
    const points = run.recallCurve.map((p) => `${xOf(p.k)},${yOf(p.recall)}`).join(' ');
    chart.append(el('polyline', { points, fill: 'none', stroke: run.color, 'stroke-width': 2.5 }));
    for (const p of run.recallCurve) {
      const dot = el('circle', { cx: xOf(p.k), cy: yOf(p.recall), r: 3.5, fill: run.color });
      dot.append(el('title', {}, `${run.name}: recall@${p.k} ${p.recall.toFixed(4)}`));
      chart.append(dot);
    }
  }
  chart.append(el('line', { x1: left, x2: width - right, y1: yOf(0), y2: yOf(0), class: 'axis' }));
  return chart;
}

/** Per-query differences (b − a), sorted: wins above the line, losses below. */
export function differenceChart(differences, metric) {
  const width = 760;
  const height = 240;
  const left = 44;
  const top = 12;
  const bottom = 24;
  const plotHeight = height - top - bottom;
  const chart = svg(width, height, `Per-query ${metric} difference, sorted`);
  const extent = Math.max(0.05, ...differences.map((d) => Math.abs(d.delta)));
  const yOf = (v) => top + plotHeight / 2 - (v / extent) * (plotHeight / 2);
  for (const tick of [-extent, -extent / 2, 0, extent / 2, extent]) {
    chart.append(
      el('line', {
        x1: left,
        x2: width - 8,
        y1: yOf(tick),
        y2: yOf(tick),
        class: tick === 0 ? 'axis' : 'grid',
      }),
    );
    chart.append(text(left - 6, yOf(tick) + 4, tick.toFixed(2), { 'text-anchor': 'end' }));
  }
  const step = (width - left - 16) / Math.max(differences.length, 1);
  differences.forEach((d, i) => {
    if (d.delta === 0) return;
    const y = Math.min(yOf(0), yOf(d.delta));
    const bar = el('rect', {
      x: left + 8 + i * step,
      y,
      width: Math.max(step - (step > 3 ? 1 : 0), 0.6),
      height: Math.abs(yOf(d.delta) - yOf(0)),
      fill: d.delta > 0 ? '#1e7b45' : '#b3261e',
    });
    bar.append(el('title', {}, `${d.query ?? d.id}: ${d.delta > 0 ? '+' : ''}${d.delta.toFixed(4)}`));
    chart.append(bar);
  });
  chart.append(
    text(left + 8, height - 6, `${differences.length} queries, sorted by difference in ${metric}`),
  );
  return chart;
}
