// No product doc, comment or output cites this project's own issue numbers ("issue 10"): they mean nothing to a
// reader of the repository. Upstream references keep their repository (kubernetes#48388, argo-cd#17314).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from '../bundle/schema.ts';

const roots = ['README.md', 'docs', 'kustomize', 'argocd', 'src', 'scripts', 'rehearsal', 'bundle', 'bench', 'cluster', 'Dockerfile'];
const textFile = /\.(md|ts|mjs|js|sh|yaml|yml|json|html|css)$|Dockerfile$/;

function walk(p: string): string[] {
  let st;
  try {
    st = statSync(p);
  } catch {
    return [];
  }
  if (!st.isDirectory()) return textFile.test(p) ? [p] : [];
  return readdirSync(p).filter((n) => n !== 'node_modules' && !n.startsWith('.')).flatMap((n) => walk(join(p, n)));
}

const ownIssue = /\bissues?\s+#?\d+/i;

test('no product file cites our own issue numbers', () => {
  const hits: string[] = [];
  for (const f of roots.flatMap((r) => walk(join(repoRoot, r)))) {
    readFileSync(f, 'utf8').split('\n').forEach((line, i) => {
      if (ownIssue.test(line)) hits.push(`${relative(repoRoot, f)}:${i + 1}: ${line.trim().slice(0, 120)}`);
    });
  }
  assert.deepEqual(hits, []);
});

test('the pattern finds what it is for, and leaves upstream references alone', () => {
  for (const s of ['(issue 10)', 'issues 6 and 10', 'Issue #13']) assert.match(s, ownIssue);
  for (const s of ['kubernetes#48388', 'argo-cd#17314', 'its issue tracker', 'write-file-atomic #64']) assert.doesNotMatch(s, ownIssue);
});
