// A realistic ComparisonReport (rehearsal/result.ts) for the HTML report's tests, until those tests can use a small
// real rehearsal. Each run is described as pod lives (state changes over time) and a request rate; the traffic per
// slot and the figures are derived from the pods, so the fixture is self-consistent: a slot's failures are the
// requests that met no ready pod, or (scenario `errors`) the share a ready-but-wrong v2 pod answers with 500.
import type { ComparisonReport, Marker, PodSpan, PodState, RunFigures, RunResult, TrafficSlot } from '../../rehearsal/result.ts';

const SLOT_MS = 100;

/** [atMs, state, version]: the pod enters `state` at `atMs` and stays there until the next change. */
type Change = [number, PodState, string | null];

interface RunSpec {
  overlay: string;
  scenario: RunResult['scenario'];
  settings: RunResult['settings'];
  endMs: number;
  pods: Record<string, Change[]>;
  markers: Marker[];
  /** Requests per slot per ready pod (the load spreads over ready endpoints). */
  perPod?: number;
  /** Share of requests a ready v2 pod fails (scenario `errors`). */
  v2ErrorShare?: number;
  rolloutAtMs: number;
  revertAtMs: number | null;
  manualSteps?: string[];
}

function spansOf(changes: Change[], endMs: number): PodSpan[] {
  return changes.map(([fromMs, state, version], i) => ({ fromMs, toMs: changes[i + 1]?.[0] ?? endMs, state, version }));
}

function podAt(spans: PodSpan[], atMs: number): PodSpan | undefined {
  return spans.find((span) => span.fromMs <= atMs && atMs < span.toMs);
}

function add(counts: Record<string, number>, key: string, n: number): void {
  if (n > 0) counts[key] = (counts[key] ?? 0) + n;
}

function buildRun(spec: RunSpec): RunResult {
  const pods = Object.entries(spec.pods).map(([name, changes]) => ({ name, spans: spansOf(changes, spec.endMs) }));
  const perPod = spec.perPod ?? 6;
  const traffic: TrafficSlot[] = [];
  for (let atMs = 0; atMs < spec.endMs; atMs += SLOT_MS) {
    const ready = pods.map(({ spans }) => podAt(spans, atMs + SLOT_MS / 2)).filter((s) => s?.state === 'ready');
    const slot: TrafficSlot = { atMs, ok: {}, failed: {} };
    if (atMs < 1500) {
      // Launch: no load until the first pod is up, as the rehearsal starts its clients after launch begins.
    } else if (ready.length === 0) {
      add(slot.failed, 'none', perPod * 2);
    } else {
      for (const span of ready) {
        const version = span!.version ?? 'none';
        const failed = version === 'v2' ? Math.round(perPod * (spec.v2ErrorShare ?? 0)) : 0;
        add(slot.ok, version, perPod - failed);
        add(slot.failed, version, failed);
      }
    }
    traffic.push(slot);
  }
  return { overlay: spec.overlay, scenario: spec.scenario, settings: spec.settings, figures: figuresOf(spec, pods, traffic), timeline: { slotMs: SLOT_MS, endMs: spec.endMs, pods, traffic, markers: spec.markers } };
}

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

