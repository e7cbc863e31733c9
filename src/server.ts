// Entry point: `node src/server.ts`. Parses the environment, loads the counter, serves the app on Node's HTTP
// server and handles signals. Everything that decides behaviour lives in the modules it wires together.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import packageJson from '../package.json' with { type: 'json' };
import { createApp } from './app.ts';
import { badReleaseFailsVisit, badReleaseNotReadyReason, describeBadRelease } from './bad-release.ts';
import { ConfigError, parseConfig } from './config.ts';
import { DurableFile } from './durable-write.ts';
import { nodeFileSystem } from './file-system.ts';
import { createHttpServer } from './http-server.ts';
import { handleShutdownSignals, Lifecycle } from './lifecycle.ts';
import { createMetrics } from './metrics.ts';
import { readState, removeStaleTempFiles, STATE_FILE_NAME, StateFileError } from './state-file.ts';
import { VisitCounter } from './visit-counter.ts';

/** Exit codes: 1 = cannot start (bad state file, cannot listen), 2 = bad configuration. */
const EXIT_STARTUP = 1;
const EXIT_CONFIG = 2;

async function main(): Promise<void> {
  let config;
  try {
    config = parseConfig(process.env, { packageVersion: packageJson.version });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    pino().fatal({ problems: error.problems }, error.message);
    process.exit(EXIT_CONFIG);
  }
  const logger = pino({
    level: config.logLevel,
    base: { pod: config.podName, version: config.version },
    timestamp: pino.stdTimeFunctions.isoTime,
  });

  const file = path.resolve(config.dataDir, STATE_FILE_NAME);
  let initial: number;
  try {
    await mkdir(path.dirname(file), { recursive: true });
    const removed = await removeStaleTempFiles(file);
    if (removed.length > 0) logger.info({ removed }, 'removed temp files left by an earlier crash');
    initial = await readState(file);
  } catch (error) {
    const problem = error instanceof StateFileError ? error.problem : (error as Error).message;
    logger.fatal({ file, problem }, `cannot start: ${file}: ${problem}; the file was left untouched`);
    process.exit(EXIT_STARTUP);
  }

  const { badRelease } = config;
  const badLabel = describeBadRelease(badRelease);
  if (badRelease) logger.warn({ badRelease: badLabel }, `BAD_RELEASE=${badLabel}: this instance is a bad release on purpose`);
  const metrics = createMetrics(badRelease ? { badRelease: badLabel } : {});
  const counter = new VisitCounter({ file: new DurableFile(nodeFileSystem, file), initial, metrics, logger });
  const lifecycle = new Lifecycle();
  const startedAt = performance.now();
  // The switch fails readiness on top of the lifecycle's own reasons (starting, draining), never instead of them.
  const readiness = { notReadyReason: () => lifecycle.notReadyReason() ?? badReleaseNotReadyReason(badRelease, performance.now() - startedAt) };
  const app = createApp({
    counter,
    lifecycle: readiness,
    clock: { now: () => new Date() },
    config,
    metrics,
    ...(badRelease ? { badRelease: { label: badLabel, failsVisit: () => badReleaseFailsVisit(badRelease, Math.random()) } } : {}),
  });
  const server = createHttpServer(app.fetch, {
    isDraining: () => lifecycle.draining,
    onError: (error) => logger.error({ err: error }, 'request failed'),
  });

  handleShutdownSignals({
    server,
    lifecycle,
    flush: () => counter.close(),
    drainMs: config.shutdownDrainMs,
    timeoutMs: config.shutdownTimeoutMs,
    logger,
    exit: (code) => process.exit(code),
  });

  server.on('error', (error) => {
    logger.fatal({ err: error, host: config.host, port: config.port }, 'cannot listen');
    process.exit(EXIT_STARTUP);
  });
  server.listen(config.port, config.host, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    lifecycle.markReady();
    logger.info(
      { host: config.host, port, file, counter: initial, timeZone: config.timeZone, drainMs: config.shutdownDrainMs, timeoutMs: config.shutdownTimeoutMs },
      'listening',
    );
    if (badRelease?.mode === 'crash') {
      setTimeout(() => {
        logger.fatal({ badRelease: badLabel }, `BAD_RELEASE=${badLabel}: exiting with an error on purpose`);
        process.exit(EXIT_STARTUP);
      }, badRelease.afterMs);
    }
  });
}

await main();
