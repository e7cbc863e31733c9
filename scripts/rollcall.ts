#!/usr/bin/env node
// The project's command line. `rollcall compare [--overlay NAME]... [--scenario S]... [--delivery D] [--time-scale F] [--connections N] [--rate R] [--json] [--html FILE]`
import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { compare, loadPlans } from '../rehearsal/compare.ts';
import { writeHtmlReport } from '../rehearsal/report/html.ts';
import { formatTable } from '../rehearsal/report/table.ts';
import { argocdDelivery, DEFAULT_HORIZON_SECONDS, DEFAULT_REFRESH_SECONDS } from '../rehearsal/run/argocd-delivery.ts';
import { PodProcess } from '../rehearsal/run/pod-process.ts';
import { parseScenarios, SCENARIOS } from '../rehearsal/run/scenarios.ts';

/** 0.05: the full matrix (6 overlays × 5 scenarios) took 235 s on the project's 2-core machine; at 0.1 it took 7 min
 * (README, "Comparing rollout strategies"). The budget is 5 minutes. */
export const DEFAULT_TIME_SCALE = 0.05;

const USAGE = `usage: rollcall compare [--overlay NAME]... [--scenario S]... [--delivery D] [--argocd-refresh S] [--time-scale F] [--connections N] [--rate R] [--json] [--html FILE]

Renders kustomize/overlays/* with kustomize, then for each overlay and release scenario starts its StatefulSet as
real server processes, puts load on them through an emulated Service, releases v2 the way the overlay's update
strategy does, reverts to v1 when the release is bad (with the manual steps the StatefulSet rules require), and
reports what clients saw and what it took to get back.

  --overlay NAME     only this overlay (repeatable; default: all)
  --scenario S       release scenario: ${SCENARIOS.join(', ')} or all (repeatable; default: good)
  --delivery D       how a release reaches the cluster: kubectl (default: kubectl apply, hooks run right after it)
                     or argocd (Argo CD's automated sync as the bundle configures it: hook phases and deadlines,
                     retries, a revert that syncs only once the running operation is over; an operation still
                     Running ${DEFAULT_HORIZON_SECONDS} s (manifest time) after it started is reported as a hang).
                     A release that never becomes Ready holds the revert for 3 hook deadlines (111 s at time
                     scale 0.1), so four overlays took about 20 minutes under argocd at 0.1; the full matrix
                     takes under 5 under kubectl at the default scale
  --argocd-refresh S seconds from a push to Argo CD noticing it (default ${DEFAULT_REFRESH_SECONDS}: its resync period,
                     timeout.reconciliation; 0 = a Git webhook), manifest time
  --time-scale F     multiply the manifests' timings (probes, minReadySeconds, drain, back-off) by F
                     (default ${DEFAULT_TIME_SCALE}); process start-up is real time
  --connections N    concurrent clients (default 8)
  --rate R           requests per second over all clients, paced (default 200)
  --json             print the ComparisonReport (rehearsal/result.ts) as JSON instead of a table
  --html FILE        also write the report as one self-contained HTML file: the table, and per run a timeline
                     (a lane per pod, requests per 100 ms, markers); opens offline, prints on A4

Progress (overlay, scenario, phase, elapsed) goes to stderr. Exit code 1 if any visit was lost or duplicated, or
if an Argo CD sync hung (the revert never synced).`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      overlay: { type: 'string', multiple: true },
      scenario: { type: 'string', multiple: true },
      delivery: { type: 'string', default: 'kubectl' },
      'argocd-refresh': { type: 'string', default: String(DEFAULT_REFRESH_SECONDS) },
      'time-scale': { type: 'string', default: String(DEFAULT_TIME_SCALE) },
      connections: { type: 'string', default: '8' },
      rate: { type: 'string', default: '200' },
      json: { type: 'boolean', default: false },
      html: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || positionals[0] !== 'compare') {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const timeScale = Number(values['time-scale']);
  const connections = Number(values.connections);
  if (!(timeScale > 0 && timeScale <= 10)) throw new Error('--time-scale must be a number in (0, 10]');
  if (!(Number.isInteger(connections) && connections >= 1 && connections <= 256)) throw new Error('--connections must be an integer 1-256');
  if (values.delivery !== 'kubectl' && values.delivery !== 'argocd') throw new Error(`--delivery must be kubectl or argocd, got "${values.delivery}"`);
  const refreshSeconds = Number(values['argocd-refresh']);
  if (!(Number.isFinite(refreshSeconds) && refreshSeconds >= 0 && refreshSeconds <= 3600)) throw new Error(`--argocd-refresh must be seconds 0-3600, got "${values['argocd-refresh']}"`);
  const delivery = values.delivery === 'argocd' ? { delivery: argocdDelivery({ timeScale, refreshSeconds }) } : {};
  const rate = Number(values.rate);
  if (!(rate >= 1 && rate <= 10_000)) throw new Error('--rate must be a number 1-10000');
  const scenarios = parseScenarios(values.scenario);
  // Checked before the rehearsal, not after minutes of it: the folder of the report must exist and be writable.
  if (values.html !== undefined) await access(path.dirname(path.resolve(values.html)), constants.W_OK).catch(() => {
    throw new Error(`--html ${values.html}: its folder does not exist or is not writable`);
  });
  const started = performance.now();
  const report = await compare(
    await loadPlans(values.overlay),
    scenarios,
    { timeScale, connections, rate, steadyMs: 500, endpointPropagationMs: 1000, ...delivery },
    (line) => console.error(line),
  );
  console.log(values.json ? JSON.stringify(report, null, 2) : formatTable(report));
  if (values.html !== undefined) {
    await writeHtmlReport(report, values.html);
    console.error(`report written to ${values.html}`);
  }
  if (!values.json) console.log(`pods ran the ${report.podEntry}`);
  console.error(`time scale ${timeScale}: manifest timings ×${timeScale}; process start-up is real time.`);
  console.error(`detection: ${report.detectionRules}.`);
  console.error(`wall time ${((performance.now() - started) / 1000).toFixed(0)} s`);
  const hangs = report.runs.filter((run) => run.figures.sync?.hang);
  for (const run of hangs) console.error(`rollcall: ${run.overlay} × ${run.scenario}: Argo CD hang: ${run.figures.sync?.message}`);
  return hangs.length > 0 || report.runs.some((run) => run.figures.lost > 0 || run.figures.duplicated > 0) ? 1 : 0;
}

// Interrupted: the pods are our child processes; end them rather than leave servers behind.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    for (const pod of PodProcess.live) pod.kill();
    process.exit(130);
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: Error) => {
    for (const pod of PodProcess.live) pod.kill();
    console.error(`rollcall: ${error.message}`);
    process.exit(2);
  },
);
