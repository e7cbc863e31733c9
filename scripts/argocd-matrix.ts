// `npm run argocd:matrix [-- --overlay O]... [--mode crash|unready|errors]... [--json] [--write] [--from FILE]`:
// every overlay's bad releases through the real Argo CD on the local control plane, and the same releases through the
// sync model (`--delivery argocd`), side by side (rehearsal/argocd-fidelity.ts).
//
// The real side (needs root, Go, git and redis-server; cluster/argocd/stack.ts starts it all): the bundle synced from
// a local repository with the hook deadlines scaled down (SCALED_TIMINGS); then, per failure mode, ONE commit adds the
// bad-release component in that mode to every overlay (blue-green: its idle colour, scaled up), each Application gets
// a refresh request, and REVERT_AFTER_S after the push one revert commit takes it back for all, as a person who has
// seen the release go bad would; each Application is watched from the push to its recovery, the forced rollback done
// as every overlay's README says (cluster/argocd/releases.ts StuckPods). The model side runs afterwards, on the same
// scaled manifests, with the cluster stopped (the two would share 2 cores).
// --write records the report in docs/argocd-matrix.json and writes the table of docs/argocd-local.md (block
// argocd-matrix-real); `--from FILE --write` writes the table from a report printed earlier with --json, and
// `--from FILE --remodel` runs the model's side again beside its recorded real runs (after a change to the model).
// Defaults: every overlay, the three modes: about 35 min on 2 cores (the Go builds cached).
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { goModText } from '../cluster/go-build.ts';
import { argocdReportedVersion, kustomizeBinary } from '../cluster/argocd/build.ts';
import { applyObject } from '../cluster/argocd/install.ts';
import { addComponent, ApplicationWatch, overlayNames, recoveredBy, releaseBadBuild, setBadRelease, forcedRollback, visitWhileRunning, type Observation } from '../cluster/argocd/releases.ts';
import { argocdStackUnavailable, releaseVersion, SCALED_TIMINGS, SCALED_TIMINGS_COMPONENT, startArgoCDStack } from '../cluster/argocd/stack.ts';
import { findRenderer, noRendererMessage, parseManifests, render } from '../bundle/render.ts';
import { repoRoot } from '../bundle/schema.ts';
import type { K8sObject } from '../bundle/types.ts';
import { ARGOCD_MATRIX_MODES, argocdMatrixMarkdown, type ArgoCdMatrixMode, type ArgoCdMatrixReport, type RealArgoCdRun } from '../rehearsal/argocd-fidelity.ts';
import { replaceBlock } from './readme-table.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);
/** When the revert is pushed, seconds after the release: about when `rollcall compare` judges a bad release bad
 * (129–188 s in docs/comparison.md), and before a bad release's first scaled hook deadline (120 s + its start). */
export const REVERT_AFTER_S = 150;
/** A bad release's operation under the scaled timings: 3 attempts × 120 s + 30 s of back-off; then the revert's
 * sync and recovery. Watched this long from the push at most. */
const WATCH_MS = (3 * 120 + 30 + 600) * 1000;
/** What each mode sets BAD_RELEASE to: the rehearsal's values at time scale 1 (rehearsal/run/scenarios.ts). */
const BAD_RELEASE: Record<ArgoCdMatrixMode, string> = { crash: 'crash:1000', unready: 'unready', errors: 'errors:0.5' };
const MODEL_TIME_SCALE = 0.1;
const NOT_MODELLED: Record<string, string> = {
  'blue-green': 'the rehearsal applies its Git steps with kubectl whatever the delivery',
};

/** The figures of one Application's watch (release push at 0, revert push at `revertPushedS`). */
export function summarise(overlay: string, mode: ArgoCdMatrixMode, changes: Observation[], release: string, revert: string, revertPushedS: number, manualSteps: string[]): RealArgoCdRun {
  const s = (ms: number | undefined) => (ms === undefined ? null : Math.round(ms / 100) / 10);
  const ofRelease = changes.filter((o) => o.revision === release.slice(0, 8) && o.phase !== undefined);
  const start = ofRelease[0];
  const end = ofRelease.find((o) => o.phase !== 'Running');
  const last = end ?? ofRelease.at(-1);
  const revertStart = changes.find((o) => o.revision === revert.slice(0, 8) && o.phase !== undefined);
  const recovered = changes.find(recoveredBy(revert));
  const fromRevert = (o: Observation | undefined) => (o === undefined ? null : s(o.atMs - revertPushedS * 1000));
  return {
    overlay,
    mode,
    releaseStartS: s(start?.atMs),
    phase: last?.phase ?? 'none',
    durationS: start && end ? s(end.atMs - start.atMs) : null,
    attempts: 1 + Math.max(0, ...ofRelease.map((o) => o.retryCount ?? 0)),
    syncPhases: last?.phases ?? '',
    hooks: last?.hooks ?? '',
    message: last?.message ?? '',
    revertPushedS,
    revertSyncS: fromRevert(revertStart),
    recoveredS: fromRevert(recovered),
    manualSteps,
  };
}

