// The breakdown chart: the running total after each record, over time,
// against the policy's tier bands. Plain SVG built with the DOM.
const NS = 'http://www.w3.org/2000/svg';

function el(name, attrs, text) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

const BAND_COLOURS = ['#fde2e1', '#fdf0d9', '#fbf7d6', '#e6f4e0', '#d9efe6', '#dbe9f7', '#e6e0f5'];

export function chart(report, tiers) {
  const W = 660, H = 280, L = 48, R = 120, T = 12, B = 32;
  const lo = report.scale_min, hi = report.scale_max;
  const items = report.items;
  const points = [{ label: 'start', total: report.start }]
    .concat(items.map((i) => ({ label: i.date, total: Math.min(hi, Math.max(lo, i.running_total)) })));
  const x = (k) => L + (points.length === 1 ? 0 : (k * (W - L - R)) / (points.length - 1));
  const y = (v) => T + ((hi - v) * (H - T - B)) / Math.max(1, hi - lo);
  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': 'Running score total against the tier bands' });
  (tiers || []).forEach((t, k) => {
    svg.append(el('rect', { x: L, y: y(t.max), width: W - L - R, height: Math.max(1, y(t.min) - y(t.max)), fill: BAND_COLOURS[k % BAND_COLOURS.length] }));
    svg.append(el('text', { x: W - R + 6, y: (y(t.max) + y(t.min)) / 2 + 4, 'font-size': 11, fill: '#444' }, `${t.name} ${t.min}–${t.max}`));
  });
  svg.append(el('line', { x1: L, y1: T, x2: L, y2: H - B, stroke: '#888' }));
  svg.append(el('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: '#888' }));
  for (const v of [lo, Math.round((lo + hi) / 2), hi]) {
    svg.append(el('text', { x: L - 6, y: y(v) + 4, 'font-size': 11, 'text-anchor': 'end', fill: '#444' }, String(v)));
  }
  const first = points[1] ? points[1].label : '', last = points[points.length - 1].label;
  svg.append(el('text', { x: L, y: H - 10, 'font-size': 11, fill: '#444' }, first));
  svg.append(el('text', { x: W - R, y: H - 10, 'font-size': 11, 'text-anchor': 'end', fill: '#444' }, last));
  svg.append(el('polyline', { points: points.map((p, k) => `${x(k)},${y(p.total)}`).join(' '), fill: 'none', stroke: '#1f5fbf', 'stroke-width': 2 }));
  points.forEach((p, k) => {
    const c = el('circle', { cx: x(k), cy: y(p.total), r: 3.5, fill: '#1f5fbf' });
    c.append(el('title', {}, `${p.label}: ${p.total}`));
    svg.append(c);
  });
  return svg;
}
