// Tests that render overlays need kustomize or kubectl: a skip with the reason for a user, a failure under CI=true,
// where the renderer is part of the contract.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { findRenderer, noRendererMessage } from '../../bundle/render.ts';

export const renderer = findRenderer();

export function requireRenderer(t: TestContext): boolean {
  if (renderer) return true;
  if (process.env['CI'] === 'true') assert.fail(`CI=true: ${noRendererMessage}`);
  t.skip(noRendererMessage);
  return false;
}
