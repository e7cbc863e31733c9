// The two load generators of `npm run bench`, behind one shape.
//   wrk         when it is on PATH (the default): a C program, one thread. It takes far less CPU per request than
//               autocannon, which matters on two cores shared with the server. It runs for a fixed time, so the
//               requests in flight when it stops are answered by the server but never counted by wrk: a run is
//               exact only from the server's side (see `exact` below).
//   autocannon  as a library, in the bench process: a fixed number of requests, every response received, so the
//               2xx count is exact on the client's side.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import autocannon from 'autocannon';

export interface LoadResult {
  /** 2xx responses the client received. */
  ok: number;
  non2xx: number;
  errors: number;
  seconds: number;
  p50: number;
  p99: number;
  /** True when every request sent was answered and counted (autocannon); wrk leaves up to one per connection. */
  exact: boolean;
}

export interface Loader {
  name: 'wrk' | 'autocannon';
  /** A short untimed run to warm the server up; returns the rate it reached (req/s). */
  warmUp(url: string, connections: number, seconds: number): Promise<number>;
  /** The measured run: about `seconds` long at the rate the warm-up reached. */
  run(url: string, connections: number, seconds: number, warmRate: number): Promise<LoadResult>;
}

const run = promisify(execFile);
const REPORT = path.join(import.meta.dirname, 'wrk', 'report.lua');

async function wrk(url: string, connections: number, seconds: number): Promise<LoadResult> {
  const { stdout } = await run('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '10s', '-s', REPORT, url]);
  const line = stdout.split('\n').find((l) => l.startsWith('WRK-JSON '));
  if (!line) throw new Error(`wrk printed no summary:\n${stdout}`);
  const s = JSON.parse(line.slice('WRK-JSON '.length)) as Record<string, number>;
  const n = (key: string) => s[key] ?? 0;
  return {
    ok: n('requests') - n('status'),
    non2xx: n('status'),
    errors: n('connect') + n('read') + n('write') + n('timeout'),
    seconds: n('durationUs') / 1e6,
    p50: n('p50Us') / 1000,
    p99: n('p99Us') / 1000,
    exact: false,
  };
}

export const wrkLoader: Loader = {
  name: 'wrk',
  async warmUp(url, connections, seconds) {
    const r = await wrk(url, connections, seconds);
    return (r.ok + r.non2xx) / Math.max(r.seconds, 0.1);
  },
  run: (url, connections, seconds) => wrk(url, connections, seconds),
};

function cannon(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(options, (error: unknown, result: autocannon.Result) => (error ? reject(error as Error) : resolve(result)));
  });
}

const cannonBase = (url: string, connections: number) =>
  ({ url, connections, pipelining: 1, headers: { accept: 'application/json' }, timeout: 10 }) satisfies autocannon.Options;

export const autocannonLoader: Loader = {
  name: 'autocannon',
  async warmUp(url, connections, seconds) {
    const warm = await cannon({ ...cannonBase(url, connections), duration: seconds });
    return warm.requests.total / Math.max(warm.duration, 0.1);
  },
  async run(url, connections, seconds, warmRate) {
    // A fixed amount rather than a duration, so that every response is received before the run ends.
    const amount = Math.max(connections * 20, Math.round(warmRate * seconds));
    const started = performance.now();
    const result = await cannon({ ...cannonBase(url, connections), amount });
    return {
      ok: result['2xx'],
      non2xx: result.non2xx,
      errors: result.errors,
      seconds: (performance.now() - started) / 1000,
      p50: result.latency.p50,
      p99: result.latency.p99,
      exact: true,
    };
  },
};

/** `auto` picks wrk when it is installed. */
export async function pickLoader(choice: string): Promise<Loader> {
  if (choice === 'autocannon') return autocannonLoader;
  const present = await run('wrk', ['--version']).then(
    () => true,
    (error: { code?: unknown; stdout?: string }) => typeof error.stdout === 'string' && error.stdout.startsWith('wrk'),
  );
  if (choice === 'wrk' && !present) throw new Error('--loader wrk: wrk is not on PATH (apt-get install wrk)');
  return present && choice !== 'autocannon' ? wrkLoader : autocannonLoader;
}
