// Every relative link in the README and docs/ points at a file that exists (the README was split into docs/ pages;
// a moved section must not leave a link behind that leads nowhere).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../bundle/schema.ts';

export function brokenLinks(file: string, text: string, exists: (p: string) => boolean): string[] {
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1]!)
    .filter((t) => !/^(https?:|mailto:|#)/.test(t))
    .filter((t) => !exists(path.join(path.dirname(file), t.split('#')[0]!)))
    .map((t) => `${path.relative(repoRoot, file)}: ${t}`);
}

test('brokenLinks finds a link to a missing file and ignores anchors and URLs', () => {
  const file = path.join(repoRoot, 'docs', 'x.md');
  const have = new Set([path.join(repoRoot, 'docs', 'a.md')]);
  assert.deepEqual(brokenLinks(file, '[a](a.md) [b](b.md#s) [c](#top) [d](https://e.org)', (p) => have.has(p)), ['docs/x.md: b.md#s']);
});

test('every relative link in README.md and docs/*.md resolves', () => {
  const files = [path.join(repoRoot, 'README.md'), ...readdirSync(path.join(repoRoot, 'docs')).filter((f) => f.endsWith('.md')).map((f) => path.join(repoRoot, 'docs', f))];
  assert.deepEqual(files.flatMap((f) => brokenLinks(f, readFileSync(f, 'utf8'), existsSync)), []);
});
