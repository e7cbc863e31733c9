#!/usr/bin/env node
// The project's command line. `rollcall compare [--overlay NAME]... [--time-scale F] [--connections N] [--json]`
import { parseArgs } from 'node:util';
import { compare, formatTable } from '../rehearsal/compare.ts';
import { Pod } from '../rehearsal/pod.ts';

const USAGE = `usage: rollcall compare [--overlay NAME]... [--time-scale F] [--connections N] [--json]

Renders kustomize/overlays/* with kustomize, then for each overlay starts its StatefulSet as real server
processes, puts load on them through an emulated Service, rolls them to a new version the way the overlay's
update strategy does, and reports duration, downtime, failed requests and lost visits.

  --overlay NAME     only this overlay (repeatable; default: all)
  --time-scale F     multiply the manifests' timings (drain, probes, minReadySeconds) by F (default 1)
  --connections N    concurrent clients (default 8)
  --json             print JSON instead of a table`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      overlay: { type: 'string', multiple: true },
      'time-scale': { type: 'string', default: '1' },
      connections: { type: 'string', default: '8' },
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
  const rows = await compare(
    values.overlay,
    { timeScale, connections, steadyMs: 1000, endpointPropagationMs: 1000 },
    (line) => console.error(line),
  );
  console.log(values.json ? JSON.stringify(rows, null, 2) : formatTable(rows));
  console.error(`time scale ${timeScale}: manifest timings ×${timeScale}; process start-up is real time.`);
  return rows.some(({ result }) => result.lost > 0 || result.duplicated > 0) ? 1 : 0;
}

// Interrupted: the pods are our child processes; end them rather than leave servers behind.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    for (const pod of Pod.live) pod.kill();
    process.exit(130);
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(`rollcall: ${error.message}`);
    process.exit(2);
  },
);
