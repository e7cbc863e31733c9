// What the suites against the local control plane (testing/cluster/*.ts) share.
import { setTimeout as sleep } from 'node:timers/promises';

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
