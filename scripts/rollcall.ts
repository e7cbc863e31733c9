#!/usr/bin/env node
// The project's command line: `rollcall compare [options]` (the `rollcall` bin enters through scripts/rollcall.cjs,
// which checks the Node version first). Every word of the command line is checked before any work starts
// (scripts/lib/compare-args.ts), then the overlays are rendered and checked against the delivery, and only then
// does the rehearsal start. The rehearsal's modules are imported only then: a wrong word is answered without
// loading them.
import { listOverlays } from '../bundle/files.ts';
import { repoRoot } from '../bundle/schema.ts';
import { POD_START_LATENCY_MS } from '../rehearsal/model/pod-start.ts';
import { DEFAULT_KUBERNETES_VERSION } from '../rehearsal/model/statefulset-controller.ts';
import { releaseCluster, releaseOnInterrupt, useCluster } from '../rehearsal/cluster/in-use.ts';
import type { RehearsalCluster } from '../rehearsal/cluster/seam.ts';
import { PodProcess } from '../rehearsal/run/pod-process.ts';
import { CRASH_AFTER_MS, ERROR_SHARE, parseScenarios, SCENARIOS, SLOW_DELAY_MS } from '../rehearsal/run/scenarios.ts';
import { checkReportPath, parseCommandLine, UsageError, type Choices } from './lib/compare-args.ts';
import { exitWhenFlushed } from './lib/exit-flushed.ts';

/** 0.05: the full matrix (6 overlays × 5 scenarios) took 235 s on the project's 2-core machine; at 0.1 it took 7 min
 * (README, "Comparing rollout strategies"). The issue's budget is 5 minutes. */
export const DEFAULT_TIME_SCALE = 0.05;

