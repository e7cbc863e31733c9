// The service is started one way everywhere: `npm start`, the image's CMD, the benchmark and `rollcall compare`
// all take the command from package.json (scripts/lib/service-command.ts). A flag changed in one place only would
// make the benchmark measure something else than what runs in the pod.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { serviceNodeFlags, startCommand } from '../scripts/lib/service-command.ts';

const root = path.resolve(import.meta.dirname, '..');

/** The exec-form CMD of the Dockerfile's last stage, as argv. */
function dockerfileCmd(): string[] {
  const lines = readFileSync(path.join(root, 'Dockerfile'), 'utf8').split('\n');
  const cmd = lines.filter((line) => line.startsWith('CMD ')).at(-1);
  assert.ok(cmd, 'the Dockerfile has a CMD');
  return JSON.parse(cmd.slice('CMD '.length)) as string[];
}

describe('service command', () => {
  test('npm start is node with flags and src/server.ts', () => {
    const argv = startCommand();
    assert.equal(argv[0], 'node');
    assert.equal(argv.at(-1), 'src/server.ts');
    assert.ok(serviceNodeFlags().includes('--max-semi-space-size=8'), 'the young generation is capped (docs/benchmarks.md, "Memory")');
  });

  test("the image's CMD is exactly the command of npm start", () => {
    assert.deepEqual(dockerfileCmd(), startCommand());
  });
});
