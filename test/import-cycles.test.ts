// The module graph has no cycles: a module that imports one that imports it back is two modules that should be one,
// or a third module both can import (bundle/policy-basics.ts, rehearsal/run/options.ts exist for that reason).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../bundle/schema.ts';

const sourceDirs = ['bundle', 'rehearsal', 'scripts', 'src', 'cluster', 'testing'];

function tsFiles(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => (e.isDirectory() ? (e.name === 'node_modules' ? [] : tsFiles(path.join(dir, e.name))) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

/** Relative imports of a module (static import/export ... from, and `import type`): what it needs before it runs. */
export function relativeImports(file: string, source: string): string[] {
  return [...source.matchAll(/^(?:import|export)\b[^'"]*?from\s+'(\.{1,2}\/[^']+)'/gm)].map((m) => path.resolve(path.dirname(file), m[1]!));
}

export function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const done = new Set<string>();
  const stack: string[] = [];
  const visit = (f: string) => {
    stack.push(f);
    for (const d of graph.get(f) ?? []) {
      const at = stack.indexOf(d);
      if (at >= 0) cycles.push([...stack.slice(at), d]);
      else if (!done.has(d) && graph.has(d)) visit(d);
    }
    stack.pop();
    done.add(f);
  };
  for (const f of graph.keys()) if (!done.has(f)) visit(f);
  return cycles;
}

test('findCycles finds a cycle of two and one of three, and none in a tree', () => {
  assert.deepEqual(findCycles(new Map([['a', ['b']], ['b', ['a']]])), [['a', 'b', 'a']]);
  assert.deepEqual(findCycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']]])), [['a', 'b', 'c', 'a']]);
  assert.deepEqual(findCycles(new Map([['a', ['b', 'c']], ['b', ['c']], ['c', []]])), []);
});

test('no import cycle among the project\'s modules', () => {
  const files = sourceDirs.flatMap((d) => tsFiles(path.join(repoRoot, d)));
  assert.ok(files.length > 50, `found ${files.length} modules`);
  const graph = new Map(files.map((f) => [f, relativeImports(f, readFileSync(f, 'utf8'))]));
  const cycles = findCycles(graph).map((c) => c.map((f) => path.relative(repoRoot, f)).join(' -> '));
  assert.deepEqual(cycles, []);
});
