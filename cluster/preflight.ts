// Pre-flight of a build from cluster/go.mod: asks the Go module proxy (through `go mod download -json`, which fills
// the module cache the build then reads) for every module the build needs, and names each one it does not serve by
// module@version with the proxy's answer, instead of letting a 20-minute build stop on the first one.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { effectiveRequirements } from './go-mod.ts';
import { runCaptured } from './run-captured.ts';

export interface ModuleFailure {
  module: string;
  version: string;
  error: string;
}

/**
 * The objects of a stream of concatenated JSON values, as `go ... -json` prints them (one indented object after the
 * other, no separator). Tracks nesting outside strings to find where each value ends.
 */
export function parseJsonStream(text: string): unknown[] {
  const values: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') {
      if (depth++ === 0) start = i;
    } else if (c === '}' || c === ']') {
      if (--depth === 0) values.push(JSON.parse(text.slice(start, i + 1)));
    }
  }
  if (depth !== 0) throw new Error('go mod download -json: truncated output');
  return values;
}

interface DownloadRecord {
  Path?: string;
  Version?: string;
  Error?: string;
}

/**
 * The modules `go mod download -json` could not get: its JSON records with an Error, and the `go: module@version: ...`
 * lines it prints on stderr when it stops before downloading (a module the module graph needs is missing).
 */
export function moduleFailures(stdout: string, stderr: string): ModuleFailure[] {
  const failures: ModuleFailure[] = [];
  for (const record of parseJsonStream(stdout) as DownloadRecord[]) {
    if (record.Error) failures.push({ module: record.Path ?? '?', version: record.Version ?? '?', error: record.Error });
  }
  for (const line of stderr.split('\n')) {
    const m = /^go: (?:[^\s:]+: )?([^\s@:]+)@([^\s:]+): (.+)$/.exec(line.trim());
    if (m && !failures.some((f) => f.module === m[1] && f.version === m[2])) failures.push({ module: m[1]!, version: m[2]!, error: m[3]! });
  }
  return failures;
}

export function describeFailures(failures: ModuleFailure[], program = 'the control plane'): string {
  return [
    `the Go module proxy (GOPROXY) does not serve ${failures.length} module(s) ${program} needs:`,
    ...failures.map((f) => `  ${f.module}@${f.version}: ${f.error}`),
  ].join('\n');
}


/**
 * Downloads every module of the build; throws naming each module@version that failed. Returns how many modules the
 * build needs. Two passes: first every requirement of go.mod (replacements applied) by name, from a directory outside
 * the module, so that go reports each missing one instead of stopping at the first while it loads the module graph;
 * then the build's whole graph from the module itself, which catches anything go.mod does not list.
 */
export async function preflight(goCommand: string, moduleDir: string, program: string, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const goMod = await readFile(path.join(moduleDir, 'go.mod'), 'utf8');
  const wanted = effectiveRequirements(goMod).map((m) => `${m.path}@${m.version}`);
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'rollcall-preflight-'));
  try {
    const named = await runCaptured(goCommand, ['mod', 'download', '-json', ...wanted], scratch, env);
    const failures = moduleFailures(named.stdout, named.stderr);
    if (failures.length > 0) throw new Error(describeFailures(failures, program));
    if (named.code !== 0) throw new Error(`go mod download failed (exit ${named.code}) without naming a module:\n${named.stderr.trim()}`);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  const graph = await runCaptured(goCommand, ['mod', 'download', '-json'], moduleDir, env);
  const failures = moduleFailures(graph.stdout, graph.stderr);
  if (failures.length > 0) throw new Error(describeFailures(failures, program));
  if (graph.code !== 0) throw new Error(`go mod download failed (exit ${graph.code}) without naming a module:\n${graph.stderr.trim()}`);
  return parseJsonStream(graph.stdout).length;
}
