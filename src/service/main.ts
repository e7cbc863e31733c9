// The service: what `node src/server.ts` loads after its Node version check, and the entry the image bundles.
// Parses the environment, loads the counter, serves the app on Node's HTTP server and handles signals. Everything
// that decides behaviour lives in the modules it wires together.
// Startup order matters: nothing in DATA_DIR is created, read or removed before the configuration is valid (HOST
// resolved included), and nothing in it is read or removed before this process holds the directory's lock.
import { lookup } from 'node:dns/promises';
import { mkdirSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { pino } from 'pino';
import packageJson from '../../package.json' with { type: 'json' };
import { createApp } from './app.ts';
import { badReleaseFailsVisit, badReleaseNotReadyReason, describeBadRelease } from './bad-release.ts';
import { ConfigError, parseConfig } from './config.ts';
import { DataDirLockedError, LOCK_FILE_NAME, LockFileError, lockDataDirectory } from './data-dir-lock.ts';
import { foreignWriterProblem, resolveDataDirectory, systemDirectoryProblem } from './data-dir-safety.ts';
import { DurableFile } from './durable-write.ts';
import { nodeFileSystem } from './file-system.ts';
import { cgroupMemoryLimit, connectionLimitFor, memoryLimit } from './connection-limit.ts';
import { createHttpServer, openConnections } from './http-server.ts';
import { handleShutdownSignals, ignoreSignals, Lifecycle } from './lifecycle.ts';
import { createMetrics } from './metrics.ts';
import { rateLimitedWarn } from './rate-limited-log.ts';
import { readState, removeStaleTempFiles, STATE_FILE_NAME, StateFileError } from './state-file.ts';
import { VisitCounter } from './visit-counter.ts';

/** Exit codes: 1 = cannot start (bad state file, data directory in use or not writable, cannot listen), 2 = bad configuration. */
const EXIT_STARTUP = 1;
const EXIT_CONFIG = 2;
const EXPECTED_DATA_DIR = 'a directory of its own, outside the system directories';

async function main(): Promise<void> {
  // First of all: until this runs, SIGUSR1 would open the V8 inspector and SIGHUP/SIGUSR2 would kill the process.
  const early = pino();
  ignoreSignals({ warn: (details, message) => early.warn(details, message) });
  let config;
  try {
    config = parseConfig(process.env, { packageVersion: packageJson.version });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    early.fatal({ problems: error.problems }, error.message);
    process.exit(EXIT_CONFIG);
  }
  const logger = pino({
    level: config.logLevel,
    base: { pod: config.podName, version: config.version },
    timestamp: pino.stdTimeFunctions.isoTime,
  });

  // A host name must resolve now, before DATA_DIR is touched, not at listen() after the lock and the state file.
  if (isIP(config.host) === 0) {
    try {
      await lookup(config.host);
    } catch (error) {
      const problem = `cannot be resolved (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
      logger.fatal({ problems: [{ variable: 'HOST', problem, expected: 'an IP address or a host name that resolves' }] }, `invalid environment: HOST: ${problem}`);
      process.exit(EXIT_CONFIG);
    }
  }

  // DATA_DIR must not be a system directory (checked on the path with symlinks resolved, before anything is created),
  // nor one another user could write to (checked once it exists): src/service/data-dir-safety.ts says why.
  // The configured path stays the one used: a symlink repointed later is a replaced directory (durable-write.ts).
  const dir = path.resolve(config.dataDir);
  const systemProblem = systemDirectoryProblem(resolveDataDirectory(dir));
  if (systemProblem) {
    logger.fatal({ problems: [{ variable: 'DATA_DIR', problem: systemProblem, expected: EXPECTED_DATA_DIR }] }, `invalid environment: DATA_DIR: ${systemProblem}`);
    process.exit(EXIT_CONFIG);
  }
  const file = path.join(dir, STATE_FILE_NAME);
  let initial: number;
  let durableFile: DurableFile;
  // Which file a start-up failure is about, unless the error names its own: every line names the file it is about.
  let about = dir;
  try {
    mkdirSync(dir, { recursive: true });
    const stat = statSync(dir);
    if (!stat.isDirectory()) throw new Error('is not a directory');
    const foreign = foreignWriterProblem(stat, { uid: process.geteuid?.() ?? stat.uid, gids: [process.getegid?.() ?? stat.gid, ...(process.getgroups?.() ?? [])] });
    if (foreign) throw new Error(foreign);
    // The lock comes before any read or removal: a second process must touch nothing of the first one's.
    about = path.join(dir, LOCK_FILE_NAME);
    const lock = lockDataDirectory(dir, { pod: config.podName });
    about = dir;
    const removed = removeStaleTempFiles(file);
    if (removed.length > 0) logger.info({ removed }, 'removed temp files left by an earlier crash');
    initial = readState(file);
    // Pinned to the directory the lock was taken in: if DATA_DIR is replaced later, nothing is written there.
    durableFile = new DurableFile(nodeFileSystem, file, { directory: lock.identity });
    // Not ready until a durable write is proven possible; when it is not, stopping here (exit 1, the error named) is
    // what a supervisor can see and retry, where a ready instance would refuse every visit.
    try {
      await durableFile.probe();
    } catch (error) {
      throw new Error(`does not take durable writes (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { cause: error });
    }
  } catch (error) {
    if (error instanceof DataDirLockedError) {
      logger.fatal({ dir: error.dir, holder: error.holder }, `cannot start: ${error.message}; nothing was touched`);
      process.exit(EXIT_STARTUP);
    }
    const named = error instanceof StateFileError || error instanceof LockFileError ? error.file : about;
    const problem = error instanceof StateFileError ? error.problem : error instanceof LockFileError ? error.message.slice(error.file.length + 2) : (error as Error).message;
    // Only the state file is promised to be left as it was; saying so of another file would point at the wrong one.
    const untouched = error instanceof StateFileError ? '; the file was left untouched' : '';
    logger.fatal({ file: named, problem }, `cannot start: ${named}: ${problem}${untouched}`);
    process.exit(EXIT_STARTUP);
  }

  const { badRelease } = config;
  const badLabel = describeBadRelease(badRelease);
  if (badRelease) logger.warn({ badRelease: badLabel }, `BAD_RELEASE=${badLabel}: this instance is a bad release on purpose`);
  const metrics = createMetrics(badRelease ? { badRelease: badLabel } : {});
  const counter = new VisitCounter({ file: durableFile, initial, metrics, logger });
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
  // Lines that clients cause, at a bounded rate: every event is still counted in /metrics.
  const warn = rateLimitedWarn((details, message) => logger.warn(details, message));
  const memory = memoryLimit(config.memoryLimitBytes, cgroupMemoryLimit());
  const maxConnections = connectionLimitFor(memory.bytes);
  const server = createHttpServer(app.fetch, {
    isDraining: () => lifecycle.draining,
    onError: (error) => logger.error({ err: error }, 'request failed'),
    observe: (route, method, status) => metrics.countRequest(route, method, status),
    warn,
    maxConnections,
    onConnectionLimit: (which, open) => {
      metrics.countClosedAtLimit(which);
      warn({ which, open, maxConnections }, which === 'new' ? 'connection limit: every open connection is working, closed the new one' : 'connection limit: closed the oldest idle connection to make room');
    },
  });
  metrics.setConnectionLimit(maxConnections, memory.bytes, () => openConnections(server));

  handleShutdownSignals({
    server,
    lifecycle,
    flush: () => counter.close(),
    drainMs: config.shutdownDrainMs,
    timeoutMs: config.shutdownTimeoutMs,
    logger,
    exit: (code) => process.exit(code),
  });

  server.on('error', (error: NodeJS.ErrnoException) => {
    // The two a person can fix by choosing another port say which variable to set; anything else keeps its error.
    const fix =
      error.code === 'EADDRINUSE' ? `port ${config.port} is in use on ${config.host}: set PORT to a free port (e.g. PORT=${config.port + 1})`
      : error.code === 'EACCES' ? `port ${config.port} needs privileges on ${config.host}: set PORT to 1024 or above`
      : undefined;
    if (fix) logger.fatal({ code: error.code, host: config.host, port: config.port }, `cannot listen: ${fix}`);
    else logger.fatal({ err: error, host: config.host, port: config.port }, 'cannot listen');
    process.exit(EXIT_STARTUP);
  });
  server.listen(config.port, config.host, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    lifecycle.markReady();
    logger.info(
      { host: config.host, port, file, counter: initial, timeZone: config.timeZone, drainMs: config.shutdownDrainMs, timeoutMs: config.shutdownTimeoutMs, maxConnections, memoryLimit: memory },
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
