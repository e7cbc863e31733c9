// What the suites against the local control plane (testing/cluster/*.ts) share.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse as parseYaml } from 'yaml';
import { repoRoot } from '../../bundle/schema.ts';

/** Polls `probe` every half second until it returns a value, or fails after `ms` with what it saw last. */
export async function eventually<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await sleep(500);
  }
  throw new Error(`${what}: not within ${ms / 1000} s${last ? ` (last: ${(last as Error).message})` : ''}`);
}

/** The image tag the bundle deploys (kustomize/base/kustomization.yaml `images`): the build the node maps it to. */
export function bundleTag(): string {
  const k = parseYaml(readFileSync(path.join(repoRoot, 'kustomize/base/kustomization.yaml'), 'utf8')) as { images: { newTag: string }[] };
  const tag = k.images[0]?.newTag;
  if (!tag) throw new Error('kustomize/base/kustomization.yaml names no image tag');
  return tag;
}
