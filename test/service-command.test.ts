// The service is started one way everywhere: `npm start`, the image's CMD (on the bundled entry), the benchmark and
// `rollcall compare` all take the Node flags from package.json (scripts/lib/service-command.ts). A flag changed in
// one place only would make the benchmark measure something else than what runs in the pod.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { imageCommand, serviceNodeFlags, startCommand } from '../scripts/lib/service-command.ts';

const root = path.resolve(import.meta.dirname, '..');

/** The exec-form CMD of the Dockerfile's last stage, as argv. */
function dockerfileCmd(): string[] {
  const lines = readFileSync(path.join(root, 'Dockerfile'), 'utf8').split('\n');
  const cmd = lines.filter((line) => line.startsWith('CMD ')).at(-1);
  assert.ok(cmd, 'the Dockerfile has a CMD');
  return JSON.parse(cmd.slice('CMD '.length)) as string[];
}

describe('service command', () => {
  test('npm start execs node with flags and src/server.ts (so signals reach the server)', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.match(pkg.scripts['start'] ?? '', /^exec node /);
    const argv = startCommand();
    assert.equal(argv[0], 'node');
    assert.equal(argv.at(-1), 'src/server.ts');
    assert.ok(serviceNodeFlags().includes('--max-semi-space-size=8'), 'the young generation is capped (docs/benchmarks.md, "Memory")');
  });

  test("the image's CMD is the bundled entry with the flags of npm start", () => {
    assert.deepEqual(dockerfileCmd(), ['node', ...serviceNodeFlags(), 'server.js']);
    assert.deepEqual(dockerfileCmd(), imageCommand());
  });

  test('every npm script that runs one long-lived program execs it', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    for (const name of ['start', 'dev', 'bench', 'compare', 'test:faults', 'test:container']) {
      assert.match(pkg.scripts[name] ?? '', /(^|\s)exec node /, `scripts.${name} execs node`);
    }
  });
});
