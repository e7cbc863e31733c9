// `rollcall compare`: render each overlay with real kustomize, rehearse each release scenario on it with real server
// processes under load (rehearsal/run), and collect the figures into the ComparisonReport (rehearsal/result.ts).
import os from 'node:os';
import path from 'node:path';
import { listOverlays } from '../bundle/files.ts';
import { findRenderer, noRendererMessage, render } from '../bundle/render.ts';
import { repoRoot } from '../bundle/schema.ts';
import { DEFAULT_WATCH_RULES, describeWatchRules } from './model/release-watch.ts';
import { describePlan, planFromObjects, type RolloutPlan } from './plan.ts';
import type { ComparisonReport, ReleaseScenario } from './result.ts';
import { rehearseOverlay, type RehearsalOptions } from './run/overlay.ts';
import { preparePodEntry } from './run/pod-process.ts';

export async function loadPlans(overlays: readonly string[] = listOverlays(repoRoot)): Promise<RolloutPlan[]> {
  const renderer = findRenderer();
  if (!renderer) throw new Error(noRendererMessage);
  const plans: RolloutPlan[] = [];
  for (const overlay of overlays) {
    const { objects } = await render(renderer, path.join('kustomize', 'overlays', overlay), repoRoot);
    plans.push(planFromObjects(overlay, objects));
  }
  return plans;
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
  // Before any run's clock starts: building the image's entry takes seconds.
  const { description: podEntry } = await preparePodEntry();
  progress(`pods run the ${podEntry}`);
  const runs = [];
  const started = performance.now();
  for (const plan of plans) {
    progress(`${plan.overlay}: ${describePlan(plan)}`);
    const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;
    runs.push(
      ...(await rehearseOverlay(plan, scenarios, { ...options, progress: (scenario, phase) => progress(`[${elapsed()}] ${plan.overlay} × ${scenario}: ${phase}`) })),
    );
  }
  return {
    generatedAt: new Date().toISOString(),
    machine: machine(),
    podEntry,
    timeScale: options.timeScale,
    connections: options.connections,
    rate: options.rate,
    detectionRules: describeWatchRules(options.watch ?? DEFAULT_WATCH_RULES),
    runs,
  };
}
