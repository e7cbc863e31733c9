// The StatefulSet controller model (rehearsal/model/statefulset-controller.ts), case by case. Each case names the
// code in kubernetes/kubernetes pkg/controller/statefulset/stateful_set_control.go it follows.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  nextCurrentRevision,
  podsToDeleteByHand,
  reconcile,
  type ControllerDecision,
  type PodView,
  type SetSpec,
  DEFAULT_KUBERNETES_VERSION,
  maxUnavailableMode,
} from '../rehearsal/model/statefulset-controller.ts';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const NOW = 100_000;
// Kubernetes 1.36 unless a case says otherwise: MaxUnavailableStatefulSet off, the plain update loop the cases cite.
const rolling = (over: Partial<SetSpec> = {}): SetSpec => ({
  kubernetes: '1.36.0',
  replicas: 3,
  podManagementPolicy: 'OrderedReady',
  updateStrategy: { type: 'RollingUpdate', partition: 0, maxUnavailable: 1 },
  minReadyMs: 10_000,
  currentRevision: 'v1',
  updateRevision: 'v2',
  ...over,
});
const pod = (revision: string, over: Partial<PodView> = {}): PodView => ({
  revision,
  terminating: false,
  failed: false,
  ready: true,
  readySinceMs: 0,
  ...over,
});
const stuck = (revision: string) => pod(revision, { ready: false, readySinceMs: null });

interface Case {
  name: string;
  source: string;
  spec: SetSpec;
  pods: (PodView | undefined)[];
  expect: ControllerDecision;
  byHand?: number[];
}

