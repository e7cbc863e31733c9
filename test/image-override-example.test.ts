// docs/examples/own-registry: the kustomize `images:` override docs/image.md tells a user to copy. Rendered with the
// real kustomize, every container of the overlay (the StatefulSet and the hook Jobs) must run the user's image at the
// version the manifests name, and none may be left on ghcr.io/rollcall, where nothing is published.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { render } from '../bundle/render.ts';
import { renderer, requireRenderer } from '../testing/support/renderer.ts';

const root = path.resolve(import.meta.dirname, '..');
const version = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;

function images(objects: readonly unknown[]): string[] {
  const out: string[] = [];
  const walk = (value: unknown, key?: string) => {
    if (typeof value === 'string' && key === 'image') out.push(value);
    else if (Array.isArray(value)) value.forEach((v) => walk(v));
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, k);
  };
  walk(objects);
  return out;
}

describe('the own-registry example', () => {
  test('moves every container of the rolling overlay to the user\'s registry, at the manifests\' version', async (t) => {
    if (!requireRenderer(t)) return;
    const own = images((await render(renderer!, 'docs/examples/own-registry', root)).objects);
    const original = images((await render(renderer!, 'kustomize/overlays/rolling', root)).objects);
    assert.ok(original.length >= 2, `the StatefulSet and at least one hook Job: ${original.join(', ')}`);
    assert.equal(own.length, original.length);
    assert.deepEqual(new Set(own), new Set([`registry.example.com/you/rollcall:${version}`]));
  });
});
