// Colours and patterns the report uses, in one place so the legend and the charts cannot disagree. Versions take
// the Okabe–Ito colour-blind-safe palette (red is kept for failures only); each pod state adds a pattern and a text
// label, so a lane reads in greyscale print and without colour vision too.
import type { MarkerKind, PodState } from '../result.ts';

const VERSION_COLOURS = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#56b4e9', '#f0e442', '#8c6d31'];
export const FAILED_COLOUR = '#d62728';
export const NO_PROCESS_COLOUR = '#ffffff';

/** Every version in the report gets one colour, the same in every run (v1 is always the first one sorted). */
export function versionColours(versions: Iterable<string>): Map<string, string> {
  const sorted = [...new Set(versions)].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return new Map(sorted.map((version, i) => [version, VERSION_COLOURS[i % VERSION_COLOURS.length]!]));
}

export const STATE_LABELS: Record<PodState, string> = {
  starting: 'starting',
  ready: 'ready',
  terminating: 'terminating',
  'crash-loop': 'crash-loop',
  'not-running': 'not running',
};

/** The pattern drawn over a span's version colour; ready is plain colour. */
export const STATE_PATTERNS: Record<PodState, string | null> = {
  starting: 'starting',
  ready: null,
  terminating: 'terminating',
  'crash-loop': 'crash',
  'not-running': null,
};

/** SVG <pattern>s, their ids prefixed so several SVGs in one document never clash. */
export function patternDefs(prefix: string): string {
  const pattern = (id: string, size: number, body: string) =>
    `<pattern id="${prefix}${id}" width="${size}" height="${size}" patternUnits="userSpaceOnUse">${body}</pattern>`;
  return `<defs>${[
    // Rising stripes, sparse: a pod on its way up.
    pattern('starting', 8, '<rect width="8" height="8" fill="#fff" fill-opacity="0.45"/><path d="M-2,2 l4,-4 M0,8 l8,-8 M6,10 l4,-4" stroke="#fff" stroke-width="2"/>'),
    // Falling stripes: a pod on its way down.
    pattern('terminating', 8, '<rect width="8" height="8" fill="#000" fill-opacity="0.15"/><path d="M-2,6 l4,4 M0,0 l8,8 M6,-2 l4,4" stroke="#000" stroke-opacity="0.55" stroke-width="1.5"/>'),
    // Crosses: a pod that keeps crashing.
    pattern('crash', 10, '<path d="M2,2 l6,6 M8,2 l-6,6" stroke="#000" stroke-width="1.6"/>'),
    // Failed requests: dense cross-hatch over red.
    pattern('failed', 6, `<rect width="6" height="6" fill="${FAILED_COLOUR}"/><path d="M0,0 l6,6 M6,0 l-6,6" stroke="#fff" stroke-opacity="0.6" stroke-width="1"/>`),
  ].join('')}</defs>`;
}

/** Marker kinds as a person reads them in the list under a chart. */
export const MARKER_LABELS: Record<MarkerKind, string> = {
  'rollout-start': 'rollout start',
  'pod-replaced': 'pod replaced',
  stalled: 'stalled',
  detected: 'detected',
  analysis: 'analysis verdict',
  sync: 'delivery',
  revert: 'revert',
  'manual-step': 'manual step',
  done: 'done',
};
