// One rehearsal: bring up the overlay's StatefulSet at version v1 with real server processes, put load on it
// through the emulated Service, roll it to v2 the way the overlay's strategy does, and measure what clients saw.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Cluster } from './cluster.ts';
import { Load, type Outcome } from './load.ts';
import type { RolloutPlan } from './plan.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface RehearsalOptions {
  timeScale: number;
  connections: number;
  /** Load before and after the rollout, in (unscaled) milliseconds. */
  steadyMs: number;
  endpointPropagationMs: number;
}

export interface RehearsalResult {
  overlay: string;
  /** From the start of the rollout until the last replaced pod is Ready (and available after minReadySeconds). */
  durationMs: number;
  /** Time during the rollout with failed requests and not one success (50 ms slots). */
  downtimeMs: number;
  /** The longest stretch without a single successful response. */
  longestGapMs: number;
  requests: number;
  failed: number;
  acknowledged: number;
  /** Acknowledged visits missing from the pods' visits.json files (must be 0). */
  lost: number;
  /** Visit numbers acknowledged twice by the same pod (must be 0). */
  duplicated: number;
  podsReplaced: number;
}

const SLOT_MS = 50;

export async function rehearse(plan: RolloutPlan, options: RehearsalOptions): Promise<RehearsalResult> {
  const dataRoot = await mkdtemp(path.join(os.tmpdir(), `rollcall-compare-${plan.overlay}-`));
  const cluster = new Cluster({ plan, dataRoot, timeScale: options.timeScale, endpointPropagationMs: options.endpointPropagationMs });
  const load = new Load(() => cluster.endpoints());
  try {
    cluster.startProbing();
    await cluster.createAll('v1');
    load.start(options.connections);
    await sleep(options.steadyMs);

    const started = performance.now();
    const podsReplaced = await roll(cluster, plan);
    const finished = performance.now();

    await sleep(options.steadyMs);
    await load.stop();
    cluster.stopProbing();
    await cluster.deleteAll();
    const counters = await readCounters(dataRoot, plan.replicas);
    return summarise(plan.overlay, load.outcomes, counters, { started, finished, podsReplaced });
  } finally {
    cluster.stopProbing();
    await load.stop();
    cluster.killAll();
    await rm(dataRoot, { recursive: true, force: true });
  }
}

/** The StatefulSet controller's part of the update to v2; returns how many pods were replaced. */
async function roll(cluster: Cluster, plan: RolloutPlan): Promise<number> {
  const { update } = plan;
  if (update.type === 'OnDelete') {
    if (!update.deleteAll) return 0;
    // What the recreate hook does after the sync: delete every pod at once; the controller recreates them.
    await cluster.deleteAll();
    await cluster.recreate([...cluster.pods.keys()], 'v2');
    await sleep(cluster.scaled(plan.minReadyMs));
    return plan.replicas;
  }
  // RollingUpdate: from the highest ordinal down to the partition, maxUnavailable pods at a time, each group Ready
  // and available for minReadySeconds before the next.
  const ordinals = [...cluster.pods.keys()].filter((ordinal) => ordinal >= update.partition).reverse();
  for (let i = 0; i < ordinals.length; i += update.maxUnavailable) {
    const group = ordinals.slice(i, i + update.maxUnavailable);
    await Promise.all(group.map((ordinal) => cluster.deletePod(ordinal)));
    await Promise.all(group.map((ordinal) => cluster.createPod(ordinal, 'v2')));
    await sleep(cluster.scaled(plan.minReadyMs));
  }
  return ordinals.length;
}

async function readCounters(dataRoot: string, replicas: number): Promise<Map<string, number>> {
  const counters = new Map<string, number>();
  for (let ordinal = 0; ordinal < replicas; ordinal++) {
    const name = `rollcall-${ordinal}`;
    const text = await readFile(path.join(dataRoot, `web-app-data-${name}`, 'visits.json'), 'utf8').catch(() => '{"counter": 0}');
    counters.set(name, (JSON.parse(text) as { counter: number }).counter);
  }
  return counters;
}

export function summarise(
  overlay: string,
  outcomes: readonly Outcome[],
  counters: ReadonlyMap<string, number>,
  window: { started: number; finished: number; podsReplaced: number },
): RehearsalResult {
  const slots = new Map<number, { ok: number; failed: number }>();
  let longestGapMs = 0;
  let lastSuccess: number | undefined;
  const seen = new Map<string, Set<number>>();
  let duplicated = 0;
  const acknowledgedByPod = new Map<string, number>();
  for (const outcome of [...outcomes].sort((a, b) => a.at - b.at)) {
    if (outcome.at >= window.started && outcome.at <= window.finished) {
      const slot = Math.floor((outcome.at - window.started) / SLOT_MS);
      const counts = slots.get(slot) ?? { ok: 0, failed: 0 };
      if (outcome.ok) counts.ok++;
      else counts.failed++;
      slots.set(slot, counts);
    }
    if (!outcome.ok) continue;
    if (lastSuccess !== undefined) longestGapMs = Math.max(longestGapMs, outcome.at - lastSuccess);
    lastSuccess = outcome.at;
    const pod = outcome.pod ?? '?';
    acknowledgedByPod.set(pod, (acknowledgedByPod.get(pod) ?? 0) + 1);
    const numbers = seen.get(pod) ?? new Set<number>();
    if (numbers.has(outcome.visit ?? -1)) duplicated++;
    numbers.add(outcome.visit ?? -1);
    seen.set(pod, numbers);
  }
  let lost = 0;
  for (const [pod, acknowledged] of acknowledgedByPod) {
    // Each pod counts on its own volume: its file must hold at least every visit it acknowledged.
    lost += Math.max(0, acknowledged - (counters.get(pod) ?? 0));
  }
  const downSlots = [...slots.values()].filter((s) => s.ok === 0 && s.failed > 0).length;
  const failed = outcomes.filter((o) => !o.ok).length;
  return {
    overlay,
    durationMs: Math.round(window.finished - window.started),
    downtimeMs: downSlots * SLOT_MS,
    longestGapMs: Math.round(longestGapMs),
    requests: outcomes.length,
    failed,
    acknowledged: outcomes.length - failed,
    lost,
    duplicated,
    podsReplaced: window.podsReplaced,
  };
}