function figuresOf(spec: RunSpec, pods: RunResult['timeline']['pods'], traffic: TrafficSlot[]): RunFigures {
  const phase = (from: number, to: number) => {
    const slots = traffic.filter((s) => s.atMs >= from && s.atMs < to);
    return { requests: slots.reduce((n, s) => n + sum(s.ok) + sum(s.failed), 0), failed: slots.reduce((n, s) => n + sum(s.failed), 0) };
  };
  const end = spec.revertAtMs ?? spec.endMs;
  let peakFailedShare = 0;
  for (let i = 0; i + 10 <= traffic.length; i++) {
    const second = phase(traffic[i]!.atMs, traffic[i]!.atMs + 1000);
    if (second.requests > 0) peakFailedShare = Math.max(peakFailedShare, second.failed / second.requests);
  }
  const readyAt = (atMs: number) => pods.filter(({ spans }) => podAt(spans, atMs)?.state === 'ready').length;
  const launched = traffic.find((s) => s.atMs > 0 && readyAt(s.atMs) === pods.length)?.atMs ?? spec.endMs;
  const after = traffic.filter((s) => s.atMs >= launched).map((s) => readyAt(s.atMs));
  const versions = (s: TrafficSlot) => Object.keys(s.ok).length;
  const lastV1Changes = Object.values(spec.pods).map((changes) => changes.at(-1)!);
  const recovered = lastV1Changes.every(([, state, version]) => state === 'ready' && version === 'v1');
  return {
    launchToAllReadyMs: launched,
    detection: null,
    before: phase(0, spec.rolloutAtMs),
    during: phase(spec.rolloutAtMs, end),
    after: phase(end, spec.endMs),
    peakFailedShare,
    belowFullReadyMs: after.filter((n) => n < pods.length).length * SLOT_MS,
    fewestReady: Math.min(...after),
    downtimeMs: traffic.filter((s) => sum(s.failed) > 0 && sum(s.ok) === 0).length * SLOT_MS,
    stoppedByItself: spec.markers.some((m) => m.kind === 'stalled'),
    podsUpdated: Object.values(spec.pods).filter((changes) => changes.some(([, , v]) => v === 'v2')).length,
    revertToRecoveredMs: spec.revertAtMs === null ? null : recovered ? Math.max(...lastV1Changes.map(([at]) => at)) - spec.revertAtMs : null,
    manualSteps: spec.manualSteps ?? [],
    twoVersionsServingMs: traffic.filter((s) => versions(s) > 1).length * SLOT_MS,
    detectMs: spec.markers.find((m) => m.kind === 'analysis')?.atMs ?? null,
    lost: 0,
    duplicated: 0,
  };
}

const ordered = { podManagementPolicy: 'OrderedReady', updateStrategy: 'RollingUpdate', partition: 0, maxUnavailable: 1, minReadySeconds: 10, readinessPeriodSeconds: 2, terminationGracePeriodSeconds: 30 };

/** Four runs: a rolling update that stalls on an unready v2 and needs a forced rollback, a recreate whose v2
 * crash-loops (an outage until the revert), a canary whose v2 answers errors on one pod, and a good parallel update. */
