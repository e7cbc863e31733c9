// The terminal table of a ComparisonReport: one row per overlay × scenario, the figures a person compares first.
import type { ComparisonReport, RunResult } from '../result.ts';

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const percent = (share: number) => `${Math.round(share * 100)} %`;

const COLUMNS: [string, (run: RunResult) => string][] = [
  ['overlay', (r) => r.overlay],
  ['release', (r) => r.scenario],
  ['launch', (r) => seconds(r.figures.launchToAllReadyMs)],
  ['failed before/during/after', (r) => [r.figures.before, r.figures.during, r.figures.after].map((p) => `${p.failed}/${p.requests}`).join(' · ')],
  ['share failed during', (r) => (r.figures.during.requests ? `${((100 * r.figures.during.failed) / r.figures.during.requests).toFixed(1)} %` : '-')],
  ['peak failed/s', (r) => percent(r.figures.peakFailedShare)],
  ['down', (r) => seconds(r.figures.downtimeMs)],
  ['< 3 ready (fewest)', (r) => `${seconds(r.figures.belowFullReadyMs)} (${r.figures.fewestReady})`],
  ['stopped itself', (r) => (r.figures.stoppedByItself ? `yes, after ${r.figures.podsUpdated}` : `no (${r.figures.podsUpdated} updated)`)],
  ['detected', (r) => (r.figures.detection ? `${r.figures.detection.rule} @ ${seconds(r.figures.detection.afterMs)}` : '-')],
  ['revert → recovered', (r) => (r.figures.revertToRecoveredMs === null ? '-' : seconds(r.figures.revertToRecoveredMs))],
  ['manual steps', (r) => r.figures.manualSteps.join('; ') || '-'],
  ['2 versions', (r) => seconds(r.figures.twoVersionsServingMs)],
  ['lost/dup', (r) => `${r.figures.lost}/${r.figures.duplicated}`],
];

// Shown when the runs went through Argo CD (`--delivery argocd`): how the release's sync operation ended, and when the
// revert started syncing, counted from the revert commit (the wait is the running operation's rest).
const SYNC_COLUMNS: [string, (run: RunResult) => string][] = [
  [
    'Argo CD sync of v2',
    (r) => {
      const s = r.figures.sync;
      if (!s) return '-';
      if (s.hang) return `Running (HANG after ${seconds(r.timeline.endMs - s.startedMs)})`;
      const tries = s.attempts > 1 ? `, ${s.attempts} attempts` : '';
      return s.endedMs === null ? `${s.phase}${tries}` : `${s.phase} @ ${seconds(s.endedMs - s.startedMs)}${tries}`;
    },
  ],
  [
    'revert synced',
    (r) => {
      const s = r.figures.sync;
      if (!s || s.revertPushedMs === null) return '-';
      return s.revertSyncStartedMs === null ? 'never' : `+${seconds(s.revertSyncStartedMs - s.revertPushedMs)}`;
    },
  ],
  // How long Argo CD took to notice each push (its refresh period, or 0 for a webhook), in manifest seconds.
  ['refresh', (r) => (r.figures.sync ? `${r.figures.sync.refreshSeconds} s` : '-')],
];

export function formatTable(report: Pick<ComparisonReport, 'runs'>): string {
  const argocd = report.runs.some((run) => run.figures.sync);
  const columns = argocd ? [...COLUMNS.slice(0, -3), ...SYNC_COLUMNS, ...COLUMNS.slice(-3)] : COLUMNS;
  const header = columns.map(([name]) => name);
  const lines = report.runs.map((run) => columns.map(([, cell]) => cell(run)));
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [row(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(row)].join('\n');
}
