// app.ts must stay a pure fetch handler that could run on any runtime: no node: imports, no environment, no listen.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';

for (const module of ['app.ts', 'visit-page.ts']) {
  test(`src/service/${module} imports nothing from node: and reads no environment`, async () => {
    const source = await readFile(new URL(`../src/service/${module}`, import.meta.url), 'utf8');
    assert.doesNotMatch(source, /from ['"]node:/);
    assert.doesNotMatch(source, /process\./);
    assert.doesNotMatch(source, /\.listen\(/);
    for (const [, imported] of source.matchAll(/^import (?!type)[^'"]*['"]([^'"]+)['"]/gm)) {
      assert.ok(!imported!.startsWith('node:') && !['fs', 'http', 'path', 'os'].includes(imported!), imported);
    }
  });
}
