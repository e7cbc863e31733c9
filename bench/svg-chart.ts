// Line charts as SVG, drawn by `npm run bench` from the numbers it measured (docs/benchmarks.md embeds the file), so
// the figure in the docs is always that of a run, never drawn by hand. No dependency: a few panels of polylines on a
// logarithmic x axis (connections) and a linear y axis from 0.

export interface Series {
  name: string;
  points: { x: number; y: number }[];
}

export interface Panel {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];
const W = 330;
const H = 250;
const M = { left: 58, right: 12, top: 28, bottom: 44 };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A round upper bound and step for a linear axis from 0 to max (about 4-5 ticks). */
function niceScale(max: number): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 0.25 };
  const raw = max / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  return { top: Math.ceil(max / step) * step, step };
}

const fmt = (v: number) => (v >= 10_000 ? `${v / 1000}k` : Number.isInteger(v) ? String(v) : v.toPrecision(2));

function panel(p: Panel, offsetX: number): string {
  const xs = p.series.flatMap((s) => s.points.map((pt) => pt.x)).filter((x) => x > 0);
  const ys = p.series.flatMap((s) => s.points.map((pt) => pt.y)).filter(Number.isFinite);
  const [xMin, xMax] = [Math.min(...xs), Math.max(...xs)];
  const { top, step } = niceScale(Math.max(...ys));
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const lx = (x: number) => (xMax === xMin ? 0.5 : (Math.log(x) - Math.log(xMin)) / (Math.log(xMax) - Math.log(xMin)));
  const px = (x: number) => offsetX + M.left + lx(x) * plotW;
  const py = (y: number) => M.top + plotH - (y / top) * plotH;
  const out: string[] = [];
  out.push(`<text x="${offsetX + W / 2}" y="16" text-anchor="middle" font-weight="bold">${esc(p.title)}</text>`);
  for (let y = 0; y <= top + step / 2; y += step) {
    out.push(`<line x1="${offsetX + M.left}" x2="${offsetX + W - M.right}" y1="${py(y)}" y2="${py(y)}" stroke="#ddd"/>`);
    out.push(`<text x="${offsetX + M.left - 4}" y="${py(y) + 4}" text-anchor="end">${fmt(y)}</text>`);
  }
  for (const x of [...new Set(xs)].sort((a, b) => a - b)) {
    out.push(`<line x1="${px(x)}" x2="${px(x)}" y1="${M.top}" y2="${M.top + plotH}" stroke="#eee"/>`);
    out.push(`<text x="${px(x)}" y="${M.top + plotH + 14}" text-anchor="middle">${x}</text>`);
  }
  out.push(`<text x="${offsetX + M.left + plotW / 2}" y="${H - 8}" text-anchor="middle">${esc(p.xLabel)}</text>`);
  out.push(`<text transform="translate(${offsetX + 12},${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(p.yLabel)}</text>`);
  p.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const pts = s.points.filter((pt) => pt.x > 0 && Number.isFinite(pt.y));
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((pt) => `${px(pt.x).toFixed(1)},${py(pt.y).toFixed(1)}`).join(' ')}"/>`);
    for (const pt of pts) out.push(`<circle cx="${px(pt.x).toFixed(1)}" cy="${py(pt.y).toFixed(1)}" r="3" fill="${color}"><title>${esc(s.name)}: ${pt.x} → ${pt.y.toFixed(1)}</title></circle>`);
    out.push(`<rect x="${offsetX + M.left + 8}" y="${M.top + 6 + i * 15}" width="10" height="3" fill="${color}"/>`);
    out.push(`<text x="${offsetX + M.left + 22}" y="${M.top + 11 + i * 15}">${esc(s.name)}</text>`);
  });
  return out.join('\n');
}

/** Panels side by side, with a caption line under them. */
export function renderChart(panels: Panel[], caption: string): string {
  const width = W * panels.length;
  const height = H + 22;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...panels.map((p, i) => panel(p, i * W)),
    `<text x="6" y="${height - 6}" fill="#555">${esc(caption)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}