export function fixtureReport(): ComparisonReport {
  const v1Launch = (i: number, gap: number): Change[] => [[i * gap, 'starting', 'v1'], [i * gap + 1200, 'ready', 'v1']];
  const runs = [
    buildRun({
      overlay: 'rolling',
      scenario: 'unready',
      settings: ordered,
      endMs: 16000,
      rolloutAtMs: 5000,
      revertAtMs: 9000,
      manualSteps: ['kubectl delete pod rollcall-2'],
      pods: {
        'rollcall-0': v1Launch(0, 1300),
        'rollcall-1': v1Launch(1, 1300),
        'rollcall-2': [...v1Launch(2, 1300), [5000, 'terminating', 'v1'], [5600, 'not-running', null], [5800, 'starting', 'v2'], [11500, 'terminating', 'v2'], [11800, 'starting', 'v1'], [12900, 'ready', 'v1']],
      },
      markers: [
        { atMs: 5000, kind: 'rollout-start', label: 'v2 applied (git push, sync)' },
        { atMs: 5000, kind: 'pod-replaced', label: 'rollcall-2 deleted for v2', pod: 'rollcall-2' },
        { atMs: 7800, kind: 'stalled', label: 'controller waits for rollcall-2 to become Ready' },
        { atMs: 8500, kind: 'detected', label: 'rollout stalled: release is bad' },
        { atMs: 9000, kind: 'revert', label: 'git revert: v1 applied again' },
        { atMs: 11500, kind: 'manual-step', label: 'kubectl delete pod rollcall-2 (forced rollback)', pod: 'rollcall-2' },
        { atMs: 12900, kind: 'done', label: 'every pod on v1 and Ready' },
      ],
    }),
    buildRun({
      overlay: 'recreate',
      scenario: 'crash',
      settings: { podManagementPolicy: 'OrderedReady', updateStrategy: 'OnDelete', hook: 'PreSync delete all pods', terminationGracePeriodSeconds: 30 },
      endMs: 15000,
      rolloutAtMs: 5000,
      revertAtMs: 10000,
      pods: Object.fromEntries(
        [0, 1, 2].map((i) => [
          `rollcall-${i}`,
          [...v1Launch(i, 1300), [5000, 'terminating', 'v1'], [5500, 'starting', 'v2'], [5900, 'crash-loop', 'v2'], [10200, 'not-running', null], [10400 + i * 200, 'starting', 'v1'], [11600 + i * 200, 'ready', 'v1']] as Change[],
        ]),
      ),
      markers: [
        { atMs: 5000, kind: 'rollout-start', label: 'v2 applied (git push, sync)' },
        { atMs: 5000, kind: 'sync', label: 'PreSync hook: delete every pod' },
        ...[0, 1, 2].map((i): Marker => ({ atMs: 5000, kind: 'pod-replaced', label: `rollcall-${i} deleted for v2`, pod: `rollcall-${i}` })),
        { atMs: 7000, kind: 'detected', label: 'every pod in CrashLoopBackOff' },
        { atMs: 10000, kind: 'revert', label: 'git revert: v1 applied again' },
        { atMs: 12000, kind: 'done', label: 'every pod on v1 and Ready' },
      ],
    }),
    buildRun({
      overlay: 'canary',
      scenario: 'errors',
      settings: { ...ordered, partition: 2, analysis: 'success rate ≥ 95% over 3 s' },
      endMs: 14000,
      rolloutAtMs: 5000,
      revertAtMs: 9000,
      v2ErrorShare: 0.5,
      pods: {
        'rollcall-0': v1Launch(0, 1300),
        'rollcall-1': v1Launch(1, 1300),
        'rollcall-2': [...v1Launch(2, 1300), [5000, 'terminating', 'v1'], [5500, 'starting', 'v2'], [6600, 'ready', 'v2'], [9000, 'terminating', 'v2'], [9500, 'starting', 'v1'], [10600, 'ready', 'v1']],
      },
      markers: [
        { atMs: 5000, kind: 'rollout-start', label: 'v2 applied to ordinals ≥ 2 (partition 2)' },
        { atMs: 5000, kind: 'pod-replaced', label: 'rollcall-2 deleted for v2', pod: 'rollcall-2' },
        { atMs: 8600, kind: 'analysis', label: 'analysis failed: success rate 83% < 95%' },
        { atMs: 9000, kind: 'revert', label: 'git revert: v1 applied again' },
        { atMs: 10600, kind: 'done', label: 'every pod on v1 and Ready' },
      ],
    }),
    buildRun({
      overlay: 'parallel',
      scenario: 'good',
      settings: { ...ordered, podManagementPolicy: 'Parallel' },
      endMs: 12000,
      rolloutAtMs: 4000,
      revertAtMs: null,
      pods: Object.fromEntries(
        [2, 1, 0].map((i, k) => [`rollcall-${i}`, [[0, 'starting', 'v1'], [1200, 'ready', 'v1'], [4000 + k * 2200, 'terminating', 'v1'], [4500 + k * 2200, 'starting', 'v2'], [5600 + k * 2200, 'ready', 'v2']] as Change[]]),
      ),
      markers: [
        { atMs: 4000, kind: 'rollout-start', label: 'v2 applied (git push, sync)' },
        ...[2, 1, 0].map((i, k): Marker => ({ atMs: 4000 + k * 2200, kind: 'pod-replaced', label: `rollcall-${i} deleted for v2`, pod: `rollcall-${i}` })),
        { atMs: 10000, kind: 'done', label: 'every pod on v2 and Ready' },
      ],
    }),
  ];
  return {
    generatedAt: '2026-12-02T05:30:00.000Z',
    machine: { cpus: 2, cpuModel: 'Fixture CPU @ 2.0GHz', memoryGiB: 4, node: 'v24.0.0', platform: 'linux x64' },
    timeScale: 0.1,
    connections: 8,
    rate: 200,
    detectionRules: 'a new pod exits, stays unready past its startup probe, or 5 % of requests fail after the rollout',
    runs,
  };
}
