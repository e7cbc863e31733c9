// The Argo CD sync model beside the real Argo CD: the same bad releases (each overlay × crash, unready, errors) through
// the real application controller on the local control plane (scripts/argocd-matrix.ts records them) and through
// `--delivery argocd` (rehearsal/run/argocd-delivery.ts over rehearsal/model/argocd-sync.ts), with the same scaled
// hook deadlines. Pure: records in, rows and Markdown out, so the published table is checked against the recorded run.
import type { ComparisonReport, ReleaseScenario, RunResult } from './result.ts';

/** The bad releases the matrix makes (good and slow releases need no Argo CD to fail). */
export const ARGOCD_MATRIX_MODES = ['crash', 'unready', 'errors'] as const satisfies readonly ReleaseScenario[];
export type ArgoCdMatrixMode = (typeof ARGOCD_MATRIX_MODES)[number];

/** What the real Argo CD did with one release and its revert; seconds from the push of the commit named. */
export interface RealArgoCdRun {
  overlay: string;
  mode: ArgoCdMatrixMode;
  /** From the push (and refresh request) to the release's operation showing as started. */
  releaseStartS: number | null;
  /** How the release's operation ended ('Running': not by the end of the watch). */
  phase: string;
  /** From the operation's start to its end (null: it had not ended). */
  durationS: number | null;
  /** 1 + the operation's retryCount at its end. */
  attempts: number;
  /** The sync phases of its tasks, e.g. "Sync" (single-step) or "PreSync,Sync". */
  syncPhases: string;
  /** Its hooks at the end, e.g. "Job/rollcall-smoke:Failed". */
  hooks: string;
  message: string;
  /** The revert commit's push, from the release's push. */
  revertPushedS: number;
  /** From the revert's push to its sync starting (null: it never did within the watch). */
  revertSyncS: number | null;
  /** From the revert's push to the Application Synced to it and Healthy (null: not within the watch). */
  recoveredS: number | null;
  /** Commands a person typed (the forced rollback), in order. */
  manualSteps: string[];
}

export interface ArgoCdMatrixReport {
  generatedAt: string;
  /** The Argo CD release and the Kubernetes version that ran, and how commits were noticed. */
  argocd: string;
  kubernetes: string;
  timings: string;
  noticedBy: string;
  real: RealArgoCdRun[];
  /** The model's run of the same releases (timelines dropped); its overlays are those `--delivery argocd` drives. */
  model: Omit<ComparisonReport, 'runs'> & { runs: Omit<RunResult, 'timeline'>[] };
  /** Overlays the model does not run under Argo CD, with the reason. */
  notModelled: Record<string, string>;
}

/**
 * One side of a row, in the same words for both. The revert is pushed at different moments (the real run 150 s after
 * the release, the rehearsal when its watch judges the release bad), so its figures count from what both share: the
 * revert's sync from the later of its push and the release's operation's end (Argo CD starts no operation while one
 * runs), the recovery from the revert's sync.
 */
export interface ArgoCdSide {
  phase: string;
  durationS: number | null;
  attempts: number;
  /** From the later of the revert's push and the release's operation's end to the revert's sync starting. */
  revertWaitS: number | null;
  /** From the revert's sync starting to the workload back (null: not within the watch). */
  recoveredS: number | null;
  manualSteps: string[];
}

export interface ArgoCdRow {
  overlay: string;
  mode: ArgoCdMatrixMode;
  real: ArgoCdSide;
  model: ArgoCdSide | null;
  /** What differs beyond timing, in words; empty when the model did what Argo CD did. */
  differences: string[];
}

const round = (x: number | null) => (x === null ? null : Math.round(x * 10) / 10);

/** The model's figures of one run, in manifest seconds (its times are real milliseconds on the run's clock). */
export function modelSide(run: Omit<RunResult, 'timeline'>, timeScale: number): ArgoCdSide | null {
  const sync = run.figures.sync;
  if (!sync) return null;
  const s = (ms: number | null) => (ms === null ? null : round(ms / 1000 / timeScale));
  const { revertPushedMs: pushed, revertSyncStartedMs: synced, endedMs: ended } = sync;
  const recovered = run.figures.revertToRecoveredMs;
  return {
    phase: sync.hang ? 'Running' : sync.phase,
    durationS: ended === null ? null : s(ended - sync.startedMs),
    attempts: sync.attempts,
    revertWaitS: pushed === null || synced === null ? null : s(synced - Math.max(pushed, ended ?? pushed)),
    // revertToRecoveredMs counts from the revert's push.
    recoveredS: pushed === null || synced === null || recovered === null ? null : s(recovered - (synced - pushed)),
    // The model names a pod without its namespace; the real run names both.
    manualSteps: run.figures.manualSteps,
  };
}