const cases: Case[] = [
  {
    name: 'OrderedReady launch creates ordinal 0 only, then waits',
    source: 'processReplica: !isCreated → create; monotonic → return',
    spec: rolling({ updateRevision: 'v1' }),
    pods: [],
    expect: { actions: [{ kind: 'create', ordinal: 0, revision: 'v1' }], waitingFor: { ordinal: 0, reason: 'not-ready' } },
  },
  {
    name: 'OrderedReady launch waits for minReadySeconds before the next ordinal',
    source: 'processReplica: !isRunningAndAvailable && monotonic → return',
    spec: rolling({ updateRevision: 'v1' }),
    pods: [pod('v1', { readySinceMs: NOW - 5000 })],
    expect: { actions: [], waitingFor: { ordinal: 0, reason: 'not-available' } },
  },
  {
    name: 'Parallel launch creates every ordinal at once',
    source: 'runForAll: !monotonic → slowStartBatch over all replicas',
    spec: rolling({ podManagementPolicy: 'Parallel', updateRevision: 'v1' }),
    pods: [],
    expect: {
      actions: [0, 1, 2].map((ordinal) => ({ kind: 'create' as const, ordinal, revision: 'v1' })),
      waitingFor: { ordinal: 2, reason: 'update-unavailable' },
    },
  },
  {
    name: 'RollingUpdate deletes the highest ordinal not at the update revision',
    source: 'updateStatefulSet: "terminate the Pod with the largest ordinal that does not match the update revision"',
    spec: rolling(),
    pods: [pod('v1'), pod('v1'), pod('v1')],
    expect: { actions: [{ kind: 'delete', ordinal: 2, reason: 'update' }] },
  },
  {
    name: 'the replaced ordinal is recreated at the update revision',
    source: 'newVersionedStatefulSetPod: ordinal ≥ partition → update revision',
    spec: rolling(),
    pods: [pod('v1'), pod('v1'), undefined],
    expect: { actions: [{ kind: 'create', ordinal: 2, revision: 'v2' }], waitingFor: { ordinal: 2, reason: 'not-ready' } },
  },
  {
    name: 'a new pod that never becomes Ready stalls the rollout after the first ordinal (OrderedReady)',
    source: 'processReplica: !isRunningAndReady && monotonic → return',
    spec: rolling(),
    pods: [pod('v1'), pod('v1'), stuck('v2')],
    expect: { actions: [], waitingFor: { ordinal: 2, reason: 'not-ready' } },
  },
  {
    name: 'the same stalls under Parallel too: the update loop waits for the unavailable updated pod',
    source: 'updateStatefulSet: "wait for unavailable Pods on update"',
    spec: rolling({ podManagementPolicy: 'Parallel' }),
    pods: [pod('v1'), pod('v1'), stuck('v2')],
    expect: { actions: [], waitingFor: { ordinal: 2, reason: 'update-unavailable' } },
  },
  {
    name: 'forced rollback: after the revert, OrderedReady never replaces the stuck pod of the bad revision',
    source: 'processReplica returns before the update loop (kubernetes#67250, docs "Forced rollback")',
    spec: rolling({ updateRevision: 'v1' }),
    pods: [pod('v1'), pod('v1'), stuck('v2')],
    expect: { actions: [], waitingFor: { ordinal: 2, reason: 'not-ready' } },
    byHand: [2],
  },
  {
    name: 'after the revert, Parallel replaces the stuck pod by itself',
    source: 'processReplica does not block when !monotonic; the update loop deletes it (kubernetes#96218)',
    spec: rolling({ podManagementPolicy: 'Parallel', updateRevision: 'v1' }),
    pods: [pod('v1'), pod('v1'), stuck('v2')],
    expect: { actions: [{ kind: 'delete', ordinal: 2, reason: 'update' }] },
    byHand: [],
  },
  {
    name: 'a Ready pod of the bad revision (errors) is rolled back by the controller after the revert',
    source: 'updateStatefulSet update loop: revision ≠ update revision → delete',
    spec: rolling({ updateRevision: 'v1' }),
    pods: [pod('v2'), pod('v2'), pod('v2')],
    expect: { actions: [{ kind: 'delete', ordinal: 2, reason: 'update' }] },
    byHand: [],
  },
  {
    name: 'partition: ordinals below it are not updated',
    source: 'updateStatefulSet: for target := len(replicas)-1; target >= updateMin',
    spec: rolling({ updateStrategy: { type: 'RollingUpdate', partition: 2, maxUnavailable: 1 } }),
    pods: [pod('v1'), pod('v1'), pod('v2')],
    expect: { actions: [] },
  },
  {
    name: 'partition: a missing ordinal below it is recreated at the current revision',
    source: 'newVersionedStatefulSetPod: ordinal < partition → current revision',
    spec: rolling({ updateStrategy: { type: 'RollingUpdate', partition: 2, maxUnavailable: 1 } }),
    pods: [pod('v1'), undefined, pod('v2')],
    expect: { actions: [{ kind: 'create', ordinal: 1, revision: 'v1' }], waitingFor: { ordinal: 1, reason: 'not-ready' } },
  },
  {
    name: 'OnDelete replaces nothing by itself',
    source: 'updateStatefulSet: OnDelete → return after processReplica ("Pods will be updated when they are manually deleted")',
    spec: rolling({ podManagementPolicy: 'Parallel', updateStrategy: { type: 'OnDelete' } }),
    pods: [pod('v1'), pod('v1'), pod('v1')],
    expect: { actions: [] },
    byHand: [0, 1, 2],
  },
  {
    name: 'OnDelete recreates deleted pods at the update revision, all at once under Parallel',
    source: 'processReplica create + newVersionedStatefulSetPod (OnDelete has no partition)',
    spec: rolling({ podManagementPolicy: 'Parallel', updateStrategy: { type: 'OnDelete' } }),
    pods: [],
    expect: { actions: [0, 1, 2].map((ordinal) => ({ kind: 'create' as const, ordinal, revision: 'v2' })) },
  },
  {
    name: 'a terminating pod blocks OrderedReady',
    source: 'processReplica: isTerminating && monotonic → return',
    spec: rolling(),
    pods: [pod('v1'), pod('v1', { terminating: true }), pod('v2')],
    expect: { actions: [], waitingFor: { ordinal: 1, reason: 'terminating' } },
  },
  {
    name: 'a Failed pod is deleted to be recreated',
    source: 'processReplica: isFailed || isSucceeded → DeleteStatefulPod',
    spec: rolling(),
    pods: [pod('v1', { failed: true, ready: false }), pod('v1'), pod('v1')],
    expect: { actions: [{ kind: 'delete', ordinal: 0, reason: 'failed' }], waitingFor: { ordinal: 0, reason: 'terminating' } },
  },
  {
    name: 'maxUnavailable 2 (gate MaxUnavailableStatefulSet on, 1.35.2) deletes two pods at once, highest first',
    source: 'updateStatefulSetAfterInvariantEstablished',
    spec: rolling({ kubernetes: '1.35.2', updateStrategy: { type: 'RollingUpdate', partition: 0, maxUnavailable: 2 } }),
    pods: [pod('v1'), pod('v1'), pod('v1')],
    expect: {
      actions: [
        { kind: 'delete', ordinal: 2, reason: 'update' },
        { kind: 'delete', ordinal: 1, reason: 'update' },
      ],
    },
  },
  {
    name: 'scale down (OrderedReady): the highest condemned ordinal first, one at a time',
    source: 'updateStatefulSet: condemned sorted descendingOrdinal; processCondemned deletes; monotonic → return',
    spec: rolling({ replicas: 0, updateRevision: 'v1' }),
    pods: [pod('v1'), pod('v1'), pod('v1')],
    expect: { actions: [{ kind: 'delete', ordinal: 2, reason: 'scale-down' }] },
  },
  {
    name: 'scale down (OrderedReady) waits for the condemned pod to terminate',
    source: 'processCondemned: isTerminating && monotonic → block',
    spec: rolling({ replicas: 0, updateRevision: 'v1' }),
    pods: [pod('v1'), pod('v1'), pod('v1', { terminating: true })],
    expect: { actions: [], waitingFor: { ordinal: 2, reason: 'terminating' } },
  },
  {
    name: 'scale down (OrderedReady) deletes a never-Ready pod: it is the first unhealthy pod',
    source: 'processCondemned: !isRunningAndReady && monotonic && not firstUnhealthyPod → block; it is the first',
    spec: rolling({ replicas: 0, updateRevision: 'v1' }),
    pods: [stuck('v2')],
    expect: { actions: [{ kind: 'delete', ordinal: 0, reason: 'scale-down' }] },
  },
  {
    name: 'scale down (OrderedReady) blocks on a higher Ready-but-unavailable pod while a lower one is unhealthy',
    source: 'processCondemned: !isRunningAndAvailable && monotonic && not firstUnhealthyPod → block',
    spec: rolling({ replicas: 0, updateRevision: 'v1' }),
    pods: [stuck('v1'), pod('v1', { readySinceMs: NOW - 1000 })],
    expect: { actions: [], waitingFor: { ordinal: 1, reason: 'scale-down' } },
  },
  {
    name: 'scale down (Parallel) deletes every condemned pod at once',
    source: 'runForAll: !monotonic → slowStartBatch over all condemned',
    spec: rolling({ podManagementPolicy: 'Parallel', replicas: 1, updateRevision: 'v1' }),
    pods: [pod('v1'), pod('v1'), stuck('v1')],
    expect: {
      actions: [
        { kind: 'delete', ordinal: 2, reason: 'scale-down' },
        { kind: 'delete', ordinal: 1, reason: 'scale-down' },
      ],
    },
  },
  {
    name: '1.36 (gate off): maxUnavailable 2 is dropped by the API server, one pod at a time',
    source: 'kube_features.go: beta, off in 1.35.4–1.36; updateStatefulSet plain loop',
    spec: rolling({ kubernetes: '1.36.0', updateStrategy: { type: 'RollingUpdate', partition: 0, maxUnavailable: 2 } }),
    pods: [pod('v1'), pod('v1'), pod('v1')],
    expect: { actions: [{ kind: 'delete', ordinal: 2, reason: 'update' }] },
  },
  {
    name: '1.35.2 (gate on, single phase): after the revert, Parallel leaves the stuck pod; a person deletes it',
    source: 'v1.34 updateStatefulSetAfterInvariantEstablished: unavailablePods >= maxUnavailable → return',
    spec: rolling({ kubernetes: '1.35.2', podManagementPolicy: 'Parallel', updateRevision: 'v1' }),
    pods: [pod('v1'), pod('v1'), stuck('v2')],
    expect: { actions: [] },
    byHand: [2],
  },
  {
    name: '1.37 (two phases): after the revert, Parallel deletes the stuck pod in the first phase',
    source: 'v1.37 updateStatefulSetAfterInvariantEstablished: Parallel phase 1, unavailable pods on an old revision',
    spec: rolling({ kubernetes: '1.37.2', podManagementPolicy: 'Parallel', updateRevision: 'v1' }),
    pods: [pod('v1'), pod('v1'), stuck('v2')],
    expect: { actions: [{ kind: 'delete', ordinal: 2, reason: 'update' }] },
    byHand: [],
  },
  {
    name: '1.37 (two phases): every stuck pod of an old revision at once, beyond maxUnavailable 1',
    source: 'v1.37 updateStatefulSetAfterInvariantEstablished: phase 1 is not limited by the budget',
    spec: rolling({ kubernetes: '1.37.2', podManagementPolicy: 'Parallel', updateRevision: 'v1' }),
    pods: [pod('v1'), stuck('v2'), stuck('v2')],
    expect: {
      actions: [
        { kind: 'delete', ordinal: 2, reason: 'update' },
        { kind: 'delete', ordinal: 1, reason: 'update' },
      ],
    },
  },
  {
    name: '1.37 (two phases): a crashing pod of the update revision stops the rollout',
    source: 'v1.37: unavailablePods >= maxUnavailable && unavailablePodsNeedingUpdate == 0 → return',
    spec: rolling({ kubernetes: '1.37.2', podManagementPolicy: 'Parallel' }),
    pods: [pod('v1'), pod('v1'), stuck('v2')],
    expect: { actions: [] },
    byHand: [],
  },
];

