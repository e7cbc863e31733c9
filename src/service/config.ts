// Configuration from the environment, validated once at startup. A function of `env` (not process.env) so tests
// pass their own. Every bad variable is reported at once, with the form it accepts.
import { isIP } from 'node:net';
import os from 'node:os';
// zod/mini, not the classic `zod` entry: the same validation engine with a functional, tree-shakable API. The classic
// entry brings every method, format and message locale (about 450 KB of the 700 KB bundle, and its first parse is
// slow); zod/mini brings only what this schema uses, which is the start-up an instance pays (docs/benchmarks.md, "What
// made the start-up (and the bundle) faster"). Every check therefore carries its own message: no locale is loaded.
import * as z from 'zod/mini';
import { BAD_RELEASE_FORM, parseBadRelease, type BadRelease } from './bad-release.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** A blank value (`PORT=` in a manifest) means "unset": the default applies. */
const blankAsUnset = z.transform((value: unknown) => (value === '' ? undefined : value));

/**
 * An integer written as plain decimal digits, or unset. Number() would also take ' ' (as 0), '0x1f90', '1e4' and
 * '18090.0', so the text is checked first.
 */
const integer = (min: number, max: number, fallback: number) =>
  z.pipe(
    blankAsUnset,
    z.pipe(
      z.optional(z.string().check(z.regex(/^[0-9]{1,15}$/, { error: 'not a plain decimal integer' }))),
      z.pipe(
        z.transform((value: string | undefined) => (value === undefined ? fallback : Number(value))),
        z.number().check(z.minimum(min, { error: `below ${min}` }), z.maximum(max, { error: `above ${max}` })),
      ),
    ),
  );

/** RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens, 1-63 each, 253 in all. */
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
/** An address to listen on: an IPv4 or IPv6 address, or a host name (resolved by src/service/main.ts before anything else). */
export const isListenHost = (host: string): boolean => isIP(host) !== 0 || HOST_NAME.test(host);

/** Text with a default, and the rule it must follow if any. */
const text = (fallback: string, rule?: { holds: (value: string) => boolean; error: string }) =>
  z.pipe(blankAsUnset, z._default(rule ? z.string().check(z.refine(rule.holds, { error: rule.error })) : z.string(), fallback));

/** What each variable accepts, in the words the error gives. */
const EXPECTED = {
  PORT: 'a TCP port, 0-65535',
  HOST: 'an address to listen on, e.g. 0.0.0.0, ::, 127.0.0.1 or a host name',
  DATA_DIR: 'a directory path',
  TIME_ZONE: 'an IANA time zone such as Europe/Moscow or UTC',
  POD_NAME: 'a name for this instance',
  APP_VERSION: 'a version label',
  SHUTDOWN_DRAIN_MS: 'milliseconds, 0-600000',
  SHUTDOWN_TIMEOUT_MS: 'milliseconds, 1-600000',
  LOG_LEVEL: `one of ${LOG_LEVELS.join(', ')}`,
  MEMORY_LIMIT_BYTES: 'bytes, 67108864 (64 MiB) or more, as plain decimal digits',
  BAD_RELEASE: BAD_RELEASE_FORM,
} as const;

const schema = z.object({
  PORT: integer(0, 65535, 5000),
  HOST: text('0.0.0.0', { holds: isListenHost, error: 'not an IP address or a host name' }),
  DATA_DIR: text('./data'),
  TIME_ZONE: text('Europe/Moscow', { holds: isTimeZone, error: 'not a known IANA time zone' }),
  POD_NAME: text(''),
  APP_VERSION: text(''),
  SHUTDOWN_DRAIN_MS: integer(0, 600_000, 3000),
  SHUTDOWN_TIMEOUT_MS: integer(1, 600_000, 10_000),
  LOG_LEVEL: z.pipe(blankAsUnset, z._default(z.enum(LOG_LEVELS, { error: 'not a known level' }), 'info')),
  // The memory the process may use, for the connection limit (src/service/connection-limit.ts); unset = the cgroup's
  // limit, or 256 MiB (the StatefulSet's) without one.
  MEMORY_LIMIT_BYTES: z.pipe(
    blankAsUnset,
    z.optional(
      z.pipe(
        z.string().check(z.regex(/^[0-9]{1,16}$/, { error: 'not a plain decimal integer' })),
        z.pipe(
          z.transform((value: string) => Number(value)),
          z.number().check(z.minimum(64 * 1024 * 1024, { error: 'below 67108864 (64 MiB)' }), z.maximum(2 ** 50, { error: `above ${2 ** 50}` })),
        ),
      ),
    ),
  ),
  // A bad release on purpose (src/service/bad-release.ts); unset or empty = a good release.
  BAD_RELEASE: z.optional(
    z.string().check(
      z.superRefine((value, ctx) => {
        try {
          parseBadRelease(value);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message, input: value });
        }
      }),
    ),
  ),
});

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  timeZone: string;
  podName: string;
  version: string;
  shutdownDrainMs: number;
  shutdownTimeoutMs: number;
  logLevel: (typeof LOG_LEVELS)[number];
  /** MEMORY_LIMIT_BYTES when set. */
  memoryLimitBytes?: number;
  /** Set only when BAD_RELEASE makes this instance a bad release on purpose. */
  badRelease?: BadRelease;
}

export class ConfigError extends Error {
  readonly problems: { variable: string; problem: string; expected: string }[];
  constructor(problems: { variable: string; problem: string; expected: string }[]) {
    super(
      `invalid environment: ${problems.map((p) => `${p.variable}: ${p.problem} (expected ${p.expected})`).join('; ')}`,
    );
    this.problems = problems;
  }
}

/** Parses the environment; throws ConfigError naming every bad variable. */
export function parseConfig(
  env: Record<string, string | undefined>,
  defaults: { hostname?: string; packageVersion?: string } = {},
): Config {
  const result = schema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const variable = String(issue.path[0] ?? '');
      return { variable, problem: issue.message, expected: EXPECTED[variable as keyof typeof EXPECTED] ?? 'a valid value' };
    });
    throw new ConfigError(problems);
  }
  const e = result.data;
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir: e.DATA_DIR,
    timeZone: e.TIME_ZONE,
    podName: e.POD_NAME || defaults.hostname || os.hostname(),
    version: e.APP_VERSION || defaults.packageVersion || '0.0.0',
    shutdownDrainMs: e.SHUTDOWN_DRAIN_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    logLevel: e.LOG_LEVEL,
    ...(e.MEMORY_LIMIT_BYTES === undefined ? {} : { memoryLimitBytes: e.MEMORY_LIMIT_BYTES }),
    ...withBadRelease(parseBadRelease(e.BAD_RELEASE)),
  };
}

const withBadRelease = (badRelease: BadRelease | undefined): { badRelease?: BadRelease } => (badRelease ? { badRelease } : {});
