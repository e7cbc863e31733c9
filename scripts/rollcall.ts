#!/usr/bin/env node
// The project's command line. `rollcall compare [--overlay NAME]... [--scenario S]... [--time-scale F] [--connections N] [--rate R] [--json]`
import { parseArgs } from 'node:util';
import { compare, loadPlans } from '../rehearsal/compare.ts';
import { formatTable } from '../rehearsal/report/table.ts';
import { PodProcess } from '../rehearsal/run/pod-process.ts';
import { parseScenarios, SCENARIOS } from '../rehearsal/run/scenarios.ts';

/** 0.1: 4 overlays × 5 scenarios in under 5 minutes on a shared 2-core machine; all 6 overlays take about 7 (README). */
export const DEFAULT_TIME_SCALE = 0.1;

const USAGE = `usage: rollcall compare [--overlay NAME]... [--scenario S]... [--time-scale F] [--connections N] [--rate R] [--json]

Renders kustomize/overlays/* with kustomize, then for each overlay and release scenario starts its StatefulSet as
real server processes, puts load on them through an emulated Service, releases v2 the way the overlay's update
strategy does, reverts to v1 when the release is bad (with the manual steps the StatefulSet rules require), and
reports what clients saw and what it took to get back.

  --overlay NAME     only this overlay (repeatable; default: all)
  --scenario S       release scenario: ${SCENARIOS.join(', ')} or all (repeatable; default: good)
  --time-scale F     multiply the manifests' timings (probes, minReadySeconds, drain, back-off) by F
                     (default ${DEFAULT_TIME_SCALE}); process start-up is real time
  --connections N    concurrent clients (default 8)
  --rate R           requests per second over all clients, paced (default 200)
  --json             print the ComparisonReport (rehearsal/result.ts) as JSON instead of a table

Progress (overlay, scenario, phase, elapsed) goes to stderr. Exit code 1 if any visit was lost or duplicated.`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      overlay: { type: 'string', multiple: true },
      scenario: { type: 'string', multiple: true },
      'time-scale': { type: 'string', default: String(DEFAULT_TIME_SCALE) },
      connections: { type: 'string', default: '8' },
      rate: { type: 'string', default: '200' },
      json: { type: 'boolean', default: false },
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
  const rate = Number(values.rate);
  if (!(rate >= 1 && rate <= 10_000)) throw new Error('--rate must be a number 1-10000');
  const scenarios = parseScenarios(values.scenario);
  const started = performance.now();
  const report = await compare(
    await loadPlans(values.overlay),
    scenarios,
    { timeScale, connections, rate, steadyMs: 500, endpointPropagationMs: 1000 },
    (line) => console.error(line),
  );
  console.log(values.json ? JSON.stringify(report, null, 2) : formatTable(report));
  console.error(`time scale ${timeScale}: manifest timings ×${timeScale}; process start-up is real time.`);
  console.error(`detection: ${report.detectionRules}.`);
  console.error(`wall time ${((performance.now() - started) / 1000).toFixed(0)} s`);
  return report.runs.some((run) => run.figures.lost > 0 || run.figures.duplicated > 0) ? 1 : 0;
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