describe('StatefulSet controller model', () => {
  for (const c of cases) {
    test(`${c.name} (${c.source})`, () => {
      const decision = reconcile(c.spec, c.pods, NOW);
      assert.deepEqual(decision, c.expect);
      if (c.byHand) assert.deepEqual(podsToDeleteByHand(c.spec, c.pods, decision), c.byHand);
    });
  }

  test('the MaxUnavailableStatefulSet path of each Kubernetes version (kube_features.go, NOTES.md)', () => {
    for (const [version, mode] of [
      ['1.34.5', 'gate-off'],
      ['1.35.0', 'single-phase'],
      ['1.35.3', 'single-phase'],
      ['1.35.4', 'gate-off'],
      ['1.36.2', 'gate-off'],
      ['1.37.0', 'two-phase'],
      ['v1.37.2', 'two-phase'],
    ] as const) {
      assert.equal(maxUnavailableMode(version), mode, version);
    }
    assert.throws(() => maxUnavailableMode('latest'), /expected MAJOR\.MINOR/);
    assert.throws(() => maxUnavailableMode('2.0.0'), /only 1\.x/);
  });

  test('the default version is the local control plane\'s (cluster/go.mod)', () => {
    const goMod = readFileSync(path.join(import.meta.dirname, '../cluster/go.mod'), 'utf8');
    assert.match(goMod, new RegExp(`k8s\\.io/kubernetes v${DEFAULT_KUBERNETES_VERSION.replace(/\./g, '\\.')}\\b`));
  });

  test('no manual step for a pod that is merely starting at the update revision', () => {
    const spec = rolling({ updateRevision: 'v1' });
    const pods = [pod('v1'), pod('v1'), stuck('v1')];
    assert.deepEqual(podsToDeleteByHand(spec, pods, reconcile(spec, pods, NOW)), []);
  });

  test('the update revision becomes current once every pod runs it and is Ready (completeRollingUpdate)', () => {
    assert.equal(nextCurrentRevision(rolling(), [pod('v2'), pod('v2'), pod('v2')]), 'v2');
    assert.equal(nextCurrentRevision(rolling(), [pod('v1'), pod('v2'), pod('v2')]), 'v1');
    assert.equal(nextCurrentRevision(rolling(), [pod('v2'), pod('v2'), stuck('v2')]), 'v1');
  });
});
