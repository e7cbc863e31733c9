// What the suites against the local control plane (testing/cluster/*.ts) share.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
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

export { bundleTag } from '../../cluster/local/bundle-image.ts';
