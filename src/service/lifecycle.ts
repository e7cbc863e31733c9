// Readiness and graceful shutdown, like podinfo's: on the first SIGTERM/SIGINT /readyz fails at once (Kubernetes
// removes the endpoint at the same time as it signals, kubernetes#67592, so traffic keeps arriving for a moment),
// the server keeps serving for `drainMs`, then stops accepting, lets in-flight requests finish and their writes
// land, and exits 0. If that takes longer than `timeoutMs` it exits 1; a second signal exits at once with 130.
//
// Every other signal whose default action would end the process is decided here too (Node's defaults kill it at
// once with no log line), see SIGNALS below.
import type { Server } from 'node:http';

type Phase = 'starting' | 'ready' | 'draining';

export class Lifecycle {
  #phase: Phase = 'starting';

  notReadyReason(): string | undefined {
    return this.#phase === 'ready' ? undefined : this.#phase;
  }

  get draining(): boolean {
    return this.#phase === 'draining';
  }

  markReady(): void {
    if (this.#phase === 'starting') this.#phase = 'ready';
  }

  markDraining(): void {
    this.#phase = 'draining';
  }
}

export interface ShutdownOptions {
  server: Server;
  lifecycle: Lifecycle;
  /** Waits for the store's last writes once no request is in flight. */
  flush(): Promise<void>;
  drainMs: number;
  timeoutMs: number;
  logger: { info(details: object, message: string): void; error(details: object, message: string): void };
  exit(code: number): void;
}

/**
 * What each signal does. Graceful shutdown: SIGTERM (Kubernetes, docker stop), SIGINT (Ctrl-C), SIGQUIT (some
 * supervisors and `docker stop` with STOPSIGNAL=SIGQUIT use it to ask for a graceful stop, as nginx reads it).
 * Logged and ignored: SIGHUP (nothing to reload: configuration is read once; a lost terminal must not stop the
 * service), SIGUSR2 (no meaning here), SIGUSR1 (Node opens the V8 inspector on 127.0.0.1:9229 on SIGUSR1, reachable
 * from every container of the pod; a listener of our own replaces that handler, checked on Node 24, and the service
 * command also passes --disable-sigusr1 where it can).
 */
export const SIGNALS = {
  shutdown: ['SIGTERM', 'SIGINT', 'SIGQUIT'],
  ignore: ['SIGHUP', 'SIGUSR1', 'SIGUSR2'],
} as const satisfies Record<string, NodeJS.Signals[]>;

/** Logs and ignores the signals in SIGNALS.ignore. Install as early as possible: SIGUSR1 before it is ours opens the inspector. */
export function ignoreSignals(logger: { warn(details: object, message: string): void }, signals: readonly NodeJS.Signals[] = SIGNALS.ignore): void {
  for (const signal of signals) process.on(signal, () => logger.warn({ signal }, `${signal} ignored`));
}

export function handleShutdownSignals(options: ShutdownOptions, signals: readonly NodeJS.Signals[] = SIGNALS.shutdown): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      options.logger.error({ signal }, 'second signal: exiting immediately');
      options.exit(130);
      return;
    }
    stopping = true;
    void shutdown(options, signal);
  };
  for (const signal of signals) process.on(signal, onSignal);
}

async function shutdown(options: ShutdownOptions, signal: string): Promise<void> {
  const { server, lifecycle, logger } = options;
  const started = performance.now();
  lifecycle.markDraining();
  logger.info({ signal, drainMs: options.drainMs, timeoutMs: options.timeoutMs }, 'shutdown: not ready, draining');
  await new Promise((resolve) => setTimeout(resolve, options.drainMs));

  const deadline = setTimeout(() => {
    logger.error({ timeoutMs: options.timeoutMs }, 'shutdown: timed out waiting for in-flight requests');
    server.closeAllConnections();
    options.exit(1);
  }, options.timeoutMs);
  // server.close() stops accepting and, since Node 19, closes idle keep-alive sockets; busy ones finish first.
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
  await options.flush();
  clearTimeout(deadline);
  logger.info({ ms: Math.round(performance.now() - started) }, 'shutdown: complete');
  options.exit(0);
}
