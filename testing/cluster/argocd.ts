// Real Argo CD (cluster/argocd/: the release cluster/go.mod requires, built from its Go modules) on the real control plane with the node agent as its
// node: the bundle synced from a local Git repository the way a user has one, then bad releases pushed and reverted,
// each sync operation recorded (phase changes with their times), and the bundle's previous Argo CD settings restored
// to show the real Argo CD hanging on them.
//
// Timings: the hook deadlines are scaled down for this suite by one component added to every overlay in one commit of
// the test's own repository (testing/cluster/fixtures/scaled-timings: smoke and recreate Jobs 120 s, their checks
// 90 s); every figure printed says so. How Argo CD notices a commit: a refresh request (the annotation
// `argocd.argoproj.io/refresh: normal`, what `argocd app get --refresh` and a Git webhook do) right after the push;
// the figures give the time from the push to the operation's start.
//
// Not named *.test.ts: `npm test` must not start a cluster; `npm run test:cluster` runs it. Needs root, Go, git,
// redis-server (Debian package) and nsenter/setpriv/ip for the node agent: a skip with the reason where one is
// missing, a failure under CI=true. ROLLCALL_ARGOCD_SOURCE: the checkout whose HEAD becomes the repository (default:
// this one). KEEP_CLUSTER_TMP=1 keeps the logs (Argo CD's under argocd/logs, every observation in observations.log).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { parse as parseYaml, parseDocument } from 'yaml';
import { goModText } from '../../cluster/go-build.ts';
import type { ApiClient } from '../../cluster/local/api.ts';
import { argocdReportedVersion, kustomizeBinary } from '../../cluster/argocd/build.ts';
import { applyObject } from '../../cluster/argocd/install.ts';
import { argocdStackUnavailable, releaseVersion, SCALED_TIMINGS, startArgoCDStack, type ArgoCDStack } from '../../cluster/argocd/stack.ts';
import {
  ApplicationWatch,
  operationOver,
  overlayNames,
  recoveredBy,
  releaseBadBuild,
  setBadRelease,
  forcedRollback,
  visitWhileRunning,
  type Application,
  type ManualStep,
  type Observation,
} from '../../cluster/argocd/releases.ts';
import { eventually } from '../support/cluster-helpers.ts';

const exec = promisify(execFile);
// Its own name and transit subnet: a control plane started by hand, or by another suite, is left alone.
const OPTIONS = { name: 'rc-argocd', subnet: 203, nodeName: 'argocd-node' };
/** Pods each overlay's README says to delete by hand after reverting a crashing release. */
const MANUAL_STEP: Record<string, string[]> = { rolling: ['rollcall-2'], recreate: [] };
/** The scaled hook deadline (fixtures/scaled-timings) and retry.limit 2 with 10 s, 20 s back-off: 3 × 120 + 30 s. */
const BAD_SYNC_BOUND_MS = (3 * 120 + 30) * 1000;

const reason = argocdStackUnavailable();
if (reason && process.env.CI === 'true') {
  test('Argo CD can run here (CI=true)', () => assert.fail(reason));
}

