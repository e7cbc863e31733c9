// Bad state files on the real process: every shape the service issue lists (and a few more) must stop startup with
// a non-zero exit, exactly one log line naming the file and the problem, no listening socket, and the file (or
// symlink, or directory) left byte-for-byte as it was. A valid file is the control: it must start.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ServerProcess, STATE_FILE, withTimeout } from './harness.ts';
import type { Context, Scenario } from './scenario.ts';

interface Shape {
  name: string;
  /** Creates visits.json (in whatever form) inside `dir`. */
  make(dir: string, file: string): void;
}

const text = (name: string, content: string | Buffer): Shape => ({ name, make: (_dir, file) => fs.writeFileSync(file, content) });

const SHAPES: Shape[] = [
  text('empty', ''),
  text('whitespace only', ' \n\t\n'),
  text('truncated', '{"counter": 12'),
  text('NUL bytes (zeroed page after a crash)', Buffer.alloc(16)),
  text('NUL bytes after valid JSON', Buffer.concat([Buffer.from('{"counter": 5}'), Buffer.alloc(4)])),
  text('a string', '"12"'),
  text('counter is a string', '{"counter": "12"}'),
  text('null', 'null'),
  text('an array', '[12]'),
  text('missing counter', '{}'),
  text('extra key', '{"counter": 1, "other": 2}'),
  text('negative', '{"counter": -1}'),
  text('fractional', '{"counter": 1.5}'),
  text('1e400', '{"counter": 1e400}'),
  text('> MAX_SAFE_INTEGER', '{"counter": 9007199254740993}'),
  text('over 1 MiB', `{"counter": 1}${' '.repeat(1024 * 1024)}`),
  // Ambiguous: JSON.parse reads each of these as a plain integer.
  text('a repeated key', '{"counter": 5, "counter": 6}'),
  text('an escaped key', '{"\\u0063ounter": 5}'),
  text('4.9999999999999999', '{"counter": 4.9999999999999999}'),
  text('5e0', '{"counter": 5e0}'),
  text('-0', '{"counter": -0}'),
  {
    name: 'a symlink to a valid file',
    make: (dir, file) => {
      fs.writeFileSync(path.join(dir, 'elsewhere.json'), '{"counter": 5}');
      fs.symlinkSync('elsewhere.json', file);
    },
  },
  { name: 'a dangling symlink', make: (_dir, file) => fs.symlinkSync('/nonexistent/visits.json', file) },
  {
    name: 'a directory',
    make: (_dir, file) => {
      fs.mkdirSync(file);
      fs.writeFileSync(path.join(file, 'keep'), 'keep');
    },
  },
];

/** Everything in `dir`, recursively, with types, link targets, sizes and content hashes. */
function fingerprint(dir: string): string {
  const out: string[] = [];
  const walk = (current: string) => {
    for (const name of fs.readdirSync(current).sort()) {
      // The data-directory lock and its holder note are the server's own (src/service/data-dir-lock.ts), taken before it
      // reads the state file; what must not change is everything else.
      if (current === dir && name.startsWith('.rollcall.lock')) continue;
      const file = path.join(current, name);
      const stat = fs.lstatSync(file);
      const rel = path.relative(dir, file);
      if (stat.isSymbolicLink()) out.push(`${rel} -> ${fs.readlinkSync(file)}`);
      else if (stat.isDirectory()) {
        out.push(`${rel}/ ${stat.mode.toString(8)}`);
        walk(file);
      } else out.push(`${rel} ${stat.mode.toString(8)} ${stat.size} ${crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex')} ${stat.mtimeMs}`);
    }
  };
  walk(dir);
  return out.join('\n');
}

async function tryShape(ctx: Context, base: string, shape: Shape): Promise<{ shape: string; line: string; ok: boolean }> {
  const dir = path.join(base, shape.name.replace(/[^a-z0-9]+/gi, '-'));
  fs.mkdirSync(dir);
  const file = path.join(dir, STATE_FILE);
  shape.make(dir, file);
  const before = fingerprint(dir);
  const server = new ServerProcess({ dataDir: dir });
  const exit = await withTimeout(server.exited, 30_000, `${shape.name}: server still running after 30 s`).catch(async (error: Error) => {
    ctx.check(false, error.message);
    return server.kill();
  });
  const failures = ctx.failures.length;
  const lines = server.logs;
  const fatal = lines[0];
  const problem = typeof fatal?.problem === 'string' ? fatal.problem : '';
  ctx.check(exit.code !== 0 && exit.code !== null, `${shape.name}: exit code ${exit.code} (want non-zero)`);
  ctx.check(server.port === 0, `${shape.name}: the server listened`);
  ctx.check(lines.length === 1 && server.rawStdout.length === 1 && (fatal?.level ?? 0) >= 50, `${shape.name}: want exactly one fatal log line, got ${server.rawStdout.length}: ${server.describeOutput()}`);
  ctx.check(String(fatal?.msg).includes(file) && problem.length > 0 && String(fatal?.msg).includes(problem), `${shape.name}: the log line does not name the file and the problem: ${JSON.stringify(fatal)}`);
  const after = fingerprint(dir);
  if (!ctx.check(before === after, `${shape.name}: changed on disk:\n${before}\n→\n${after}`)) ctx.figures.corrupt++;
  return { shape: shape.name, line: problem, ok: ctx.failures.length === failures };
}

export const badStateFiles: Scenario = {
  name: 'bad-state-files',
  proves: `${SHAPES.length} bad visits.json shapes: exit non-zero, one log line naming file and problem, file untouched`,
  needs: {},
  async run(ctx) {
    const base = ctx.tempDir();
    const results: { shape: string; line: string; ok: boolean }[] = [];
    // Two at a time: each is a full process start on a 2-core machine.
    const queue = [...SHAPES];
    await Promise.all(
      [0, 1, 2].map(async () => {
        for (let shape = queue.shift(); shape; shape = queue.shift()) {
          ctx.figures.runs++;
          results.push(await tryShape(ctx, base, shape));
        }
      }),
    );
    // Control: a valid file starts, so the checks above can tell success from failure.
    const good = path.join(base, 'valid');
    fs.mkdirSync(good);
    fs.writeFileSync(path.join(good, STATE_FILE), '{"counter": 41}');
    const server = new ServerProcess({ dataDir: good });
    ctx.defer(() => server.kill());
    await server.listening();
    ctx.check(server.logs.some((l) => l.msg === 'listening' && l.counter === 41), 'control: a valid file did not start with counter 41');
    await server.stop();
    ctx.figures.runs++;
    const order = new Map(SHAPES.map((s, i) => [s.name, i]));
    results.sort((a, b) => (order.get(a.shape) ?? 0) - (order.get(b.shape) ?? 0));
    ctx.note(`refused and untouched:\n${results.map((r) => `      ${r.ok ? 'ok  ' : 'FAIL'} ${r.shape}: ${r.line}`).join('\n')}`);
  },
};
