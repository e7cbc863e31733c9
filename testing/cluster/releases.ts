// Releases rolled by the real StatefulSet controller, with the hooks run as ordinary Jobs under their real service
// accounts and Roles (what scripts/cluster/apply-plain.sh does without Argo CD): per overlay, a good release, a
// crashing one (BAD_RELEASE=crash in the StatefulSet's env, as a release would set it), then the revert. Every pod
// creation, deletion, restart and Ready transition is recorded with its controller-revision-hash and time, compared
// with what the overlay's README says, and written as JSON (RECORD_DIR, e.g. testing/cluster/recorded) for the
// rehearsal model's tests. The recreate overlay is also run with its Role's `delete` removed: the hook fails with
// the API server's 403.
// The smoke hook reaches each pod by its real DNS name (rollcall-N.rollcall-headless.<ns>.svc.cluster.local), answered
// by the node agent's cluster DNS from the headless Service's EndpointSlices (cluster/node-agent/cluster-dns.ts).
// Timings scaled down, the same way for every overlay (shortenHooks below): the smoke and recreate hooks give up
// after HOOK_TIMEOUT_MS instead of 300 s, so a crashing release's failed hook is seen in minutes.
// Not named *.test.ts: `npm test` must not start a cluster; `npm run test:cluster` runs it. Needs root and Go (or a
// cached control plane binary): a skip with the reason where either is missing, a failure under CI=true.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import { spawnNodeAgent, type SpawnedNodeAgent } from '../../cluster/node-agent/agent.ts';
import { runKubectl } from '../../cluster/local/kubectl.ts';
import { startControlPlane, type ControlPlane } from '../../cluster/local/control-plane.ts';
import { KubeApi, loadKubeConfig } from '../../cluster/node-agent/kube-api.ts';
import { eventually, whyNoNodeSuite } from '../support/cluster-helpers.ts';
import { buildReleaseImages, isReady, PodRecorder, release, tagOf, type Obj, type PodEvent, type PodObj, type Release } from '../support/release-recording.ts';

const exec = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
// Its own name, transit subnet and node: other control planes on this host (other test files, `npm run cluster`)
// are left alone.
const OPTIONS = { name: 'rc-release', subnet: 205, nodeName: 'releases-node' };
/** The hooks' own give-up time, scaled down from 300 s (SMOKE_TIMEOUT_MS, RECREATE_TIMEOUT_MS). */
const HOOK_TIMEOUT_MS = 90_000;
/** How long a release is watched after its hooks ended, to see whether the controller goes on by itself. */
const SETTLE_MS = 20_000;
/** How long a revert is left to the controller before the manual step the README names is taken. */
const REVERT_WAIT_MS = 45_000;

const reason = whyNoNodeSuite();
if (reason && process.env['CI'] === 'true') {
  test('releases can run here (CI=true)', () => assert.fail(reason));
}

// ---- manifests -------------------------------------------------------------------------------------------------

/** The hooks' timeouts scaled down, identically for every overlay: HOOK_TIMEOUT_MS instead of 300 s. */
function shortenHooks(docs: Obj[]): Obj[] {
  for (const d of docs) {
    if (d.kind !== 'Job') continue;
    for (const c of d.spec.template.spec.containers as { env?: { name: string; value?: string }[] }[]) {
      for (const e of c.env ?? []) if (e.name === 'SMOKE_TIMEOUT_MS' || e.name === 'RECREATE_TIMEOUT_MS') e.value = String(HOOK_TIMEOUT_MS);
    }
  }
  return docs;
}

// ---- what is recorded ------------------------------------------------------------------------------------------

interface ReleaseRecord {
  release: Release;
  events: PodEvent[];
  /** Pods deleted by the controller or a hook, in order (the manual step's deletion excluded). */
  replacedOrder: string[];
  hooks: Record<string, { outcome: 'Complete' | 'Failed' | 'running'; exitCode?: number; log?: string; afterMs: number }>;
  /** For a crash: whether the rollout stopped (pods left on the old revision after the hooks gave up and SETTLE_MS). */
  stoppedWith?: { updated: string[]; notUpdated: string[] };
  /** For a revert: whether the controller restored every pod by itself within REVERT_WAIT_MS, else the step taken. */
  manualStep?: string;
  doneAfterMs?: number;
}

