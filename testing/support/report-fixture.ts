// A realistic ComparisonReport (rehearsal/result.ts) for the HTML report's unit tests (test/html-report.test.ts; the
// browser test opens the report of a small real rehearsal instead). Settings, marker labels and verdicts use the
// words a real `rollcall compare --json` prints (rehearsal/run/rehearse.ts, rehearsal/model/release-watch.ts). Each run is described as pod lives (state changes over time) and a request rate; the traffic per
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
  /** The release watch's rule and reason (rehearsal/model/release-watch.ts); its time is the `detected` marker's. */
  detection?: { rule: 'crash-loop' | 'stalled' | 'failing'; reason: string };
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

function detectionOf(spec: RunSpec): RunFigures['detection'] {
  if (!spec.detection) return null;
  const detected = spec.markers.find((m) => m.kind === 'detected');
  if (!detected) throw new Error(`${spec.overlay} × ${spec.scenario}: a detection needs its 'detected' marker`);
  return { ...spec.detection, afterMs: detected.atMs - spec.rolloutAtMs };
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
    podStartMs: 1000,
    detection: detectionOf(spec),
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

const probes = { readinessPeriodSeconds: 5, readinessFailureThreshold: 2, startupPeriodSeconds: 2, startupFailureThreshold: 30, terminationGracePeriodSeconds: 20 };
const delivery = { delivery: 'kubectl apply (the recreate hook Job run right after it)', timeScale: 0.1 };
const ordered = { replicas: 3, podManagementPolicy: 'OrderedReady', updateStrategy: 'RollingUpdate', partition: 0, maxUnavailable: 1, minReadySeconds: 10, ...probes, ...delivery };
/** The release applied (the Git push, then `kubectl apply`), as rehearsal/run marks it. */
const release = (atMs: number, badRelease?: string): Marker[] => [
  { atMs, kind: 'rollout-start', label: `release v2${badRelease ? ` (BAD_RELEASE=${badRelease})` : ''}` },
  { atMs, kind: 'sync', label: 'apply: template 1.0.1' },
];
const revert = (atMs: number): Marker[] => [
  { atMs, kind: 'revert', label: 'git revert: template back to v1' },
  { atMs, kind: 'sync', label: 'apply: template 1.0.0' },
];
const replaced = (atMs: number, pod: string): Marker => ({ atMs, kind: 'pod-replaced', label: `controller deletes ${pod} for the update`, pod });

/** Four runs: a rolling update that stalls on an unready v2 and needs a forced rollback, a recreate whose v2
 * crash-loops (an outage until the revert brings v1 back), a canary whose v2 answers errors on one pod until the
 * release watch sees them, and a good parallel update. */
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
      detection: { rule: 'stalled', reason: 'a new pod not Ready for longer than its startup budget (3000 ms)' },
      pods: {
        'rollcall-0': v1Launch(0, 1300),
        'rollcall-1': v1Launch(1, 1300),
        'rollcall-2': [...v1Launch(2, 1300), [5000, 'terminating', 'v1'], [5600, 'not-running', null], [5800, 'starting', 'v2'], [11500, 'terminating', 'v2'], [11800, 'starting', 'v1'], [12900, 'ready', 'v1']],
      },
      markers: [
        ...release(5000, 'unready'),
        replaced(5000, 'rollcall-2'),
        { atMs: 8800, kind: 'stalled', label: 'rollout stopped by itself after 1 of 3 pods' },
        { atMs: 8800, kind: 'detected', label: 'bad release: a new pod not Ready for longer than its startup budget (3000 ms)' },
        ...revert(9000),
        { atMs: 11500, kind: 'manual-step', label: 'kubectl delete pod rollcall-2', pod: 'rollcall-2' },
        { atMs: 12900, kind: 'done', label: 'every pod on v1 and Ready' },
      ],
    }),
    buildRun({
      overlay: 'recreate',
      scenario: 'crash',
      settings: { replicas: 3, podManagementPolicy: 'Parallel', updateStrategy: 'OnDelete', recreateHook: true, minReadySeconds: 0, ...probes, ...delivery },
      endMs: 15000,
      rolloutAtMs: 5000,
      revertAtMs: 10000,
      detection: { rule: 'crash-loop', reason: "a new pod's container exited 1 time(s) (CrashLoopBackOff)" },
      pods: Object.fromEntries(
        [0, 1, 2].map((i) => [
          `rollcall-${i}`,
          [...v1Launch(i, 1300), [5000, 'terminating', 'v1'], [5500, 'starting', 'v2'], [5900, 'crash-loop', 'v2'], [10200, 'not-running', null], [10400 + i * 200, 'starting', 'v1'], [11600 + i * 200, 'ready', 'v1']] as Change[],
        ]),
      ),
      markers: [
        ...release(5000, 'crash:100'),
        { atMs: 5000, kind: 'sync', label: 'PostSync hook: delete every pod' },
        { atMs: 7000, kind: 'detected', label: "bad release: a new pod's container exited 1 time(s) (CrashLoopBackOff)" },
        ...revert(10000),
        { atMs: 10000, kind: 'sync', label: 'PostSync hook: delete every pod' },
        { atMs: 12000, kind: 'done', label: 'every pod on v1 and Ready' },
      ],
    }),
    buildRun({
      overlay: 'canary',
      scenario: 'errors',
      settings: { ...ordered, partition: 2 },
      endMs: 14000,
      rolloutAtMs: 5000,
      revertAtMs: 9000,
      v2ErrorShare: 0.5,
      detection: { rule: 'failing', reason: '17 % of requests failed after the rollout' },
      pods: {
        'rollcall-0': v1Launch(0, 1300),
        'rollcall-1': v1Launch(1, 1300),
        'rollcall-2': [...v1Launch(2, 1300), [5000, 'terminating', 'v1'], [5500, 'starting', 'v2'], [6600, 'ready', 'v2'], [9000, 'terminating', 'v2'], [9500, 'starting', 'v1'], [10600, 'ready', 'v1']],
      },
      markers: [
        ...release(5000, 'errors:0.5'),
        replaced(5000, 'rollcall-2'),
        { atMs: 8800, kind: 'detected', label: 'bad release: 17 % of requests failed after the rollout' },
        ...revert(9000),
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
      markers: [...release(4000), ...[2, 1, 0].map((i, k) => replaced(4000 + k * 2200, `rollcall-${i}`)), { atMs: 10000, kind: 'done', label: 'every pod on v2 and serving' }],
    }),
  ];
  return {
    generatedAt: '2026-12-02T05:30:00.000Z',
    cluster: { kind: 'model', description: 'model (rehearsal/model)' },
    podEntry: 'built entry (server.js of sources 0123456789abcdef, from the build cache)',
    machine: { cpus: 2, cpuModel: 'Fixture CPU @ 2.0GHz', memoryGiB: 4, node: 'v24.0.0', platform: 'linux x64' },
    timeScale: 0.1,
    connections: 8,
    rate: 200,
    detectionRules:
      "a release is bad when a new pod's container exits 1 time(s), stays not Ready longer than the startup probe allows, or when ≥ 5 % of requests fail in the window after the rollout finished",
    runs,
  };
}
