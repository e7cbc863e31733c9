// Riding out a real API server's hiccups: every call the hooks make (GET, LIST, and DELETE with a uid precondition)
// is idempotent, so it is repeated with back-off until the hook's own deadline when the failure is one a later
// attempt can get past:
//  - 429 Too Many Requests (API Priority and Fairness), waiting what Retry-After asks;
//  - 500, 502, 503, 504 (an apiserver restarting, etcd leader election, a load balancer in between), honouring
//    Retry-After when sent;
//  - no answer or no complete one (refused, reset, timed out: TransportError from k8s-client.ts).
// client-go retries 429 and every 5xx that carries Retry-After (rest/with_retry.go, checkWait) and resets/EOF on
// reads (rest/request.go); a hook has a deadline instead of a retry count, so it also retries these 5xx without the
// header. Everything else (403, 404, 409, 422, a redirect, an oversized or non-JSON answer) is returned or thrown at
// once: the caller decides what it means.
import { KubeError, TransportError, type KubeClient, type KubeResponse, type Method } from './k8s-client.ts';

export interface RetryPolicy {
  /**
   * Epoch milliseconds after which no further attempt starts. An attempt already running is bounded by the client's
   * whole-answer timeout (k8s-client.ts), so a call ends at most that long after the deadline; the hook Jobs'
   * activeDeadlineSeconds leave that margin.
   */
  deadline: number;
  /** First back-off; doubled per attempt up to maxDelayMs, with jitter so replicas of a hook do not march in step. */
  firstDelayMs: number;
  maxDelayMs: number;
  log?: (line: string) => void;
  /** Seams for tests. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export const defaultBackoff = { firstDelayMs: 250, maxDelayMs: 5_000 };

/** Statuses worth another attempt (see the header). */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 500 || status === 502 || status === 503 || status === 504;
}

/** Thrown when the deadline ends the retries: names the call, the attempts and the last failure. */
export class GaveUpError extends Error {
  override name = 'GaveUpError';
  readonly attempts: number;
  readonly last: Error;
  constructor(what: string, attempts: number, last: Error, why: string) {
    super(`${what}: gave up after ${attempts} attempt${attempts === 1 ? '' : 's'} (${why}); last: ${last.message}`);
    this.attempts = attempts;
    this.last = last;
  }
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;
const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * `client.request`, repeated while the failure is retryable and the deadline allows. Resolves with the first
 * answer that is not retryable (any status: the caller checks it); rejects with AnswerError or another
 * non-transport error at once, or GaveUpError at the deadline.
 */
export async function requestWithRetry(client: KubeClient, method: Method, path: string, body: unknown, policy: RetryPolicy): Promise<KubeResponse> {
  const now = policy.now ?? Date.now;
  const sleep = policy.sleep ?? realSleep;
  const random = policy.random ?? Math.random;
  const what = `${method} ${path}`;
  for (let attempt = 1; ; attempt++) {
    let failure: Error;
    let wait = Math.min(policy.maxDelayMs, policy.firstDelayMs * 2 ** (attempt - 1)) * (0.5 + random() / 2);
    try {
      const res = await client.request(method, path, body);
      if (!isRetryableStatus(res.status)) return res;
      failure = new KubeError(method, path, res);
      if (res.retryAfterMs !== undefined) wait = res.retryAfterMs;
    } catch (err) {
      if (!(err instanceof TransportError)) throw err;
      failure = err;
    }
    const remaining = policy.deadline - now();
    if (remaining <= 0) throw new GaveUpError(what, attempt, failure, "the hook's deadline passed");
    if (wait > remaining) {
      throw new GaveUpError(what, attempt, failure, `the next attempt in ${seconds(wait)} would start after the hook's deadline, ${seconds(remaining)} away`);
    }
    policy.log?.(`${what}: ${failure.message}; attempt ${attempt + 1} in ${Math.round(wait)} ms`);
    await sleep(wait);
  }
}
