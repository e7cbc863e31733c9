// `rollcall compare`: render each overlay with real kustomize, rehearse each release scenario on it with real server
// processes under load (rehearsal/run), and collect the figures into the ComparisonReport (rehearsal/result.ts).
import os from 'node:os';
import path from 'node:path';
import { listOverlays } from '../bundle/files.ts';
import { findRenderer, noRendererMessage, render } from '../bundle/render.ts';
import { repoRoot } from '../bundle/schema.ts';
import type { K8sObject } from '../bundle/types.ts';
import { DEFAULT_WATCH_RULES, describeWatchRules } from './model/release-watch.ts';
import { describePlan, planFromObjects, type RolloutPlan } from './plan.ts';
import { progressLine, runsDone, type ProgressPoint } from './report/progress.ts';
import type { ComparisonReport, ReleaseScenario } from './result.ts';
import { rehearseOverlay, type RehearsalOptions } from './run/overlay.ts';
import { preparePodEntry } from './run/pod-process.ts';
import { modelCluster } from './cluster/model.ts';

export interface RenderedOverlay {
  overlay: string;
  objects: readonly K8sObject[];
}

/** Each overlay as kustomize renders it (what a delivery would apply), in the order given. */
export async function renderOverlays(overlays: readonly string[] = listOverlays(repoRoot)): Promise<RenderedOverlay[]> {
  const renderer = findRenderer();
  if (!renderer) throw new Error(noRendererMessage);
  const out: RenderedOverlay[] = [];
  for (const overlay of overlays) out.push({ overlay, objects: (await render(renderer, path.join('kustomize', 'overlays', overlay), repoRoot)).objects });
  return out;
}

export async function loadPlans(overlays: readonly string[] = listOverlays(repoRoot)): Promise<RolloutPlan[]> {
  return (await renderOverlays(overlays)).map(({ overlay, objects }) => planFromObjects(overlay, objects));
}

export function machine(): ComparisonReport['machine'] {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

/** Every overlay × scenario, one after the other (concurrent rehearsals would share the CPU and blur the figures). */
export async function compare(
  plans: readonly RolloutPlan[],
  scenarios: readonly ReleaseScenario[],
  options: Omit<RehearsalOptions, 'progress'>,
  progress: (line: string) => void = () => {},
): Promise<ComparisonReport> {
  const cluster = options.cluster ?? modelCluster;
  // Before any run's clock starts: building the image's entry takes seconds (a real cluster runs its image).
  const podEntry = cluster.kind === 'model' ? (await preparePodEntry()).description : 'image the overlays name, on the cluster';
  progress(`cluster: ${cluster.describe}; pods run the ${podEntry}`);
  const runs = [];
  const started = performance.now();
  // When the number of finished runs last grew: the time-left estimate averages finished runs only.
  let finished = { runs: 0, atMs: 0 };
  for (const [overlayIndex, plan] of plans.entries()) {
    progress(`${plan.overlay}: ${describePlan(plan)}`);
    const point = (scenario: ReleaseScenario | 'launch', phase: string): ProgressPoint => {
      const p = {
        overlay: plan.overlay,
        overlayIndex,
        overlays: plans.length,
        scenario,
        scenarioIndex: scenario === 'launch' ? 0 : scenarios.indexOf(scenario),
        scenarios: scenarios.length,
        phase,
        elapsedMs: performance.now() - started,
      };
      if (runsDone(p) > finished.runs) finished = { runs: runsDone(p), atMs: p.elapsedMs };
      return { ...p, finishedAtMs: finished.atMs };
    };
    runs.push(...(await rehearseOverlay(plan, scenarios, { ...options, progress: (scenario, phase) => progress(progressLine(point(scenario, phase))) })));
  }
  return {
    generatedAt: new Date().toISOString(),
    machine: machine(),
    cluster: { kind: cluster.kind, description: cluster.describe },
    podEntry,
    timeScale: options.timeScale,
    connections: options.connections,
    rate: options.rate,
    detectionRules: describeWatchRules(options.watch ?? DEFAULT_WATCH_RULES),
    runs,
  };
}
