// The visit counter: hands out visit numbers and acknowledges each one only once a durable write holds it.
//
// Group commit. A batch is cut on the event loop's check phase (setImmediate), after the loop has read every
// request that was ready, so one fsync'd write serves all of them; visits that arrive while a write is in progress
// wait and go into the next write together. Cutting at the first visit instead would give it a batch of its own,
// and with the synchronous file-system calls of the real seam (src/service/file-system.ts) every visit would get a write.
//
// Pipelined for asynchronous seams: when the file system's calls take event-loop turns (a slow or faulty seam in
// the tests and the fault suite), two batches overlap: while batch k renames its temp file and fsyncs the
// directory, batch k+1 already writes and fsyncs its own temp file. With the real, synchronous seam a batch's whole
// write runs in one stretch and the overlap never happens. Either way renames happen strictly in batch order (each
// batch waits for the one before it to settle), so the file never goes back to an older value.
//
// Failure rule: a batch that fails gets 503 for every visit in it, and every batch cut after it but before the
// failure was noticed is failed too (their numbers were counted on top of the failed batch). Numbering restarts
// from the last batch that did not fail, so the numbers acknowledged stay exactly 1..N.
import type { DurableFile } from './durable-write.ts';
import { formatState } from './state-file.ts';

export interface CounterMetrics {
  observeWrite(seconds: number, batchSize: number): void;
  observeWriteFailure(code: string): void;
}

export interface CounterLogger {
  info(details: object, message: string): void;
  error(details: object, message: string): void;
}