// ---- the suite -------------------------------------------------------------------------------------------------

interface Expectation {
  overlay: string;
  /** What the overlay's README says about a crashing release and its revert. */
  readme: { crashReplaces: string[]; revertManualStep: boolean };
}

const EXPECTED: Expectation[] = [
  // kustomize/overlays/rolling/README.md, "A bad release": rollcall-2 replaced, stops there; revert + delete rollcall-2.
  { overlay: 'rolling', readme: { crashReplaces: ['rollcall-2'], revertManualStep: true } },
  // kustomize/overlays/recreate/README.md: every pod replaced (full outage); the revert's hook recreates them, no manual step.
  { overlay: 'recreate', readme: { crashReplaces: ['rollcall-0', 'rollcall-1', 'rollcall-2'], revertManualStep: false } },
  // kustomize/overlays/parallel/README.md: rollcall-2 replaced, the update waits; the controller replaces it itself (kubernetes#96218).
  { overlay: 'parallel', readme: { crashReplaces: ['rollcall-2'], revertManualStep: false } },
  // kustomize/overlays/canary/README.md: only the canary rollcall-2; revert + delete rollcall-2 (kubernetes#67250).
  { overlay: 'canary', readme: { crashReplaces: ['rollcall-2'], revertManualStep: true } },
];
const only = process.env['RELEASES_OVERLAYS']?.split(',');
const selected = EXPECTED.filter((e) => !only || only.includes(e.overlay));

