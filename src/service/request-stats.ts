// Request and error counts of the visit route over the last minute, served as JSON on GET /stats. It exists for the
// Argo Rollouts analysis of the canary (kustomize/overlays/canary-analysis): its `web` provider reads one JSON figure
// with a jsonPath and compares it in a `successCondition`, and /metrics is Prometheus text that provider cannot parse
// (argo-rollouts metricproviders/webmetric/webmetric.go, Provider.parseResponse: json.Unmarshal, then jsonPath).
//
// The figures are the answering process's own, and a process runs one release: so `GET /stats?version=V` (404 unless
// this process runs V) restricts them to the release being judged. The analysis passes the version of the image it
// judges (the overlay copies it from the StatefulSet's image tag); a pod still on the previous release, or the
// previous pod still draining, answers 404 instead of its own, older figures.
//
// Hand-written rather than a library: a ring of 60 one-second buckets is a dozen lines, and prom-client's counters
// are totals since start, not a sliding window (a rate needs Prometheus itself).

/** The JSON body of GET /stats. `error_share` is errors / requests, 0 when there were no requests. */
export interface RequestStatsSnapshot {
  window_seconds: number;
  requests: number;
  errors: number;
  error_share: number;
}

/** A status that counts as an error: the server's own failures (5xx), never the client's (4xx). */
export const isErrorStatus = (status: number): boolean => status >= 500;

export class RequestStats {
  readonly windowSeconds: number;
  /** Per bucket: the whole second it holds (epoch seconds), requests, errors. */
  readonly #seconds: number[];
  readonly #requests: number[];
  readonly #errors: number[];

  constructor(windowSeconds = 60) {
    if (!Number.isInteger(windowSeconds) || windowSeconds < 1) throw new RangeError(`windowSeconds must be an integer >= 1, got ${windowSeconds}`);
    this.windowSeconds = windowSeconds;
    this.#seconds = new Array<number>(windowSeconds).fill(-1);
    this.#requests = new Array<number>(windowSeconds).fill(0);
    this.#errors = new Array<number>(windowSeconds).fill(0);
  }

  /** Records one answered request with its HTTP status at time `nowMs` (epoch milliseconds). */
  record(status: number, nowMs: number): void {
    const second = Math.floor(nowMs / 1000);
    const i = second % this.windowSeconds;
    if (this.#seconds[i] !== second) {
      // The bucket still holds a second that left the window: start it afresh.
      this.#seconds[i] = second;
      this.#requests[i] = 0;
      this.#errors[i] = 0;
    }
    this.#requests[i]! += 1;
    if (isErrorStatus(status)) this.#errors[i]! += 1;
  }

  /** Counts of the last `windowSeconds` whole seconds up to and including the current one. */
  snapshot(nowMs: number): RequestStatsSnapshot {
    const now = Math.floor(nowMs / 1000);
    let requests = 0;
    let errors = 0;
    for (let i = 0; i < this.windowSeconds; i++) {
      const second = this.#seconds[i]!;
      if (second > now - this.windowSeconds && second <= now) {
        requests += this.#requests[i]!;
        errors += this.#errors[i]!;
      }
    }
    return { window_seconds: this.windowSeconds, requests, errors, error_share: requests === 0 ? 0 : errors / requests };
  }
}
