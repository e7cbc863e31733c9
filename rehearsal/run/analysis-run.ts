// The Argo Rollouts AnalysisRun of the canary-analysis overlay, run for real against the rehearsal's pods: the metrics
// are parsed from the rendered AnalysisRun (with the release's version as the `version` argument, which the overlay
// copies from the image tag), the provider URL is mapped to the pod process it names, each measurement is a real
// HTTP GET of that pod's /stats?version=…, and which measurement is due, what it measures and the run's phase are
// the model's (rehearsal/model/argo-rollouts-analysis.ts). This module only owns the clock and the requests.
//
// Clock: the model runs on the manifest's clock (the rehearsal's milliseconds divided by the time scale), so
// `interval: 10s` and the 10 s error retry are 10 s × timeScale of real time, like every other manifest timing.
// Process start-up is real time and not scaled (on a busy machine a start takes a second or more, which at time
// scale 0.1 would be ten manifest seconds): the clock stands still while the target pod's container is starting, as
// the probes start only once the process listens, so a replacement does not use up the consecutiveErrorLimit budget
// that the manifest sizes for a real cluster. The provider's timeoutSeconds is a network bound, not a manifest pace:
// it stays real time.
import type { K8sObject } from '../../bundle/types.ts';
import {
  dueMeasurements,
  mapWebUrl,
  measure,
  parseAnalysis,
  recordMeasurement,
  runPhase,
  startRun,
  type AnalysisPhase,
  type PodTarget,
  type RunProgress,
  type WebMetric,
  type WebResponse,
} from '../model/argo-rollouts-analysis.ts';

export interface AnalysisRunOptions {
  /** The rendered AnalysisRun. */
  manifest: K8sObject;
  /** The release being synced: the AnalysisRun's `version` argument. */
  version: string;
  timeScale: number;
  /** The rehearsal's clock (ms). */
  now: () => number;
  /** The base URL (http://127.0.0.1:port) of the process of the pod a provider URL names, or undefined (no process). */
  podUrl: (target: PodTarget) => string | undefined;
  /** Real time the target pod's containers spent starting so far (StatefulSetRun.startupMs): left out of the clock. */
  startupMs: (target: PodTarget) => number;
}

export interface TakenReading {
  metric: string;
  /** On the rehearsal's clock. */
  atMs: number;
  phase: string;
  value: string;
}

export class AnalysisRunProcess {
  readonly metrics: WebMetric[];
  readonly #targets: PodTarget[];
  readonly #o: AnalysisRunOptions;
  #progress: RunProgress;
  readonly #inFlight = new Set<number>();
  #stopped = false;
  readonly #loop: Promise<void>;
  /** Every measurement, for the report (the AnalysisRun's status.metricResults). */
  readonly readings: TakenReading[] = [];

  constructor(options: AnalysisRunOptions) {
    this.#o = options;
    this.metrics = parseAnalysis(options.manifest, { version: options.version });
    this.#targets = this.metrics.map((m) => mapWebUrl(m.url));
    this.#progress = startRun(this.metrics, this.#manifestNow());
    this.#loop = this.#run();
  }

  /** The run's phase now (Running until the model says it ended). */
  phase(): AnalysisPhase {
    return runPhase(this.metrics, this.#progress);
  }

  /** The last measurement's value, for a verdict a person reads. */
  lastReading(): TakenReading | undefined {
    return this.readings.at(-1);
  }

  /** Ends the run (the release was aborted or the rehearsal ended); waits for requests in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
  }

  #manifestNow(): number {
    // One target pod in the bundle's analysis (every metric reads rollcall-2); with several, the clock follows the first.
    const target = this.#targets[0];
    return (this.#o.now() - (target ? this.#o.startupMs(target) : 0)) / this.#o.timeScale;
  }

  async #run(): Promise<void> {
    const pending: Promise<void>[] = [];
    while (!this.#stopped && this.phase() === 'Running') {
      const now = this.#manifestNow();
      for (const due of dueMeasurements(this.metrics, this.#progress)) {
        if (due.atMs > now || this.#inFlight.has(due.metric)) continue;
        this.#inFlight.add(due.metric);
        pending.push(this.#take(due.metric).finally(() => this.#inFlight.delete(due.metric)));
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await Promise.all(pending);
  }

  async #take(index: number): Promise<void> {
    const metric = this.metrics[index]!;
    const target = this.#targets[index]!;
    const base = this.#o.podUrl(target);
    let response: WebResponse;
    if (!base) {
      response = { error: `dial tcp: lookup ${target.pod}: no such host` };
    } else {
      try {
        const answer = await fetch(`${base}${target.path}`, { signal: AbortSignal.timeout(metric.timeoutMs) });
        response = { status: answer.status, body: await answer.text() };
      } catch (error) {
        response = { error: (error as Error).message };
      }
    }
    if (this.#stopped) return;
    const measurement = measure(metric, response);
    this.#progress = recordMeasurement(this.#progress, index, measurement, this.#manifestNow());
    this.readings.push({ metric: metric.name, atMs: Math.round(this.#o.now()), phase: measurement.phase, value: measurement.value });
  }
}
