// How far the model is from the real controllers: the same overlay × scenario rehearsed on the model
// (rehearsal/cluster/model.ts) and on a real cluster (rehearsal/cluster/kube), side by side, every figure in cluster
// time (the model's ÷ its time scale), and each difference in what happened (which pods, in which order, whether the
// rollout stopped, the verdict, the manual steps) listed. Pure: reports in, rows and Markdown out
// (scripts/fidelity.ts runs both and writes docs/fidelity.md).
import type { ComparisonReport, RunResult } from './result.ts';

export interface FidelitySide {
  launchS: number;
  /** Creation → container running: the model's parameter, or the real cluster's median (figures.podStartMs). */
  podStartS: number | null;
  /** Pods the controller (or a hook) replaced for the release, in order, before any revert. */
  replaced: string[];
  stoppedByItself: boolean;
  podsUpdated: number;
  /** The watch's verdict: the rule that called the release bad and after how long, or null for a good release. */
  detection: { rule: string; afterS: number } | null;
  /** Good release: from the release to every pod on it; bad: null. */
  rolloutS: number | null;
  revertToRecoveredS: number | null;
  manualSteps: string[];
  failed: { before: string; during: string; after: string };
  /** Time with no success while requests failed or waited for a failure (figures.downtimeMs); absent in reports
   * recorded before it was kept. */
  downS?: number;
  /** How the failed requests failed, most frequent first, e.g. "timeout 12, ECONNREFUSED 3" ('' when none failed). */
  failedBy?: string;
}

export interface FidelityRow {
  overlay: string;
  scenario: string;
  model: FidelitySide;
  real: FidelitySide;
  /** What happened differently (not how long it took): each must be fixed in the model or explained. */
  differences: string[];
}

