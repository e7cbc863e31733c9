// One run's timeline as inline SVG: a lane per pod (state by pattern and label, version by colour), the requests
// per traffic slot below it (successes stacked by version, failures in red on top), and numbered markers on the
// same time axis. Hand-written rather than a charting library: the report must be one static file that needs no
// script to read and prints as it shows, and what it draws is rectangles on one axis.
import { escapeHtml } from '../../src/service/visit-page.ts';
import type { Marker, PodSpan, Timeline, TrafficSlot } from '../result.ts';
import { MARKER_LABELS, NO_PROCESS_COLOUR, STATE_LABELS, STATE_PATTERNS, patternDefs } from './palette.ts';

const WIDTH = 960;
const LABEL_W = 110;
const RIGHT_PAD = 26;
const PLOT_W = WIDTH - LABEL_W - RIGHT_PAD;
const BADGE_H = 18;
const LANE_H = 24;
const LANE_GAP = 4;
const TRAFFIC_H = 90;
const AXIS_H = 26;
const CHAR_W = 6.2; // average width of a 11px sans-serif character, to decide whether a label fits its span

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}\u00a0s`; // no-break space: a figure never wraps away from its unit
}

function total(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/** A tick step of 1, 2 or 5 × 10^n ms that gives about eight ticks over the run. */
function tickStep(endMs: number): number {
  const raw = endMs / 8;
  const magnitude = 10 ** Math.floor(Math.log10(Math.max(raw, 1)));
  return [1, 2, 5, 10].map((m) => m * magnitude).find((step) => step >= raw) ?? 10 * magnitude;
}

/** Markers sorted by time and numbered; badges that would overlap are pushed right, their lines stay at the time. */
export function numberMarkers(markers: Marker[]): (Marker & { n: number })[] {
  return [...markers].sort((a, b) => a.atMs - b.atMs).map((marker, i) => ({ ...marker, n: i + 1 }));
}

export function renderTimeline(timeline: Timeline, opts: { id: string; title: string; colours: Map<string, string> }): string {
  const { id, colours } = opts;
  const endMs = Math.max(timeline.endMs, 1);
  const x = (ms: number) => LABEL_W + (Math.min(Math.max(ms, 0), endMs) / endMs) * PLOT_W;
  const lanesTop = BADGE_H + 4;
  const trafficTop = lanesTop + timeline.pods.length * (LANE_H + LANE_GAP) + 8;
  const axisTop = trafficTop + TRAFFIC_H;
  const height = axisTop + AXIS_H;
  const colourOf = (version: string) => colours.get(version) ?? '#777';

  const lane = (pod: Timeline['pods'][number], i: number) => {
    const y = lanesTop + i * (LANE_H + LANE_GAP);
    const spans = pod.spans.filter((span) => span.toMs > span.fromMs).map((span) => spanRect(span, y));
    return `<g class="lane" data-pod="${escapeHtml(pod.name)}"><text class="pod-name" x="${LABEL_W - 6}" y="${y + LANE_H / 2 + 4}" text-anchor="end">${escapeHtml(pod.name)}</text>${spans.join('')}</g>`;
  };

  const spanRect = (span: PodSpan, y: number) => {
    const x0 = x(span.fromMs);
    const w = Math.max(x(span.toMs) - x0, 0.5);
    const state = STATE_LABELS[span.state];
    const words = span.version === null ? state : `${span.version} ${state}`;
    const tip = `${words}, ${seconds(span.fromMs)} – ${seconds(span.toMs)}`;
    const noProcess = span.version === null || span.state === 'not-running';
    const fill = noProcess ? NO_PROCESS_COLOUR : colourOf(span.version!);
    const pattern = STATE_PATTERNS[span.state];
    const overlay = pattern && !noProcess ? `<rect x="${x0}" y="${y}" width="${w}" height="${LANE_H}" fill="url(#${id}${pattern})"/>` : '';
    const outline = noProcess ? ' stroke="#888" stroke-dasharray="3 2"' : ' stroke="#fff" stroke-width="0.5"';
    const label = fitLabel([words, state, span.version ?? ''], w);
    const text = label ? `<text class="span-label${noProcess || span.state !== 'ready' ? ' dark' : ''}" x="${x0 + 4}" y="${y + LANE_H / 2 + 4}">${escapeHtml(label)}</text>` : '';
    return `<g class="span" data-state="${span.state}" data-version="${escapeHtml(span.version ?? '')}"><title>${escapeHtml(tip)}</title><rect x="${x0}" y="${y}" width="${w}" height="${LANE_H}" fill="${fill}"${outline}/>${overlay}${text}</g>`;
  };

  // A hair wider than the slot, so neighbouring bars touch instead of showing anti-aliased seams.
  const slotW = Math.max((timeline.slotMs / endMs) * PLOT_W, 0.5) + 0.4;
  const peak = Math.max(1, ...timeline.traffic.map((slot) => total(slot.ok) + total(slot.failed)));
  const scale = TRAFFIC_H / peak;
  const slot = (s: TrafficSlot) => {
    const failed = total(s.failed);
    if (total(s.ok) + failed === 0) return '';
    const x0 = x(s.atMs);
    let top = axisTop;
    const bars: string[] = [];
    const parts: string[] = [];
    for (const [version] of colours) {
      const n = s.ok[version] ?? 0;
      if (n === 0) continue;
      top -= n * scale;
      bars.push(`<rect x="${x0}" y="${top}" width="${slotW}" height="${n * scale}" fill="${colourOf(version)}"/>`);
      parts.push(`${n} ok on ${version}`);
    }
    if (failed > 0) {
      top -= failed * scale;
      bars.push(`<rect class="failed" data-failed="${failed}" x="${x0}" y="${top}" width="${slotW}" height="${failed * scale}" fill="url(#${id}failed)"/>`);
      parts.push(`${failed} failed (${Object.entries(s.failed).map(([version, n]) => `${version === 'none' ? 'no pod reached' : `on ${version}`}: ${n}`).join(', ')})`);
    }
    return `<g class="slot"><title>${escapeHtml(`${seconds(s.atMs)}: `)}${parts.map((p) => escapeHtml(p)).join(', ')}</title>${bars.join('')}</g>`;
  };

  const step = tickStep(endMs);
  const ticks: string[] = [];
  for (let ms = 0; ms <= endMs; ms += step) {
    ticks.push(`<line x1="${x(ms)}" x2="${x(ms)}" y1="${lanesTop}" y2="${axisTop + 4}" class="grid"/><text x="${x(ms)}" y="${axisTop + 17}" text-anchor="middle" class="tick">${escapeHtml(seconds(ms))}</text>`);
  }

  let lastBadge = -Infinity;
  const markers = numberMarkers(timeline.markers).map((marker) => {
    const mx = x(marker.atMs);
    const bx = Math.max(mx, lastBadge + 16);
    lastBadge = bx;
    const tip = `${marker.n}. ${seconds(marker.atMs)} ${MARKER_LABELS[marker.kind] ?? marker.kind}: ${marker.label}`;
    return `<g class="marker ${escapeHtml(marker.kind)}" data-kind="${escapeHtml(marker.kind)}"><title>${escapeHtml(tip)}</title><line x1="${mx}" x2="${mx}" y1="${BADGE_H}" y2="${axisTop}" class="marker-line"/><rect x="${bx - 7}" y="1" width="14" height="${BADGE_H - 2}" rx="3" class="badge"/><text x="${bx}" y="${BADGE_H - 5}" text-anchor="middle" class="badge-text">${marker.n}</text></g>`;
  });

  return `<svg class="timeline" role="img" aria-labelledby="${id}title" viewBox="0 0 ${WIDTH} ${height}" width="100%" xmlns="http://www.w3.org/2000/svg">
<title id="${id}title">${escapeHtml(opts.title)}</title>${patternDefs(id)}
${ticks.join('')}
${timeline.pods.map(lane).join('\n')}
<text x="${LABEL_W - 6}" y="${trafficTop + 12}" text-anchor="end" class="axis-label">requests</text><text x="${LABEL_W - 6}" y="${trafficTop + 25}" text-anchor="end" class="axis-label">per ${escapeHtml(String(timeline.slotMs))} ms</text><text x="${LABEL_W - 6}" y="${trafficTop + 38}" text-anchor="end" class="axis-label">(peak ${peak})</text>
<g class="traffic" shape-rendering="crispEdges">${timeline.traffic.map(slot).join('')}</g>
<line x1="${LABEL_W}" x2="${LABEL_W + PLOT_W}" y1="${axisTop}" y2="${axisTop}" class="axis"/>
${markers.join('\n')}
</svg>`;
}

/** The longest of the candidate labels that fits in `width`, or none. */
function fitLabel(candidates: string[], width: number): string | undefined {
  return candidates.find((text) => text && text.length * CHAR_W + 8 <= width);
}