/** Every overlay as the real run's repository renders it after its first commit: this checkout's kustomize/ with
 * the scaled-timings component added to every overlay (what the model runs; no cluster needed). */
export async function scaledOverlays(overlays: readonly string[]): Promise<Map<string, K8sObject[]>> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'rollcall-scaled-'));
  try {
    cpSync(path.join(repoRoot, 'kustomize'), path.join(work, 'kustomize'), { recursive: true });
    cpSync(SCALED_TIMINGS_COMPONENT, path.join(work, 'kustomize/components/scaled-timings'), { recursive: true });
    const out = new Map<string, K8sObject[]>();
    for (const overlay of overlays) {
      await addComponent(path.join(work, 'kustomize/overlays', overlay), '../../components/scaled-timings');
      out.set(overlay, await renderAt(work, overlay));
    }
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function renderAt(checkout: string, overlay: string): Promise<K8sObject[]> {
  const renderer = findRenderer();
  if (!renderer) throw new Error(noRendererMessage);
  return [...(await render(renderer, path.join('kustomize/overlays', overlay), checkout)).objects];
}

async function runReal(overlays: string[], modes: ArgoCdMatrixMode[], log: (line: string) => void): Promise<{ real: RealArgoCdRun[]; kubernetes: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rollcall-argocd-matrix-'));
  const stack = await startArgoCDStack({ name: 'rc-argocd', subnet: 203, nodeName: 'argocd-node', dir, log, ...(process.env.CONTROLPLANE_BINARY ? { controlPlaneBinary: process.env.CONTROLPLANE_BINARY } : {}) });
  // Interrupted: every process the stack started is ended by PID, its network namespaces removed.
  const interrupted = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping the control plane, the node agent and Argo CD`);
    void stack.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const { api, repo } = stack;
    const watch = new ApplicationWatch(api, path.join(dir, 'observations.log'));
    const kubernetes = ((await api.get<{ gitVersion: string }>('/version')).gitVersion ?? '?').replace(/^v/, '');

    const { stdout } = await exec(await kustomizeBinary(), ['build', path.join(repo.work, 'argocd/root')]);
    await applyObject(api, parseManifests(stdout, 'argocd/root')[0] as never);
    const all = overlayNames(repo.work);
    await Promise.all(
      all.map(async (overlay) => {
        const done = await watch.record(`rollcall-${overlay}`, 900_000, (o) => o.sync === 'Synced' && o.health === 'Healthy' && o.phase !== undefined && o.phase !== 'Running');
        log(`${overlay}: first sync ${done.changes.at(-1)?.phase ?? 'never'} after ${Math.round((done.changes.at(-1)?.atMs ?? 0) / 1000)} s`);
        if (!done.ended) throw new Error(`rollcall-${overlay} was not Synced and Healthy with its first sync over within 900 s`);
      }),
    );

    const real: RealArgoCdRun[] = [];
    for (const mode of modes) {
      const release = await repo.commit(`release: ${overlays.join(', ')} ${mode}`, async (work) => {
        await setBadRelease(work, BAD_RELEASE[mode]);
        for (const overlay of overlays) await releaseBadBuild(work, overlay, releaseVersion());
      });
      const pushed = performance.now();
      for (const overlay of overlays) await watch.refresh(`rollcall-${overlay}`);
      log(`${mode}: release ${release.slice(0, 8)} pushed to ${overlays.join(', ')}`);
      const traffic = overlays.includes('canary-analysis') ? visitWhileRunning(api, 'rollcall-canary-analysis', 'rollcall-2') : undefined;
      let revert: string | undefined;
      const reverted = (async () => {
        await new Promise((resolve) => setTimeout(resolve, REVERT_AFTER_S * 1000 - (performance.now() - pushed)));
        revert = await repo.revert(release);
        for (const overlay of overlays) await watch.refresh(`rollcall-${overlay}`);
        log(`${mode}: revert ${revert.slice(0, 8)} pushed after ${Math.round((performance.now() - pushed) / 1000)} s`);
        return { revert, atS: Math.round((performance.now() - pushed) / 100) / 10 };
      })();
      const runs = await Promise.all(
        overlays.map(async (overlay) => {
          const ns = `rollcall-${overlay}`;
          const manual: string[] = [];
          const tick = forcedRollback(api, ns, () => revert, ({ command }) => {
            manual.push(command);
            log(`${overlay} ${mode}: manual step: ${command}`);
          });
          const record = await watch.record(ns, WATCH_MS, (o) => revert !== undefined && recoveredBy(revert)(o), { tick, origin: pushed });
          const { revert: rev, atS } = await reverted;
          const run = summarise(overlay, mode, record.changes, release, rev, atS, manual);
          log(`${overlay} ${mode}: ${JSON.stringify(run)}`);
          return run;
        }),
      );
      await traffic?.stop();
      real.push(...runs);
    }
    return { real, kubernetes };
  } finally {
    await stack.stop();
    if (!process.env.KEEP_CLUSTER_TMP) rmSync(dir, { recursive: true, force: true });
    else log(`kept ${dir}`);
  }
}

async function runModel(overlaysRun: readonly string[], modes: readonly ArgoCdMatrixMode[], log: (line: string) => void): Promise<ArgoCdMatrixReport['model']> {
  const scaled = await scaledOverlays(overlaysRun.filter((o) => !NOT_MODELLED[o]));
  const { compare } = await import('../rehearsal/compare.ts');
  const { planFromObjects } = await import('../rehearsal/plan.ts');
  const { argocdDelivery } = await import('../rehearsal/run/argocd-delivery.ts');
  const overlays = [...scaled.keys()];
  const plans = overlays.map((o) => planFromObjects(o, scaled.get(o)!));
  const delivery = argocdDelivery({ timeScale: MODEL_TIME_SCALE, refreshSeconds: 0, objects: async (o) => scaled.get(o)! });
  const report = await compare(plans, modes, { timeScale: MODEL_TIME_SCALE, connections: 8, rate: 200, steadyMs: 500, endpointPropagationMs: 1000, delivery }, log);
  return { ...report, runs: report.runs.map(({ timeline: _, ...run }) => run) };
}

function write(report: ArgoCdMatrixReport, log: (line: string) => void): void {
  writeFileSync(path.join(repoRoot, 'docs/argocd-matrix.json'), `${JSON.stringify(report, null, 2)}\n`);
  const at = path.join(repoRoot, 'docs/argocd-local.md');
  writeFileSync(at, replaceBlock(readFileSync(at, 'utf8'), 'argocd-matrix-real', argocdMatrixMarkdown(report)));
  log('docs/argocd-local.md: block argocd-matrix-real written');
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { overlay: { type: 'string', multiple: true }, mode: { type: 'string', multiple: true }, json: { type: 'boolean' }, write: { type: 'boolean' }, from: { type: 'string' }, remodel: { type: 'boolean' } } });
  const log = (line: string) => console.error(`${new Date().toISOString().slice(11, 19)} ${line}`);
  let report: ArgoCdMatrixReport;
  if (values.from) {
    report = JSON.parse(readFileSync(values.from, 'utf8')) as ArgoCdMatrixReport;
    if (values.remodel) {
      // The model's side again (after a change to the model), beside the recorded real runs.
      const overlays = [...new Set(report.real.map((r) => r.overlay))];
      const modes = [...new Set(report.real.map((r) => r.mode))];
      report = { ...report, model: await runModel(overlays, modes, log), notModelled: Object.fromEntries(Object.entries(NOT_MODELLED).filter(([o]) => overlays.includes(o))) };
    }
  } else {
    const overlays = values.overlay ?? overlayNames(repoRoot);
    for (const o of overlays) if (!overlayNames(repoRoot).includes(o)) throw new Error(`--overlay ${o}: not an overlay (${overlayNames(repoRoot).join(', ')})`);
    const modes = (values.mode ?? [...ARGOCD_MATRIX_MODES]) as ArgoCdMatrixMode[];
    for (const m of modes) if (!(ARGOCD_MATRIX_MODES as readonly string[]).includes(m)) throw new Error(`--mode ${m}: one of ${ARGOCD_MATRIX_MODES.join(', ')}`);
    const why = argocdStackUnavailable();
    if (why) throw new Error(`the real Argo CD cannot run here: ${why}`);
    const { real, kubernetes } = await runReal(overlays, modes, log);
    const model = await runModel(overlays, modes, log);
    report = {
      generatedAt: new Date().toISOString(),
      argocd: argocdReportedVersion(goModText()),
      kubernetes,
      timings: SCALED_TIMINGS,
      noticedBy: `each commit noticed through a refresh request right after its push (the annotation argocd.argoproj.io/refresh, as \`argocd app get --refresh\` and a Git webhook do); the revert pushed ${REVERT_AFTER_S} s after the release`,
      real,
      model,
      notModelled: Object.fromEntries(Object.entries(NOT_MODELLED).filter(([o]) => overlays.includes(o))),
    };
  }
  console.log(values.json ? JSON.stringify(report, null, 2) : argocdMatrixMarkdown(report));
  if (values.write) write(report, log);
}