export interface FidelityReport {
  generatedAt: string;
  model: { description: string; timeScale: number };
  real: { description: string };
  rows: FidelityRow[];
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const share = (c: { requests: number; failed: number }) => `${c.failed}/${c.requests}`;

/** Pods replaced, in order; pods replaced within SAME_STEP_MS of each other were deleted together (the recreate
 * hook deletes every pod at once, and a real cluster shows them in whatever order the API lists them), so each
 * such group is listed by name. */
export const SAME_STEP_MS = 500;
export function replacedInOrder(markers: readonly { atMs: number; pod?: string }[]): string[] {
  const out: string[] = [];
  let group: { atMs: number; pods: string[] } | undefined;
  for (const m of [...markers].sort((a, b) => a.atMs - b.atMs)) {
    if (group && m.atMs - group.atMs <= SAME_STEP_MS) group.pods.push(m.pod!);
    else {
      if (group) out.push(...group.pods.sort());
      group = { atMs: m.atMs, pods: [m.pod!] };
    }
  }
  if (group) out.push(...group.pods.sort());
  return out;
}

export function side(run: RunResult, timeScale: number): FidelitySide {
  const s = (ms: number) => round1(ms / timeScale / 1000);
  const markers = run.timeline.markers;
  const revertAt = markers.find((m) => m.kind === 'revert')?.atMs ?? Infinity;
  const start = markers.find((m) => m.kind === 'rollout-start')?.atMs;
  const done = markers.find((m) => m.kind === 'done')?.atMs;
  const f = run.figures;
  return {
    launchS: s(f.launchToAllReadyMs),
    podStartS: f.podStartMs === null || f.podStartMs === undefined ? null : round1(f.podStartMs / 1000),
    replaced: replacedInOrder(markers.filter((m) => m.kind === 'pod-replaced' && m.atMs < revertAt && m.pod)),
    stoppedByItself: f.stoppedByItself,
    podsUpdated: f.podsUpdated,
    detection: f.detection ? { rule: f.detection.rule, afterS: s(f.detection.afterMs) } : null,
    rolloutS: f.detection === null && start !== undefined && done !== undefined ? s(done - start) : null,
    revertToRecoveredS: f.revertToRecoveredMs === null ? null : s(f.revertToRecoveredMs),
    manualSteps: f.manualSteps,
    failed: { before: share(f.before), during: share(f.during), after: share(f.after) },
    downS: s(f.downtimeMs),
    failedBy: Object.entries(f.failedBy ?? {})
      .map(([error, n]) => `${error} ${n}`)
      .join(', '),
  };
}

export function differences(model: FidelitySide, real: FidelitySide): string[] {
  const out: string[] = [];
  const list = (xs: string[]) => (xs.length > 0 ? xs.join(', ') : 'none');
  if (list(model.replaced) !== list(real.replaced)) out.push(`pods replaced: model ${list(model.replaced)}, real ${list(real.replaced)}`);
  if (model.stoppedByItself !== real.stoppedByItself) out.push(`rollout stopped by itself: model ${model.stoppedByItself ? 'yes' : 'no'}, real ${real.stoppedByItself ? 'yes' : 'no'}`);
  if (model.podsUpdated !== real.podsUpdated) out.push(`pods updated: model ${model.podsUpdated}, real ${real.podsUpdated}`);
  if ((model.detection?.rule ?? 'good') !== (real.detection?.rule ?? 'good')) out.push(`verdict: model ${model.detection?.rule ?? 'good'}, real ${real.detection?.rule ?? 'good'}`);
  if (list(model.manualSteps) !== list(real.manualSteps)) out.push(`manual steps: model ${list(model.manualSteps)}, real ${list(real.manualSteps)}`);
  return out;
}

export function fidelity(model: ComparisonReport, real: ComparisonReport): FidelityReport {
  const rows: FidelityRow[] = [];
  for (const r of real.runs) {
    const m = model.runs.find((x) => x.overlay === r.overlay && x.scenario === r.scenario);
    if (!m) continue;
    const ms = side(m, model.timeScale);
    const rs = side(r, real.timeScale);
    rows.push({ overlay: r.overlay, scenario: r.scenario, model: ms, real: rs, differences: differences(ms, rs) });
  }
  return { generatedAt: real.generatedAt, model: { description: model.cluster.description, timeScale: model.timeScale }, real: { description: real.cluster.description }, rows };
}

/** The Markdown table: one row per overlay × scenario, model | real in each cell. */
export function fidelityMarkdown(report: FidelityReport): string {
  const both = (f: (s: FidelitySide) => string) => (row: FidelityRow) => {
    const m = f(row.model);
    const r = f(row.real);
    return m === r ? m : `${m} \\| **${r}**`;
  };
  const sec = (x: number | null) => (x === null ? '–' : `${x} s`);
  const columns: [string, (row: FidelityRow) => string][] = [
    ['pod start', both((s) => sec(s.podStartS))],
    ['launch', both((s) => sec(s.launchS))],
    ['replaced, in order', both((s) => s.replaced.join(' → ') || 'none')],
    ['stopped by itself', both((s) => `${s.stoppedByItself ? 'yes' : 'no'} (${s.podsUpdated} updated)`)],
    ['verdict', both((s) => (s.detection ? `${s.detection.rule} after ${s.detection.afterS} s` : 'good'))],
    ['rollout', both((s) => sec(s.rolloutS))],
    ['revert → recovered', both((s) => sec(s.revertToRecoveredS))],
    ['manual steps', both((s) => s.manualSteps.join('; ') || 'none')],
    ['failed before / during / after', both((s) => `${s.failed.before} / ${s.failed.during} / ${s.failed.after}`)],
    ['down', both((s) => (s.downS === undefined ? '?' : sec(s.downS)))],
    ['how they failed', both((s) => (s.failedBy === undefined ? '?' : s.failedBy || 'none'))],
  ];
  const lines = [
    `Model: ${report.model.description}, time scale ${report.model.timeScale} (times shown ÷ ${report.model.timeScale}: cluster time).`,
    `Real: ${report.real.description}, time scale 1. Measured ${report.generatedAt.slice(0, 10)}.`,
    'Each cell: model | **real** where they differ, one value where they agree.',
    '',
    `| overlay × scenario | ${columns.map(([name]) => name).join(' | ')} |`,
    `|---|${columns.map(() => '---').join('|')}|`,
    ...report.rows.map((row) => `| ${row.overlay} × ${row.scenario} | ${columns.map(([, cell]) => cell(row)).join(' | ')} |`),
    '',
    'Differences in what happened:',
    '',
    ...report.rows.flatMap((row) => row.differences.map((d) => `- ${row.overlay} × ${row.scenario}: ${d}`)),
  ];
  if (report.rows.every((row) => row.differences.length === 0)) lines.push('- none: every run did the same on the model and on the real controllers.');
  return lines.join('\n');
}
