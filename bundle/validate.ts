// `npm run validate`: renders every overlay and argocd/ entry point with real kustomize and checks everything
// (schemas including unknown fields, policies, Argo CD wiring). Prints one line per overlay / entry point and every
// problem; exits 1 on any problem, 2 when nothing can render (no kustomize, no kubectl).
import { validateBundle } from './bundle.ts';
import { formatProblem } from './types.ts';

const started = performance.now();
const report = await validateBundle();
const ms = Math.round(performance.now() - started);

if (report.skipped) {
  console.error(`validate: ${report.skipped}`);
  for (const p of report.problems) console.error(`  ${formatProblem(p)}`);
  process.exitCode = 2;
} else {
  console.log(`renderer: ${report.renderer?.version}`);
  for (const o of report.overlays) {
    const sts = o.objects.find((x) => x.kind === 'StatefulSet');
    const spec = (sts?.['spec'] ?? {}) as { podManagementPolicy?: string; updateStrategy?: { type?: string; rollingUpdate?: { partition?: number } } };
    const strategy = `${spec.podManagementPolicy ?? '?'} / ${spec.updateStrategy?.type ?? '?'}${spec.updateStrategy?.rollingUpdate?.partition !== undefined ? ` partition ${spec.updateStrategy.rollingUpdate.partition}` : ''}`;
    const kinds = [...new Set(o.objects.map((x) => String(x.kind)))].join(', ');
    console.log(`${o.problems.length === 0 ? 'ok  ' : 'FAIL'} overlay ${o.name.padEnd(9)} ${o.namespace.padEnd(18)} ${String(o.objects.length).padStart(2)} objects (${strategy}; ${kinds})${o.problems.length ? `: ${o.problems.length} problem(s)` : ''}`);
  }
  for (const a of report.argocd) {
    console.log(`${a.problems.length === 0 ? 'ok  ' : 'FAIL'} ${a.entry.padEnd(20)} ${a.objects.map((x) => `${String(x.kind)}/${x.metadata?.name}`).join(', ')}${a.problems.length ? `: ${a.problems.length} problem(s)` : ''}`);
  }
  if (report.documentedCommand) console.log(`${report.documentedCommand.ok && report.documentedCommand.sameAsRootRender ? 'ok  ' : 'FAIL'} documented command (in ${report.documentedCommand.cwd}): ${report.documentedCommand.command}`);
  const fileProblems = report.files.length;
  console.log(`${fileProblems === 0 ? 'ok  ' : 'FAIL'} source files (kustomizations, YAML style, READMEs, raw argocd/ schemas)${fileProblems ? `: ${fileProblems} problem(s)` : ''}`);
  for (const p of report.problems) console.log(`  ${formatProblem(p)}`);
  console.log(report.problems.length === 0 ? `validate: all checks passed (${ms} ms)` : `validate: ${report.problems.length} problem(s) (${ms} ms)`);
  process.exitCode = report.problems.length === 0 ? 0 : 1;
}