const usage = (overlays: readonly string[], { DEFAULT_HORIZON_SECONDS, DEFAULT_REFRESH_SECONDS }: typeof import('../rehearsal/run/argocd-delivery.ts')) => `usage: rollcall compare [--overlay NAME]... [--scenario S]... [--cluster C] [--delivery D] [--argocd-refresh S] [--pod-start S] [--kubernetes V] [--clients C] [--time-scale F] [--connections N] [--rate R] [--json] [--html FILE]

Renders kustomize/overlays/* with kustomize, then for each overlay and release scenario starts its StatefulSet as
real server processes, puts load on them through an emulated Service, releases v2 the way the overlay's update
strategy does, reverts to v1 when the release is bad (with the manual steps the StatefulSet rules require), and
reports what clients saw and what it took to get back.

  --overlay NAME     only this overlay (repeatable; default: all): ${overlays.join(', ')}
  --scenario S       release scenario (repeatable; default: good), or all of them: all
                     good: a normal release; crash: v2 exits ${CRASH_AFTER_MS / 1000} s after start; unready: v2 never
                     becomes Ready; errors: ${ERROR_SHARE * 100} % of v2's visits fail; slow: v2 is Ready only ${SLOW_DELAY_MS / 1000} s after start
  --cluster C        where the releases run: model (default: the rehearsal's model of the StatefulSet controller,
                     kubelet and Service, with real server processes here), local (a real control plane on this
                     machine: etcd, kube-apiserver, controllers and scheduler built from the Kubernetes modules, pods
                     as processes under the node agent; needs root and Go or a cached build; started and stopped by
                     the command) or context=NAME (a context of your kubeconfig, e.g. context=kind-rollcall: its
                     nodes must be able to run the overlays' image). On a real cluster the release is applied with
                     kubectl apply --server-side (blue-green: each Git step of its README), the hook Jobs run there, the load runs in a pod through the
                     Service, and the overlay's namespace is deleted afterwards (one rollcall did not make is
                     refused). Times are the manifests' own (time scale 1): several minutes per overlay and scenario
  --delivery D       how a release reaches the cluster: kubectl (default: kubectl apply, hooks run right after it)
                     or argocd (Argo CD's automated sync as the bundle configures it: hook phases and deadlines,
                     retries, a revert that syncs only once the running operation is over; an operation still
                     Running ${DEFAULT_HORIZON_SECONDS} s (manifest time) after it started is reported as a hang).
                     A release that never becomes Ready holds the revert for 3 hook deadlines (111 s at time
                     scale 0.1), so four overlays took about 20 minutes under argocd at 0.1; the full matrix
                     takes under 5 under kubectl at the default scale. With --cluster local it is the real Argo CD
                     (its components built from the Go modules, run beside the control plane; also needs git and
                     redis-server): each release is a commit it syncs with the bundle's sync policy and hooks, and
                     its operation is read back through the API (a bad release holds the revert about 16 min)
  --argocd-refresh S seconds from a push to Argo CD noticing it (default ${DEFAULT_REFRESH_SECONDS}: its resync period,
                     timeout.reconciliation; 0 = a Git webhook), manifest time
  --pod-start S      the model's pod start latency, creation to container start, seconds of cluster time
                     (default ${POD_START_LATENCY_MS / 1000}: measured on the local control plane; a cluster that pulls
                     images takes longer)
  --kubernetes V     the Kubernetes version whose StatefulSet controller the model follows (default
                     ${DEFAULT_KUBERNETES_VERSION}, the local control plane's): the MaxUnavailableStatefulSet gate is on in
                     1.35.0-1.35.3 and from 1.37 (two phases under Parallel), off otherwise, and decides whether a
                     stuck pod under Parallel is replaced after a revert
  --clients C        per-request (default: a new connection for every request, so requests follow the Service at
                     once) or keep-alive (each client keeps one connection; kube-proxy balances connections, so it
                     stays on the pod it reached until the connection closes: after a blue-green switch on the old
                     colour until that is scaled down). The load pod of --cluster does the same
  --time-scale F     multiply the manifests' timings (probes, minReadySeconds, drain, back-off) by F
                     (default ${DEFAULT_TIME_SCALE}); process start-up is real time
  --connections N    concurrent clients (default 8)
  --rate R           requests per second over all clients, paced (default 200)
  --json             print the ComparisonReport (rehearsal/result.ts) as JSON instead of a table
  --html FILE        also write the report as one self-contained HTML file: the table, and per run a timeline
                     (a lane per pod, requests per 100 ms, markers); opens offline, prints on A4

Progress (overlay k of n, scenario, phase, elapsed, about how long is left) goes to stderr. Exit code 1 if any visit
was lost or duplicated, or if an Argo CD sync hung (the revert never synced); 2 for a wrong command line or a failure.`;