describe('real Argo CD on the local control plane', { skip: reason ?? false }, () => {
  let tmp: string;
  let stack: ArgoCDStack;
  let api: ApiClient;
  let watch: ApplicationWatch;
  const figures: Record<string, unknown> = { timings: `${SCALED_TIMINGS}; commits noticed by a refresh request` };
  const report = (key: string, value: unknown) => {
    figures[key] = value;
    console.log(`# ${key}: ${JSON.stringify(value)}`);
  };
  const app = (name: string) => watch.get(name);
  const refresh = (name: string) => watch.refresh(name);
  const record = (name: string, ms: number, done: (o: Observation) => boolean) => watch.record(name, ms, done);

  before(
    async () => {
      tmp = mkdtempSync(path.join(os.tmpdir(), 'rollcall-argocd-'));
      stack = await startArgoCDStack({
        ...OPTIONS,
        dir: tmp,
        log: (line) => console.log(`# ${line}`),
        // CONTROLPLANE_BINARY: a binary built elsewhere; ROLLCALL_ARGOCD_SOURCE: the checkout the repository is made of.
        ...(process.env.CONTROLPLANE_BINARY ? { controlPlaneBinary: process.env.CONTROLPLANE_BINARY } : {}),
        ...(process.env.ROLLCALL_ARGOCD_SOURCE ? { source: process.env.ROLLCALL_ARGOCD_SOURCE } : {}),
      });
      api = stack.api;
      watch = new ApplicationWatch(api, path.join(tmp, 'observations.log'));
      report('argocd start (ms, binaries at hand)', stack.argocd.readyAfterMs);
    },
    { timeout: 3_600_000 },
  );

  after(async () => {
    console.log(`# figures: ${JSON.stringify(figures)}`);
    await stack?.stop();
    if (tmp && !process.env.KEEP_CLUSTER_TMP) rmSync(tmp, { recursive: true, force: true });
    else if (tmp) console.log(`# kept ${tmp}`);
  });

  test(`every component reports Argo CD ${argocdReportedVersion(goModText())} and keeps running`, async () => {
    await sleep(2000);
    for (const c of stack.argocd.components) {
      assert.equal(c.exit, undefined, `${c.component} exited: ${readFileSync(c.log, 'utf8').slice(-2000)}`);
    }
    const controllerLog = readFileSync(stack.argocd.components.find((c) => c.component === 'argocd-application-controller')!.log, 'utf8');
    const version = argocdReportedVersion(goModText()).replace(/[.+]/g, '\\$&');
    assert.match(controllerLog, new RegExp(`version="?${version}"?`));
  });

  test('the root app-of-apps, its ApplicationSet and one Application per overlay: all Synced and Healthy', { timeout: 1_200_000 }, async () => {
    const started = performance.now();
    const { stdout } = await exec(await kustomizeBinary(), ['build', path.join(stack.repo.work, 'argocd/root')]);
    const rootApp = parseYaml(stdout) as Application & { apiVersion: string; kind: string; metadata: { namespace: string } };
    assert.equal(rootApp.metadata.name, 'rollcall-root');
    await applyObject(api, rootApp);
    const names = overlayNames(stack.repo.work).map((o) => `rollcall-${o}`);
    const times: Record<string, number> = {};
    for (const name of ['rollcall-root', ...names]) {
      await eventually(`${name} Synced and Healthy`, 900_000, async () => {
        const a = await app(name).catch(() => undefined);
        return a?.status?.sync?.status === 'Synced' && a.status.health?.status === 'Healthy' ? true : undefined;
      });
      times[name] = Math.round(performance.now() - started);
    }
    report('Synced and Healthy after (ms from applying the root)', times);
  });

  // The first sync of a good release ends by itself and succeeds, every overlay: its hooks pass. Recorded before the
  // node agent had a cluster DNS, every one ended Failed on its smoke hook, which could not resolve the pods'
  // *.svc.cluster.local names (docs/argocd-local.md); the agent now answers them (docs/local-control-plane.md,
  // "The cluster DNS"), and the analysis controller uses it too.
  test('the first sync of every overlay ends by itself and succeeds: its hooks ran and passed', { timeout: 1_200_000 }, async () => {
    const names = overlayNames(stack.repo.work).map((o) => `rollcall-${o}`);
    const outcomes: Record<string, Observation> = {};
    for (const name of names) {
      const done = await record(name, 900_000, (o) => o.phase !== undefined && o.phase !== 'Running');
      outcomes[name] = done.changes.at(-1)!;
    }
    report('first sync outcomes', outcomes);
    for (const [name, o] of Object.entries(outcomes)) {
      assert.ok(o.hooks, `${name}: no hook ran (${o.message})`);
      assert.equal(o.phase, 'Succeeded', `${name}: ${o.phase} ${o.message} (hooks: ${o.hooks})`);
    }
  });

  // One release commit for both overlays (the bad-release component set to crash and added to each), watched side by
  // side: the component is one file every overlay shares, so a second overlay's release in another mode could not run
  // at the same time, and one commit halves the suite's longest wait (each bad sync takes about 4 min to end).
  test('rolling and recreate: a crash release\'s sync ends by itself, Failed; the revert syncs and each overlay recovers', { timeout: 1_800_000 }, async () => {
    const overlays = ['rolling', 'recreate'];
    const release = await stack.repo.commit(`release: ${overlays.join(' and ')} crash`, async (work) => {
      await setBadRelease(work, 'crash');
      for (const overlay of overlays) await releaseBadBuild(work, overlay, releaseVersion());
    });
    const pushed = performance.now();
    for (const overlay of overlays) await refresh(`rollcall-${overlay}`);
    const bad = await Promise.all(
      overlays.map((overlay) =>
        record(`rollcall-${overlay}`, BAD_SYNC_BOUND_MS + 120_000, operationOver(release)),
      ),
    );
    overlays.forEach((overlay, i) => report(`${overlay} crash: sync operation`, bad[i]));
    overlays.forEach((overlay, i) => {
      assert.ok(bad[i]!.ended, `${overlay}: the crash release's sync did not end within ${(BAD_SYNC_BOUND_MS + 120_000) / 1000} s`);
      assert.equal(bad[i]!.changes.at(-1)?.phase, 'Failed', overlay);
    });

    const revert = await stack.repo.revert(release);
    const revertPushed = performance.now();
    for (const overlay of overlays) await refresh(`rollcall-${overlay}`);
    const recoveries = await Promise.all(
      overlays.map(async (overlay) => {
        const name = `rollcall-${overlay}`;
        // The manual step each overlay's README names for a crashing release (kustomize/overlays/*/README.md, table "A
        // bad release"), taken as the matrix takes it (releases.ts StuckPods): once the revert is stored, a pod that
        // stays not Ready off the StatefulSet's update revision for 20 s is deleted. Deleting it as soon as the
        // Application shows Synced was too early once the Application was watched rather than polled: the StatefulSet
        // controller had not yet taken the revert's revision, and the pod came back from the bad template.
        const manual: ManualStep[] = [];
        const tick = forcedRollback(api, name, () => revert, (step) => manual.push(step));
        const recorded = await watch.record(name, 600_000, recoveredBy(revert), { tick });
        return { overlay, manual, ...recorded };
      }),
    );
    for (const { overlay, manual, changes, ended } of recoveries) {
      report(`${overlay} crash: revert`, { changes, ended, manual: manual.map((step) => step.command), revertPushedAfterReleaseMs: Math.round(revertPushed - pushed) });
    }
    for (const { overlay, manual, ended } of recoveries) {
      assert.ok(ended, `${overlay} did not recover after the revert${manual.length ? ` and ${manual.map((step) => step.command).join('; ')}` : ''}`);
      // rolling: the forced rollback (OrderedReady never replaces a pod that never became Ready, kubernetes#67250);
      // recreate: none (its hook deletes the pods).
      assert.deepEqual(manual.map((step) => step.pod), MANUAL_STEP[overlay], `${overlay}: the pods deleted by hand`);
    }
  });

  test('canary-analysis: an errors release is failed by the real analysis controller, its sync ends by itself; the revert recovers', { timeout: 1_800_000 }, async () => {
    const overlay = 'canary-analysis';
    const name = `rollcall-${overlay}`;
    const release = await stack.repo.commit(`release: ${overlay} errors`, async (work) => {
      await setBadRelease(work, 'errors:0.5');
      await releaseBadBuild(work, overlay, releaseVersion());
    });
    // The analysis judges the canary's answers to its clients (GET /stats error_share): give it clients, a few
    // visits a second through the API server's pod proxy, as a Service's clients would.
    const traffic = visitWhileRunning(api, name, 'rollcall-2');
    try {
      const pushed = performance.now();
      await refresh(name);
      const bad = await record(name, BAD_SYNC_BOUND_MS + 120_000, operationOver(release));
      const runs = await api.get<{ items: AnalysisRun[] }>(`/apis/argoproj.io/v1alpha1/namespaces/${name}/analysisruns`);
      report(`${overlay} errors: sync operation`, { ...bad, analysisRuns: runs.items.map(summariseAnalysisRun), canaryVisits: traffic.counts() });
      assert.ok(bad.ended, `the errors release's sync did not end within ${(BAD_SYNC_BOUND_MS + 120_000) / 1000} s`);
      const last = bad.changes.at(-1)!;
      assert.equal(last.phase, 'Failed');
      assert.match(last.hooks ?? '', /AnalysisRun\/[^:]+:(Failed|Error)/, 'the AnalysisRun hook failed it');
      assert.ok(runs.items.some((r) => r.status?.phase === 'Failed'), 'the analysis controller judged the canary Failed');

      // kustomize/overlays/canary-analysis/README.md, "Abort": revert the release commit; no manual step (the errors
      // release is Ready, so the controller replaces rollcall-2 by itself).
      const revert = await stack.repo.revert(release);
      const revertPushed = performance.now();
      await refresh(name);
      const recovered = await record(name, 600_000, recoveredBy(revert));
      report(`${overlay} errors: revert`, { ...recovered, manual: [], revertPushedAfterReleaseMs: Math.round(revertPushed - pushed) });
      assert.ok(recovered.ended, `${overlay} did not recover after the revert`);
    } finally {
      await traffic.stop();
    }
  });

  test('regression: the previous settings (CreateNamespace with managedNamespaceMetadata, PruneLast, no Namespace in the bundle) make the crash release hang', { timeout: 1_800_000 }, async () => {
    const name = 'rollcall-rolling';
    // The bundle as it was before every sync was made single-step: the ApplicationSet's CreateNamespace with
    // managedNamespaceMetadata and PruneLast, and no Namespace object in the bundle. The Namespace matters: gitops-engine
    // adds its PreSync Namespace task only when the target objects hold no Namespace of that name
    // (pkg/sync/sync_context.go autoCreateNamespace), so the options alone do not make the sync multi-step.
    await stack.repo.commit('test: the Argo CD settings before the single-step fix', async (work) => {
      const file = path.join(work, 'argocd/applicationset/applicationset.yaml');
      const doc = parseDocument(await readFile(file, 'utf8'));
      const policy = ['spec', 'template', 'spec', 'syncPolicy'];
      const options = (doc.getIn([...policy, 'syncOptions']) as { toJSON(): string[] } | undefined)?.toJSON() ?? [];
      doc.setIn([...policy, 'syncOptions'], [...new Set([...options, 'CreateNamespace=true', 'PruneLast=true'])]);
      doc.setIn([...policy, 'managedNamespaceMetadata'], { labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' } });
      await writeFile(file, doc.toString());
      const base = path.join(work, 'kustomize/base/kustomization.yaml');
      const kustomization = parseDocument(await readFile(base, 'utf8'));
      const resources = (kustomization.get('resources') as { toJSON(): string[] }).toJSON();
      kustomization.set('resources', resources.filter((r) => r !== 'namespace.yaml'));
      await writeFile(base, kustomization.toString());
    });
    await refresh('rollcall-root');
    await eventually('the root synced the old settings', 300_000, async () => ((await app('rollcall-root')).status?.sync?.status === 'Synced' ? true : undefined));
    // Healthy with no operation running (the Namespace left in the cluster, Prune=false, may show as OutOfSync).
    await refresh(name);
    await eventually(`${name} Healthy under the old settings, its operation ended`, 900_000, async () => {
      const a = await app(name);
      return a.status?.health?.status === 'Healthy' && a.status.operationState?.phase !== 'Running' ? true : undefined;
    });
    const release = await stack.repo.commit('release: rolling crash (old settings)', async (work) => {
      await setBadRelease(work, 'crash');
      await releaseBadBuild(work, 'rolling', releaseVersion());
    });
    await refresh(name);
    // The watch starts when the release's operation does: in the run of 2026-12-03 20:41 Argo CD took 213 s to start
    // it after the refresh request, and a window counted from the push ended before the hook's 90 s check had.
    const started = await record(name, 600_000, (o) => o.revision === release.slice(0, 8));
    assert.ok(started.ended, 'the release\'s operation started');
    // Two scaled hook deadlines: the fixed bundle's first attempt had failed long before (rolling test above).
    const watched = await record(name, 2 * 120_000 + 60_000, () => false);
    const hang = { changes: [...started.changes, ...watched.changes], ended: watched.ended };
    report('old settings, rolling crash: sync operation', hang);
    const ours = hang.changes.filter((o) => o.revision === release.slice(0, 8));
    const last = ours.at(-1)!;
    assert.match(last.phases ?? '', /PreSync/, 'the sync is multi-step (a PreSync Namespace task)');
    assert.match(last.hooks ?? '', /Job\/rollcall-smoke:(Failed|Error)/, 'its smoke hook has failed');
    assert.equal(last.phase, 'Running', 'the operation is still Running');
    assert.ok(
      ours.every((o) => !o.retryCount && !/Retrying/.test(o.message ?? '')),
      'its first attempt never ended (no retry): Argo CD waits for the StatefulSet, which a crash never makes Healthy or Degraded',
    );
  });
});

interface AnalysisRun {
  metadata: { name: string };
  status?: { phase?: string; message?: string; metricResults?: { name: string; phase?: string; successful?: number; failed?: number; error?: number; measurements?: { phase?: string; value?: string; message?: string }[] }[] };
}

function summariseAnalysisRun(r: AnalysisRun): unknown {
  return {
    name: r.metadata.name,
    phase: r.status?.phase,
    message: r.status?.message,
    metrics: r.status?.metricResults?.map((m) => ({ name: m.name, phase: m.phase, successful: m.successful, failed: m.failed, error: m.error, values: m.measurements?.map((x) => x.value ?? x.message) })),
  };
}
