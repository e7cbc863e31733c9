// `npm run fidelity [-- --overlay O]... [--scenario S]... [--cluster local|context=NAME] [--json] [--write]`:
// rehearses each overlay × scenario on the model (time scale 1) and on a real cluster (default: --cluster local,
// which needs root), and prints the two side by side (rehearsal/fidelity.ts). --json prints the FidelityReport;
// --write also records it in docs/fidelity.json and writes the tables of docs/fidelity.md (block fidelity) and of
// the README (block fidelity-summary), so the published figures are a real run's.
// `--from FILE --write` writes the blocks from a FidelityReport printed earlier with --json, without running again.
// Defaults: every overlay, each with a good and a crashing release (about 40 min on 2 cores).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { listOverlays } from '../bundle/files.ts';
import { repoRoot } from '../bundle/schema.ts';
import { compare, loadPlans } from '../rehearsal/compare.ts';
import { fidelity, fidelityMarkdown, type FidelityReport } from '../rehearsal/fidelity.ts';
import { releaseCluster, releaseOnInterrupt, useCluster } from '../rehearsal/cluster/in-use.ts';
import { parseScenarios } from '../rehearsal/run/scenarios.ts';
import { replaceBlock } from './readme-table.ts';

/** 1: the model at the manifests' own timings, like the real cluster. At a smaller scale the model's process
 * start-up (real time) is stretched by 1 / scale when read as cluster time, which would show as a difference that
 * is the rehearsal's, not the model's. */
const MODEL_TIME_SCALE = 1;
const MEASURED_PROPAGATION_MS = 200;

/** The README's tables: a good and a crashing release on each overlay, real figures with the model's beside them. */
export function summaryBlock(report: FidelityReport): string {
  const cell = (m: string, r: string) => (m === r ? r : `${r} (model: ${m})`);
  const s = (x: number | null) => (x === null ? '–' : `${Math.round(x)} s`);
  const down = (x: number | undefined) => (x === undefined ? '?' : `${x} s`);
  const replaced = (side: FidelityReport['rows'][number]['model']) => side.replaced.join(' → ') || 'none';
  const rows = (scenario: string) => report.rows.filter((r) => r.scenario === scenario);
  return [
    `What each overlay did on the real controllers (${report.real.description}), the model's figure in brackets where it`,
    `differs; measured ${report.generatedAt.slice(0, 10)} with \`npm run fidelity -- --write\` (details: [docs/fidelity.md](docs/fidelity.md)).`,
    '',
    'A good release:',
    '',
    '| overlay | pods replaced | rollout | requests failed during | down |',
    '|---|---|---|---|---|',
    ...rows('good').map(
      (r) => `| ${r.overlay} | ${cell(replaced(r.model), replaced(r.real))} | ${cell(s(r.model.rolloutS), s(r.real.rolloutS))} | ${cell(r.model.failed.during, r.real.failed.during)} | ${cell(down(r.model.downS), down(r.real.downS))} |`,
    ),
    '',
    'A crashing release:',
    '',
    '| overlay | pods replaced | stopped by itself | requests failed during | down | revert → recovered | manual steps |',
    '|---|---|---|---|---|---|---|',
    ...rows('crash').map(
      (r) =>
        `| ${r.overlay} | ${cell(replaced(r.model), replaced(r.real))} | ${cell(r.model.stoppedByItself ? 'yes' : 'no', r.real.stoppedByItself ? 'yes' : 'no')} | ${cell(r.model.failed.during, r.real.failed.during)} | ${cell(down(r.model.downS), down(r.real.downS))} | ${cell(s(r.model.revertToRecoveredS), s(r.real.revertToRecoveredS))} | ${cell(r.model.manualSteps.join('; ') || 'none', r.real.manualSteps.join('; ') || 'none')} |`,
    ),
  ].join('\n');
}

function write(report: FidelityReport, log: (line: string) => void): void {
  writeFileSync(path.join(repoRoot, 'docs/fidelity.json'), `${JSON.stringify(report, null, 2)}\n`);
  for (const [file, name, body] of [
    ['docs/fidelity.md', 'fidelity', fidelityMarkdown(report)],
    ['README.md', 'fidelity-summary', summaryBlock(report)],
  ] as const) {
    const at = path.join(repoRoot, file);
    writeFileSync(at, replaceBlock(readFileSync(at, 'utf8'), name, body));
    log(`${file}: block ${name} written`);
  }
}

async function run(values: { overlay?: string[]; scenario?: string[]; cluster?: string }, log: (line: string) => void): Promise<FidelityReport> {
  const overlays = values.overlay ?? ['rolling', 'parallel', 'recreate', 'canary', 'canary-analysis', 'blue-green'];
  for (const o of overlays) if (!listOverlays(repoRoot).includes(o)) throw new Error(`--overlay ${o}: not an overlay`);
  const scenarios = parseScenarios(values.scenario ?? ['good', 'crash']);
  const plans = await loadPlans(overlays);
  // Kept-alive clients on both sides: what kube-proxy does with them is part of what is compared. The model's endpoint
  // propagation delay is the local control plane's, measured: a Service change reached new connections within
  // 0-0.17 s (testing/cluster/blue-green.ts, docs/local-control-plane.md); `rollcall compare` keeps 1 s, a
  // multi-node cluster's order. The same steady load before and after on both sides.
  const options = { connections: 8, rate: 200, endpointPropagationMs: MEASURED_PROPAGATION_MS, clients: 'keep-alive' as const, steadyMs: 5000 };
  log(`model, time scale ${MODEL_TIME_SCALE}`);
  const model = await compare(plans, scenarios, { ...options, timeScale: MODEL_TIME_SCALE }, log);
  const which = values.cluster ?? 'local';
  const context = /^context=(.+)$/.exec(which)?.[1];
  if (which !== 'local' && !context) throw new Error(`--cluster ${which}: local or context=NAME`);
  const { startLocalCluster } = await import('../rehearsal/cluster/kube/local.ts');
  const { kubeCluster } = await import('../rehearsal/cluster/kube/cluster.ts');
  const cluster = useCluster(context ? await kubeCluster({ context }, `context ${context}`) : await startLocalCluster(log));
  try {
    return fidelity(model, await compare(plans, scenarios, { ...options, timeScale: 1, cluster }, log));
  } finally {
    await releaseCluster();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { overlay: { type: 'string', multiple: true }, scenario: { type: 'string', multiple: true }, cluster: { type: 'string' }, json: { type: 'boolean' }, write: { type: 'boolean' }, from: { type: 'string' } },
  });
  const log = (line: string) => console.error(line);
  releaseOnInterrupt('fidelity');
  const report = values.from ? (JSON.parse(readFileSync(values.from, 'utf8')) as FidelityReport) : await run(values, log);
  console.log(values.json ? JSON.stringify(report, null, 2) : fidelityMarkdown(report));
  if (values.write) write(report, log);
}