export function realSide(run: RealArgoCdRun): ArgoCdSide {
  const ended = run.releaseStartS !== null && run.durationS !== null ? run.releaseStartS + run.durationS : null;
  const synced = run.revertSyncS === null ? null : run.revertPushedS + run.revertSyncS;
  return {
    phase: run.phase,
    durationS: round(run.durationS),
    attempts: run.attempts,
    revertWaitS: synced === null ? null : round(synced - Math.max(run.revertPushedS, ended ?? run.revertPushedS)),
    recoveredS: run.recoveredS === null || run.revertSyncS === null ? null : round(run.recoveredS - run.revertSyncS),
    manualSteps: run.manualSteps,
  };
}

const podsOf = (steps: string[]) => steps.map((s) => s.split(' ').at(-1)).join(', ') || 'none';

export function differences(real: ArgoCdSide, model: ArgoCdSide): string[] {
  const out: string[] = [];
  if (real.phase !== model.phase) out.push(`operation: model ${model.phase}, real ${real.phase}`);
  if (real.attempts !== model.attempts) out.push(`attempts: model ${model.attempts}, real ${real.attempts}`);
  if ((real.recoveredS === null) !== (model.recoveredS === null)) out.push(`recovered: model ${model.recoveredS === null ? 'no' : 'yes'}, real ${real.recoveredS === null ? 'no' : 'yes'}`);
  if (podsOf(real.manualSteps) !== podsOf(model.manualSteps)) out.push(`pods deleted by hand: model ${podsOf(model.manualSteps)}, real ${podsOf(real.manualSteps)}`);
  return out;
}

export function argocdRows(report: ArgoCdMatrixReport): ArgoCdRow[] {
  return report.real.map((run) => {
    const modelRun = report.model.runs.find((r) => r.overlay === run.overlay && r.scenario === run.mode);
    const model = modelRun ? modelSide(modelRun, report.model.timeScale) : null;
    const real = realSide(run);
    return { overlay: run.overlay, mode: run.mode, real, model, differences: model ? differences(real, model) : [] };
  });
}

/** The table of docs/argocd-local.md: real figures, the model's in brackets where they differ. */
export function argocdMatrixMarkdown(report: ArgoCdMatrixReport): string {
  const s = (x: number | null) => (x === null ? '–' : `${Math.round(x)} s`);
  const op = (side: ArgoCdSide) => `${side.phase}${side.durationS === null ? '' : ` after ${s(side.durationS)}`}, ${side.attempts} attempt${side.attempts === 1 ? '' : 's'}`;
  const cell = (real: string, model: string | undefined) => (model === undefined || model === real ? real : `${real} (model: ${model})`);
  const rows = argocdRows(report);
  const lines = [
    `Measured ${report.generatedAt.slice(0, 10)} with \`npm run argocd:matrix -- --write\`: Argo CD ${report.argocd} on Kubernetes ${report.kubernetes}`,
    `(the local control plane); ${report.timings}; ${report.noticedBy}.`,
    `The model: \`--delivery argocd\` at time scale ${report.model.timeScale} on the same scaled manifests, commits noticed at once (\`--argocd-refresh 0\`); its figures are in brackets`,
    'where they differ. Times are seconds of cluster time. "revert waited": from the later of the revert commit and the end of',
    "the release's operation to the revert's sync starting; \"recovered\": from then to the Application Synced to the revert",
    'and Healthy (the revert commit came 150 s after the release in the real run, when the watch judged it bad in the model).',
    '',
    '| overlay | release | release sync (real) | revert waited | recovered | manual steps | differences |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => {
      const m = r.model ?? undefined;
      const none = report.notModelled[r.overlay];
      return `| ${r.overlay} | ${r.mode} | ${cell(op(r.real), m && op(m))} | ${cell(s(r.real.revertWaitS), m && s(m.revertWaitS))} | ${cell(s(r.real.recoveredS), m && s(m.recoveredS))} | ${cell(podsOf(r.real.manualSteps), m && podsOf(m.manualSteps))} | ${none ? `not modelled: ${none}` : r.differences.join('; ') || 'none'} |`;
    }),
  ];
  return lines.join('\n');
}