export class StoreUnavailableError extends Error {
  readonly code: string;
  constructor(message: string, code: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

interface Waiter {
  resolve(visit: number): void;
  reject(error: Error): void;
}

interface Batch {
  readonly seq: number;
  readonly base: number;
  readonly waiters: Waiter[];
  invalid: boolean;
}

export interface VisitCounterOptions {
  file: DurableFile;
  initial: number;
  metrics?: CounterMetrics;
  logger?: CounterLogger;
  /** After a failed write, how long until a write without visits checks whether the disk is writable again. */
  retryDelayMs?: number;
}

/** Batches in flight at once: one preparing its temp file, one committing. More only made batches smaller (docs/benchmarks.md). */
const MAX_IN_FLIGHT = 2;
const encoder = new TextEncoder();

export class VisitCounter {
  readonly #file: DurableFile;
  readonly #metrics: CounterMetrics | undefined;
  readonly #logger: CounterLogger | undefined;
  readonly #retryDelayMs: number;
  #durable: number;
  #assigned: number;
  #pending: Waiter[] = [];
  #inFlight = new Set<Batch>();
  #preparing = false;
  #seq = 0;
  #lastSettled: Promise<void> = Promise.resolve();
  #healthy = true;
  #recoveryWanted = false;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #cutScheduled = false;
  #closed = false;
  #exhausted = false;
  #failureCode: string | undefined;

  constructor(options: VisitCounterOptions) {
    this.#file = options.file;
    this.#durable = options.initial;
    this.#assigned = options.initial;
    this.#metrics = options.metrics;
    this.#logger = options.logger;
    this.#retryDelayMs = options.retryDelayMs ?? 1000;
  }

  /** The highest count known to be durable on disk. */
  get value(): number {
    return this.#durable;
  }

  /** False from a failed write until a later write succeeds, and for good once the counter is exhausted. */
  get healthy(): boolean {
    return this.#healthy && !this.#exhausted;
  }

  /**
   * Why visits are refused, when it is more than "the store cannot write right now", for /readyz: 'counter-exhausted'
   * at Number.MAX_SAFE_INTEGER (for good), 'data-dir-replaced' while DATA_DIR names another directory than the locked one.
   */
  get problem(): string | undefined {
    if (this.#exhausted) return 'counter-exhausted';
    return !this.#healthy && this.#failureCode === 'EDATADIRREPLACED' ? 'data-dir-replaced' : undefined;
  }

  /** Counts one visit; resolves with its number once durable, rejects with StoreUnavailableError otherwise. */
  visit(): Promise<number> {
    if (this.#closed) return Promise.reject(new StoreUnavailableError('the counter is closed', 'ECLOSED'));
    return new Promise((resolve, reject) => {
      this.#pending.push({ resolve, reject });
      this.#scheduleCut();
    });
  }

  /** Waits until every visit asked for so far is acknowledged or refused; then refuses new ones. */
  async close(): Promise<void> {
    while (this.#pending.length > 0 || this.#inFlight.size > 0) {
      // With nothing in flight the chain below is already settled: cut now rather than spin waiting for the check phase.
      if (this.#inFlight.size === 0) this.#cut();
      await this.#lastSettled;
    }
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    await this.#file.close();
  }

  #scheduleCut(): void {
    if (this.#cutScheduled) return;
    this.#cutScheduled = true;
    setImmediate(() => {
      this.#cutScheduled = false;
      this.#cut();
    });
  }

  #cut(): void {
    if (this.#preparing || this.#inFlight.size >= MAX_IN_FLIGHT) return;
    if (this.#pending.length === 0 && !this.#recoveryWanted) return;
    const waiters = this.#pending;
    this.#pending = [];
    this.#recoveryWanted = false;
    if (this.#assigned + waiters.length > Number.MAX_SAFE_INTEGER) {
      // No number above 2^53-1 can be counted exactly, so this never recovers: say so once in the log, count every
      // refused batch as a failed write, and report not ready with the reason so nothing routes visits here.
      const error = new StoreUnavailableError('the counter reached Number.MAX_SAFE_INTEGER', 'EOVERFLOW');
      if (!this.#exhausted) {
        this.#exhausted = true;
        this.#logger?.error({ counter: this.#assigned, code: 'EOVERFLOW' }, 'counter exhausted at Number.MAX_SAFE_INTEGER: every further visit is refused');
      }
      this.#metrics?.observeWriteFailure('EOVERFLOW');
      for (const waiter of waiters) waiter.reject(error);
      return;
    }
    const batch: Batch = { seq: ++this.#seq, base: this.#assigned, waiters, invalid: false };
    this.#assigned += waiters.length;
    this.#inFlight.add(batch);
    this.#preparing = true;
    const previous = this.#lastSettled;
    // The chain of `settled` promises is what keeps renames in batch order, failed batches included.
    this.#lastSettled = this.#run(batch, previous).then(() => previous);
  }

  async #run(batch: Batch, previous: Promise<void>): Promise<void> {
    const started = performance.now();
    const value = batch.base + batch.waiters.length;
    try {
      const temp = await this.#prepare(value);
      await previous;
      if (batch.invalid) {
        await this.#file.discard(temp);
        this.#refuse(batch, new StoreUnavailableError('an earlier write failed', 'EABORTED'));
      } else {
        await this.#file.commit(temp);
        this.#acknowledge(batch, value, started);
      }
    } catch (error) {
      this.#onWriteFailed(batch, error);
    } finally {
      this.#inFlight.delete(batch);
    }
    this.#scheduleCut();
  }

  /** Writes the temp file, then frees the prepare slot so the next batch can start while this one commits. */
  async #prepare(value: number): Promise<string> {
    let temp: string;
    try {
      temp = await this.#file.prepare(encoder.encode(formatState(value)));
    } finally {
      this.#preparing = false;
    }
    this.#scheduleCut();
    return temp;
  }

  #acknowledge(batch: Batch, value: number, started: number): void {
    this.#durable = value;
    this.#metrics?.observeWrite((performance.now() - started) / 1000, batch.waiters.length);
    if (!this.#healthy) {
      this.#healthy = true;
      this.#logger?.info({ counter: value }, 'store writable again');
    }
    batch.waiters.forEach((waiter, i) => waiter.resolve(batch.base + i + 1));
  }

  #onWriteFailed(batch: Batch, error: unknown): void {
    const code = (error as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
    this.#failureCode = code;
    // A batch already condemned by an earlier failure must not move the numbering: that failure restarted it
    // from an earlier base, and batches cut since then count on from there.
    if (!batch.invalid) {
      for (const later of this.#inFlight) if (later.seq > batch.seq) later.invalid = true;
      this.#assigned = batch.base;
    }
    this.#metrics?.observeWriteFailure(code);
    if (this.#healthy) this.#logger?.error({ err: error, code, file: this.#file.target }, 'store write failed; visits refused until a write succeeds');
    this.#healthy = false;
    this.#refuse(batch, new StoreUnavailableError(`cannot write ${this.#file.target}: ${code}`, code, { cause: error }));
    this.#scheduleRecovery();
  }

  #refuse(batch: Batch, error: StoreUnavailableError): void {
    for (const waiter of batch.waiters) waiter.reject(error);
  }

  // Without traffic nothing would ever write again, and /readyz failing keeps traffic away, so the counter
  // probes the disk itself with a write that holds no new visits.
  #scheduleRecovery(): void {
    if (this.#retryTimer !== undefined || this.#closed) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#healthy || this.#closed) return;
      this.#recoveryWanted = true;
      this.#cut();
    }, this.#retryDelayMs);
    this.#retryTimer.unref();
  }
}
