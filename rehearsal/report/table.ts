// The terminal table of a ComparisonReport: one row per overlay × scenario, the figures a person compares first,
// within 120 columns. Details (every phase's counts, the peak failed share, time below full readiness, the manual
// steps as commands, the settings) are in `--json` and the HTML report.
// Durations are shown in cluster time: the rehearsal ran the manifests' timings multiplied by the time scale, so the
// measured milliseconds are divided by it again and a probe period or minReadySeconds reads as the manifest says.
// The legend under the table says so, and that process start-up (real time) is scaled up with them.
import type { ComparisonReport, RunResult } from '../result.ts';

/** The widest the table and its legend may be: a terminal of 120 columns. */
export const MAX_WIDTH = 120;

type Report = Pick<ComparisonReport, 'runs'> & Partial<Pick<ComparisonReport, 'timeScale' | 'cluster'>>;

/** A duration of cluster time (measured ms ÷ time scale), short: "4.2 s", "84 s", "17 min". */
export function clusterTime(ms: number, timeScale: number): string {
  const s = ms / timeScale / 1000;
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 600) return `${Math.round(s)} s`;
  return `${Math.round(s / 60)} min`;
}

/** "1 of 3", or "3" when the replica count is not in the settings; ", stalled" when the controller stopped by itself. */
function updated(run: RunResult): string {
  const replicas = run.settings['replicas'];
  const of = typeof replicas === 'number' ? ` of ${replicas}` : '';
  return `${run.figures.podsUpdated}${of}${run.figures.stoppedByItself ? ', stalled' : ''}`;
}

type Column = [header: [string, string], cell: (run: RunResult, t: (ms: number) => string) => string];

const COLUMNS: Column[] = [
  [['', 'overlay'], (r) => r.overlay],
  [['', 'release'], (r) => r.scenario],
  [['failed', 'during'], (r) => (r.figures.during.requests ? `${((100 * r.figures.during.failed) / r.figures.during.requests).toFixed(1)} %` : '-')],
  [['', 'down'], (r, t) => t(r.figures.downtimeMs)],
  [['updated', 'to v2'], updated],
  [['judged bad', '(after)'], (r, t) => (r.figures.detection ? `${r.figures.detection.rule} ${t(r.figures.detection.afterMs)}` : 'no')],
  [
    ['revert to', 'ready'],
    (r, t) => {
      if (r.figures.revertToRecoveredMs !== null) return t(r.figures.revertToRecoveredMs);
      return r.figures.detection ? 'never' : '-';
    },
  ],
  [['manual', 'steps'], (r) => String(r.figures.manualSteps.length)],
  [['2 versions', 'serving'], (r, t) => t(r.figures.twoVersionsServingMs)],
  [['visits', 'lost/dup'], (r) => `${r.figures.lost}/${r.figures.duplicated}`],
];

// Under `--delivery argocd`, a table of its own: how the release's sync operation ended, and when the revert started
// syncing, counted from the revert commit (the wait is the running operation's rest).
const SYNC_COLUMNS: Column[] = [
  [['', 'overlay'], (r) => r.overlay],
  [['', 'release'], (r) => r.scenario],
  [
    ['Argo CD sync', 'of v2'],
    (r, t) => {
      const s = r.figures.sync;
      if (!s) return '-';
      if (s.hang) return `Running (HANG after ${t(r.timeline.endMs - s.startedMs)})`;
      const tries = s.attempts > 1 ? `, ${s.attempts} attempts` : '';
      return s.endedMs === null ? `${s.phase}${tries}` : `${s.phase} after ${t(s.endedMs - s.startedMs)}${tries}`;
    },
  ],
  [
    ['revert', 'synced'],
    (r, t) => {
      const s = r.figures.sync;
      if (!s || s.revertPushedMs === null) return '-';
      return s.revertSyncStartedMs === null ? 'never' : `+${t(s.revertSyncStartedMs - s.revertPushedMs)}`;
    },
  ],
  // How long Argo CD took to notice each push (its refresh period, or 0 for a webhook): manifest seconds already.
  [['push', 'noticed'], (r) => (r.figures.sync ? `${r.figures.sync.refreshSeconds} s` : '-')],
];

function grid(columns: Column[], runs: readonly RunResult[], t: (ms: number) => string): string[] {
  const rows = runs.map((run) => columns.map(([, cell]) => cell(run, t)));
  const widths = columns.map(([header], i) => Math.max(header[0].length, header[1].length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(columns.map(([h]) => h[0])), line(columns.map(([h]) => h[1])), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

/** Words into lines of at most MAX_WIDTH. */
function wrap(text: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > MAX_WIDTH) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

export function formatTable(report: Report): string {
  // Without a time scale (a report made by hand, a test) the figures are shown as measured, and said to be.
  const scale = report.timeScale ?? 1;
  const t = (ms: number) => clusterTime(ms, scale);
  const out = grid(COLUMNS, report.runs, t);
  if (report.runs.some((run) => run.figures.sync)) out.push('', ...grid(SYNC_COLUMNS, report.runs, t));
  const launches = new Map(report.runs.map((run) => [run.overlay, run.figures.launchToAllReadyMs]));
  out.push(
    '',
    ...(report.cluster ? wrap(`Figures from: ${report.cluster.description}.`) : []),
    ...wrap(
      scale === 1
        ? `Times are seconds as measured${report.timeScale === 1 ? ' (time scale 1: the same as on a cluster)' : ''}.`
        : `Times are cluster time: what the rehearsal measured ÷ its time scale ${scale}, so probe periods, minReadySeconds, ` +
            `drain and back-off read as the manifests set them. Pod start-up ran at real speed and is scaled up with them ` +
            `(1 real second reads as ${Math.round(1 / scale)} s).`,
    ),
    ...wrap(
      'failed during: share of requests that failed from the release to the revert (to the end of a good release); ' +
        'down: time with no success while requests failed or waited for a failure (a timeout); updated to v2: pods the release reached (stalled: the rollout stopped ' +
        'by itself, waiting for a pod); judged bad: the rule that called the release bad, and how long after the release; ' +
        'revert to ready: from the revert to every pod back on v1 and Ready; manual steps: commands a person must type ' +
        '(listed with --json and --html); 2 versions serving: time both versions answered.',
    ),
    ...wrap(`Launch of v1 to every pod Ready: ${[...launches].map(([overlay, ms]) => `${overlay} ${t(ms)}`).join(', ')}.`),
  );
  return out.join('\n');
}
