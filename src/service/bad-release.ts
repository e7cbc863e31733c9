// A bad release on purpose, in the spirit of podinfo's fault switches (random errors, random delay, readiness
// toggles): one variable, BAD_RELEASE, makes this instance behave like a broken release so a rollout strategy can
// be watched failing. Off by default. Pure: the caller passes the clock reading and the random number.
//
//   crash[:AFTER_MS]   never Ready; exits with code 1 AFTER_MS after start (default 1000): the kubelet restarts it
//                      with back-off (CrashLoopBackOff)
//   unready            runs and stays alive, but /readyz never succeeds
//   errors[:SHARE]     Ready and healthy, but SHARE (0-1, default 1) of `GET /` answer 500 and count no visit
//   slow[:DELAY_MS]    Ready only DELAY_MS after start (default 30000)

export type BadReleaseMode = 'crash' | 'unready' | 'errors' | 'slow';

export type BadRelease =
  | { mode: 'crash'; afterMs: number }
  | { mode: 'unready' }
  | { mode: 'errors'; share: number }
  | { mode: 'slow'; delayMs: number };

export const BAD_RELEASE_FORM = 'crash[:ms], unready, errors[:share 0-1] or slow[:ms]; empty = a good release';

/** Parses BAD_RELEASE; undefined for a good release (unset or empty); throws with the accepted form otherwise. */
export function parseBadRelease(text: string | undefined): BadRelease | undefined {
  if (text === undefined || text === '') return undefined;
  const [mode, parameter, extra] = text.split(':');
  const number = (min: number, max: number, fallback: number): number => {
    if (parameter === undefined || parameter === '') return fallback;
    const value = Number(parameter);
    if (!Number.isFinite(value) || value < min || value > max) throw new Error(`${mode} takes a number ${min}-${max}, got "${parameter}"`);
    return value;
  };
  if (extra !== undefined) throw new Error(`too many ":" in "${text}"`);
  switch (mode) {
    case 'crash':
      return { mode, afterMs: Math.round(number(0, 600_000, 1000)) };
    case 'unready':
      if (parameter !== undefined) throw new Error('unready takes no parameter');
      return { mode };
    case 'errors':
      return { mode, share: number(0, 1, 1) };
    case 'slow':
      return { mode, delayMs: Math.round(number(0, 3_600_000, 30_000)) };
    default:
      throw new Error(`unknown mode "${mode}"`);
  }
}

/** The switch as a person reads it in /visits, on the page, in the log and on the metrics: "errors:0.5". */
export function describeBadRelease(bad: BadRelease | undefined): string {
  if (!bad) return 'none';
  switch (bad.mode) {
    case 'crash':
      return `crash:${bad.afterMs}`;
    case 'unready':
      return 'unready';
    case 'errors':
      return `errors:${bad.share}`;
    case 'slow':
      return `slow:${bad.delayMs}`;
  }
}

/** Why /readyz must fail because of the switch, `uptimeMs` after start; undefined when it does not interfere. */
export function badReleaseNotReadyReason(bad: BadRelease | undefined, uptimeMs: number): string | undefined {
  if (!bad) return undefined;
  if (bad.mode === 'crash' || bad.mode === 'unready') return `bad-release:${bad.mode}`;
  if (bad.mode === 'slow' && uptimeMs < bad.delayMs) return 'bad-release:slow';
  return undefined;
}

/** Whether this `GET /` fails on purpose; `random` is a number in [0, 1). */
export function badReleaseFailsVisit(bad: BadRelease | undefined, random: number): boolean {
  return bad?.mode === 'errors' && random < bad.share;
}