describe('releases on the real StatefulSet controller, hooks as Jobs with their Roles', { skip: reason ?? false }, () => {
  let cp: ControlPlane;
  let agent: SpawnedNodeAgent;
  let api: KubeApi;
  let tmp: string;
  let base = '';
  const recorded: Record<string, unknown> = {};
  const findings: string[] = [];

  const kubectl = (args: string[], input?: string) => runKubectl({ kubeconfig: cp.kubeconfigs.admin }, args, input);

  async function render(overlay: string): Promise<Obj[]> {
    const { stdout } = await exec('kubectl', ['kustomize', path.join(root, 'kustomize/overlays', overlay)], { maxBuffer: 16 << 20 });
    return shortenHooks(parseAllDocuments(stdout).map((d) => d.toJS() as Obj).filter(Boolean));
  }

  /** apply-plain.sh's steps: finished hook Jobs deleted, the release applied server-side like a user. */
  async function apply(ns: string, docs: Obj[]): Promise<void> {
    const del = await kubectl(['-n', ns, 'delete', 'jobs', '-l', 'app.kubernetes.io/part-of=rollcall', '--ignore-not-found', '--cascade=foreground', '--wait=true']);
    assert.equal(del.code, 0, del.stderr);
    const r = await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=rollcall-test', '-f', '-'], docs.map((d) => stringify(d)).join('---\n'));
    assert.equal(r.code, 0, r.stderr);
  }

  type Sts = { metadata: { generation: number }; spec: { replicas: number; template: { spec: { containers: { image: string }[] } }; updateStrategy: { type: string; rollingUpdate?: { partition?: number } } }; status: { observedGeneration?: number; updateRevision?: string; currentRevision?: string; readyReplicas?: number } };
  const sts = (ns: string) => api.get<Sts>(`/apis/apps/v1/namespaces/${ns}/statefulsets/rollcall`);
  const observed = (ns: string) => eventually('the controller observed the new generation', 30_000, async () => {
    const s = await sts(ns);
    return (s.status.observedGeneration ?? 0) >= s.metadata.generation ? s : undefined;
  });

  /** Every hook Job's outcome, its pod's exit code and log (the node agent keeps each container's log). */
  async function hookOutcomes(ns: string, recorder: PodRecorder, waitMs: number): Promise<ReleaseRecord['hooks']> {
    type Job = { metadata: { name: string }; status: { conditions?: { type: string; status: string }[] } };
    const out: ReleaseRecord['hooks'] = {};
    const jobs = await eventually('hook Jobs finished', waitMs, async () => {
      const list = await api.get<{ items: Job[] }>(`/apis/batch/v1/namespaces/${ns}/jobs`);
      const done = list.items.every((j) => j.status.conditions?.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True'));
      return done ? list.items : undefined;
    });
    for (const j of jobs) {
      const failed = j.status.conditions?.some((c) => c.type === 'Failed' && c.status === 'True');
      const pods = await api.get<{ items: PodObj[] }>(`/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(`job-name=${j.metadata.name}`)}`);
      const last = pods.items.at(-1);
      const exitCode = last?.status.containerStatuses?.[0]?.state?.terminated?.exitCode;
      let log: string | undefined;
      if (last) {
        const dir = path.join(tmp, 'node', 'pods');
        const podDir = readdirSync(dir).find((d) => d.endsWith(`_${last.metadata.uid}`));
        const logDir = podDir ? path.join(dir, podDir, 'logs') : undefined;
        if (logDir && existsSync(logDir)) {
          const container = readdirSync(logDir)[0];
          if (container) log = readFileSync(path.join(logDir, container, '0.log'), 'utf8').split('\n').filter(Boolean).slice(-6).join('\n');
        }
      }
      out[j.metadata.name] = { outcome: failed ? 'Failed' : 'Complete', ...(exitCode !== undefined ? { exitCode } : {}), ...(log ? { log } : {}), afterMs: recorder.elapsed() };
    }
    return out;
  }

  /** Waits until every pod at or above the partition runs the update revision and every replica is Ready. */
  async function rolledOut(ns: string, recorder: PodRecorder, ms: number): Promise<boolean> {
    try {
      await eventually('rolled out', ms, async () => {
        const s = await sts(ns);
        const partition = s.spec.updateStrategy.rollingUpdate?.partition ?? 0;
        const pods = await recorder.snapshot();
        const ok =
          pods.length === s.spec.replicas &&
          pods.every((p) => isReady(p) && !p.metadata.deletionTimestamp) &&
          pods.every((p) => Number(p.metadata.name.split('-').at(-1)) < partition || p.metadata.labels?.['controller-revision-hash'] === s.status.updateRevision);
        return ok ? true : undefined;
      });
      return true;
    } catch {
      return false;
    }
  }

  before(
    async () => {
      tmp = mkdtempSync(path.join(os.tmpdir(), 'rollcall-releases-'));
      chmodSync(tmp, 0o711);
      const binary = process.env['CONTROLPLANE_BINARY'];
      cp = await startControlPlane({ ...OPTIONS, ...(binary ? { binary } : {}), stateDir: path.join(tmp, 'control-plane'), log: (line) => console.log(`# ${line}`) });
      const built = await buildReleaseImages(path.join(tmp, 'images'));
      const images = built.images;
      base = built.base;
      agent = await spawnNodeAgent({
        kubeconfig: cp.kubeconfigs.node,
        provisionerKubeconfig: cp.kubeconfigs.admin,
        dnsKubeconfig: cp.kubeconfigs.admin,
        stateDir: path.join(tmp, 'node'),
        images,
        netns: cp.netns,
        logFile: path.join(tmp, 'node-agent.log'),
        apiVia: cp.proxy.mode === 'none' ? 'direct' : 'service',
      });
      api = new KubeApi(loadKubeConfig(cp.kubeconfigs.admin));
    },
    { timeout: 3_600_000 },
  );

  after(async () => {
    const dir = process.env['RECORD_DIR'] ? path.resolve(process.env['RECORD_DIR']) : path.join(tmp ?? os.tmpdir(), 'recorded');
    mkdirSync(dir, { recursive: true });
    for (const [name, data] of Object.entries(recorded)) writeFileSync(path.join(dir, `${name}.json`), `${JSON.stringify(data, null, 2)}\n`);
    console.log(`# recorded in ${dir}: ${Object.keys(recorded).join(', ')}`);
    for (const f of findings) console.log(`# finding: ${f}`);
    for (const r of PodRecorder.running) await r.end();
    await agent?.stop();
    await api?.close();
    await cp?.stop();
    if (tmp && !process.env['KEEP_CLUSTER_TMP']) rmSync(tmp, { recursive: true, force: true });
    else if (tmp) console.log(`# kept ${tmp}`);
  });

  for (const { overlay, readme } of selected) {
    test(`${overlay}: a good release, a crashing one, the revert`, { timeout: 900_000 }, async () => {
      const ns = `rollcall-${overlay}`;
      const docs = await render(overlay);
      const recorder = new PodRecorder(api, ns);
      const records: ReleaseRecord[] = [];
      const t0 = Date.now();

      // Launch.
      await apply(ns, release(docs, 'launch', base));
      await observed(ns);
      assert.ok(await rolledOut(ns, recorder, 240_000), 'launch: every replica Ready');
      const launchRev = (await sts(ns)).status.updateRevision!;
      recorder.names.set(launchRev, 'launch');
      const launchHooks = await hookOutcomes(ns, recorder, HOOK_TIMEOUT_MS + 30_000);
      for (const [name, h] of Object.entries(launchHooks)) assert.equal(h.outcome, 'Complete', `launch: hook ${name}: ${h.log}`);
      const launchMs = Date.now() - t0;

      for (const which of ['good', 'crash', 'revert'] as const) {
        await recorder.begin();
        await apply(ns, release(docs, which, base));
        const s = await observed(ns);
        if (!recorder.names.has(s.status.updateRevision!)) recorder.names.set(s.status.updateRevision!, which);
        const rec: ReleaseRecord = { release: which, events: [], replacedOrder: [], hooks: {} };
        if (which === 'good') {
          assert.ok(await rolledOut(ns, recorder, 240_000), 'good release: every replica Ready on the new revision');
          rec.doneAfterMs = recorder.elapsed();
          rec.hooks = await hookOutcomes(ns, recorder, HOOK_TIMEOUT_MS + 30_000);
          for (const [name, h] of Object.entries(rec.hooks)) assert.equal(h.outcome, 'Complete', `good release: hook ${name} passes: ${h.log}`);
        } else if (which === 'crash') {
          rec.hooks = await hookOutcomes(ns, recorder, HOOK_TIMEOUT_MS + 60_000);
          assert.equal(rec.hooks['rollcall-smoke']?.outcome, 'Failed', 'crashing release: the smoke check fails');
          assert.notEqual(rec.hooks['rollcall-smoke']?.exitCode, 0);
          await sleep(SETTLE_MS);
          const pods = await recorder.snapshot();
          const update = (await sts(ns)).status.updateRevision;
          rec.stoppedWith = {
            updated: pods.filter((p) => p.metadata.labels?.['controller-revision-hash'] === update).map((p) => p.metadata.name).sort(),
            notUpdated: pods.filter((p) => p.metadata.labels?.['controller-revision-hash'] !== update).map((p) => p.metadata.name).sort(),
          };
        } else {
          const byItself = await rolledOut(ns, recorder, REVERT_WAIT_MS);
          if (!byItself) {
            // The forced rollback the README names: delete the pods of the crashing revision that never became Ready.
            const update = (await sts(ns)).status.updateRevision;
            const stuck = (await recorder.snapshot()).filter((p) => p.metadata.labels?.['controller-revision-hash'] !== update && !isReady(p)).map((p) => p.metadata.name);
            rec.manualStep = `after ${REVERT_WAIT_MS / 1000} s without progress: kubectl delete pod ${stuck.join(' ')}`;
            for (const name of stuck) assert.equal((await kubectl(['-n', ns, 'delete', 'pod', name, '--wait=false'])).code, 0);
            assert.ok(await rolledOut(ns, recorder, 240_000), 'revert: every replica Ready after the manual step');
          }
          rec.doneAfterMs = recorder.elapsed();
          rec.hooks = await hookOutcomes(ns, recorder, HOOK_TIMEOUT_MS + 30_000);
        }
        rec.events = await recorder.end();
        const manualAt = rec.manualStep ? rec.events.find((e) => e.event === 'deleting' && e.atMs >= REVERT_WAIT_MS)?.atMs ?? Infinity : Infinity;
        rec.replacedOrder = rec.events.filter((e) => e.event === 'deleting' && e.atMs < manualAt).map((e) => e.pod);
        records.push(rec);
        console.log(`# ${overlay} ${which}: replaced ${rec.replacedOrder.join(', ') || 'none'}; hooks ${JSON.stringify(Object.fromEntries(Object.entries(rec.hooks).map(([k, v]) => [k, `${v.outcome} ${v.exitCode ?? ''}`])))}${rec.stoppedWith ? `; stopped with ${JSON.stringify(rec.stoppedWith)}` : ''}${rec.manualStep ? `; manual: ${rec.manualStep}` : ''}`);
      }

      recorded[overlay] = { overlay, kubernetes: (await api.get<{ gitVersion: string }>('/version')).gitVersion, hookTimeoutMs: HOOK_TIMEOUT_MS, settleMs: SETTLE_MS, revertWaitMs: REVERT_WAIT_MS, launchMs, readme, releases: records };

      // Compared with the README: each difference is a finding (printed and recorded), and the test fails on it.
      const crash = records.find((r) => r.release === 'crash')!;
      const revert = records.find((r) => r.release === 'revert')!;
      const crashReplaced = [...new Set(crash.replacedOrder)].sort();
      const mismatches: string[] = [];
      if (JSON.stringify(crashReplaced) !== JSON.stringify(readme.crashReplaces)) mismatches.push(`${overlay}: the crashing release replaced ${crashReplaced.join(', ') || 'nothing'}; the README says ${readme.crashReplaces.join(', ')}`);
      if (!!revert.manualStep !== readme.revertManualStep) mismatches.push(`${overlay}: the revert ${revert.manualStep ? `needed a manual step (${revert.manualStep})` : 'needed no manual step'}; the README says ${readme.revertManualStep ? 'one is needed' : 'none is'}`);
      for (const [name, h] of Object.entries(revert.hooks)) if (h.outcome !== 'Complete') mismatches.push(`${overlay}: after the revert the hook ${name} ended ${h.outcome}: ${h.log ?? ''}`);
      (recorded[overlay] as Record<string, unknown>)['differences'] = mismatches;
      findings.push(...mismatches);
      if (overlay === 'recreate') {
        const good = records.find((r) => r.release === 'good')!;
        assert.deepEqual([...new Set(good.replacedOrder)].sort(), ['rollcall-0', 'rollcall-1', 'rollcall-2'], 'the recreate hook deleted every outdated pod');
      }
      assert.deepEqual(mismatches, []);
    });
  }

  test('recreate: with the Role’s `delete` removed the hook fails with the API server’s 403', { timeout: 600_000, skip: only && !only.includes('recreate-403') ? 'not selected' : false }, async () => {
    const ns = 'rollcall-recreate';
    const docs = (await render('recreate')).map((d) => {
      if (d.kind !== 'Role' || d.metadata.name !== 'rollcall-recreate') return d;
      return { ...d, rules: d.rules!.map((r: { verbs: string[] }) => ({ ...r, verbs: r.verbs.filter((v) => v !== 'delete') })).filter((r: { verbs: string[] }) => r.verbs.length > 0) };
    });
    assert.ok(docs.some((d) => d.kind === 'Role' && d.metadata.name === 'rollcall-recreate'), 'the overlay has the Role rollcall-recreate');
    const recorder = new PodRecorder(api, ns);
    // Run alone, the overlay is launched first (its hook has nothing to delete then); after the recreate test it
    // holds the reverted release, and the next template gives the hook three pods to delete.
    const existing = await api.find<Sts>(`/apis/apps/v1/namespaces/${ns}/statefulsets/rollcall`);
    const previous = existing?.spec.template.spec.containers[0]?.image.endsWith(`:${tagOf(base, 'crash')}`) ? 'crash' : 'other';
    if (!existing) {
      await apply(ns, release(docs, 'launch', base));
      await observed(ns);
      assert.ok(await rolledOut(ns, recorder, 240_000));
      await hookOutcomes(ns, recorder, HOOK_TIMEOUT_MS + 30_000);
    }
    // A new template: the hook now has pods to delete, and no right to.
    await recorder.begin();
    await apply(ns, release(docs, previous === 'crash' ? 'good' : 'crash', base));
    const hooks = await hookOutcomes(ns, recorder, HOOK_TIMEOUT_MS + 60_000);
    const events = await recorder.end();
    const hook = hooks['rollcall-recreate'];
    recorded['recreate-403'] = { hooks, events };
    assert.equal(hook?.outcome, 'Failed', 'the recreate hook fails');
    assert.equal(hook?.exitCode, 1);
    assert.match(hook?.log ?? '', /403/, `its log names the 403: ${hook?.log}`);
    assert.equal(events.filter((e) => e.event === 'deleting').length, 0, 'no pod was deleted');
  });
});
