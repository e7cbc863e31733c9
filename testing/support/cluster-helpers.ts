// What the suites against the local control plane (testing/cluster/*.ts) share.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse as parseYaml } from 'yaml';
import { repoRoot } from '../../bundle/schema.ts';
import { cachedBinaryPath, findGo } from '../../cluster/controlplane/build.ts';
import { missingPrivileges } from '../../cluster/local/control-plane.ts';

/** Why the local control plane cannot run here (root, and Go or a cached binary), or undefined. */
export function whyNoControlPlane(): string | undefined {
  const privileges = missingPrivileges();
  if (privileges) return privileges;
  if (!findGo() && !existsSync(cachedBinaryPath())) return 'Go is not installed and no control plane binary is cached: cannot build the control plane';
  return undefined;
}

/** Why a suite running overlays on the control plane and the node agent cannot run here, or undefined. */
export function whyNoNodeSuite(): string | undefined {
  const controlPlane = whyNoControlPlane();
  if (controlPlane) return controlPlane;
  for (const tool of ['kubectl', 'nsenter', 'setpriv', 'ip']) {
    const found = (process.env['PATH'] ?? '').split(':').some((dir) => dir && existsSync(path.join(dir, tool)));
    if (!found) return `${tool} is not installed (kubectl renders and applies the overlays; nsenter, setpriv and ip run the pods)`;
  }
  return undefined;
}

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
