// Warn lines that clients can cause (a request that cannot be routed, a malformed one, a connection closed for abuse
// or over the connection limit) at a bounded rate. One client sending unroutable requests produced 3,800 lines a
// second, and a pod's logs count against its ephemeral storage (64 Mi in the bundle), so a flood of bad requests
// could get the pod evicted through its own log.
// A token bucket: up to BURST lines at once, then one a second. What is held back is not lost: every such event is
// still counted in the metrics, and one summary line per SUMMARY_MS says how many lines of each message were held
// back. The clock is passed in, so tests drive it.

export interface RateLimitOptions {
  /** Lines allowed at once. */
  burst?: number;
  /** Lines allowed per second after the burst. */
  perSecond?: number;
  /** How often, at most, a summary of held-back lines is written. */
  summaryMs?: number;
  now?: () => number;
  /** Schedules the summary (an unref'd timer by default, so it never keeps the process alive). */
  schedule?: (ms: number, run: () => void) => void;
}

export type Warn = (details: object, message: string) => void;

export const BURST = 20;
export const PER_SECOND = 1;
export const SUMMARY_MS = 10_000;

export function rateLimitedWarn(warn: Warn, options: RateLimitOptions = {}): Warn {
  const burst = options.burst ?? BURST;
  const perSecond = options.perSecond ?? PER_SECOND;
  const summaryMs = options.summaryMs ?? SUMMARY_MS;
  const now = options.now ?? (() => performance.now());
  const schedule =
    options.schedule ??
    ((ms: number, run: () => void) => {
      setTimeout(run, ms).unref();
    });
  let tokens = burst;
  let last = now();
  const held = new Map<string, number>();
  let heldSince = 0;
  let summaryScheduled = false;

  const summarise = () => {
    summaryScheduled = false;
    if (held.size === 0) return;
    const counts = Object.fromEntries(held);
    const total = [...held.values()].reduce((a, b) => a + b, 0);
    held.clear();
    warn({ held: counts, seconds: Math.round((now() - heldSince) / 1000) }, `${total} similar warn line(s) held back (rate limit ${burst} at once, then ${perSecond}/s); every event is still counted in /metrics`);
  };

  return (details, message) => {
    const t = now();
    tokens = Math.min(burst, tokens + ((t - last) / 1000) * perSecond);
    last = t;
    if (tokens >= 1) {
      tokens -= 1;
      warn(details, message);
      return;
    }
    if (held.size === 0) heldSince = t;
    held.set(message, (held.get(message) ?? 0) + 1);
    if (!summaryScheduled) {
      summaryScheduled = true;
      schedule(summaryMs, summarise);
    }
  };
}
