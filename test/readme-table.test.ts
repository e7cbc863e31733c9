// scripts/readme-table.ts: a README block replaced from a report, and refused when its markers are missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { replaceBlock } from '../scripts/readme-table.ts';
import { repoRoot } from '../bundle/schema.ts';

test('replaces exactly the text between the markers, keeps the rest', () => {
  const text = 'a\n<!-- BEGIN t -->\nold\nrows\n<!-- END t -->\nb\n';
  assert.equal(replaceBlock(text, 't', 'new\n'), 'a\n<!-- BEGIN t -->\nnew\n<!-- END t -->\nb\n');
  assert.throws(() => replaceBlock('a\n', 't', 'x'), /no block <!-- BEGIN t -->/);
});

test('every generated block in the README and docs/ holds a table, never blank lines', () => {
  const readme = ['README.md', ...readdirSync(`${repoRoot}/docs`).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)].map((f) => readFileSync(`${repoRoot}/${f}`, 'utf8')).join('\n');
  const blocks = [...readme.matchAll(/<!-- BEGIN ([\w-]+) -->\n([\s\S]*?)<!-- END \1 -->/g)];
  assert.ok(blocks.length > 0, 'the README has generated blocks');
  // A table: a fenced block with a header row over a rule of dashes, and rows under it; or a Markdown table whose
  // header names the overlays, over its rule, with rows under it.
  const fenced = /```text\n(?:[^\n]*\n)*?[^\n]*overlay[^\n]*\n-{3,}[ -]*\n[^`]+```/;
  const markdown = /^\| overlay[^\n]*\|\n\|[-|]+\|\n(?:\|[^\n]+\|\n)+/m;
  for (const [, name, body] of blocks) assert.ok(fenced.test(body!) || markdown.test(body!), `block ${name} has no table`);
});
