// The figures of one rehearsal, computed from what was recorded: client outcomes, Ready counts over time, and the
// moments of the run. Pure (no processes, no clock) so every figure is unit-tested on hand-made records.
import type { PhaseCount, TrafficSlot } from '../result.ts';
import type { Outcome } from './load.ts';

export const SLOT_MS = 100;

/** Outcomes with `at` on the rehearsal's clock (ms since t = 0). */
export type TimedOutcome = Omit<Outcome, 'at'> & { atMs: number };

export interface Moments {
  loadStartMs: number;
  /** Every v1 pod Ready after the launch. */
  launchedAtMs: number;
  rolloutAtMs: number;
  /** The revert (a bad release), or null. */
  revertAtMs: number | null;
  /** Every pod on the good release and serving again: after the revert, or at the end of a good rollout. */
  doneAtMs: number | null;
  endMs: number;
}

export function trafficSlots(outcomes: readonly TimedOutcome[], endMs: number, slotMs = SLOT_MS): TrafficSlot[] {
  const slots: TrafficSlot[] = Array.from({ length: Math.ceil(endMs / slotMs) }, (_, i) => ({ atMs: i * slotMs, ok: {}, failed: {} }));
  for (const o of outcomes) {
    const slot = slots[Math.floor(o.atMs / slotMs)];
    if (!slot) continue;
    const bucket = o.ok ? slot.ok : slot.failed;
    const key = o.version ?? 'none';
    bucket[key] = (bucket[key] ?? 0) + 1;
  }
  return slots;
}

const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

export function phaseCount(outcomes: readonly TimedOutcome[], fromMs: number, toMs: number): PhaseCount {
  const inPhase = outcomes.filter((o) => o.atMs >= fromMs && o.atMs < toMs);
  return { requests: inPhase.length, failed: inPhase.filter((o) => !o.ok).length };
}

/** How the failed requests failed, by their error (`timeout`, `ECONNREFUSED`, `HTTP 500`, ...): refused at once
 * or hanging until the timeout makes the same outage look very different in a count of failed requests. */
export function failuresByError(outcomes: readonly TimedOutcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) if (!o.ok) counts[o.error ?? 'unknown'] = (counts[o.error ?? 'unknown'] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1]));
}

/** The blast radius: the highest share of failed requests in any one second (seconds aligned to t = 0). */
export function peakFailedShare(outcomes: readonly TimedOutcome[]): number {
  const seconds = new Map<number, { all: number; failed: number }>();
  for (const o of outcomes) {
    const s = seconds.get(Math.floor(o.atMs / 1000)) ?? { all: 0, failed: 0 };
    s.all++;
    if (!o.ok) s.failed++;
    seconds.set(Math.floor(o.atMs / 1000), s);
  }
  let peak = 0;
  for (const s of seconds.values()) peak = Math.max(peak, s.failed / s.all);
  return Math.round(peak * 1000) / 1000;
}

/**
 * Slots with not one success in which a request failed, or waited for an answer that turned out to be a failure.
 * The waiting counts: where connections are refused (the model, a Service without endpoints) a client fails at once
 * and tries again, so every slot of an outage holds failures; where they hang (packets to a pod that is gone, on a
 * real cluster) a client waits for its 5 s timeout and the slots in between hold no outcome at all, yet the site is
 * just as down for it.
 */
export function downtimeMs(outcomes: readonly TimedOutcome[], endMs: number, slotMs = SLOT_MS): number {
  const count = Math.ceil(endMs / slotMs);
  const answered = new Uint8Array(count);
  const failing = new Uint8Array(count);
  for (const o of outcomes) {
    const last = Math.floor(o.atMs / slotMs);
    if (o.ok) {
      if (last < count) answered[last] = 1;
      continue;
    }
    for (let i = Math.max(0, Math.floor((o.atMs - (o.ms ?? 0)) / slotMs)); i <= last && i < count; i++) failing[i] = 1;
  }
  let down = 0;
  for (let i = 0; i < count; i++) if (failing[i] && !answered[i]) down++;
  return down * slotMs;
}

/** Slots in which two versions or more answered successfully. */
export function twoVersionsServingMs(slots: readonly TrafficSlot[], slotMs = SLOT_MS): number {
  return slots.filter((s) => Object.values(s.ok).filter((n) => n > 0).length >= 2).length * slotMs;
}

/** Time with fewer than `replicas` Ready between `fromMs` and `toMs`, and the fewest Ready in that stretch.
 * `samples` are the Ready count from each sample's time on (sorted by time). */
export function readiness(samples: readonly { atMs: number; ready: number }[], replicas: number, fromMs: number, toMs: number): { belowFullReadyMs: number; fewestReady: number } {
  let below = 0;
  let fewest = replicas;
  for (let i = 0; i < samples.length; i++) {
    const sample = samples[i]!;
    const start = Math.max(sample.atMs, fromMs);
    const end = Math.min(samples[i + 1]?.atMs ?? toMs, toMs);
    if (end <= start) continue;
    fewest = Math.min(fewest, sample.ready);
    if (sample.ready < replicas) below += end - start;
  }
  return { belowFullReadyMs: Math.round(below), fewestReady: fewest };
}

/** Visits acknowledged but missing from each pod's file (each pod counts on its own volume), and numbers given
 * twice by the same pod. A pod with no reading (gone at the end on a real cluster: a colour scaled to 0, whose
 * volume nothing serves) is not judged; the model reads every pod's file. */
export function lostAndDuplicated(outcomes: readonly TimedOutcome[], counters: ReadonlyMap<string, number>): { lost: number; duplicated: number } {
  const seen = new Map<string, Set<number>>();
  let duplicated = 0;
  for (const o of outcomes) {
    if (!o.ok || o.pod === undefined || o.visit === undefined) continue;
    const numbers = seen.get(o.pod) ?? new Set<number>();
    if (numbers.has(o.visit)) duplicated++;
    numbers.add(o.visit);
    seen.set(o.pod, numbers);
  }
  let lost = 0;
  for (const [pod, numbers] of seen) {
    const counted = counters.get(pod);
    if (counted !== undefined) lost += Math.max(0, numbers.size - counted);
  }
  return { lost, duplicated };
}