async function main(argv: string[]): Promise<number> {
  const overlays = listOverlays(repoRoot);
  const choices: Choices = {
    overlays,
    scenarios: SCENARIOS,
    defaults: { timeScale: DEFAULT_TIME_SCALE, connections: 8, rate: 200 },
  };
  const line = parseCommandLine(argv, choices);
  const argocd = await import('../rehearsal/run/argocd-delivery.ts');
  if (line.command === 'help') {
    console.log(usage(overlays, argocd));
    return 0;
  }
  const args = line.args;
  // Checked before the rehearsal, not after minutes of it.
  if (args.html !== undefined) await checkReportPath(args.html);
  if (args.cluster.kind === 'local') {
    const why = (await import('../rehearsal/cluster/kube/local.ts')).localClusterUnavailable();
    if (why) throw new UsageError(why);
    const noArgo = args.delivery === 'argocd' ? (await import('../cluster/argocd/stack.ts')).argocdStackUnavailable() : undefined;
    if (noArgo) throw new UsageError(`--cluster local --delivery argocd: ${noArgo}`);
  }
  const scenarios = parseScenarios(args.scenarios);
  const { compare, renderOverlays } = await import('../rehearsal/compare.ts');
  const { planFromObjects } = await import('../rehearsal/plan.ts');
  const rendered = await renderOverlays(args.overlays ?? overlays);
  if (args.delivery === 'argocd' && args.cluster.kind === 'model') {
    // The Argo CD rehearsal plays the part of the hooks it knows; an overlay with another kind of hook is refused now
    // rather than after the overlays before it have run.
    const cannot = rendered.flatMap(({ overlay, objects }) => {
      try {
        argocd.hookBehaviours(objects);
        return [];
      } catch (error) {
        return [{ overlay, why: (error as Error).message }];
      }
    });
    if (cannot.length > 0) {
      const can = rendered.map((r) => r.overlay).filter((o) => !cannot.some((c) => c.overlay === o));
      const named = args.overlays === undefined ? ' (all overlays are the default)' : '';
      const others = can.length > 0 ? `, or --delivery argocd with ${can.map((o) => `--overlay ${o}`).join(' ')}` : '';
      throw new UsageError(
        `--delivery argocd cannot drive overlay ${cannot.map((c) => c.overlay).join(', ')}${named}: ${cannot[0]!.why}; accepted: --delivery kubectl${others}`,
      );
    }
  }
  const plans = rendered.map(({ overlay, objects }) => planFromObjects(overlay, objects));
  const { timeScale, connections, rate } = args;
  const delivery = args.delivery === 'argocd' && args.cluster.kind === 'model' ? { delivery: argocd.argocdDelivery({ timeScale, ...(args.argocdRefreshSeconds === undefined ? {} : { refreshSeconds: args.argocdRefreshSeconds }) }) } : {};
  const started = performance.now();
  const progress = (text: string) => console.error(text);
  let cluster: RehearsalCluster | undefined;
  if (args.cluster.kind === 'local') {
    const { startLocalCluster } = await import('../rehearsal/cluster/kube/local.ts');
    cluster = useCluster(await startLocalCluster(progress, { argocd: args.delivery === 'argocd' }));
  } else if (args.cluster.kind === 'context') {
    const { kubeCluster } = await import('../rehearsal/cluster/kube/cluster.ts');
    cluster = useCluster(await kubeCluster({ context: args.cluster.context }, `context ${args.cluster.context}`));
  }
  let report;
  try {
    report = await compare(
      plans,
      scenarios,
      { timeScale, connections, rate, ...(args.podStartSeconds === undefined ? {} : { podStartLatencyMs: args.podStartSeconds * 1000 }), ...(args.kubernetes ? { kubernetesVersion: args.kubernetes } : {}), ...(args.clients ? { clients: args.clients } : {}), steadyMs: args.cluster.kind === 'model' ? 500 : 5000, endpointPropagationMs: 1000, ...delivery, ...(cluster ? { cluster } : {}) },
      progress,
    );
  } finally {
    await releaseCluster();
  }
  const { formatTable } = await import('../rehearsal/report/table.ts');
  console.log(args.json ? JSON.stringify(report, null, 2) : formatTable(report));
  if (args.html !== undefined) {
    const { writeHtmlReport } = await import('../rehearsal/report/html.ts');
    await writeHtmlReport(report, args.html);
    console.error(`report written to ${args.html}`);
  }
  if (!args.json) console.log(`pods ran the ${report.podEntry}`);
  console.error(`time scale ${timeScale}: manifest timings ×${timeScale}; process start-up is real time.`);
  console.error(`detection: ${report.detectionRules}.`);
  console.error(`wall time ${((performance.now() - started) / 1000).toFixed(0)} s`);
  const hangs = report.runs.filter((run) => run.figures.sync?.hang);
  for (const run of hangs) console.error(`rollcall: ${run.overlay} × ${run.scenario}: Argo CD hang: ${run.figures.sync?.message}`);
  return hangs.length > 0 || report.runs.some((run) => run.figures.lost > 0 || run.figures.duplicated > 0) ? 1 : 0;
}


// Interrupted: the pods are our child processes; end them rather than leave servers behind, and give a real cluster
// back (rehearsal/cluster/in-use.ts).
releaseOnInterrupt('rollcall');

main(process.argv.slice(2)).then(
  (code) => exitWhenFlushed(code),
  (error: Error) => {
    for (const pod of PodProcess.live) pod.kill();
    console.error(`rollcall: ${error.message}`);
    exitWhenFlushed(2);
  },
);
