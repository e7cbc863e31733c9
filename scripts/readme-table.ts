// `node scripts/readme-table.ts NAME REPORT.json [FILE]`: writes the table of a `rollcall compare --json` report into
// FILE (default README.md; the Argo CD matrix lives in docs/comparison.md) between the lines `<!-- BEGIN NAME -->` and `<!-- END NAME -->`, with the line that says
// when, where and at which settings it was measured. The README's comparison tables are made this way from a real run,
// so they cannot go blank or drift from what the command prints.
import { readFileSync, writeFileSync } from 'node:fs';
import { formatTable } from '../rehearsal/report/table.ts';
import type { ComparisonReport } from '../rehearsal/result.ts';

export function replaceBlock(text: string, name: string, body: string): string {
  const begin = `<!-- BEGIN ${name} -->`;
  const end = `<!-- END ${name} -->`;
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`no block ${begin} … ${end} in the file`);
  return `${text.slice(0, from + begin.length)}\n${body.trimEnd()}\n${text.slice(to)}`;
}

export function tableBlock(report: ComparisonReport): string {
  const m = report.machine;
  const when = report.generatedAt.slice(0, 10);
  return [
    `Measured ${when} on ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}; time scale ${report.timeScale},`,
    `${report.connections} connections, ${report.rate} requests/s.`,
    '',
    '```text',
    formatTable(report).trimEnd(),
    '```',
  ].join('\n');
}

if (import.meta.main) {
  const [name, reportFile, file = 'README.md'] = process.argv.slice(2);
  if (!name || !reportFile) {
    console.error('usage: node scripts/readme-table.ts NAME REPORT.json [FILE]');
    process.exit(2);
  }
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as ComparisonReport;
  writeFileSync(file, replaceBlock(readFileSync(file, 'utf8'), name, tableBlock(report)));
  console.error(`${file}: block ${name} written from ${reportFile} (${report.runs.length} runs)`);
}
