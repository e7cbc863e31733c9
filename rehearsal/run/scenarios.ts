// What each release scenario sets on the v2 template: BAD_RELEASE (src/service/bad-release.ts), with the app's own timings on
// the rehearsal's clock like the manifests' timings.
import type { ReleaseScenario } from '../result.ts';

export const SCENARIOS: readonly ReleaseScenario[] = ['good', 'crash', 'unready', 'errors', 'slow'];

/** `slow`: Ready 30 s after start, half the base manifest's startup-probe budget (2 s × 30), so it is slow, not dead. */
export const SLOW_DELAY_MS = 30_000;
/** `crash`: exits 1 s after start. */
export const CRASH_AFTER_MS = 1000;
/** `errors`: half of the visits fail, as components/bad-release sets it. */
export const ERROR_SHARE = 0.5;

export function badReleaseEnv(scenario: ReleaseScenario, timeScale: number): Record<string, string> {
  const scaled = (ms: number) => Math.max(1, Math.round(ms * timeScale));
  switch (scenario) {
    case 'good':
      return {};
    case 'crash':
      return { BAD_RELEASE: `crash:${scaled(CRASH_AFTER_MS)}` };
    case 'unready':
      return { BAD_RELEASE: 'unready' };
    case 'errors':
      return { BAD_RELEASE: `errors:${ERROR_SHARE}` };
    case 'slow':
      return { BAD_RELEASE: `slow:${scaled(SLOW_DELAY_MS)}` };
  }
}

export function parseScenarios(values: readonly string[] | undefined): ReleaseScenario[] {
  if (!values || values.length === 0) return ['good'];
  if (values.includes('all')) return [...SCENARIOS];
  for (const value of values) {
    if (!(SCENARIOS as readonly string[]).includes(value)) throw new Error(`--scenario must be one of ${SCENARIOS.join(', ')} or all, got "${value}"`);
  }
  return [...new Set(values)] as ReleaseScenario[];
}
